/*
 * edgesdk/softmax_f32.h -- SOFTMAX over the channel axis in float32: forward and input
 * gradient (for a softmax inside the network; the model's trailing softmax is folded into the
 * loss, see loss_f32.h).
 *
 * Rows are the n*h*w positions, each a distribution over c.
 */
#ifndef EDGESDK_SOFTMAX_F32_H
#define EDGESDK_SOFTMAX_F32_H

#include "edgesdk/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Parameters of SOFTMAX. */
typedef struct {
    float beta; /* input scale (TFLite's beta), usually 1.0f; must be > 0 */
} es_softmax_params;

/*
 * Forward: y_i = e_i / sum_j e_j with e_i = es_expf((x_i - max_j x_j) * beta) (math_f32.h).
 * Order: the maximum, then every e_i, then one running float sum from 0 over j (ascending),
 * then one division per element. y may alias x.
 */
es_status es_softmax_f32_fwd(const es_softmax_params *params,
                             const es_dims *dims, const float *in, float *out);

/*
 * Input gradient from the saved output y: dx_i = beta * (y_i * (dy_i - s)) with
 * s = sum_j dy_j * y_j (one running float sum from 0, ascending). With beta = 1 this is
 * exactly y * (dy - s). dx may alias dy or y.
 */
es_status es_softmax_f32_bwd(const es_softmax_params *params,
                             const es_dims *dims, const float *y, const float *dy,
                             float *dx);

#ifdef __cplusplus
}
#endif

#endif /* EDGESDK_SOFTMAX_F32_H */
