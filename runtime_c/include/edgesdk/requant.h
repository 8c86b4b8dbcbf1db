/*
 * edgesdk/requant.h -- fixed-point helpers shared by the int8 kernels (all static inline).
 *
 * The arithmetic of TFLite Micro's int8 reference kernels (gemmlowp's semantics), written so
 * that it has no undefined behaviour in C99 for any input:
 *
 * - Values that TFLite lets overflow in int32 (a left shift in the requantization, a sum) wrap
 *   modulo 2^32 here, through uint32_t, which is what TFLite computes on two's-complement
 *   targets. Converting such a uint32_t back to int32_t and right-shifting a negative int32_t
 *   are implementation-defined in C99; GCC and Clang define them as two's complement and
 *   arithmetic shift, which these helpers assume.
 * - 64-bit arithmetic only in es_srdhm (one 32x32->64 multiply, no 64-bit division).
 *
 * A requantization (multiplier m, shift s) stands for x * m * 2^(s - 31) with m in [2^30, 2^31)
 * (or 0) and -31 <= s <= 30; it is computed as TFLite's double-rounding path:
 *   es_mbqm(x, m, s) = es_rdbpot(es_srdhm(x * 2^max(s, 0), m), max(-s, 0)).
 * Fixed-point values in format Q(k) are raw int32 r meaning r / 2^(31 - k).
 */
#ifndef EDGESDK_REQUANT_H
#define EDGESDK_REQUANT_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* a + b modulo 2^32 (TFLite's int32 sums on two's-complement machines). */
static inline int32_t es_wrap_add(int32_t a, int32_t b)
{
    return (int32_t)((uint32_t)a + (uint32_t)b);
}

/* a - b modulo 2^32. */
static inline int32_t es_wrap_sub(int32_t a, int32_t b)
{
    return (int32_t)((uint32_t)a - (uint32_t)b);
}

/* a * b modulo 2^32. */
static inline int32_t es_wrap_mul(int32_t a, int32_t b)
{
    return (int32_t)((uint32_t)a * (uint32_t)b);
}

/* x * 2^left modulo 2^32, 0 <= left <= 31. */
static inline int32_t es_wrap_shl(int32_t x, int32_t left)
{
    return (int32_t)((uint32_t)x << left);
}

/* min(max(v, lo), hi). */
static inline int32_t es_clamp(int32_t v, int32_t lo, int32_t hi)
{
    return v < lo ? lo : (v > hi ? hi : v);
}

/* 1 when -128 <= act_min <= act_max <= 127 (a valid int8 output range). */
static inline int es_int8_range_ok(int32_t act_min, int32_t act_max)
{
    return act_min >= -128 && act_min <= act_max && act_max <= 127;
}

/* 1 for an int8 zero point (-128..127) and the matching offset (-127..128) pair. */
static inline int es_zero_point_ok(int32_t zero_point)
{
    return zero_point >= -128 && zero_point <= 127;
}

/* 1 for a requantization es_mbqm accepts: multiplier >= 0, -31 <= shift <= 31. */
static inline int es_requant_ok(int32_t multiplier, int32_t shift)
{
    return multiplier >= 0 && shift >= -31 && shift <= 31;
}

/*
 * Saturating rounding doubling high multiply (ARM VQRDMULH): round(a * b / 2^31), ties away
 * from zero; a = b = INT32_MIN gives INT32_MAX.
 */
static inline int32_t es_srdhm(int32_t a, int32_t b)
{
    int64_t ab;
    int64_t nudged;
    if (a == b && a == INT32_MIN) {
        return INT32_MAX;
    }
    ab = (int64_t)a * (int64_t)b;
    nudged = ab + (ab >= 0 ? ((int64_t)1 << 30) : (1 - ((int64_t)1 << 30)));
    /* division by 2^31 truncating toward zero, without a 64-bit division */
    return (int32_t)(nudged >= 0 ? (nudged >> 31) : -((-nudged) >> 31));
}

