/*
 * edgesdk/pool_int8_bwd.h -- MAX_POOL_2D backward from the saved int8 input.
 *
 * es_max_pool2d_f32_bwd (pool_f32.h: windows, order, first maximum) comparing the int8 values
 * directly: dequantization is monotonic, so the winners are those of the float input. The
 * AVERAGE_POOL_2D backward reads only dz and is es_avg_pool2d_f32_bwd.
 */
#ifndef EDGESDK_POOL_INT8_BWD_H
#define EDGESDK_POOL_INT8_BWD_H

#include "edgesdk/common.h"
#include "edgesdk/pool_f32.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 *   x [N, IH, IW, C] int8 (in_dims)   dz [N, OH, OW, C] (out_dims)   dx [N, IH, IW, C] (in_dims)
 * params->activation is ignored.
 */
es_status es_max_pool2d_int8_bwd(const es_pool2d_params *params,
                                 const es_dims *in_dims, const int8_t *in,
                                 const es_dims *out_dims, const float *dz,
                                 float *dx);

#ifdef __cplusplus
}
#endif

#endif /* EDGESDK_POOL_INT8_BWD_H */
