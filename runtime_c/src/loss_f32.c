/*
 * loss_f32.c -- softmax cross-entropy and MSE losses with their gradients, and argmax.
 * Contracts and summation orders: edgesdk/loss_f32.h.
 */
#include "edgesdk/loss_f32.h"

#include "edgesdk/math_f32.h"
#include "internal.h"

es_status es_loss_softmax_xent_f32(const es_dims *dims, const float *logits,
                                   const int32_t *labels,
                                   float *loss, float *dlogits)
{
    if (logits == NULL || labels == NULL) {
        return ES_ERR_ARG;
    }
    ES_TRY(es_check_dims(dims));
    const int32_t rows = dims->n, k_n = dims->h * dims->w * dims->c;
    for (int32_t r = 0; r < rows; ++r) {
        if (labels[r] < 0 || labels[r] >= k_n) {
            return ES_ERR_ARG;
        }
    }
    const float batch = (float)rows;

    float total = 0.0f;
    for (int32_t r = 0; r < rows; ++r) {
        const float *z = logits + r * k_n;
        float max = z[0];
        for (int32_t k = 1; k < k_n; ++k) {
            if (z[k] > max) {
                max = z[k];
            }
        }
        const float z_label = z[labels[r]] - max;
        float sum = 0.0f;
        if (dlogits != NULL) {
            float *g = dlogits + r * k_n;
            for (int32_t k = 0; k < k_n; ++k) {
                g[k] = es_expf(z[k] - max);
            }
            for (int32_t k = 0; k < k_n; ++k) {
                sum += g[k];
            }
            for (int32_t k = 0; k < k_n; ++k) {
                const float p = g[k] / sum;
                g[k] = (k == labels[r] ? p - 1.0f : p) / batch;
            }
        } else {
            for (int32_t k = 0; k < k_n; ++k) {
                sum += es_expf(z[k] - max);
            }
        }
        total += es_logf(sum) - z_label;
    }
    if (loss != NULL) {
        *loss = total / batch;
    }
    return ES_OK;
}

es_status es_loss_mse_f32(const es_dims *dims, const float *y, const float *target,
                          float *loss, float *dy)
{
    if (y == NULL || target == NULL) {
        return ES_ERR_ARG;
    }
    ES_TRY(es_check_dims(dims));
    const int32_t count = es_dims_count(dims);
    const float n_elems = (float)count;

    float total = 0.0f;
    for (int32_t i = 0; i < count; ++i) {
        const float d = y[i] - target[i];
        total += d * d;
        if (dy != NULL) {
            dy[i] = (2.0f * d) / n_elems;
        }
    }
    if (loss != NULL) {
        *loss = total / n_elems;
    }
    return ES_OK;
}

es_status es_argmax_f32(const es_dims *dims, const float *in, int32_t *out)
{
    if (in == NULL || out == NULL) {
        return ES_ERR_ARG;
    }
    ES_TRY(es_check_dims(dims));
    const int32_t rows = dims->n, k_n = dims->h * dims->w * dims->c;
    for (int32_t r = 0; r < rows; ++r) {
        const float *x = in + r * k_n;
        int32_t best = 0;
        for (int32_t k = 1; k < k_n; ++k) {
            if (x[k] > x[best]) {
                best = k;
            }
        }
        out[r] = best;
    }
    return ES_OK;
}
