/*
 * math_f32.c -- portable float32 exp, log and integer power (edgesdk/math_f32.h): the same bits
 * on the host and on the microcontroller.
 */
#include "edgesdk/math_f32.h"

#include <math.h>
#include <string.h>

/* The functions rely on float expressions being evaluated in float (FLT_EVAL_METHOD 0). */
typedef char es_float_eval_is_float[sizeof(float_t) == sizeof(float) ? 1 : -1];

#define LN2_HI 0x1.62ep-1f        /* ln 2 with 12 low mantissa bits zero: k * LN2_HI is exact */
#define LN2_LO 0x1.0bfbe8p-15f    /* ln 2 - LN2_HI */
#define LOG2E 0x1.715476p+0f      /* 1 / ln 2 */
#define SQRT2 0x1.6a09e6p+0f      /* sqrt(2) */

static float from_bits(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static uint32_t to_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

/* 2^k as a float, exactly, for -126 <= k <= 127. */
static float pow2i(int32_t k)
{
    return from_bits((uint32_t)(k + 127) << 23);
}

float es_expf(float x)
{
    if (x != x) {
        return x;
    }
    if (x > 88.8f) {
        return from_bits(0x7f800000u);
    }
    if (x < -104.0f) {
        return 0.0f;
    }
    const float t = x * LOG2E;
    const int32_t k = (int32_t)(t < 0.0f ? t - 0.5f : t + 0.5f);
    const float kf = (float)k;
    const float r = (x - kf * LN2_HI) - kf * LN2_LO;
    /* e^r = 1 + (r + r^2 (1/2 + r (1/6 + r (1/24 + r (1/120 + r (1/720 + r/5040)))))) */
    const float q = r * r * (0.5f + r * (0x1.555556p-3f + r * (0x1.555556p-5f +
        r * (0x1.111112p-7f + r * (0x1.6c16c2p-10f + r * 0x1.a01a02p-13f)))));
    const float p = 1.0f + (r + q);
    if (k > 127) {
        return p * pow2i(127) * 2.0f;
    }
    if (k < -126) {
        return p * pow2i(k + 100) * pow2i(-100);
    }
    return p * pow2i(k);
}

float es_logf(float x)
{
    if (x != x || x < 0.0f) {
        return from_bits(0x7fc00000u);
    }
    if (x == 0.0f) {
        return from_bits(0xff800000u);
    }
    uint32_t u = to_bits(x);
    if (u >= 0x7f800000u) {
        return x;
    }
    int32_t e = 0;
    if (u < 0x00800000u) { /* subnormal: scale into the normal range */
        u = to_bits(x * 0x1p23f);
        e = -23;
    }
    e += (int32_t)(u >> 23) - 127;
    float m = from_bits((u & 0x007fffffu) | 0x3f800000u); /* [1, 2) */
    if (m > SQRT2) {
        m = m * 0.5f;
        e += 1;
    }
    const float f = m - 1.0f; /* exact */
    const float s = f / (2.0f + f);
    const float z = s * s;
    const float big_r =
        z * (0x1.555556p-1f + z * (0x1.99999ap-2f + z * (0x1.24924ap-2f +
        z * (0x1.c71c72p-3f + z * 0x1.745d18p-3f))));
    const float hf = 0.5f * f * f;
    const float ef = (float)e;
    return ef * LN2_HI - ((hf - (s * (hf + big_r) + ef * LN2_LO)) - f);
}

float es_powif(float base, int32_t n)
{
    if (n <= 0) {
        return 1.0f;
    }
    if (base > 0.0f) {
        return es_expf((float)n * es_logf(base));
    }
    float result = 1.0f; /* base <= 0: binary powering keeps the sign right */
    while (n > 0) {
        if (n & 1) {
            result *= base;
        }
        base *= base;
        n >>= 1;
    }
    return result;
}
