/*
 * mac_int8.h -- the multiply-accumulate primitives of the fast int8 kernels; not part of the API.
 *
 * The fast kernels (conv2d_1x1_int8.c, conv2d_rows_int8.c, depthwise_conv2d_3x3_int8.c) are
 * written once, against the few primitives below. This is the only file with two
 * implementations of them:
 *
 * - cores with the DSP extension (__ARM_FEATURE_DSP: Cortex-M4, M7, M33, M55): one 32-bit load
 *   brings four int8 values; SXTB16 widens bytes 0 and 2 (and, rotated, 1 and 3) into two 16-bit
 *   lanes; SMLAD multiplies both lane pairs and adds the two products to an accumulator, so four
 *   multiply-accumulates cost one load, two extensions and two SMLADs. A three-tap kernel row is
 *   one SMLAD on the outer taps plus one SMLABB / SMLATB (one 16-bit lane times one) on the
 *   middle tap; SSAT saturates to int8;
 * - everywhere else (the host, cores without the extension) the same arithmetic in plain C.
 *
 * Every sum is modulo 2^32 on both paths: SMLAD and SMLABB wrap (they only set the Q flag) and
 * the C path adds through es_wrap_add. Since int32 sums modulo 2^32 do not depend on the order of
 * their terms, any blocking or pairing of the products gives the reference kernels' bits.
 * Little-endian byte order and unaligned 32-bit loads are assumed (ARMv7E-M, x86, AArch64).
 */
#ifndef EDGESDK_MAC_INT8_H
#define EDGESDK_MAC_INT8_H

#include <stdint.h>
#include <string.h>

#include "edgesdk/requant.h"

#if defined(__ARM_FEATURE_DSP)
#include <arm_acle.h>

/* Four int8 values as two registers of two int16 lanes: bytes (0, 2) and bytes (1, 3). */
typedef struct {
    int32_t even;
    int32_t odd;
} es_int8x4;

/* Bytes 1 and 3 of word, sign-extended into the two lanes (SXTB16 with its rotation; GCC does
 * not fold a separate rotate into the instruction). */
static inline int32_t es_sxtb16_ror8(uint32_t word)
{
    int32_t lanes;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(lanes) : "r"(word));
    return lanes;
}

/* p[0..3], widened. */
static inline es_int8x4 es_load_int8x4(const int8_t *p)
{
    uint32_t word;
    es_int8x4 v;
    memcpy(&word, p, sizeof word); /* one unaligned LDR */
    v.even = __sxtb16((int32_t)word);
    v.odd = es_sxtb16_ror8(word);
    return v;
}

/* Two copies of offset (-256..255) in the two 16-bit lanes, for es_load_int8x4_plus. */
static inline int32_t es_lanes_of(int32_t offset)
{
    return (int32_t)(((uint32_t)offset & 0xFFFFu) | ((uint32_t)offset << 16));
}

/* p[0..3] + offset, widened to 16 bits (SXTAB16: the offset is added in both lanes, so every
 * value is exact for int8 values and offsets -128..128). lanes = es_lanes_of(offset). */
static inline es_int8x4 es_load_int8x4_plus(const int8_t *p, int32_t lanes)
{
    uint32_t word;
    es_int8x4 v;
    memcpy(&word, p, sizeof word);
    v.even = __sxtab16(lanes, (int32_t)word);
    __asm__("sxtab16 %0, %1, %2, ror #8" : "=r"(v.odd) : "r"(lanes), "r"(word));
    return v;
}

/* acc + a[0]*b[0] + a[1]*b[1] + a[2]*b[2] + a[3]*b[3] (modulo 2^32). */
static inline int32_t es_mac_int8x4(int32_t acc, es_int8x4 a, es_int8x4 b)
{
    return __smlad(a.odd, b.odd, __smlad(a.even, b.even, acc));
}

/* Four ones: es_mac_int8x4(acc, a, es_ones_int8x4()) adds the sum of a. */
static inline es_int8x4 es_ones_int8x4(void)
{
    es_int8x4 v;
    v.even = 0x00010001;
    v.odd = 0x00010001;
    return v;
}

