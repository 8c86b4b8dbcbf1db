/*
 * edgesdk/concat_f32.h -- CONCATENATION in float32: forward and the gradient of one input
 * (a slice).
 *
 * axis counts es_dims axes: 0 = n, 1 = h, 2 = w, 3 = c (a rank-2 [N, K] tensor mapped to
 * {N, 1, 1, K} concatenates features on axis 3). All inputs have the output's dims except on
 * axis, where their sizes add up to the output's.
 */
#ifndef EDGESDK_CONCAT_F32_H
#define EDGESDK_CONCAT_F32_H

#include "edgesdk/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Parameters of the CONCATENATION forward. */
typedef struct {
    int32_t axis;             /* es_dims axis to join along, 0..3 */
    es_activation activation; /* fused activation of the forward pass */
} es_concat_params;

/* Parameters of the gradient of one CONCATENATION input. */
typedef struct {
    int32_t axis;   /* es_dims axis the forward joined along, 0..3 */
    int32_t offset; /* where this input starts along axis in the output (sum of the sizes of
                       the inputs before it), >= 0 */
} es_concat_slice_params;

/*
 * Forward: y = f(x_0 | x_1 | ... | x_{count-1}) along axis.
 *   in_dims[i], in[i] for i < count (count >= 1)   out (out_dims)
 */
es_status es_concat_f32_fwd(const es_concat_params *params, int32_t count,
                            const es_dims *in_dims, const float *const *in,
                            const es_dims *out_dims, float *out);

/*
 * Gradient of one input: dx = dy[..., offset : offset + size, ...] along axis, where size is
 * in_dims' extent on axis.
 *   dy (out_dims)   dx (in_dims)
 */
es_status es_concat_f32_bwd(const es_concat_slice_params *params,
                            const es_dims *out_dims, const float *dy,
                            const es_dims *in_dims, float *dx);

#ifdef __cplusplus
}
#endif

#endif /* EDGESDK_CONCAT_F32_H */
