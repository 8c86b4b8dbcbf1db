/*
 * fully_connected_f32.c -- FULLY_CONNECTED float32 reference kernels: forward, input gradient,
 * weight gradient. Contracts and summation orders: edgesdk/fully_connected_f32.h.
 */
#include "edgesdk/fully_connected_f32.h"

#include "internal.h"

/*
 * Checks that x holds rows of `features` values and y holds the same number of rows of
 * `outputs` values; stores the row count.
 */
static es_status check_rows(const es_dims *in_dims, const es_dims *out_dims, int32_t features,
                            int32_t outputs, int32_t *rows)
{
    ES_TRY(es_check_dims(in_dims));
    ES_TRY(es_check_dims(out_dims));
    const int32_t in_count = es_dims_count(in_dims);
    if (features < 1 || in_count % features != 0 || out_dims->c != outputs) {
        return ES_ERR_SHAPE;
    }
    *rows = in_count / features;
    return es_dims_count(out_dims) == *rows * outputs ? ES_OK : ES_ERR_SHAPE;
}

/* The weight tensor must be [O, 1, 1, K]. */
static es_status check_weights(const es_dims *w_dims)
{
    ES_TRY(es_check_dims(w_dims));
    return w_dims->h == 1 && w_dims->w == 1 ? ES_OK : ES_ERR_SHAPE;
}

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
    ES_TRY(check_weights(w_dims));
    int32_t rows = 0;
    ES_TRY(check_rows(in_dims, out_dims, w_dims->c, w_dims->n, &rows));
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
    ES_TRY(check_weights(w_dims));
    int32_t rows = 0;
    ES_TRY(check_rows(in_dims, out_dims, w_dims->c, w_dims->n, &rows));
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
    ES_TRY(check_weights(dw_dims));
    ES_TRY(es_check_dims(out_dims));
    int32_t rows = 0;
    ES_TRY(check_rows(in_dims, out_dims, dw_dims->c, out_dims->c, &rows));
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
