/*
 * softmax_f32.c -- SOFTMAX in float32: forward and input gradient.
 * Contracts and summation order: edgesdk/softmax_f32.h.
 */
#include "edgesdk/softmax_f32.h"

#include "edgesdk/math_f32.h"
#include "internal.h"

es_status es_softmax_f32_fwd(const es_softmax_params *params,
                             const es_dims *dims, const float *in, float *out)
{
    if (params == NULL || in == NULL || out == NULL || !(params->beta > 0.0f)) {
        return ES_ERR_ARG;
    }
    ES_TRY(es_check_dims(dims));
    const int32_t rows = dims->n * dims->h * dims->w, c_n = dims->c;

    for (int32_t r = 0; r < rows; ++r) {
        const float *x = in + r * c_n;
        float *y = out + r * c_n;
        float max = x[0];
        for (int32_t c = 1; c < c_n; ++c) {
            if (x[c] > max) {
                max = x[c];
            }
        }
        for (int32_t c = 0; c < c_n; ++c) {
            y[c] = es_expf((x[c] - max) * params->beta);
        }
        float sum = 0.0f;
        for (int32_t c = 0; c < c_n; ++c) {
            sum += y[c];
        }
        for (int32_t c = 0; c < c_n; ++c) {
            y[c] = y[c] / sum;
        }
    }
    return ES_OK;
}

es_status es_softmax_f32_bwd(const es_softmax_params *params,
                             const es_dims *dims, const float *y, const float *dy,
                             float *dx)
{
    if (params == NULL || y == NULL || dy == NULL || dx == NULL || !(params->beta > 0.0f)) {
        return ES_ERR_ARG;
    }
    ES_TRY(es_check_dims(dims));
    const int32_t rows = dims->n * dims->h * dims->w, c_n = dims->c;

    for (int32_t r = 0; r < rows; ++r) {
        const float *yr = y + r * c_n;
        const float *dyr = dy + r * c_n;
        float *dxr = dx + r * c_n;
        float s = 0.0f;
        for (int32_t c = 0; c < c_n; ++c) {
            s += dyr[c] * yr[c];
        }
        for (int32_t c = 0; c < c_n; ++c) {
            dxr[c] = params->beta * (yr[c] * (dyr[c] - s));
        }
    }
    return ES_OK;
}
