/*
 * edgesdk/fully_connected_int8.h -- FULLY_CONNECTED in int8, bit-exact with TFLite Micro.
 *
 * Shapes (es_dims {n, h, w, c}):
 *   in   x  rows x K: in_dims->c == K, rows = n * h * w   (rank 2 [N, K] -> {N, 1, 1, K};
 *                                                          a flattened input -> {1, 1, 1, K})
 *   w       [OUT, K]  -> {OUT, 1, 1, K}, int8
 *   bias    [OUT] int32 or NULL
 *   out  y  rows x OUT: out_dims->c == OUT, n * h * w == rows
 *
 *   acc = sum_k (w[o,k] + weights_offset) * (x[r,k] + input_offset) (+ bias[o]), int32 wrapping
 *   y   = clamp(es_mbqm(acc, multiplier[o], shift[o]) + output_offset, act_min, act_max)
 * Per-tensor weights: every multiplier[o] / shift[o] the same (TFLite computes that one from the
 * float32 product of the scales) and weights_offset = -(weights zero point); per-channel:
 * weights_offset = 0. Constants: edgesdk.quant.prepare.prepare_fully_connected.
 *
 * Split weights (the first k output rows in RAM, the frozen rest in flash): with w_tail != NULL,
 * row o is at w + o*K for o < k = w_head_channels and at w_tail + (o - k)*K otherwise; the sums
 * are the same integers as with one whole array. w_tail NULL and w_head_channels 0 (or OUT): w
 * holds every row. Refused (ES_ERR_ARG): w_head_channels outside 0..OUT, or w_tail NULL with
 * 0 < w_head_channels < OUT.
 */
#ifndef EDGESDK_FULLY_CONNECTED_INT8_H
#define EDGESDK_FULLY_CONNECTED_INT8_H

#include "edgesdk/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Parameters of the int8 FULLY_CONNECTED. */
typedef struct {
    int32_t input_offset;      /* -(input zero point), -127..128 */
    int32_t weights_offset;    /* -(weights zero point), -127..128 (0 for per-channel) */
    int32_t output_offset;     /* output zero point, -128..127 */
    int32_t act_min;           /* lowest output value, -128..act_max */
    int32_t act_max;           /* highest output value, act_min..127 */
    const int32_t *multiplier; /* [OUT] requantization multipliers, >= 0 */
    const int32_t *shift;      /* [OUT] requantization shifts, -31..30 */
    const int8_t *w_tail;      /* split weights: rows w_head_channels..OUT-1 [OUT-k, K], else NULL */
    int32_t w_head_channels;   /* split weights: k, the rows in w, 0..OUT; 0 when w_tail is NULL */
} es_fully_connected_int8_params;

es_status es_fully_connected_int8_fwd(const es_fully_connected_int8_params *params,
                                      const es_dims *in_dims, const int8_t *in,
                                      const es_dims *w_dims, const int8_t *w,
                                      const int32_t *bias,
                                      const es_dims *out_dims, int8_t *out);

#ifdef __cplusplus
}
#endif

#endif /* EDGESDK_FULLY_CONNECTED_INT8_H */
