/*
 * edgesdk/mean_f32.h -- MEAN over the spatial axes (H, W) in float32: forward and input
 * gradient (global average pooling as the TFLite converter emits it), and the input gradient
 * fused with the activation backward of the layer before it.
 *
 *   in x [N, H, W, C]    out y [N, 1, 1, C]  ([N, C] without keep_dims maps to the same dims)
 */
#ifndef EDGESDK_MEAN_F32_H
#define EDGESDK_MEAN_F32_H

#include "edgesdk/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Forward: y[n,c] = (sum_{h,w} x[n,h,w,c]) / (float)(H*W).
 * Order: one running float sum from 0 over h, then w (ascending), then one division.
 */
es_status es_mean_hw_f32_fwd(const es_dims *in_dims, const float *in,
                             const es_dims *out_dims, float *out);

/*
 * Input gradient: dx[n,h,w,c] = dz[n,c] / (float)(H*W) (one division, broadcast).
 *   dz [N, 1, 1, C] (out_dims)   dx [N, H, W, C] (in_dims)
 */
es_status es_mean_hw_f32_bwd(const es_dims *out_dims, const float *dz,
                             const es_dims *in_dims, float *dx);

/*
 * The input gradient fused with the backward of the fused activation of the layer whose saved
 * output y the MEAN read (es_act_f32_bwd, elementwise_f32.h), without storing the broadcast
 * gradient:
 *   dz[n,h,w,c] = pass(y[n,h,w,c]) ? dy[n,c] / (float)(H*W) : 0.0f
 * with pass as es_act_f32_bwd's (relu: y > 0; relu6: 0 < y < 6; none: always). Every element is
 * computed with the same float operations as es_mean_hw_f32_bwd followed by es_act_f32_bwd, so
 * the result is the two kernels' bit for bit.
 *   y [N, H, W, C] (in_dims)   dy [N, 1, 1, C] (out_dims)   dz [N, H, W, C] (in_dims)
 * dz may alias y; it must not overlap dy.
 */
es_status es_mean_hw_act_f32_bwd(es_activation activation,
                                 const es_dims *in_dims, const float *y,
                                 const es_dims *out_dims, const float *dy,
                                 float *dz);

#ifdef __cplusplus
}
#endif

#endif /* EDGESDK_MEAN_F32_H */
