/*
 * edgesdk/fully_connected_f32.h -- FULLY_CONNECTED in float32: forward, input gradient,
 * weight gradient.
 *
 * The input is viewed as rows of K features: rows = count(in_dims) / K (TFLite flattens every
 * leading dimension into the batch), y = x . W^T + b row by row.
 *   in   x  any dims with count = rows * K
 *   w       [O, 1, 1, K]            ([out, in] mapped to es_dims)
 *   bias    [O] or NULL
 *   out  y  any dims with c = O and count = rows * O  (e.g. {N, 1, 1, O})
 * The fused activation's backward is es_act_f32_bwd; the bias gradient is es_bias_grad_f32.
 */
#ifndef EDGESDK_FULLY_CONNECTED_F32_H
#define EDGESDK_FULLY_CONNECTED_F32_H

#include "edgesdk/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Parameters of FULLY_CONNECTED. */
typedef struct {
    es_activation activation; /* fused activation of the forward pass */
} es_fully_connected_params;

/*
 * Forward: y[r,o] = f(sum_k x[r,k] * w[o,k] + bias[o]).
 * Order: one running float sum from 0 over k (ascending), then + bias, then the activation.
 */
es_status es_fully_connected_f32_fwd(const es_fully_connected_params *params,
                                     const es_dims *in_dims, const float *in,
                                     const es_dims *w_dims, const float *w,
                                     const float *bias,
                                     const es_dims *out_dims, float *out);

/*
 * Input gradient: dx[r,k] = sum_o dz[r,o] * w[o,k].
 * Order: per dx element one running float sum from 0 over o (ascending).
 *   dz (out_dims)   w [O, 1, 1, K]   dx (in_dims)
 */
es_status es_fully_connected_f32_bwd_in(const es_dims *out_dims, const float *dz,
                                        const es_dims *w_dims, const float *w,
                                        const es_dims *in_dims, float *dx);

/*
 * Weight gradient: dw[o,k] = sum_r dz[r,o] * x[r,k].
 * Order: per dw element one running float sum from 0 over r (ascending).
 * Sparse update: dw_dims->n may be smaller than O (= out_dims->c); then only the first
 * dw_dims->n output rows are computed and dw is that compact [k, 1, 1, K] prefix.
 *   dz (out_dims)   x (in_dims)   dw [k, 1, 1, K], k <= O
 */
es_status es_fully_connected_f32_bwd_w(const es_dims *out_dims, const float *dz,
                                       const es_dims *in_dims, const float *in,
                                       const es_dims *dw_dims, float *dw);

#ifdef __cplusplus
}
#endif

#endif /* EDGESDK_FULLY_CONNECTED_F32_H */
