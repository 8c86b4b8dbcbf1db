/*
 * edgesdk/logistic_int8.h -- LOGISTIC in int8, bit-exact with TFLite Micro. Output
 * quantization fixed: scale 1/256, zero point -128.
 *   v = x - input_zero_point
 *   v <= -radius -> -128;  v >= radius -> 127;  else
 *   y = clamp(es_rdbpot(logistic(es_mbqm(v, input_multiplier, input_left_shift) as Q4.27), 23)
 *             - 128, -128, 127)
 * Constants: edgesdk.quant.prepare.prepare_logistic. out may alias in.
 */
#ifndef EDGESDK_LOGISTIC_INT8_H
#define EDGESDK_LOGISTIC_INT8_H

#include "edgesdk/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Parameters of the int8 LOGISTIC. */
typedef struct {
    int32_t input_zero_point;   /* -128..127 */
    int32_t input_range_radius; /* |v| at and beyond which the output saturates, >= 0 */
    int32_t input_multiplier;   /* s_in * 2^27 as a multiplier */
    int32_t input_left_shift;   /* its shift, 0..31 */
} es_logistic_int8_params;

es_status es_logistic_int8_fwd(const es_logistic_int8_params *params,
                               const es_dims *dims, const int8_t *in, int8_t *out);

#ifdef __cplusplus
}
#endif

#endif /* EDGESDK_LOGISTIC_INT8_H */
