/*
 * edgesdk/conv2d_int8_bwd.h -- CONV_2D backward of an int8 layer: input gradient, weight
 * gradient and the weight gradient fused with its QAS update.
 *
 * The float32 backward of es_conv2d_f32_* (conv2d_f32.h: shapes, geometry, checks, summation
 * orders), reading the int8 tensors of the forward pass and dequantizing each element inside
 * (edgesdk/dequant_int8.h):
 *   w[oc,kh,kw,ic] = wq->scale[oc] * (float)(q - wq->zero_point)
 *   x[n,ih,iw,ic]  = xq->scale * (float)(q - xq->zero_point)
 * Each term is dz * w (resp. dz * x) with the dequantized value, so the results are the bits of
 * the fp32 kernels run on the dequantized tensors. params->activation is ignored (its backward is
 * es_act_int8_bwd, act_int8_bwd.h).
 */
#ifndef EDGESDK_CONV2D_INT8_BWD_H
#define EDGESDK_CONV2D_INT8_BWD_H

#include "edgesdk/common.h"
#include "edgesdk/conv2d_f32.h"
#include "edgesdk/dequant_int8.h"
#include "edgesdk/qas_int8_train.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Input gradient: es_conv2d_f32_bwd_in on the dequantized weights (order kh, kw, oc).
 *   dz [N, OH, OW, OC] (out_dims)   w [OC, KH, KW, IC] int8   dx [N, IH, IW, IC] (in_dims)
 * Split weights (wq->tail, wq->head_channels; edgesdk/dequant_int8.h): w holds the first
 * head_channels rows, wq->tail the rest; the same bits as one whole array.
 */
es_status es_conv2d_int8_bwd_in(const es_conv2d_params *params, const es_weights_int8_quant *wq,
                                const es_dims *out_dims, const float *dz,
                                const es_dims *w_dims, const int8_t *w,
                                const es_dims *in_dims, float *dx);

/*
 * Weight gradient: es_conv2d_f32_bwd_w on the dequantized input (order n, oh, ow), the first
 * dw_dims->n output channels as a compact [k, KH, KW, IC].
 *   dz [N, OH, OW, OC] (out_dims)   x [N, IH, IW, IC] int8 (in_dims)   dw [k, KH, KW, IC]
 */
es_status es_conv2d_int8_bwd_w(const es_conv2d_params *params, const es_affine_int8_params *xq,
                               const es_dims *out_dims, const float *dz,
                               const es_dims *in_dims, const int8_t *in,
                               const es_dims *dw_dims, float *dw);

/*
 * Weight gradient fused with the QAS update of the first qas->channels output channels of w (in
 * place): per (oc, kh, kw) row, the IC gradients of es_conv2d_int8_bwd_w into scratch, then the
 * update of that row (qas_int8_train.h). Equal, bit for bit, to es_conv2d_int8_bwd_w followed by
 * es_qas_int8_update (or es_qas_int8_master_update) with the span {1, k*KH*KW*IC, total,
 * k*KH*KW*IC, KH*KW*IC}.
 *   w [OC, KH, KW, IC] int8 (w_dims, the whole tensor)   master [k, KH, KW, IC] or NULL
 *   Only the first k rows of w are read or written, so w may be a split weight's RAM head alone
 *   (k * KH*KW*IC elements).
 *   rng_state: xorshift32 state (stochastic rounding), else may be NULL
 *   scratch: es_conv2d_int8_bwd_w_qas_scratch_size(w_dims) bytes
 */
es_status es_conv2d_int8_bwd_w_qas(const es_conv2d_params *params, const es_affine_int8_params *xq,
                                   const es_qas_layer_params *qas,
                                   const es_dims *out_dims, const float *dz,
                                   const es_dims *in_dims, const int8_t *in,
                                   const es_dims *w_dims, int8_t *w,
                                   float *master, uint32_t *rng_state, float *scratch);

/* Scratch bytes of es_conv2d_int8_bwd_w_qas: one (oc, kh, kw) row, 4 * IC. */
size_t es_conv2d_int8_bwd_w_qas_scratch_size(const es_dims *w_dims);

#ifdef __cplusplus
}
#endif

#endif /* EDGESDK_CONV2D_INT8_BWD_H */
