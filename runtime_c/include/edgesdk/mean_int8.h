/*
 * edgesdk/mean_int8.h -- MEAN over the spatial axes (H, W) in int8, bit-exact with TFLite Micro.
 *   in x [N, H, W, C]    out y [N, 1, 1, C]  ([N, C] without keep_dims maps to the same dims)
 *
 *   s = sum_{h,w} x[n,h,w,c] - input_zero_point * H * W   (int32, wrapping)
 *   y = clamp(es_mbqm(s, multiplier, shift) + output_zero_point, -128, 127)
 * multiplier / shift already include the division by H * W (TFLite folds 1/count into the
 * multiplier with up to 32 extra bits): edgesdk.quant.prepare.prepare_mean with axes (1, 2).
 */
#ifndef EDGESDK_MEAN_INT8_H
#define EDGESDK_MEAN_INT8_H

#include "edgesdk/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Parameters of the int8 MEAN over H, W. */
typedef struct {
    int32_t input_zero_point;  /* -128..127 */
    int32_t output_zero_point; /* -128..127 */
    int32_t multiplier;        /* requantization multiplier with 1/(H*W) folded in, >= 0 */
    int32_t shift;             /* its shift, -31..30 */
} es_mean_int8_params;

es_status es_mean_hw_int8_fwd(const es_mean_int8_params *params,
                              const es_dims *in_dims, const int8_t *in,
                              const es_dims *out_dims, int8_t *out);

#ifdef __cplusplus
}
#endif

#endif /* EDGESDK_MEAN_INT8_H */
