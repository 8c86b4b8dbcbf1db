/*
 * edgesdk/softmax_int8.h -- SOFTMAX in int8 over the innermost axis (c), bit-exact with TFLite
 * Micro's reference kernel (gemmlowp fixed-point exp; no lookup table). Output quantization is
 * fixed: scale 1/256, zero point -128.
 *
 * Per row: d = x - max(row); terms with d < diff_min are dropped (output -128); the others
 * e = exp(es_srdhm(d * 2^input_left_shift, input_multiplier) as Q5.26) in Q0, summed in Q12;
 * the sum's reciprocal (Newton-Raphson) times e, rounded to 8 bits, minus 128.
 * Constants: edgesdk.quant.prepare.prepare_softmax. out may alias in.
 */
#ifndef EDGESDK_SOFTMAX_INT8_H
#define EDGESDK_SOFTMAX_INT8_H

#include "edgesdk/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Parameters of the int8 SOFTMAX. */
typedef struct {
    int32_t input_multiplier; /* beta * s_in * 2^26 as a multiplier, >= 0 */
    int32_t input_left_shift; /* its shift, 0..31 */
    int32_t diff_min;         /* smallest x - max(row) that still counts, <= 0 */
} es_softmax_int8_params;

es_status es_softmax_int8_fwd(const es_softmax_int8_params *params,
                              const es_dims *dims, const int8_t *in, int8_t *out);

#ifdef __cplusplus
}
#endif

#endif /* EDGESDK_SOFTMAX_INT8_H */
