/*
 * edgesdk/qas_int8.h -- quantization-aware-scaled (QAS, MCUNetV3) SGD updates of int8 weights
 * and int32 biases from float32 gradients, with round-to-nearest or stochastic rounding.
 *
 * grad is the float32 gradient of the loss with respect to the *real* (dequantized) parameter,
 * as the float32 backward produces it. With w = s_w * q (int8 weights) and b = s_w * s_x * q
 * (int32 biases), the gradient with respect to q is s * grad, and QAS scales it by s^-2
 * (weights: s_w^-2, biases: s_w^-2 * s_x^-2); the step in integer units is then
 *   d = (grad * factor[channel]) * lr          (float32, in this order)
 * with factor = 1 / s_w (weights) or 1 / (s_w * s_x) (biases) -- the float32 SGD step expressed
 * in the parameter's integer units. Without QAS, factor = s_w resp. s_w * s_x. The factors are
 * computed at build time (edgesdk.quant.qas.qas_factors).
 *
 *   nearest:    k = roundf(d)                  (ties away from zero)
 *   stochastic: k = floorf(d + u), u = (r >> 8) * 2^-24 with r the next xorshift32 state
 *               (r ^= r << 13; r ^= r >> 17; r ^= r << 5), one draw per element updated
 *   k is saturated to the int32 range (NaN gives 0), then
 *   q = saturate(q - k): int8 weights to [-127, 127] (TFLite's symmetric weight range),
 *   int32 biases to [INT32_MIN, INT32_MAX].
 *
 * Region (es_qas_span, as es_optim_span in optim_f32.h plus the channel map): `rows` rows of
 * `cols` elements; element (r, j) of the parameter is param[r * param_stride + j], of the
 * gradient grad[r * grad_stride + j], and its channel (the index into factor) is
 * j / per_channel. Sparse updates of the first k output channels:
 *   CONV_2D / FC weights [OC, ...]:   {1, k * per_ch, total, k * per_ch, per_ch}   per_ch = KH*KW*IC or IN
 *   DEPTHWISE weights [1, KH, KW, C]: {KH * KW, k, C, k, 1}
 *   biases:                           {1, k, k, k, 1}
 * Elements are visited row by row, column by column (the order of the random draws).
 */
#ifndef EDGESDK_QAS_INT8_H
#define EDGESDK_QAS_INT8_H

#include "edgesdk/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* How the float32 step is turned into an integer one. */
typedef enum {
    ES_ROUND_NEAREST = 0,   /* roundf: nearest, ties away from zero */
    ES_ROUND_STOCHASTIC = 1 /* floorf(d + u), u uniform in [0, 1) from xorshift32 */
} es_rounding;

/* Hyper-parameters of one update. */
typedef struct {
    float lr;             /* learning rate */
    es_rounding rounding; /* ES_ROUND_NEAREST or ES_ROUND_STOCHASTIC */
} es_qas_params;

/* The part of a parameter an update touches, and which channel each element belongs to. */
typedef struct {
    int32_t rows;         /* number of rows, >= 1 */
    int32_t cols;         /* elements updated per row, >= 1 */
    int32_t param_stride; /* elements between row starts in the parameter, >= cols */
    int32_t grad_stride;  /* elements between row starts in the gradient, >= cols */
    int32_t per_channel;  /* consecutive elements of a row sharing one factor, >= 1 */
} es_qas_span;

/*
 * int8 weights. factor [ceil(cols / per_channel)]; rng_state: the xorshift32 state (nonzero),
 * advanced once per element, may be NULL with ES_ROUND_NEAREST.
 */
es_status es_qas_int8_update(const es_qas_params *params, const es_qas_span *span,
                             const float *factor, const float *grad, uint32_t *rng_state,
                             int8_t *param);

/* int32 biases; as es_qas_int8_update. */
es_status es_qas_int32_update(const es_qas_params *params, const es_qas_span *span,
                              const float *factor, const float *grad, uint32_t *rng_state,
                              int32_t *param);

/* The xorshift32 step: returns the next state (never 0 for a nonzero state). */
uint32_t es_xorshift32(uint32_t state);

#ifdef __cplusplus
}
#endif

#endif /* EDGESDK_QAS_INT8_H */
