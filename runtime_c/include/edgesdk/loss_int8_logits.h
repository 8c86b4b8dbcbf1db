/*
 * edgesdk/loss_int8_logits.h -- training losses on an int8 model output: the logits (or
 * predictions) are dequantized inside, then the float32 losses of loss_f32.h run on them.
 */
#ifndef EDGESDK_LOSS_INT8_LOGITS_H
#define EDGESDK_LOSS_INT8_LOGITS_H

#include "edgesdk/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The int8 output read by a loss. */
typedef struct {
    float scale;        /* the output's scale, > 0 */
    int32_t zero_point; /* its zero point, -128..127 */
    float beta;         /* the model's softmax beta (softmax cross-entropy only), > 0 */
} es_loss_int8_params;

/*
 * Softmax cross-entropy on int8 logits: z = scale * (float)(q - zero_point), then z * beta when
 * beta != 1; es_loss_softmax_xent_f32 on z; the gradient multiplied by beta when beta != 1.
 * z is built in dlogits (rows n of h*w*c classes), so dlogits is required here.
 *   logits [N, ...] int8 (dims)   labels [N] in 0..K-1   loss: one float or NULL   dlogits (dims)
 */
es_status es_loss_softmax_xent_int8(const es_loss_int8_params *params,
                                    const es_dims *dims, const int8_t *logits,
                                    const int32_t *labels,
                                    float *loss, float *dlogits);

/*
 * Mean squared error of the dequantized int8 output: es_loss_mse_f32 on
 * scale * (float)(y - zero_point). params->beta is ignored. dy is required.
 */
es_status es_loss_mse_int8(const es_loss_int8_params *params,
                           const es_dims *dims, const int8_t *y, const float *target,
                           float *loss, float *dy);

#ifdef __cplusplus
}
#endif

#endif /* EDGESDK_LOSS_INT8_LOGITS_H */
