/*
 * elementwise_f32.c -- ADD, LOGISTIC, activation backward, copy and accumulate in float32.
 * Contracts: edgesdk/elementwise_f32.h.
 */
#include "edgesdk/elementwise_f32.h"

#include <string.h>

#include "edgesdk/math_f32.h"
#include "internal.h"

es_status es_add_f32_fwd(es_activation activation,
                         const es_dims *a_dims, const float *a,
                         const es_dims *b_dims, const float *b,
                         const es_dims *out_dims, float *out)
{
    if (a == NULL || b == NULL || out == NULL || !es_activation_ok(activation)) {
        return ES_ERR_ARG;
    }
    ES_TRY(es_check_dims(a_dims));
    ES_TRY(es_check_dims(b_dims));
    ES_TRY(es_check_dims(out_dims));
    if (!es_dims_equal(a_dims, b_dims) || !es_dims_equal(a_dims, out_dims)) {
        return ES_ERR_SHAPE;
    }
    const int32_t count = es_dims_count(out_dims);
    for (int32_t i = 0; i < count; ++i) {
        out[i] = es_activate(activation, a[i] + b[i]);
    }
    return ES_OK;
}

es_status es_act_f32_bwd(es_activation activation,
                         const es_dims *dims, const float *y, const float *dy,
                         float *dz)
{
    if (y == NULL || dy == NULL || dz == NULL || !es_activation_ok(activation)) {
        return ES_ERR_ARG;
    }
    ES_TRY(es_check_dims(dims));
    const int32_t count = es_dims_count(dims);
    for (int32_t i = 0; i < count; ++i) {
        dz[i] = es_act_f32_passes(activation, y[i]) ? dy[i] : 0.0f;
    }
    return ES_OK;
}

es_status es_logistic_f32_fwd(const es_dims *dims, const float *in, float *out)
{
    if (in == NULL || out == NULL) {
        return ES_ERR_ARG;
    }
    ES_TRY(es_check_dims(dims));
    const int32_t count = es_dims_count(dims);
    for (int32_t i = 0; i < count; ++i) {
        out[i] = 1.0f / (1.0f + es_expf(-in[i]));
    }
    return ES_OK;
}

es_status es_logistic_f32_bwd(const es_dims *dims, const float *y, const float *dy,
                              float *dx)
{
    if (y == NULL || dy == NULL || dx == NULL) {
        return ES_ERR_ARG;
    }
    ES_TRY(es_check_dims(dims));
    const int32_t count = es_dims_count(dims);
    for (int32_t i = 0; i < count; ++i) {
        const float yi = y[i];
        dx[i] = (dy[i] * yi) * (1.0f - yi);
    }
    return ES_OK;
}

es_status es_copy_f32(const es_dims *dims, const float *src, float *dst)
{
    if (src == NULL || dst == NULL) {
        return ES_ERR_ARG;
    }
    ES_TRY(es_check_dims(dims));
    if (src != dst) {
        memmove(dst, src, (size_t)es_dims_count(dims) * sizeof(float));
    }
    return ES_OK;
}

es_status es_accumulate_f32(const es_dims *dims, const float *src, float *dst)
{
    if (src == NULL || dst == NULL) {
        return ES_ERR_ARG;
    }
    ES_TRY(es_check_dims(dims));
    const int32_t count = es_dims_count(dims);
    for (int32_t i = 0; i < count; ++i) {
        dst[i] = dst[i] + src[i];
    }
    return ES_OK;
}
