/*
 * optim_f32.c -- SGD, SGD with momentum and Adam updates in float32.
 * Contracts and formulas: edgesdk/optim_f32.h.
 */
#include "edgesdk/optim_f32.h"

#include <math.h>

#include "edgesdk/math_f32.h"
#include "internal.h"

/* A span is usable when it has at least one element and rows do not overlap. */
static es_status check_span(const es_optim_span *span)
{
    if (span == NULL) {
        return ES_ERR_ARG;
    }
    if (span->rows < 1 || span->cols < 1 || span->param_stride < span->cols ||
        span->grad_stride < span->cols) {
        return ES_ERR_SHAPE;
    }
    return ES_OK;
}

es_status es_sgd_f32_update(const es_sgd_params *params, const es_optim_span *span,
                            const float *grad, float *param)
{
    if (params == NULL || grad == NULL || param == NULL) {
        return ES_ERR_ARG;
    }
    ES_TRY(check_span(span));
    const float lr = params->lr, wd = params->weight_decay;
    for (int32_t r = 0; r < span->rows; ++r) {
        const float *g = grad + r * span->grad_stride;
        float *w = param + r * span->param_stride;
        for (int32_t c = 0; c < span->cols; ++c) {
            float gi = g[c];
            if (wd != 0.0f) {
                gi = gi + wd * w[c];
            }
            w[c] = w[c] - lr * gi;
        }
    }
    return ES_OK;
}

es_status es_sgd_momentum_f32_update(const es_sgd_momentum_params *params,
                                     const es_optim_span *span, const float *grad,
                                     float *velocity, float *param)
{
    if (params == NULL || grad == NULL || velocity == NULL || param == NULL) {
        return ES_ERR_ARG;
    }
    ES_TRY(check_span(span));
    const float lr = params->lr, mu = params->momentum, wd = params->weight_decay;
    for (int32_t r = 0; r < span->rows; ++r) {
        const float *g = grad + r * span->grad_stride;
        float *w = param + r * span->param_stride;
        float *vel = velocity + r * span->cols;
        for (int32_t c = 0; c < span->cols; ++c) {
            float gi = g[c];
            if (wd != 0.0f) {
                gi = gi + wd * w[c];
            }
            vel[c] = mu * vel[c] + gi;
            w[c] = w[c] - lr * vel[c];
        }
    }
    return ES_OK;
}

es_status es_adam_f32_update(const es_adam_params *params, int32_t step,
                             const es_optim_span *span, const float *grad,
                             float *m, float *v, float *param)
{
    if (params == NULL || grad == NULL || m == NULL || v == NULL || param == NULL || step < 1) {
        return ES_ERR_ARG;
    }
    ES_TRY(check_span(span));
    const float lr = params->lr, b1 = params->beta1, b2 = params->beta2;
    const float eps = params->eps, wd = params->weight_decay;
    const float bc1 = 1.0f - es_powif(b1, step);
    const float bc2 = 1.0f - es_powif(b2, step);
    for (int32_t r = 0; r < span->rows; ++r) {
        const float *g = grad + r * span->grad_stride;
        float *w = param + r * span->param_stride;
        float *mr = m + r * span->cols;
        float *vr = v + r * span->cols;
        for (int32_t c = 0; c < span->cols; ++c) {
            float gi = g[c];
            if (wd != 0.0f) {
                gi = gi + wd * w[c];
            }
            mr[c] = b1 * mr[c] + (1.0f - b1) * gi;
            vr[c] = b2 * vr[c] + (1.0f - b2) * (gi * gi);
            const float m_hat = mr[c] / bc1;
            const float v_hat = vr[c] / bc2;
            w[c] = w[c] - (lr * m_hat) / (sqrtf(v_hat) + eps);
        }
    }
    return ES_OK;
}
