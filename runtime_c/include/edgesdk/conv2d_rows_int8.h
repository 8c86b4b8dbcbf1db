/*
 * edgesdk/conv2d_rows_int8.h -- CONV_2D in int8 for any kernel size, stride, padding and
 * vertical dilation: the same integers as es_conv2d_int8_fwd (conv2d_int8.h, bit-exact with
 * TFLite Micro) when dilation_w = 1, so that each kernel row reads one contiguous run of KW * IC
 * input bytes (NHWC).
 *
 * Shapes, parameters and arithmetic are those of conv2d_int8.h:
 *   in   x  [N, IH, IW, IC]   int8
 *   w       [OC, KH, KW, IC]  int8
 *   bias    [OC] int32 or NULL
 *   out  y  [N, OH, OW, OC]   int8
 * Extra condition: dilation_w = 1 (else ES_ERR_ARG). Everything es_conv2d_int8_fwd refuses is
 * refused with its status; nothing is written then. For 1x1 kernels with stride 1 and no padding
 * es_conv2d_1x1_int8_fwd is faster.
 *
 * How (no im2col buffer): output pixels whose window lies inside the input (the interior, a
 * rectangle of output rows x columns found once per call) are computed in blocks of 2 pixels x 2
 * output channels, each output the sum over kernel rows of one dot product of KW * IC bytes, with
 * the input offset hoisted (offset * sum of the channel's weights, once per channel) and no
 * bounds checks; the others (the border) skip the taps outside the input as the reference does.
 */
#ifndef EDGESDK_CONV2D_ROWS_INT8_H
#define EDGESDK_CONV2D_ROWS_INT8_H

#include "edgesdk/conv2d_int8.h"

#ifdef __cplusplus
extern "C" {
#endif

es_status es_conv2d_rows_int8_fwd(const es_conv2d_int8_params *params,
                                  const es_dims *in_dims, const int8_t *in,
                                  const es_dims *w_dims, const int8_t *w,
                                  const int32_t *bias,
                                  const es_dims *out_dims, int8_t *out);

#ifdef __cplusplus
}
#endif

#endif /* EDGESDK_CONV2D_ROWS_INT8_H */
