/*
 * edgesdk/mean_int8_bwd.h -- MEAN backward (over H, W) fused with the backward of the fused
 * activation of the layer whose saved int8 output the MEAN read.
 *
 * The plain MEAN backward reads only its float32 gradient and is es_mean_hw_f32_bwd
 * (mean_f32.h). When the layer before the MEAN has a fused activation, its backward
 * (es_act_int8_bwd, act_int8_bwd.h) is the only reader of that broadcast gradient; this kernel
 * computes the activation's gradient directly from the small one, so the [N, H, W, C] float32
 * broadcast is never stored.
 */
#ifndef EDGESDK_MEAN_INT8_BWD_H
#define EDGESDK_MEAN_INT8_BWD_H

#include "edgesdk/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 *   dz[n,h,w,c] = (act_min < y[n,h,w,c] && y[n,h,w,c] < act_max) ? dy[n,c] / (float)(H*W) : 0.0f
 *
 *   y [N, H, W, C] int8 (in_dims)   dy [N, 1, 1, C] (out_dims)   dz [N, H, W, C] (in_dims)
 *
 * act_min / act_max are the forward's clamp bounds in the quantized domain, as es_act_int8_bwd
 * takes them. Every element is computed with the same float operations as es_mean_hw_f32_bwd
 * followed by es_act_int8_bwd (one division, then the mask), so the result is the two kernels'
 * bit for bit. dz must not overlap y or dy.
 * ES_ERR_ARG for a NULL pointer or unless -128 <= act_min < act_max <= 127; ES_ERR_SHAPE unless
 * out_dims is {N, 1, 1, C}. Nothing is written when a status other than ES_OK is returned.
 */
es_status es_mean_hw_act_int8_bwd(int32_t act_min, int32_t act_max,
                                  const es_dims *in_dims, const int8_t *y,
                                  const es_dims *out_dims, const float *dy,
                                  float *dz);

#ifdef __cplusplus
}
#endif

#endif /* EDGESDK_MEAN_INT8_BWD_H */
