/*
 * fully_connected_f32.c -- FULLY_CONNECTED float32 reference kernels: forward, input gradient,
 * weight gradient. Contracts and summation orders: edgesdk/fully_connected_f32.h.
 */
#include "edgesdk/fully_connected_f32.h"

#include "layer_check.h"

es_status es_fully_connected_f32_fwd(const es_fully_connected_params *params,
                                     const es_dims *in_dims, const float *in,
                                     const es_dims *w_dims, const float *w,
                                     const float *bias,
                                     const es_dims *out_dims, float *out)
{
    if (params == NULL || !es_activation_ok(params->activation) || in == NULL || w == NULL ||
        out == NULL) {
        return ES_ERR_ARG;
    }
    ES_TRY(es_fc_weights_check(w_dims));
    int32_t rows = 0;
    ES_TRY(es_fc_rows_check(in_dims, out_dims, w_dims->c, w_dims->n, &rows));
    const int32_t k_n = w_dims->c, o_n = w_dims->n;

    for (int32_t r = 0; r < rows; ++r) {
        const float *x = in + r * k_n;
        for (int32_t o = 0; o < o_n; ++o) {
            const float *wo = w + o * k_n;
            float acc = es_dot_f32(0.0f, x, wo, k_n);
            if (bias != NULL) {
                acc += bias[o];
            }
            out[r * o_n + o] = es_activate(params->activation, acc);
        }
    }
    return ES_OK;
}

es_status es_fully_connected_f32_bwd_in(const es_dims *out_dims, const float *dz,
                                        const es_dims *w_dims, const float *w,
                                        const es_dims *in_dims, float *dx)
{
    if (dz == NULL || w == NULL || dx == NULL) {
        return ES_ERR_ARG;
    }
    ES_TRY(es_fc_weights_check(w_dims));
    int32_t rows = 0;
    ES_TRY(es_fc_rows_check(in_dims, out_dims, w_dims->c, w_dims->n, &rows));
    const int32_t k_n = w_dims->c, o_n = w_dims->n;

    for (int32_t r = 0; r < rows; ++r) {
        float *g = dx + r * k_n;
        const float *d = dz + r * o_n;
        for (int32_t k = 0; k < k_n; ++k) {
            g[k] = 0.0f;
        }
        for (int32_t o = 0; o < o_n; ++o) {
            es_axpy_f32(g, d[o], w + o * k_n, k_n);
        }
    }
    return ES_OK;
}

es_status es_fully_connected_f32_bwd_w(const es_dims *out_dims, const float *dz,
                                       const es_dims *in_dims, const float *in,
                                       const es_dims *dw_dims, float *dw)
{
    if (dz == NULL || in == NULL || dw == NULL) {
        return ES_ERR_ARG;
    }
    ES_TRY(es_fc_weights_check(dw_dims));
    ES_TRY(es_check_dims(out_dims));
    int32_t rows = 0;
    ES_TRY(es_fc_rows_check(in_dims, out_dims, dw_dims->c, out_dims->c, &rows));
    if (dw_dims->n > out_dims->c) {
        return ES_ERR_SHAPE;
    }
    const int32_t k_n = dw_dims->c, o_n = out_dims->c, k_rows = dw_dims->n;

    for (int32_t o = 0; o < k_rows; ++o) {
        float *g = dw + o * k_n;
        for (int32_t k = 0; k < k_n; ++k) {
            g[k] = 0.0f;
        }
        for (int32_t r = 0; r < rows; ++r) {
            es_axpy_f32(g, dz[r * o_n + o], in + r * k_n, k_n);
        }
    }
    return ES_OK;
}
