/*
 * edgesdk/depthwise_conv2d_int8_bwd.h -- DEPTHWISE_CONV_2D backward of an int8 layer: input
 * gradient, weight gradient and the weight gradient fused with its QAS update.
 *
 * The float32 backward of es_depthwise_conv2d_f32_* (depthwise_conv2d_f32.h: shapes, geometry,
 * checks, summation orders) reading the int8 forward tensors and dequantizing each element inside
 * (edgesdk/dequant_int8.h); weights [1, KH, KW, C*M] have one scale per output channel c*M + m.
 * params->activation is ignored.
 */
#ifndef EDGESDK_DEPTHWISE_CONV2D_INT8_BWD_H
#define EDGESDK_DEPTHWISE_CONV2D_INT8_BWD_H

#include "edgesdk/common.h"
#include "edgesdk/depthwise_conv2d_f32.h"
#include "edgesdk/dequant_int8.h"
#include "edgesdk/qas_int8_train.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Input gradient (order kh, kw, m).
 *   dz [N, OH, OW, C*M] (out_dims)   w [1, KH, KW, C*M] int8   dx [N, IH, IW, C] (in_dims)
 * Depthwise weights are one array: a split (wq->tail or wq->head_channels set) is refused.
 */
es_status es_depthwise_conv2d_int8_bwd_in(const es_depthwise_conv2d_params *params,
                                          const es_weights_int8_quant *wq,
                                          const es_dims *out_dims, const float *dz,
                                          const es_dims *w_dims, const int8_t *w,
                                          const es_dims *in_dims, float *dx);

/*
 * Weight gradient (order n, oh, ow) of the first dw_dims->c output channels, compact
 * [1, KH, KW, k].
 *   dz [N, OH, OW, C*M] (out_dims)   x [N, IH, IW, C] int8 (in_dims)   dw [1, KH, KW, k]
 */
es_status es_depthwise_conv2d_int8_bwd_w(const es_depthwise_conv2d_params *params,
                                         const es_affine_int8_params *xq,
                                         const es_dims *out_dims, const float *dz,
                                         const es_dims *in_dims, const int8_t *in,
                                         const es_dims *dw_dims, float *dw);

/*
 * Weight gradient fused with the QAS update of the first qas->channels channels of every tap of
 * w (in place): per tap (kh, kw), the k gradients into scratch, then the update of that tap's k
 * weights. Equal, bit for bit, to es_depthwise_conv2d_int8_bwd_w followed by the update with the
 * span {KH*KW, k, C*M, k, 1}.
 *   w [1, KH, KW, C*M] int8 (w_dims)   master [1, KH, KW, k] or NULL   rng_state as conv2d
 *   scratch: es_depthwise_conv2d_int8_bwd_w_qas_scratch_size(qas) bytes
 */
es_status es_depthwise_conv2d_int8_bwd_w_qas(const es_depthwise_conv2d_params *params,
                                             const es_affine_int8_params *xq,
                                             const es_qas_layer_params *qas,
                                             const es_dims *out_dims, const float *dz,
                                             const es_dims *in_dims, const int8_t *in,
                                             const es_dims *w_dims, int8_t *w,
                                             float *master, uint32_t *rng_state, float *scratch);

/* Scratch bytes of es_depthwise_conv2d_int8_bwd_w_qas: one tap of k channels, 4 * k. */
size_t es_depthwise_conv2d_int8_bwd_w_qas_scratch_size(const es_qas_layer_params *qas);

#ifdef __cplusplus
}
#endif

#endif /* EDGESDK_DEPTHWISE_CONV2D_INT8_BWD_H */
