/*
 * edgesdk/depthwise_conv2d_f32.h -- DEPTHWISE_CONV_2D in float32: forward, input gradient,
 * weight gradient.
 *
 * Shapes (es_dims {n, h, w, c}), M = depth_multiplier:
 *   in   x  [N, IH, IW, C]
 *   w       [1, KH, KW, C*M]        output channel j = c*M + m reads input channel c = j / M
 *   bias    [C*M] or NULL
 *   out  y  [N, OH, OW, C*M]
 *
 * Geometry (strides, dilations, resolved pad_before, checks) exactly as in conv2d_f32.h.
 * The fused activation's backward is es_act_f32_bwd; the bias gradient is es_bias_grad_f32.
 */
#ifndef EDGESDK_DEPTHWISE_CONV2D_F32_H
#define EDGESDK_DEPTHWISE_CONV2D_F32_H

#include "edgesdk/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Parameters of DEPTHWISE_CONV_2D, all precomputed at code-generation time. */
typedef struct {
    int32_t stride_h;         /* vertical stride, >= 1 */
    int32_t stride_w;         /* horizontal stride, >= 1 */
    int32_t dilation_h;       /* vertical dilation, >= 1 */
    int32_t dilation_w;       /* horizontal dilation, >= 1 */
    int32_t pad_top;          /* zero rows before the input (resolved pad_before), >= 0 */
    int32_t pad_left;         /* zero columns before the input (resolved pad_before), >= 0 */
    int32_t depth_multiplier; /* M: output channels per input channel, >= 1 */
    es_activation activation; /* fused activation of the forward pass */
} es_depthwise_conv2d_params;

/*
 * Forward: y[n,oh,ow,j] = f(sum_{kh,kw} x[n,ih,iw,j/M] * w[0,kh,kw,j] + bias[j]).
 * Order: one running float sum from 0 over kh, then kw (ascending; out-of-bounds taps skipped),
 * then + bias, then the activation.
 */
es_status es_depthwise_conv2d_f32_fwd(const es_depthwise_conv2d_params *params,
                                      const es_dims *in_dims, const float *in,
                                      const es_dims *w_dims, const float *w,
                                      const float *bias,
                                      const es_dims *out_dims, float *out);

/*
 * Input gradient: dx[n,ih,iw,c] = sum over (kh, kw, m) of dz[n,oh,ow,c*M+m] * w[0,kh,kw,c*M+m]
 * for the (oh, ow) whose window puts tap (kh, kw) on (ih, iw).
 * Order: per dx element one running float sum from 0 over kh, then kw, then m (ascending).
 *   dz [N, OH, OW, C*M] (out_dims)   w [1, KH, KW, C*M]   dx [N, IH, IW, C] (in_dims)
 */
es_status es_depthwise_conv2d_f32_bwd_in(const es_depthwise_conv2d_params *params,
                                         const es_dims *out_dims, const float *dz,
                                         const es_dims *w_dims, const float *w,
                                         const es_dims *in_dims, float *dx);

/*
 * Weight gradient: dw[0,kh,kw,j] = sum_{n,oh,ow} dz[n,oh,ow,j] * x[n,ih,iw,j/M].
 * Order: per dw element one running float sum from 0 over n, then oh, then ow (ascending).
 * Sparse update: dw_dims->c may be smaller than C*M; then only the first k = dw_dims->c output
 * channels are computed and dw is compact [1, KH, KW, k] (row stride k, not C*M).
 *   dz [N, OH, OW, C*M] (out_dims)   x [N, IH, IW, C] (in_dims)   dw [1, KH, KW, k], k <= C*M
 */
es_status es_depthwise_conv2d_f32_bwd_w(const es_depthwise_conv2d_params *params,
                                        const es_dims *out_dims, const float *dz,
                                        const es_dims *in_dims, const float *in,
                                        const es_dims *dw_dims, float *dw);

#ifdef __cplusplus
}
#endif

#endif /* EDGESDK_DEPTHWISE_CONV2D_F32_H */
