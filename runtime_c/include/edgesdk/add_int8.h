/*
 * edgesdk/add_int8.h -- ADD of two int8 tensors, bit-exact with TFLite Micro.
 *
 * Broadcasting: each es_dims axis of a and b equals the output's or is 1 (the caller maps
 * lower-rank tensors onto es_dims as in common.h, aligned at the innermost axis).
 *
 *   a' = es_mbqm((a + input1_offset) * 2^left_shift, input1_multiplier, input1_shift)
 *   b' = es_mbqm((b + input2_offset) * 2^left_shift, input2_multiplier, input2_shift)
 *   y  = clamp(es_mbqm(a' + b', output_multiplier, output_shift) + output_offset, act_min, act_max)
 * (TFLite's scheme: left_shift 20, both inputs rescaled to 2 * max(s_a, s_b), the sum to the
 * output.) Constants: edgesdk.quant.prepare.prepare_add. out may alias a or b when that input
 * has the output's dims.
 */
#ifndef EDGESDK_ADD_INT8_H
#define EDGESDK_ADD_INT8_H

#include "edgesdk/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Parameters of the int8 ADD. */
typedef struct {
    int32_t input1_offset;     /* -(zero point of a), -127..128 */
    int32_t input2_offset;     /* -(zero point of b), -127..128 */
    int32_t output_offset;     /* output zero point, -128..127 */
    int32_t left_shift;        /* headroom shift, 0..22 (TFLite: 20) */
    int32_t input1_multiplier; /* >= 0 */
    int32_t input1_shift;      /* -31..0 */
    int32_t input2_multiplier; /* >= 0 */
    int32_t input2_shift;      /* -31..0 */
    int32_t output_multiplier; /* >= 0 */
    int32_t output_shift;      /* -31..0 */
    int32_t act_min;           /* lowest output value, -128..act_max */
    int32_t act_max;           /* highest output value, act_min..127 */
} es_add_int8_params;

es_status es_add_int8_fwd(const es_add_int8_params *params,
                          const es_dims *a_dims, const int8_t *a,
                          const es_dims *b_dims, const int8_t *b,
                          const es_dims *out_dims, int8_t *out);

#ifdef __cplusplus
}
#endif

#endif /* EDGESDK_ADD_INT8_H */
