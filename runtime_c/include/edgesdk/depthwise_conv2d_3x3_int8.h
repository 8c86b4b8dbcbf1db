/*
 * edgesdk/depthwise_conv2d_3x3_int8.h -- DEPTHWISE_CONV_2D in int8 with a 3x3 kernel: the same
 * integers as es_depthwise_conv2d_int8_fwd (depthwise_conv2d_int8.h, bit-exact with TFLite
 * Micro) for depth multiplier 1 and dilation 1, any stride and padding.
 *
 * Shapes, parameters and arithmetic are those of depthwise_conv2d_int8.h with KH = KW = 3, M = 1:
 *   in   x  [N, IH, IW, C]  int8
 *   w       [1, 3, 3, C]    int8
 *   bias    [C] int32 or NULL
 *   out  y  [N, OH, OW, C]  int8
 * Extra conditions: depth_multiplier = 1, dilation_h = dilation_w = 1 (else ES_ERR_ARG); a 3x3
 * kernel (else ES_ERR_SHAPE). Everything es_depthwise_conv2d_int8_fwd refuses is refused with its
 * status; nothing is written then.
 *
 * How: channel by channel, in runs of up to 32 outputs, the input rows a run reads are copied
 * into a few hundred bytes of stack with the input's zero point in place of the taps outside the
 * input (such a tap adds w * (zero point + input_offset) = 0, as the reference's skipped tap), so
 * every output sums the same nine raw products: per kernel row one 32-bit load and, on cores
 * with the DSP extension, one SMLAD plus one SMLABB/SMLATB (stride 1: one load serves two
 * outputs), with the input offset hoisted (offset * sum of the channel's nine weights).
 */
#ifndef EDGESDK_DEPTHWISE_CONV2D_3X3_INT8_H
#define EDGESDK_DEPTHWISE_CONV2D_3X3_INT8_H

#include "edgesdk/depthwise_conv2d_int8.h"

#ifdef __cplusplus
extern "C" {
#endif

es_status es_depthwise_conv2d_3x3_int8_fwd(const es_depthwise_conv2d_int8_params *params,
                                           const es_dims *in_dims, const int8_t *in,
                                           const es_dims *w_dims, const int8_t *w,
                                           const int32_t *bias,
                                           const es_dims *out_dims, int8_t *out);

#ifdef __cplusplus
}
#endif

#endif /* EDGESDK_DEPTHWISE_CONV2D_3X3_INT8_H */
