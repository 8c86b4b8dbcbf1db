/*
 * edgesdk/math_f32.h -- the transcendental functions the kernels use, written with float32
 * +, -, *, / and bit operations only.
 *
 * Why not <math.h>: glibc and newlib implement expf / logf / powf differently, so the same
 * kernel would give other bits on the host than on the microcontroller (measured: newlib on
 * Cortex-M7 and glibc on x86-64 disagree in the last bit on ~10 % of expf and ~3 % of logf
 * results, and powf by up to 4 ulp). These functions give the same bits on every IEEE-754
 * target that evaluates float expressions in float (FLT_EVAL_METHOD 0: x86-64 SSE, Cortex-M4F/M7)
 * when compiled without FMA contraction (-std=c99 or -ffp-contract=off), and a numpy float32
 * replica of them (same operations, same order) reproduces them bit for bit.
 *
 * Accuracy (measured against double precision, tests/test_kernels_math.py): es_expf and es_logf
 * are within 1 ulp over their normal ranges and correctly rounded for ~90 % / ~97 % of inputs.
 */
#ifndef EDGESDK_MATH_F32_H
#define EDGESDK_MATH_F32_H

#include "edgesdk/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * e^x. x = k*ln2 + r with k = x*log2(e) rounded half away from zero, r = (x - k*LN2_HI) -
 * k*LN2_LO (|r| <= ~0.347), e^r = 1 + (r + q) with q = (r*r) * (1/2 + r*(1/6 + ... + r/5040))
 * (the degree-7 Taylor polynomial, Horner form), times 2^k (in two exact steps when 2^k is not a
 * normal float). NaN -> NaN; x > 88.8 -> +inf; x < -104 -> 0.
 */
float es_expf(float x);

/*
 * Natural logarithm. x = 2^e * m with m in [sqrt(2)/2, sqrt(2)), f = m - 1, s = f / (2 + f),
 * log(m) = 2 atanh(s) = f - (hf - s*(hf + R)) with hf = f*f/2 and R the Taylor series of
 * 2 atanh(s)/s - 2 in z = s*s up to z^5; log(x) = e*LN2_HI - ((hf - (s*(hf + R) + e*LN2_LO)) - f).
 * x < 0 or NaN -> NaN; 0 -> -inf; +inf -> +inf.
 */
float es_logf(float x);

/*
 * base^n for an integer n (Adam's bias corrections beta^t). n <= 0 -> 1. base > 0:
 * es_expf((float)n * es_logf(base)), relative error about (|n ln base| + 2) ulp, so 1 - beta^t
 * stays accurate where it matters (beta^t near 1). base <= 0: binary powering (result = 1;
 * while n: if n odd, result *= base; base *= base; n >>= 1).
 */
float es_powif(float base, int32_t n);

#ifdef __cplusplus
}
#endif

#endif /* EDGESDK_MATH_F32_H */
