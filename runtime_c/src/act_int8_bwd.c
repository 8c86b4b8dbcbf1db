/*
 * act_int8_bwd.c -- backward of a fused activation, LOGISTIC and SOFTMAX from their saved int8
 * outputs (edgesdk/act_int8_bwd.h).
 */
#include "edgesdk/act_int8_bwd.h"

#include "edgesdk/dequant_int8.h"
#include "internal.h"

static int affine_ok(const es_affine_int8_params *q)
{
    return q != NULL && q->zero_point >= -128 && q->zero_point <= 127;
}

es_status es_act_int8_bwd(int32_t act_min, int32_t act_max,
                          const es_dims *dims, const int8_t *y, const float *dy, float *dz)
{
    if (y == NULL || dy == NULL || dz == NULL || !es_act_int8_bounds_ok(act_min, act_max)) {
        return ES_ERR_ARG;
    }
    ES_TRY(es_check_dims(dims));
    const int32_t count = es_dims_count(dims);
    for (int32_t i = 0; i < count; ++i) {
        dz[i] = es_act_int8_passes(act_min, act_max, y[i]) ? dy[i] : 0.0f;
    }
    return ES_OK;
}

es_status es_logistic_int8_bwd(const es_affine_int8_params *yq,
                               const es_dims *dims, const int8_t *y, const float *dy, float *dx)
{
    if (y == NULL || dy == NULL || dx == NULL || !affine_ok(yq)) {
        return ES_ERR_ARG;
    }
    ES_TRY(es_check_dims(dims));
    const int32_t count = es_dims_count(dims);
    for (int32_t i = 0; i < count; ++i) {
        const float v = es_dequantize_int8(yq->scale, yq->zero_point, y[i]);
        dx[i] = (dy[i] * v) * (1.0f - v);
    }
    return ES_OK;
}

es_status es_softmax_int8_bwd(const es_softmax_params *params, const es_affine_int8_params *yq,
                              const es_dims *dims, const int8_t *y, const float *dy, float *dx)
{
    if (params == NULL || y == NULL || dy == NULL || dx == NULL || !(params->beta > 0.0f) ||
        !affine_ok(yq)) {
        return ES_ERR_ARG;
    }
    ES_TRY(es_check_dims(dims));
    const int32_t rows = dims->n * dims->h * dims->w, c_n = dims->c;
    for (int32_t r = 0; r < rows; ++r) {
        const int8_t *yr = y + r * c_n;
        const float *dyr = dy + r * c_n;
        float *dxr = dx + r * c_n;
        float s = 0.0f;
        for (int32_t c = 0; c < c_n; ++c) {
            s += dyr[c] * es_dequantize_int8(yq->scale, yq->zero_point, yr[c]);
        }
        for (int32_t c = 0; c < c_n; ++c) {
            const float v = es_dequantize_int8(yq->scale, yq->zero_point, yr[c]);
            dxr[c] = params->beta * (v * (dyr[c] - s));
        }
    }
    return ES_OK;
}
