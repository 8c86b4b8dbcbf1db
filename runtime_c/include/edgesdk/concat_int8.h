/*
 * edgesdk/concat_int8.h -- CONCATENATION in int8. Each input is requantized to the output's
 * quantization (es_requantize_int8_fwd's arithmetic; the identity, bit for bit, when an input
 * already has it: multiplier 2^30, shift 1, equal zero points) and clamped to [act_min, act_max].
 * TFLite Micro only accepts inputs that already share the output's quantization; the
 * requantizing case equals TFLite's QUANTIZE of each input followed by CONCATENATION.
 * axis counts es_dims axes (0 = n, 1 = h, 2 = w, 3 = c); all inputs have the output's dims except
 * on axis, where their sizes add up to the output's.
 */
#ifndef EDGESDK_CONCAT_INT8_H
#define EDGESDK_CONCAT_INT8_H

#include "edgesdk/common.h"
#include "edgesdk/quantize_int8.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Parameters of the int8 CONCATENATION. */
typedef struct {
    int32_t axis;    /* es_dims axis to join along, 0..3 */
    int32_t act_min; /* lowest output value, -128..act_max */
    int32_t act_max; /* highest output value, act_min..127 */
} es_concat_int8_params;

/*
 *   in_dims[i], in[i], requant[i] for i < count (count >= 1)   out (out_dims)
 */
es_status es_concat_int8_fwd(const es_concat_int8_params *params, int32_t count,
                             const es_dims *in_dims, const int8_t *const *in,
                             const es_requant_int8_params *requant,
                             const es_dims *out_dims, int8_t *out);

#ifdef __cplusplus
}
#endif

#endif /* EDGESDK_CONCAT_INT8_H */
