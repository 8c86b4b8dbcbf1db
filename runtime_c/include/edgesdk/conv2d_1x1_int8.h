/*
 * edgesdk/conv2d_1x1_int8.h -- pointwise CONV_2D in int8: the same integers as es_conv2d_int8_fwd
 * (conv2d_int8.h, bit-exact with TFLite Micro) for 1x1 kernels with stride 1 and no padding.
 *
 * Shapes, parameters and arithmetic are those of conv2d_int8.h with KH = KW = 1:
 *   in   x  [N, H, W, IC]   int8
 *   w       [OC, 1, 1, IC]  int8
 *   bias    [OC] int32 or NULL
 *   out  y  [N, H, W, OC]   int8
 * Extra conditions: stride_h = stride_w = 1, pad_top = pad_left = 0 (else ES_ERR_ARG); a 1x1
 * kernel (else ES_ERR_SHAPE). Dilation does not matter for one tap (any value >= 1 is accepted).
 * Everything es_conv2d_int8_fwd refuses is refused with its status; nothing is written then.
 *
 * How: a matrix product of the N*H*W input rows with the OC weight rows, in blocks of 2 rows x 2
 * output channels (four dot products per load of two input and two weight rows), with the input
 * offset hoisted out of the dot products (sum w*(x + offset) = sum w*x + offset * sum w, the
 * weight sum computed per output channel). On cores with the DSP extension the dot products use
 * SMLAD, two multiply-accumulates per instruction.
 */
#ifndef EDGESDK_CONV2D_1X1_INT8_H
#define EDGESDK_CONV2D_1X1_INT8_H

#include "edgesdk/conv2d_int8.h"

#ifdef __cplusplus
extern "C" {
#endif

es_status es_conv2d_1x1_int8_fwd(const es_conv2d_int8_params *params,
                                 const es_dims *in_dims, const int8_t *in,
                                 const es_dims *w_dims, const int8_t *w,
                                 const int32_t *bias,
                                 const es_dims *out_dims, int8_t *out);

#ifdef __cplusplus
}
#endif

#endif /* EDGESDK_CONV2D_1X1_INT8_H */
