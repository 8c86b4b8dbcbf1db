/*
 * qas_int8_train.c -- master-copy QAS updates and the bias gradient fused with its update
 * (edgesdk/qas_int8_train.h).
 */
#include "edgesdk/qas_int8_train.h"

#include "edgesdk/bias_grad_f32.h"
#include "internal.h"

/* roundf without libm: nearest, ties away from zero (as qas_int8.c). */
static float round_exact(float x)
{
    float whole;
    float fraction;
    if (!(x > -8388608.0f && x < 8388608.0f)) { /* |x| >= 2^23 is integral (or inf / NaN) */
        return x;
    }
    whole = (float)(int32_t)x;
    fraction = x - whole;
    if (fraction >= 0.5f) {
        whole += 1.0f;
    } else if (fraction <= -0.5f) {
        whole -= 1.0f;
    }
    return whole;
}

/* roundf(m) saturated to int32 (NaN gives 0). */
static int32_t round_to_int32(float m)
{
    const float k = round_exact(m);
    if (k != k) {
        return 0;
    }
    if (k >= 2147483648.0f) {
        return INT32_MAX;
    }
    if (k < -2147483648.0f) {
        return INT32_MIN;
    }
    return (int32_t)k;
}

static es_status check_master(const es_qas_params *params, const es_qas_span *span,
                              const float *factor, const float *grad, const float *master,
                              const void *param)
{
    if (params == NULL || span == NULL || factor == NULL || grad == NULL || master == NULL ||
        param == NULL || params->rounding != ES_ROUND_NEAREST) {
        return ES_ERR_ARG;
    }
    if (span->rows < 1 || span->cols < 1 || span->param_stride < span->cols ||
        span->grad_stride < span->cols || span->per_channel < 1) {
        return ES_ERR_ARG;
    }
    return ES_OK;
}

/* m -= (grad * factor) * lr for element (r, j); returns the new m. */
static float master_step(const es_qas_params *params, const es_qas_span *span, const float *factor,
                         const float *grad, float *master, int32_t r, int32_t j)
{
    const int32_t at = r * span->grad_stride + j;
    float d = grad[at] * factor[j / span->per_channel];
    d = d * params->lr;
    master[at] = master[at] - d;
    return master[at];
}

es_status es_qas_int8_master_update(const es_qas_params *params, const es_qas_span *span,
                                    const float *factor, const float *grad, float *master,
                                    int8_t *param)
{
    ES_TRY(check_master(params, span, factor, grad, master, param));
    for (int32_t r = 0; r < span->rows; ++r) {
        for (int32_t j = 0; j < span->cols; ++j) {
            const int32_t q = round_to_int32(master_step(params, span, factor, grad, master, r, j));
            param[r * span->param_stride + j] = (int8_t)(q < -127 ? -127 : (q > 127 ? 127 : q));
        }
    }
    return ES_OK;
}

es_status es_qas_int32_master_update(const es_qas_params *params, const es_qas_span *span,
                                     const float *factor, const float *grad, float *master,
                                     int32_t *param)
{
    ES_TRY(check_master(params, span, factor, grad, master, param));
    for (int32_t r = 0; r < span->rows; ++r) {
        for (int32_t j = 0; j < span->cols; ++j) {
            param[r * span->param_stride + j] =
                round_to_int32(master_step(params, span, factor, grad, master, r, j));
        }
    }
    return ES_OK;
}

static es_status check_init(const es_qas_span *span, const void *param, const float *master)
{
    if (span == NULL || param == NULL || master == NULL || span->rows < 1 || span->cols < 1 ||
        span->param_stride < span->cols || span->grad_stride < span->cols) {
        return ES_ERR_ARG;
    }
    return ES_OK;
}

es_status es_qas_int8_master_init(const es_qas_span *span, const int8_t *param, float *master)
{
    ES_TRY(check_init(span, param, master));
    for (int32_t r = 0; r < span->rows; ++r) {
        for (int32_t j = 0; j < span->cols; ++j) {
            master[r * span->grad_stride + j] = (float)param[r * span->param_stride + j];
        }
    }
    return ES_OK;
}

es_status es_qas_int32_master_init(const es_qas_span *span, const int32_t *param, float *master)
{
    ES_TRY(check_init(span, param, master));
    for (int32_t r = 0; r < span->rows; ++r) {
        for (int32_t j = 0; j < span->cols; ++j) {
            master[r * span->grad_stride + j] = (float)param[r * span->param_stride + j];
        }
    }
    return ES_OK;
}

es_status es_bias_int32_bwd_qas(const es_qas_layer_params *qas,
                                const es_dims *dz_dims, const float *dz,
                                int32_t *bias, float *master, uint32_t *rng_state,
                                float *scratch)
{
    if (dz == NULL || bias == NULL || scratch == NULL) {
        return ES_ERR_ARG;
    }
    ES_TRY(es_check_dims(dz_dims));
    if (!es_qas_layer_ok(qas, dz_dims->c, master, rng_state)) {
        return ES_ERR_ARG;
    }
    const int32_t k = qas->channels;
    const es_qas_params step = {qas->lr, qas->rounding};
    const es_qas_span span = {1, k, k, k, 1};
    ES_TRY(es_bias_grad_f32(dz_dims, dz, k, scratch));
    if (master != NULL) {
        return es_qas_int32_master_update(&step, &span, qas->factor, scratch, master, bias);
    }
    return es_qas_int32_update(&step, &span, qas->factor, scratch, rng_state, bias);
}

size_t es_bias_int32_bwd_qas_scratch_size(const es_qas_layer_params *qas)
{
    return qas != NULL && qas->channels > 0 ? (size_t)qas->channels * sizeof(float) : 0u;
}
