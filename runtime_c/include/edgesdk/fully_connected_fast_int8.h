/*
 * edgesdk/fully_connected_fast_int8.h -- FULLY_CONNECTED in int8, fast: the integers of
 * es_fully_connected_int8_fwd (fully_connected_int8.h, bit-exact with TFLite Micro).
 *
 * Shapes, parameters and arithmetic of fully_connected_int8.h. Extra conditions:
 * weights_offset == 0 (per-channel or symmetric weights, as TFLite's converter makes them) and one
 * whole weight array (w_tail NULL, w_head_channels 0); else ES_ERR_ARG. Everything the reference
 * refuses is refused with its status. How: four (then two) output rows at a time share each load of four
 * inputs, the input offset added to the inputs as they are widened (SXTAB16 on cores with the
 * DSP extension), the products summed two per SMLAD; the sums are the reference's integers
 * (modulo 2^32, in any order), requantized as there.
 */
#ifndef EDGESDK_FULLY_CONNECTED_FAST_INT8_H
#define EDGESDK_FULLY_CONNECTED_FAST_INT8_H

#include "edgesdk/fully_connected_int8.h"

#ifdef __cplusplus
extern "C" {
#endif

es_status es_fully_connected_fast_int8_fwd(const es_fully_connected_int8_params *params,
                                           const es_dims *in_dims, const int8_t *in,
                                           const es_dims *w_dims, const int8_t *w,
                                           const int32_t *bias,
                                           const es_dims *out_dims, int8_t *out);

#ifdef __cplusplus
}
#endif

#endif /* EDGESDK_FULLY_CONNECTED_FAST_INT8_H */