/* v saturated to -128..127 (SSAT). */
static inline int32_t es_sat_int8(int32_t v)
{
    return __ssat(v, 8);
}

/* Three weights of one kernel row, as the three-tap dot products below use them. */
typedef struct {
    int32_t outer; /* w0 in bits 0..15, w2 in bits 16..31 */
    int32_t middle; /* w1 in bits 0..15 */
} es_taps3;

static inline es_taps3 es_taps3_of(int8_t w0, int8_t w1, int8_t w2)
{
    es_taps3 t;
    t.outer = (int32_t)(((uint32_t)w0 & 0xFFFFu) | ((uint32_t)w2 << 16));
    t.middle = (int32_t)((uint32_t)w1 & 0xFFFFu);
    return t;
}

/* acc + v[0]*w0 + v[1]*w1 + v[2]*w2: SMLAD on lanes (v0, v2), SMLABB on v1. */
static inline int32_t es_dot3(int32_t acc, es_int8x4 v, es_taps3 t)
{
    return __smlabb(v.odd, t.middle, __smlad(v.even, t.outer, acc));
}

/* acc + v[1]*w0 + v[2]*w1 + v[3]*w2: SMLAD on lanes (v1, v3), SMLATB on v2. */
static inline int32_t es_dot3_next(int32_t acc, es_int8x4 v, es_taps3 t)
{
    return __smlatb(v.even, t.middle, __smlad(v.odd, t.outer, acc));
}

#else /* plain C */

typedef struct {
    int32_t v[4];
} es_int8x4;

static inline es_int8x4 es_load_int8x4(const int8_t *p)
{
    es_int8x4 v;
    v.v[0] = p[0];
    v.v[1] = p[1];
    v.v[2] = p[2];
    v.v[3] = p[3];
    return v;
}

static inline int32_t es_lanes_of(int32_t offset)
{
    return offset;
}

static inline es_int8x4 es_load_int8x4_plus(const int8_t *p, int32_t lanes)
{
    es_int8x4 v;
    v.v[0] = p[0] + lanes;
    v.v[1] = p[1] + lanes;
    v.v[2] = p[2] + lanes;
    v.v[3] = p[3] + lanes;
    return v;
}

static inline int32_t es_mac_int8x4(int32_t acc, es_int8x4 a, es_int8x4 b)
{
    /* at most 4 * 256 * 128 in magnitude: no overflow before the wrapping add */
    return es_wrap_add(acc, a.v[0] * b.v[0] + a.v[1] * b.v[1] + a.v[2] * b.v[2] + a.v[3] * b.v[3]);
}

static inline es_int8x4 es_ones_int8x4(void)
{
    es_int8x4 v;
    v.v[0] = v.v[1] = v.v[2] = v.v[3] = 1;
    return v;
}

static inline int32_t es_sat_int8(int32_t v)
{
    return es_clamp(v, -128, 127);
}

typedef struct {
    int32_t w[3];
} es_taps3;

static inline es_taps3 es_taps3_of(int8_t w0, int8_t w1, int8_t w2)
{
    es_taps3 t;
    t.w[0] = w0;
    t.w[1] = w1;
    t.w[2] = w2;
    return t;
}

static inline int32_t es_dot3(int32_t acc, es_int8x4 v, es_taps3 t)
{
    return es_wrap_add(acc, v.v[0] * t.w[0] + v.v[1] * t.w[1] + v.v[2] * t.w[2]);
}

static inline int32_t es_dot3_next(int32_t acc, es_int8x4 v, es_taps3 t)
{
    return es_wrap_add(acc, v.v[1] * t.w[0] + v.v[2] * t.w[1] + v.v[3] * t.w[2]);
}

#endif /* __ARM_FEATURE_DSP */

/* ---- built from the primitives: the same code on every target */

/* acc + x * w for one pair of int8 values (modulo 2^32). */
static inline int32_t es_mac_int8(int32_t acc, int8_t x, int8_t w)
{
    return es_wrap_add(acc, (int32_t)x * (int32_t)w);
}

