/*
 * edgesdk/fully_connected_fast_int8_bwd.h -- FULLY_CONNECTED weight gradient of an int8 layer
 * fused with its QAS update, fast: the bits of es_fully_connected_int8_bwd_w_qas
 * (fully_connected_int8_bwd.h).
 *
 * Arguments, results and refusals of es_fully_connected_int8_bwd_w_qas. With one input row
 * (batch 1) and round-to-nearest (with or without a master copy) every weight's gradient, step
 * and new value are computed in one pass over its row, without the scratch; other cases (several
 * input rows, stochastic rounding) go through the reference kernel. Every float32 operation is
 * the reference's, in its order. The step's roundf is trunc(t + copysign(0.5 - 2^-25, t)) for
 * |t| <= 1024 (equal to roundf for |t| < 2^23: the sum rounds once, to nearest even, and never
 * crosses an integer the exact sum does not reach); beyond that, and for NaN, the reference's
 * saturations. Without a master copy a row of 512 or more weights first tabulates the step of
 * each input value that occurs (at batch 1 the step depends on the input value alone), so each
 * weight then costs one look-up.
 */
#ifndef EDGESDK_FULLY_CONNECTED_FAST_INT8_BWD_H
#define EDGESDK_FULLY_CONNECTED_FAST_INT8_BWD_H

#include "edgesdk/fully_connected_int8_bwd.h"

#ifdef __cplusplus
extern "C" {
#endif

es_status es_fully_connected_fast_int8_bwd_w_qas(const es_affine_int8_params *xq,
                                                 const es_qas_layer_params *qas,
                                                 const es_dims *out_dims, const float *dz,
                                                 const es_dims *in_dims, const int8_t *in,
                                                 const es_dims *w_dims, int8_t *w,
                                                 float *master, uint32_t *rng_state, float *scratch);

#ifdef __cplusplus
}
#endif

#endif /* EDGESDK_FULLY_CONNECTED_FAST_INT8_BWD_H */
