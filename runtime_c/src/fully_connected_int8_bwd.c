/*
 * fully_connected_int8_bwd.c -- FULLY_CONNECTED backward of an int8 layer
 * (edgesdk/fully_connected_int8_bwd.h): the loops of fully_connected_f32.c with every int8
 * element dequantized where it is read.
 */
#include "edgesdk/fully_connected_int8_bwd.h"

#include "edgesdk/requant.h"
#include "layer_check.h"
#include "weight_rows.h"

/*
 * g[k] += dz[o] * w[o, k] (dequantized) for o = first..end-1, in that order; the weight rows of
 * those outputs start at rows (row o at rows + (o - first)*K).
 */
static void add_rows(float *g, const float *d, const es_weights_int8_quant *wq, const int8_t *rows,
                     int32_t k_n, int32_t first, int32_t end)
{
    const int32_t zp = wq->zero_point;
    for (int32_t o = first; o < end; ++o) {
        const int8_t *wo = rows + (o - first) * k_n;
        const float s = wq->scale[o], dv = d[o];
        for (int32_t k = 0; k < k_n; ++k) {
            g[k] += dv * es_dequantize_int8(s, zp, wo[k]);
        }
    }
}

es_status es_fully_connected_int8_bwd_in(const es_weights_int8_quant *wq,
                                         const es_dims *out_dims, const float *dz,
                                         const es_dims *w_dims, const int8_t *w,
                                         const es_dims *in_dims, float *dx)
{
    if (dz == NULL || w == NULL || dx == NULL || wq == NULL || wq->scale == NULL ||
        !es_zero_point_ok(wq->zero_point)) {
        return ES_ERR_ARG;
    }
    ES_TRY(es_fc_weights_check(w_dims));
    if (!es_weight_split_ok(wq->tail, wq->head_channels, w_dims->n)) {
        return ES_ERR_ARG;
    }
    int32_t rows = 0;
    ES_TRY(es_fc_rows_check(in_dims, out_dims, w_dims->c, w_dims->n, &rows));
    const int32_t k_n = w_dims->c, o_n = w_dims->n;
    /* split weights: the rows in w, then those in the tail, so the order stays o */
    const int32_t head = wq->tail != NULL ? wq->head_channels : o_n;

    for (int32_t r = 0; r < rows; ++r) {
        float *g = dx + r * k_n;
        const float *d = dz + r * o_n;
        for (int32_t k = 0; k < k_n; ++k) {
            g[k] = 0.0f;
        }
        add_rows(g, d, wq, w, k_n, 0, head);
        if (head < o_n) {
            add_rows(g, d, wq, wq->tail, k_n, head, o_n);
        }
    }
    return ES_OK;
}

/* One output row o of the weight gradient: g[k] = sum over rows r of dz[r,o] * x[r,k]. */
static void grad_row(const es_affine_int8_params *xq, const float *dz, const int8_t *in,
                     int32_t rows, int32_t k_n, int32_t o_n, int32_t o, float *g)
{
    const float scale = xq->scale;
    const int32_t zp = xq->zero_point;
    for (int32_t k = 0; k < k_n; ++k) {
        g[k] = 0.0f;
    }
    for (int32_t r = 0; r < rows; ++r) {
        const float d = dz[r * o_n + o];
        const int8_t *x = in + r * k_n;
        for (int32_t k = 0; k < k_n; ++k) {
            g[k] += d * es_dequantize_int8(scale, zp, x[k]);
        }
    }
}

es_status es_fully_connected_int8_bwd_w(const es_affine_int8_params *xq,
                                        const es_dims *out_dims, const float *dz,
                                        const es_dims *in_dims, const int8_t *in,
                                        const es_dims *dw_dims, float *dw)
{
    if (dz == NULL || in == NULL || dw == NULL || xq == NULL || !es_zero_point_ok(xq->zero_point)) {
        return ES_ERR_ARG;
    }
    ES_TRY(es_fc_weights_check(dw_dims));
    ES_TRY(es_check_dims(out_dims));
    int32_t rows = 0;
    ES_TRY(es_fc_rows_check(in_dims, out_dims, dw_dims->c, out_dims->c, &rows));
    if (dw_dims->n > out_dims->c) {
        return ES_ERR_SHAPE;
    }
    const int32_t k_n = dw_dims->c, o_n = out_dims->c;
    for (int32_t o = 0; o < dw_dims->n; ++o) {
        grad_row(xq, dz, in, rows, k_n, o_n, o, dw + o * k_n);
    }
    return ES_OK;
}

es_status es_fully_connected_int8_bwd_w_qas(const es_affine_int8_params *xq,
                                            const es_qas_layer_params *qas,
                                            const es_dims *out_dims, const float *dz,
                                            const es_dims *in_dims, const int8_t *in,
                                            const es_dims *w_dims, int8_t *w,
                                            float *master, uint32_t *rng_state, float *scratch)
{
    if (dz == NULL || in == NULL || w == NULL || scratch == NULL || xq == NULL ||
        !es_zero_point_ok(xq->zero_point)) {
        return ES_ERR_ARG;
    }
    ES_TRY(es_fc_weights_check(w_dims));
    int32_t rows = 0;
    ES_TRY(es_fc_rows_check(in_dims, out_dims, w_dims->c, w_dims->n, &rows));
    if (!es_qas_layer_ok(qas, w_dims->n, master, rng_state)) {
        return ES_ERR_ARG;
    }
    const int32_t k_n = w_dims->c, o_n = w_dims->n;
    for (int32_t o = 0; o < qas->channels; ++o) {
        grad_row(xq, dz, in, rows, k_n, o_n, o, scratch);
        ES_TRY(es_qas_int8_chunk(qas, k_n, k_n, qas->factor + o, scratch,
                                 master != NULL ? master + o * k_n : NULL, rng_state, w + o * k_n));
    }
    return ES_OK;
}

size_t es_fully_connected_int8_bwd_w_qas_scratch_size(const es_dims *w_dims)
{
    return w_dims != NULL && w_dims->c > 0 ? (size_t)w_dims->c * sizeof(float) : 0u;
}
