/*
 * edgesdk/depthwise_conv2d_int8.h -- DEPTHWISE_CONV_2D in int8, bit-exact with TFLite Micro.
 *
 * Shapes (es_dims {n, h, w, c}):
 *   in   x  [N, IH, IW, IC]        int8
 *   w       [1, KH, KW, IC * M]    int8, per output channel (M = depth_multiplier)
 *   bias    [IC * M] int32 or NULL
 *   out  y  [N, OH, OW, IC * M]    int8; output channel oc = ic * M + m reads input channel ic
 * Geometry, checks and arithmetic as in conv2d_int8.h with the sum over (kh, kw) only.
 * Constants: edgesdk.quant.prepare.prepare_depthwise (DepthwiseInt8Params).
 */
#ifndef EDGESDK_DEPTHWISE_CONV2D_INT8_H
#define EDGESDK_DEPTHWISE_CONV2D_INT8_H

#include "edgesdk/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Parameters of the int8 DEPTHWISE_CONV_2D. */
typedef struct {
    int32_t stride_h;          /* vertical stride, >= 1 */
    int32_t stride_w;          /* horizontal stride, >= 1 */
    int32_t dilation_h;        /* vertical dilation, >= 1 */
    int32_t dilation_w;        /* horizontal dilation, >= 1 */
    int32_t pad_top;           /* resolved pad before, rows, >= 0 */
    int32_t pad_left;          /* resolved pad before, columns, >= 0 */
    int32_t depth_multiplier;  /* M, >= 1 */
    int32_t input_offset;      /* -(input zero point), -127..128 */
    int32_t output_offset;     /* output zero point, -128..127 */
    int32_t act_min;           /* lowest output value, -128..act_max */
    int32_t act_max;           /* highest output value, act_min..127 */
    const int32_t *multiplier; /* [IC * M] requantization multipliers, >= 0 */
    const int32_t *shift;      /* [IC * M] requantization shifts, -31..30 */
} es_depthwise_conv2d_int8_params;

es_status es_depthwise_conv2d_int8_fwd(const es_depthwise_conv2d_int8_params *params,
                                       const es_dims *in_dims, const int8_t *in,
                                       const es_dims *w_dims, const int8_t *w,
                                       const int32_t *bias,
                                       const es_dims *out_dims, int8_t *out);

#ifdef __cplusplus
}
#endif

#endif /* EDGESDK_DEPTHWISE_CONV2D_INT8_H */
