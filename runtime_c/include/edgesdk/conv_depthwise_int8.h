/*
 * edgesdk/conv_depthwise_int8.h -- CONV_2D followed by DEPTHWISE_CONV_2D (depth multiplier 1) in
 * int8, fused so that the tensor between them is never stored whole.
 *
 * Shapes (es_dims {n, h, w, c}):
 *   in   x    [N, IH, IW, IC]       int8
 *   conv_w    [C, KH1, KW1, IC]     int8 (OHWI), conv_bias [C] int32 or NULL
 *   mid       [N, MH, MW, C]        the convolution's output: only its shape is passed
 *   dw_w      [1, KH, KW, C]        int8, dw_bias [C] int32 or NULL
 *   out  y    [N, OH, OW, C]        int8
 *
 * Definition: y is exactly what es_conv2d_int8_fwd(conv, x) -> mid followed by
 * es_depthwise_conv2d_int8_fwd(dw, mid) -> y computes (same integers, bit for bit: every element
 * of mid and of y is computed with the formula of its own kernel, conv2d_int8.h and
 * depthwise_conv2d_int8.h). Parameters, geometry and their checks are those two kernels';
 * dw->depth_multiplier must be 1.
 *
 * How: one batch item n and one channel c at a time, the depthwise output rows oh are walked in
 * order; before row oh, the rows of channel c of mid that it reads and that are not computed yet
 * are computed into a ring of R = (KH - 1) * dw->dilation_h + 1 rows of MW int8 values (mid row r
 * lives in ring row r mod R). The rows a depthwise output row reads never move backwards, so each
 * row of mid is computed exactly once and the convolution's MACs are not repeated.
 *
 *   scratch: at least es_conv_depthwise_int8_scratch_size(dw, dw_w_dims, mid_dims) bytes (R * MW),
 *            any alignment; its contents on return are unspecified.
 *
 * Returns ES_ERR_ARG for a NULL pointer, a parameter out of range, a depth multiplier other than
 * 1 or a scratch smaller than the ring; ES_ERR_SHAPE for inconsistent shapes. Nothing is written
 * (output or scratch) when it refuses.
 */
#ifndef EDGESDK_CONV_DEPTHWISE_INT8_H
#define EDGESDK_CONV_DEPTHWISE_INT8_H

#include "edgesdk/common.h"
#include "edgesdk/conv2d_int8.h"
#include "edgesdk/depthwise_conv2d_int8.h"

#ifdef __cplusplus
extern "C" {
#endif

es_status es_conv_depthwise_int8_fwd(const es_conv2d_int8_params *conv,
                                     const es_depthwise_conv2d_int8_params *dw,
                                     const es_dims *in_dims, const int8_t *in,
                                     const es_dims *conv_w_dims, const int8_t *conv_w,
                                     const int32_t *conv_bias,
                                     const es_dims *mid_dims,
                                     const es_dims *dw_w_dims, const int8_t *dw_w,
                                     const int32_t *dw_bias,
                                     const es_dims *out_dims, int8_t *out,
                                     int8_t *scratch, size_t scratch_bytes);

/* Bytes of the ring: ((KH - 1) * dw->dilation_h + 1) * MW; 0 when an argument is NULL or out of
 * range. The training graph's workspace_bytes of the fused node is the same number. */
size_t es_conv_depthwise_int8_scratch_size(const es_depthwise_conv2d_int8_params *dw,
                                           const es_dims *dw_w_dims, const es_dims *mid_dims);

#ifdef __cplusplus
}
#endif

#endif /* EDGESDK_CONV_DEPTHWISE_INT8_H */
