/*
 * mean_f32.c -- MEAN over H and W in float32: forward, input gradient, and the input gradient
 * fused with the activation backward that reads it. Contracts and summation order:
 * edgesdk/mean_f32.h.
 */
#include "edgesdk/mean_f32.h"

#include "internal.h"

es_status es_mean_hw_f32_fwd(const es_dims *in_dims, const float *in,
                             const es_dims *out_dims, float *out)
{
    if (in == NULL || out == NULL) {
        return ES_ERR_ARG;
    }
    ES_TRY(es_mean_hw_check(in_dims, out_dims));
    const int32_t n_batch = in_dims->n, hw = in_dims->h * in_dims->w, c_n = in_dims->c;
    const float count = (float)hw;

    for (int32_t n = 0; n < n_batch; ++n) {
        float *y = out + n * c_n;
        for (int32_t c = 0; c < c_n; ++c) {
            y[c] = 0.0f;
        }
        for (int32_t p = 0; p < hw; ++p) {
            const float *x = in + (n * hw + p) * c_n;
            for (int32_t c = 0; c < c_n; ++c) {
                y[c] += x[c];
            }
        }
        for (int32_t c = 0; c < c_n; ++c) {
            y[c] = y[c] / count;
        }
    }
    return ES_OK;
}

es_status es_mean_hw_f32_bwd(const es_dims *out_dims, const float *dz,
                             const es_dims *in_dims, float *dx)
{
    if (dz == NULL || dx == NULL) {
        return ES_ERR_ARG;
    }
    ES_TRY(es_mean_hw_check(in_dims, out_dims));
    const int32_t n_batch = in_dims->n, hw = in_dims->h * in_dims->w, c_n = in_dims->c;
    const float count = (float)hw;

    for (int32_t n = 0; n < n_batch; ++n) {
        const float *d = dz + n * c_n;
        for (int32_t p = 0; p < hw; ++p) {
            float *g = dx + (n * hw + p) * c_n;
            for (int32_t c = 0; c < c_n; ++c) {
                g[c] = d[c] / count;
            }
        }
    }
    return ES_OK;
}

es_status es_mean_hw_act_f32_bwd(es_activation activation,
                                 const es_dims *in_dims, const float *y,
                                 const es_dims *out_dims, const float *dy,
                                 float *dz)
{
    if (y == NULL || dy == NULL || dz == NULL || !es_activation_ok(activation)) {
        return ES_ERR_ARG;
    }
    ES_TRY(es_mean_hw_check(in_dims, out_dims));
    const int32_t n_batch = in_dims->n, hw = in_dims->h * in_dims->w, c_n = in_dims->c;
    const float count = (float)hw;

    for (int32_t n = 0; n < n_batch; ++n) {
        const float *d = dy + n * c_n;
        for (int32_t p = 0; p < hw; ++p) {
            const int32_t row = (n * hw + p) * c_n;
            for (int32_t c = 0; c < c_n; ++c) {
                /* es_mean_hw_f32_bwd's d[c] / count, then es_act_f32_bwd's mask */
                dz[row + c] = es_act_f32_passes(activation, y[row + c]) ? d[c] / count : 0.0f;
            }
        }
    }
    return ES_OK;
}