/* The four dot products of two input rows (x0, x1) with two weight rows (w0, w1). */
typedef struct {
    int32_t x0w0;
    int32_t x0w1;
    int32_t x1w0;
    int32_t x1w1;
} es_dots2x2;

/*
 * The dot products of len bytes of two input rows, x and x + x_step, with two weight rows, w and
 * w + w_step: each group of four loaded values is used twice. (Stepping the second rows off the
 * first keeps the loop in the registers of a Cortex-M.)
 */
static inline es_dots2x2 es_dot_2x2(const int8_t *x, int32_t x_step, const int8_t *w, int32_t w_step,
                                   int32_t len)
{
    es_dots2x2 d = {0, 0, 0, 0};
    const int8_t *const end4 = x + (len & ~(int32_t)3);
    const int8_t *const end = x + len;
    for (; x != end4; x += 4, w += 4) {
        const es_int8x4 a = es_load_int8x4(x);
        const es_int8x4 u = es_load_int8x4(w);
        const es_int8x4 v = es_load_int8x4(w + w_step);
        const es_int8x4 b = es_load_int8x4(x + x_step);
        d.x0w0 = es_mac_int8x4(d.x0w0, a, u);
        d.x0w1 = es_mac_int8x4(d.x0w1, a, v);
        d.x1w0 = es_mac_int8x4(d.x1w0, b, u);
        d.x1w1 = es_mac_int8x4(d.x1w1, b, v);
    }
    for (; x != end; ++x, ++w) {
        d.x0w0 = es_mac_int8(d.x0w0, x[0], w[0]);
        d.x0w1 = es_mac_int8(d.x0w1, x[0], w[w_step]);
        d.x1w0 = es_mac_int8(d.x1w0, x[x_step], w[0]);
        d.x1w1 = es_mac_int8(d.x1w1, x[x_step], w[w_step]);
    }
    return d;
}

/* The two dot products of one row x with two rows, w and w + w_step. */
typedef struct {
    int32_t w0;
    int32_t w1;
} es_dots1x2;

static inline es_dots1x2 es_dot_1x2(const int8_t *x, const int8_t *w, int32_t w_step, int32_t len)
{
    es_dots1x2 d = {0, 0};
    const int8_t *const end4 = x + (len & ~(int32_t)3);
    const int8_t *const end = x + len;
    for (; x != end4; x += 4, w += 4) {
        const es_int8x4 a = es_load_int8x4(x);
        d.w0 = es_mac_int8x4(d.w0, a, es_load_int8x4(w));
        d.w1 = es_mac_int8x4(d.w1, a, es_load_int8x4(w + w_step));
    }
    for (; x != end; ++x, ++w) {
        d.w0 = es_mac_int8(d.w0, x[0], w[0]);
        d.w1 = es_mac_int8(d.w1, x[0], w[w_step]);
    }
    return d;
}

/* The dot product of len bytes of x and w. */
static inline int32_t es_dot_1x1(const int8_t *x, const int8_t *w, int32_t len)
{
    int32_t acc = 0;
    const int8_t *const end4 = x + (len & ~(int32_t)3);
    const int8_t *const end = x + len;
    for (; x != end4; x += 4, w += 4) {
        acc = es_mac_int8x4(acc, es_load_int8x4(x), es_load_int8x4(w));
    }
    for (; x != end; ++x, ++w) {
        acc = es_mac_int8(acc, x[0], w[0]);
    }
    return acc;
}

/* Sum of len int8 values (modulo 2^32), four per multiply-accumulate step. */
static inline int32_t es_sum_int8(const int8_t *p, int32_t len)
{
    const es_int8x4 ones = es_ones_int8x4();
    const int8_t *const end4 = p + (len & ~(int32_t)3);
    const int8_t *const end = p + len;
    int32_t sum = 0;
    for (; p != end4; p += 4) {
        sum = es_mac_int8x4(sum, es_load_int8x4(p), ones);
    }
    for (; p != end; ++p) {
        sum = es_wrap_add(sum, *p);
    }
    return sum;
}

#endif /* EDGESDK_MAC_INT8_H */
