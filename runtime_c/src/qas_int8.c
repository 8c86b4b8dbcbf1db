/*
 * qas_int8.c -- quantization-aware-scaled updates of int8 weights and int32 biases
 * (edgesdk/qas_int8.h).
 */
#include "edgesdk/qas_int8.h"

#include "internal.h"

uint32_t es_xorshift32(uint32_t state)
{
    state ^= state << 13;
    state ^= state >> 17;
    state ^= state << 5;
    return state;
}

/* floorf without libm (exact for every float). */
static float floor_exact(float x)
{
    float whole;
    if (!(x > -8388608.0f && x < 8388608.0f)) { /* |x| >= 2^23 is integral (or inf / NaN) */
        return x;
    }
    whole = (float)(int32_t)x;
    return whole > x ? whole - 1.0f : whole;
}

/* roundf without libm: nearest, ties away from zero. */
static float round_exact(float x)
{
    float whole;
    float fraction;
    if (!(x > -8388608.0f && x < 8388608.0f)) {
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

static es_status check(const es_qas_params *params, const es_qas_span *span, const float *factor,
                       const float *grad, const uint32_t *rng_state, const void *param)
{
    if (params == NULL || span == NULL || factor == NULL || grad == NULL || param == NULL) {
        return ES_ERR_ARG;
    }
    if (params->rounding != ES_ROUND_NEAREST && params->rounding != ES_ROUND_STOCHASTIC) {
        return ES_ERR_ARG;
    }
    if (params->rounding == ES_ROUND_STOCHASTIC && (rng_state == NULL || *rng_state == 0)) {
        return ES_ERR_ARG;
    }
    if (span->rows < 1 || span->cols < 1 || span->param_stride < span->cols ||
        span->grad_stride < span->cols || span->per_channel < 1) {
        return ES_ERR_ARG;
    }
    return ES_OK;
}

/*
 * The integer step k of one element (see the header), saturated to int32; advances *rng_state
 * for stochastic rounding.
 */
static int32_t integer_step(const es_qas_params *params, float g, float factor, uint32_t *rng_state)
{
    float d = g * factor;
    float k;
    d = d * params->lr;
    if (params->rounding == ES_ROUND_STOCHASTIC) {
        *rng_state = es_xorshift32(*rng_state);
        k = floor_exact(d + (float)(*rng_state >> 8) * (1.0f / 16777216.0f));
    } else {
        k = round_exact(d);
    }
    if (k != k) { /* NaN gradient: no step */
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

es_status es_qas_int8_update(const es_qas_params *params, const es_qas_span *span,
                             const float *factor, const float *grad, uint32_t *rng_state,
                             int8_t *param)
{
    int32_t r, j;
    ES_TRY(check(params, span, factor, grad, rng_state, param));
    for (r = 0; r < span->rows; ++r) {
        for (j = 0; j < span->cols; ++j) {
            int8_t *q = &param[r * span->param_stride + j];
            int64_t v = (int64_t)*q -
                        integer_step(params, grad[r * span->grad_stride + j], factor[j / span->per_channel], rng_state);
            v = v < -127 ? -127 : (v > 127 ? 127 : v);
            *q = (int8_t)v;
        }
    }
    return ES_OK;
}

es_status es_qas_int32_update(const es_qas_params *params, const es_qas_span *span,
                              const float *factor, const float *grad, uint32_t *rng_state,
                              int32_t *param)
{
    int32_t r, j;
    ES_TRY(check(params, span, factor, grad, rng_state, param));
    for (r = 0; r < span->rows; ++r) {
        for (j = 0; j < span->cols; ++j) {
            int32_t *q = &param[r * span->param_stride + j];
            int64_t v = (int64_t)*q -
                        integer_step(params, grad[r * span->grad_stride + j], factor[j / span->per_channel], rng_state);
            v = v < INT32_MIN ? INT32_MIN : (v > INT32_MAX ? INT32_MAX : v);
            *q = (int32_t)v;
        }
    }
    return ES_OK;
}
