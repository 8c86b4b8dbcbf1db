/*
 * loss_int8_logits.c -- softmax cross-entropy and MSE on an int8 model output
 * (edgesdk/loss_int8_logits.h): dequantize into the gradient buffer, then the float32 losses.
 */
#include "edgesdk/loss_int8_logits.h"

#include "edgesdk/dequant_int8.h"
#include "edgesdk/loss_f32.h"
#include "internal.h"

static es_status check(const es_loss_int8_params *p, const es_dims *dims, const int8_t *q,
                       const void *other, const float *grad)
{
    if (p == NULL || q == NULL || other == NULL || grad == NULL || !(p->scale > 0.0f) ||
        p->zero_point < -128 || p->zero_point > 127) {
        return ES_ERR_ARG;
    }
    return es_check_dims(dims);
}

es_status es_loss_softmax_xent_int8(const es_loss_int8_params *params,
                                    const es_dims *dims, const int8_t *logits,
                                    const int32_t *labels,
                                    float *loss, float *dlogits)
{
    ES_TRY(check(params, dims, logits, labels, dlogits));
    if (!(params->beta > 0.0f)) {
        return ES_ERR_ARG;
    }
    const int32_t rows = dims->n, k_n = dims->h * dims->w * dims->c, count = rows * k_n;
    for (int32_t r = 0; r < rows; ++r) {
        if (labels[r] < 0 || labels[r] >= k_n) {
            return ES_ERR_ARG;
        }
    }
    for (int32_t i = 0; i < count; ++i) {
        const float z = es_dequantize_int8(params->scale, params->zero_point, logits[i]);
        dlogits[i] = params->beta != 1.0f ? z * params->beta : z;
    }
    ES_TRY(es_loss_softmax_xent_f32(dims, dlogits, labels, loss, dlogits));
    if (params->beta != 1.0f) {
        for (int32_t i = 0; i < count; ++i) {
            dlogits[i] = dlogits[i] * params->beta;
        }
    }
    return ES_OK;
}

es_status es_loss_mse_int8(const es_loss_int8_params *params,
                           const es_dims *dims, const int8_t *y, const float *target,
                           float *loss, float *dy)
{
    ES_TRY(check(params, dims, y, target, dy));
    const int32_t count = es_dims_count(dims);
    for (int32_t i = 0; i < count; ++i) {
        dy[i] = es_dequantize_int8(params->scale, params->zero_point, y[i]);
    }
    return es_loss_mse_f32(dims, dy, target, loss, dy);
}
