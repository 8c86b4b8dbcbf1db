/*
 * edgesdk/act_int8_bwd.h -- backward of the ops whose saved output is int8: a fused activation
 * (in the quantized domain), LOGISTIC and SOFTMAX (float32 on the dequantized output).
 */
#ifndef EDGESDK_ACT_INT8_BWD_H
#define EDGESDK_ACT_INT8_BWD_H

#include "edgesdk/common.h"
#include "edgesdk/quantize_int8.h"
#include "edgesdk/softmax_f32.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Backward of a fused activation from the saved int8 output y:
 *   dz[i] = (act_min < y[i] && y[i] < act_max) ? dy[i] : 0.0f
 * with act_min / act_max the forward's clamp bounds in the quantized domain (the int8 params'
 * act_min / act_max: RELU's upper bound is the int8 ceiling 127). The gradient passes where the
 * forward did not clamp. y, dy and dz have count(dims) elements; dz may alias dy.
 * ES_ERR_ARG unless -128 <= act_min < act_max <= 127.
 */
es_status es_act_int8_bwd(int32_t act_min, int32_t act_max,
                          const es_dims *dims, const int8_t *y, const float *dy, float *dz);

/*
 * LOGISTIC backward from the saved int8 output: with v = yq->scale * (float)(y - zero_point),
 * dx = (dy * v) * (1 - v), as es_logistic_f32_bwd. dx may alias dy.
 */
es_status es_logistic_int8_bwd(const es_affine_int8_params *yq,
                               const es_dims *dims, const int8_t *y, const float *dy, float *dx);

/*
 * SOFTMAX backward from the saved int8 output (rows n*h*w of c classes): with v the dequantized
 * output, s = sum_j dy_j * v_j (one running float sum from 0), dx_i = beta * (v_i * (dy_i - s)),
 * as es_softmax_f32_bwd. dx may alias dy.
 */
es_status es_softmax_int8_bwd(const es_softmax_params *params, const es_affine_int8_params *yq,
                              const es_dims *dims, const int8_t *y, const float *dy, float *dx);

#ifdef __cplusplus
}
#endif

#endif /* EDGESDK_ACT_INT8_BWD_H */
