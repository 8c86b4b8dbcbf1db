/*
 * edgesdk/conv2d_int8.h -- CONV_2D in int8, bit-exact with TFLite Micro's reference kernel.
 *
 * Shapes (es_dims {n, h, w, c}):
 *   in   x  [N, IH, IW, IC]   int8, per-tensor quantized (zero point zx)
 *   w       [OC, KH, KW, IC]  int8, symmetric, per output channel (OHWI)
 *   bias    [OC] int32 (scale s_x * s_w[oc], zero point 0) or NULL
 *   out  y  [N, OH, OW, OC]   int8
 * Geometry and its checks as in conv2d_f32.h (resolved pad_top / pad_left, taps outside the
 * input skipped).
 *
 * Split weights (a weight trained only on its first k output channels keeps those rows in RAM and
 * the frozen rest in flash): with w_tail != NULL, output channel oc reads its KH*KW*IC weights at
 * w + oc*KH*KW*IC for oc < k = w_head_channels and at w_tail + (oc - k)*KH*KW*IC otherwise. The
 * sums are the same integers as with one whole array. w_tail NULL and w_head_channels 0 (or OC):
 * w holds every row. Refused (ES_ERR_ARG): w_head_channels outside 0..OC, or w_tail NULL with
 * 0 < w_head_channels < OC.
 *
 *   acc = sum over in-bounds taps (kh, kw, ic) of w[oc,kh,kw,ic] * (x[...] + input_offset)
 *         (+ bias[oc]); int32, wrapping on overflow like TFLite (never for K*K*IC < 2^16)
 *   y   = clamp(es_mbqm(acc, multiplier[oc], shift[oc]) + output_offset, act_min, act_max)
 * Every constant comes from edgesdk.quant.prepare.prepare_conv (ConvInt8Params).
 */
#ifndef EDGESDK_CONV2D_INT8_H
#define EDGESDK_CONV2D_INT8_H

#include "edgesdk/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Parameters of the int8 CONV_2D, all precomputed at code-generation time. */
typedef struct {
    int32_t stride_h;          /* vertical stride, >= 1 */
    int32_t stride_w;          /* horizontal stride, >= 1 */
    int32_t dilation_h;        /* vertical dilation, >= 1 */
    int32_t dilation_w;        /* horizontal dilation, >= 1 */
    int32_t pad_top;           /* resolved pad before, rows, >= 0 */
    int32_t pad_left;          /* resolved pad before, columns, >= 0 */
    int32_t input_offset;      /* -(input zero point), -127..128 */
    int32_t output_offset;     /* output zero point, -128..127 */
    int32_t act_min;           /* lowest output value, -128..act_max */
    int32_t act_max;           /* highest output value, act_min..127 */
    const int32_t *multiplier; /* [OC] requantization multipliers, >= 0 */
    const int32_t *shift;      /* [OC] requantization shifts, -31..30 */
    const int8_t *w_tail;      /* split weights: rows w_head_channels..OC-1 [OC-k, KH, KW, IC], else NULL */
    int32_t w_head_channels;   /* split weights: k, the rows in w, 0..OC; 0 when w_tail is NULL */
} es_conv2d_int8_params;

es_status es_conv2d_int8_fwd(const es_conv2d_int8_params *params,
                             const es_dims *in_dims, const int8_t *in,
                             const es_dims *w_dims, const int8_t *w,
                             const int32_t *bias,
                             const es_dims *out_dims, int8_t *out);

#ifdef __cplusplus
}
#endif

#endif /* EDGESDK_CONV2D_INT8_H */
