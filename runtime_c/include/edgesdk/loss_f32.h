/*
 * edgesdk/loss_f32.h -- training losses in float32 (loss value and the gradient that starts
 * backpropagation), plus argmax for accuracy.
 *
 * Logits / predictions are rows of K values: rows = dims->n (the batch), K = h * w * c.
 */
#ifndef EDGESDK_LOSS_F32_H
#define EDGESDK_LOSS_F32_H

#include "edgesdk/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Softmax cross-entropy with integer labels, the loss of a classifier whose trailing SOFTMAX is
 * not executed in training (its input z is the logits):
 *   loss    = (sum_n l_n) / (float)N,  l_n = logf(s_n) - (z[n,label_n] - m_n),
 *             m_n = max_k z[n,k],  s_n = sum_k expf(z[n,k] - m_n)
 *   dlogits = (expf(z[n,k] - m_n) / s_n - (k == label_n)) / (float)N
 * Order: per row the maximum, the exponentials, one running float sum from 0 over k, the row
 * loss; the row losses are summed from 0 in row order and divided once.
 *   logits [N, ...] (dims)   labels [N], each in 0..K-1   loss: one float or NULL
 *   dlogits (dims) or NULL; dlogits may alias logits.
 */
es_status es_loss_softmax_xent_f32(const es_dims *dims, const float *logits,
                                   const int32_t *labels,
                                   float *loss, float *dlogits);

/*
 * Mean squared error over all elements:
 *   loss = (sum_i d_i * d_i) / (float)count,  d_i = y_i - t_i
 *   dy_i = (2.0f * d_i) / (float)count
 * Order: one running float sum from 0 over i (ascending), one division.
 *   y, target, dy (dims); loss: one float or NULL; dy may be NULL and may alias y.
 */
es_status es_loss_mse_f32(const es_dims *dims, const float *y, const float *target,
                          float *loss, float *dy);

/*
 * Index of the largest of the K values of each row (the first one on ties): the predicted
 * class. out [N] (int32).
 */
es_status es_argmax_f32(const es_dims *dims, const float *in, int32_t *out);

#ifdef __cplusplus
}
#endif

#endif /* EDGESDK_LOSS_F32_H */
