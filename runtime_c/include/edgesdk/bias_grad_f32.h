/*
 * edgesdk/bias_grad_f32.h -- the bias gradient of CONV_2D, DEPTHWISE_CONV_2D and
 * FULLY_CONNECTED (their `bwd_b` node): a sum of dz over every position but the channel.
 */
#ifndef EDGESDK_BIAS_GRAD_F32_H
#define EDGESDK_BIAS_GRAD_F32_H

#include "edgesdk/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * db[c] = sum_{n,h,w} dz[n,h,w,c] for c < count.
 * Order: per db element one running float sum from 0 over n, then h, then w (ascending).
 * count is dz_dims->c for a full update, or k <= dz_dims->c for a sparse update of the first
 * k channels (db is then [k]).
 *   dz [N, H, W, C] (dz_dims)   db [count]
 */
es_status es_bias_grad_f32(const es_dims *dz_dims, const float *dz, int32_t count, float *db);

#ifdef __cplusplus
}
#endif

#endif /* EDGESDK_BIAS_GRAD_F32_H */