/* x / 2^exponent rounded to nearest, ties away from zero; 0 <= exponent <= 31. */
static inline int32_t es_rdbpot(int32_t x, int32_t exponent)
{
    const int32_t mask = (int32_t)(((int64_t)1 << exponent) - 1);
    const int32_t remainder = x & mask;
    const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/* x * multiplier * 2^(shift - 31), TFLite's MultiplyByQuantizedMultiplier; -31 <= shift <= 31. */
static inline int32_t es_mbqm(int32_t x, int32_t multiplier, int32_t shift)
{
    const int32_t left = shift > 0 ? shift : 0;
    const int32_t right = shift > 0 ? 0 : -shift;
    return es_rdbpot(es_srdhm(es_wrap_shl(x, left), multiplier), right);
}

/* Saturating x * 2^exponent, 1 <= exponent <= 30 (gemmlowp's SaturatingRoundingMultiplyByPOT). */
static inline int32_t es_sat_shl(int32_t x, int32_t exponent)
{
    const int32_t threshold = (int32_t)(((int32_t)1 << (31 - exponent)) - 1);
    if (x > threshold) {
        return INT32_MAX;
    }
    if (x < -threshold) {
        return INT32_MIN;
    }
    return es_wrap_shl(x, exponent);
}

/* Leading zero bits of x (32 for 0). */
static inline int32_t es_clz32(uint32_t x)
{
    int32_t zeros = 0;
    int32_t shift;
    if (x == 0) {
        return 32;
    }
    for (shift = 16; shift > 0; shift >>= 1) {
        if (x < ((uint32_t)1 << (32 - shift))) {
            zeros += shift;
            x <<= shift;
        }
    }
    return zeros;
}

/* exp(a) for a in [-1/4, 0); a and the result in Q0 (Taylor series around -1/8). */
static inline int32_t es_exp_on_interval_minus_quarter(int32_t a)
{
    const int32_t exp_minus_one_eighth = 1895147668;
    const int32_t one_third = 715827883;
    const int32_t x = es_wrap_add(a, (int32_t)1 << 28);
    const int32_t x2 = es_srdhm(x, x);
    const int32_t x3 = es_srdhm(x2, x);
    const int32_t x4 = es_srdhm(x2, x2);
    const int32_t x4_over_4 = es_rdbpot(x4, 2);
    const int32_t poly = es_rdbpot(es_wrap_add(es_srdhm(es_wrap_add(x4_over_4, x3), one_third), x2), 1);
    return es_wrap_add(exp_minus_one_eighth, es_srdhm(exp_minus_one_eighth, es_wrap_add(x, poly)));
}

/* exp(a) for a <= 0 in Q(integer_bits), 1 <= integer_bits <= 6; the result in Q0. */
static inline int32_t es_exp_on_negative_values(int32_t a, int32_t integer_bits)
{
    static const int32_t multipliers[7] = {1672461947, 1302514674, 790015084, 290630308,
                                           39332535, 720401, 242}; /* exp(-2^k), k = -2..4 */
    const int32_t fractional_bits = 31 - integer_bits;
    const int32_t one_quarter = (int32_t)1 << (fractional_bits - 2);
    const int32_t a_mod_minus_quarter = es_wrap_sub(a & (one_quarter - 1), one_quarter);
    const int32_t remainder = es_wrap_sub(a_mod_minus_quarter, a);
    int32_t result = es_exp_on_interval_minus_quarter(es_sat_shl(a_mod_minus_quarter, integer_bits));
    int32_t k;
    for (k = -2; k <= 4; ++k) {
        if (integer_bits > k && (remainder & ((int32_t)1 << (fractional_bits + k))) != 0) {
            result = es_srdhm(result, multipliers[k + 2]);
        }
    }
    if (integer_bits > 5 && a < -((int32_t)1 << (36 - integer_bits))) {
        result = 0;
    }
    return a == 0 ? INT32_MAX : result;
}

/* 1 / (1 + a) for a in [0, 1), Q0 in and out (Newton-Raphson, three steps). */
static inline int32_t es_one_over_one_plus_x(int32_t a)
{
    const int64_t sum = (int64_t)a + INT32_MAX;
    const int32_t half_denominator = (int32_t)(sum >= 0 ? (sum + 1) >> 1 : -((1 - sum) >> 1));
    const int32_t one_q2 = (int32_t)1 << 29;
    int32_t x = es_wrap_add(1515870810, es_srdhm(half_denominator, -1010580540)); /* 48/17 - 32/17 d */
    int32_t i;
    for (i = 0; i < 3; ++i) {
        const int32_t one_minus = es_wrap_sub(one_q2, es_srdhm(half_denominator, x));
        x = es_wrap_add(x, es_sat_shl(es_srdhm(x, one_minus), 2));
    }
    return es_sat_shl(x, 1);
}

/* 1 / (1 + exp(-a)) for a in Q(integer_bits); the result in Q0. */
static inline int32_t es_logistic_fixed(int32_t a, int32_t integer_bits)
{
    const int32_t magnitude = a > 0 ? a : es_wrap_sub(0, a);
    const int32_t if_positive =
        es_one_over_one_plus_x(es_exp_on_negative_values(es_wrap_sub(0, magnitude), integer_bits));
    if (a == 0) {
        return (int32_t)1 << 30;
    }
    return a > 0 ? if_positive : es_wrap_sub(INT32_MAX, if_positive);
}

#ifdef __cplusplus
}
#endif

#endif /* EDGESDK_REQUANT_H */
