/*
 * edgesdk/pool_f32.h -- AVERAGE_POOL_2D and MAX_POOL_2D in float32: forward and input gradient.
 *
 * Shapes: in x [N, IH, IW, C], out y [N, OH, OW, C]. Window (oh, ow) covers input rows
 * oh*stride_h - pad_top .. + filter_h - 1 (columns likewise); positions outside the input are
 * ignored: the average divides by the number of in-bounds elements (TFLite's SAME behaviour) and
 * the maximum never considers them. Checks as in conv2d_f32.h with dilation 1, so every window
 * holds at least one input element.
 * The fused activation's backward is es_act_f32_bwd (the kernels here take dz).
 */
#ifndef EDGESDK_POOL_F32_H
#define EDGESDK_POOL_F32_H

#include "edgesdk/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Parameters of AVERAGE_POOL_2D / MAX_POOL_2D. */
typedef struct {
    int32_t filter_h;         /* window height, >= 1 */
    int32_t filter_w;         /* window width, >= 1 */
    int32_t stride_h;         /* vertical stride, >= 1 */
    int32_t stride_w;         /* horizontal stride, >= 1 */
    int32_t pad_top;          /* rows before the input (resolved pad_before), 0..filter_h-1 */
    int32_t pad_left;         /* columns before the input (resolved pad_before), 0..filter_w-1 */
    es_activation activation; /* fused activation of the forward pass */
} es_pool2d_params;

/*
 * Forward: y[n,oh,ow,c] = f((sum of the in-bounds window elements) / (float)count).
 * Order: one running float sum from 0 over window rows, then columns (ascending), then one
 * division by the in-bounds count, then the activation.
 */
es_status es_avg_pool2d_f32_fwd(const es_pool2d_params *params,
                                const es_dims *in_dims, const float *in,
                                const es_dims *out_dims, float *out);

/*
 * Input gradient: dx[n,ih,iw,c] = sum over the windows (oh, ow) containing (ih, iw) of
 * dz[n,oh,ow,c] / (float)count(oh, ow).
 * Order: per dx element one running float sum from 0 over the window tap kh, then kw
 * (ascending; tap (kh, kw) of window (oh, ow) is the element), each term divided first.
 *   dz [N, OH, OW, C] (out_dims)   dx [N, IH, IW, C] (in_dims)
 */
es_status es_avg_pool2d_f32_bwd(const es_pool2d_params *params,
                                const es_dims *out_dims, const float *dz,
                                const es_dims *in_dims, float *dx);

/*
 * Forward: y[n,oh,ow,c] = f(max of the in-bounds window elements).
 */
es_status es_max_pool2d_f32_fwd(const es_pool2d_params *params,
                                const es_dims *in_dims, const float *in,
                                const es_dims *out_dims, float *out);

/*
 * Input gradient: each dz[n,oh,ow,c] goes to the first maximum of its window in row-major
 * window order (rows, then columns; a later equal value does not replace it), recomputed from
 * the forward input x. dx is zero elsewhere.
 * Order: dx is cleared, then windows are visited in (n, oh, ow, c) order and each adds its dz to
 * its maximum's element, so an element that is the maximum of several windows sums them in
 * that order.
 *   x [N, IH, IW, C] (in_dims)   dz [N, OH, OW, C] (out_dims)   dx [N, IH, IW, C] (in_dims)
 */
es_status es_max_pool2d_f32_bwd(const es_pool2d_params *params,
                                const es_dims *in_dims, const float *in,
                                const es_dims *out_dims, const float *dz,
                                float *dx);

#ifdef __cplusplus
}
#endif

#endif /* EDGESDK_POOL_F32_H */
