/*
 * edgesdk/conv2d_f32.h -- CONV_2D in float32: forward, input gradient, weight gradient.
 *
 * Shapes (es_dims {n, h, w, c}):
 *   in   x  [N, IH, IW, IC]         NHWC
 *   w       [OC, KH, KW, IC]        OHWI (TFLite's layout)
 *   bias    [OC] or NULL            (no bias)
 *   out  y  [N, OH, OW, OC]
 *
 * Geometry: output pixel (oh, ow) reads input rows ih = oh*stride_h - pad_top + kh*dilation_h
 * (kh = 0..KH-1), likewise for columns; taps outside the input read zero. pad_top / pad_left are
 * the resolved "pad before" amounts: TFLite SAME gives pad_total = max((OH-1)*stride +
 * (KH-1)*dilation + 1 - IH, 0) and pad_before = pad_total / 2; VALID gives 0. The padding after
 * is implied by OH / OW. Checks: strides and dilations >= 1 and pads >= 0 (else ES_ERR_ARG);
 * pad <= (K-1)*dilation and (OH-1)*stride_h - pad_top <= IH-1, i.e. every window starts inside
 * the input, likewise for W, and channel / batch counts agree (else ES_ERR_SHAPE).
 *
 * Backward nodes: the forward's fused activation is undone by es_act_f32_bwd (elementwise_f32.h)
 * which turns dy into dz; the kernels here take dz. The bias gradient is es_bias_grad_f32
 * (bias_grad_f32.h).
 */
#ifndef EDGESDK_CONV2D_F32_H
#define EDGESDK_CONV2D_F32_H

#include "edgesdk/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Parameters of CONV_2D, all precomputed at code-generation time. */
typedef struct {
    int32_t stride_h;        /* vertical stride, >= 1 */
    int32_t stride_w;        /* horizontal stride, >= 1 */
    int32_t dilation_h;      /* vertical dilation, >= 1 */
    int32_t dilation_w;      /* horizontal dilation, >= 1 */
    int32_t pad_top;         /* zero rows before the input (resolved pad_before), >= 0 */
    int32_t pad_left;        /* zero columns before the input (resolved pad_before), >= 0 */
    es_activation activation; /* fused activation of the forward pass */
} es_conv2d_params;

/*
 * Forward: y[n,oh,ow,oc] = f(sum_{kh,kw,ic} x[n,ih,iw,ic] * w[oc,kh,kw,ic] + bias[oc]).
 * Order: one running float sum from 0, over kh, then kw, then ic (ascending; out-of-bounds taps
 * skipped), then + bias, then the activation.
 */
es_status es_conv2d_f32_fwd(const es_conv2d_params *params,
                            const es_dims *in_dims, const float *in,
                            const es_dims *w_dims, const float *w,
                            const float *bias,
                            const es_dims *out_dims, float *out);

/*
 * Input gradient: dx[n,ih,iw,ic] = sum over (kh, kw, oc) with
 * ih = oh*stride_h - pad_top + kh*dilation_h for an integer 0 <= oh < OH (same for columns)
 * of dz[n,oh,ow,oc] * w[oc,kh,kw,ic].
 * Order: per dx element one running float sum from 0, over kh, then kw, then oc (ascending).
 * Every dx element is written (zero where no window reads it). params->activation is ignored.
 *   dz  [N, OH, OW, OC] (out_dims)   w [OC, KH, KW, IC]   dx [N, IH, IW, IC] (in_dims)
 */
es_status es_conv2d_f32_bwd_in(const es_conv2d_params *params,
                               const es_dims *out_dims, const float *dz,
                               const es_dims *w_dims, const float *w,
                               const es_dims *in_dims, float *dx);

/*
 * Weight gradient: dw[oc,kh,kw,ic] = sum_{n,oh,ow} dz[n,oh,ow,oc] * x[n,ih,iw,ic]
 * (out-of-bounds taps contribute nothing).
 * Order: per dw element one running float sum from 0 over n, then oh, then ow (ascending).
 * Sparse update: dw_dims->n may be smaller than OC (= out_dims->c); then only the first
 * dw_dims->n output channels are computed and dw is that compact [k, KH, KW, IC] prefix.
 * params->activation is ignored.
 *   dz  [N, OH, OW, OC] (out_dims)   x [N, IH, IW, IC] (in_dims)   dw [k, KH, KW, IC], k <= OC
 */
es_status es_conv2d_f32_bwd_w(const es_conv2d_params *params,
                              const es_dims *out_dims, const float *dz,
                              const es_dims *in_dims, const float *in,
                              const es_dims *dw_dims, float *dw);

#ifdef __cplusplus
}
#endif

#endif /* EDGESDK_CONV2D_F32_H */
