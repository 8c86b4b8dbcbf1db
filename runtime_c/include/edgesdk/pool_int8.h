/*
 * edgesdk/pool_int8.h -- AVERAGE_POOL_2D and MAX_POOL_2D in int8, bit-exact with TFLite Micro.
 *
 * Shapes: in x [N, IH, IW, C], out y [N, OH, OW, C], one quantization for both (TFLite's int8
 * pools do not requantize). Window and checks as in pool_f32.h; positions outside the input are
 * ignored.
 *   average: s = sum of the in-bounds window elements, n their count,
 *            y = clamp(s > 0 ? (s + n/2) / n : (s - n/2) / n, act_min, act_max)
 *            (C's truncating division: rounds half away from zero)
 *   max:     y = clamp(max of the in-bounds window elements, act_min, act_max)
 * Constants: edgesdk.quant.prepare.prepare_pool.
 */
#ifndef EDGESDK_POOL_INT8_H
#define EDGESDK_POOL_INT8_H

#include "edgesdk/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Parameters of the int8 AVERAGE_POOL_2D / MAX_POOL_2D. */
typedef struct {
    int32_t filter_h; /* window height, >= 1 */
    int32_t filter_w; /* window width, >= 1 */
    int32_t stride_h; /* vertical stride, >= 1 */
    int32_t stride_w; /* horizontal stride, >= 1 */
    int32_t pad_top;  /* rows before the input (resolved pad_before), 0..filter_h-1 */
    int32_t pad_left; /* columns before the input (resolved pad_before), 0..filter_w-1 */
    int32_t act_min;  /* lowest output value, -128..act_max */
    int32_t act_max;  /* highest output value, act_min..127 */
} es_pool2d_int8_params;

es_status es_avg_pool2d_int8_fwd(const es_pool2d_int8_params *params,
                                 const es_dims *in_dims, const int8_t *in,
                                 const es_dims *out_dims, int8_t *out);

es_status es_max_pool2d_int8_fwd(const es_pool2d_int8_params *params,
                                 const es_dims *in_dims, const int8_t *in,
                                 const es_dims *out_dims, int8_t *out);

#ifdef __cplusplus
}
#endif

#endif /* EDGESDK_POOL_INT8_H */
