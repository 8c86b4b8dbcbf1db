/*
 * conv2d_int8_bwd.c -- CONV_2D backward of an int8 layer (edgesdk/conv2d_int8_bwd.h): the loops
 * of conv2d_f32.c with every int8 element dequantized where it is read.
 */
#include "edgesdk/conv2d_int8_bwd.h"

#include "edgesdk/requant.h"
#include "layer_check.h"
#include "weight_rows.h"

/*
 * g[ic] += dz[oc] * w[oc, tap + ic] (dequantized) for oc = first..end-1, in that order; the weight
 * rows of those channels start at rows (row oc at rows + (oc - first)*row).
 */
static void add_tap(float *g, const float *d, const es_weights_int8_quant *wq, const int8_t *rows,
                    int32_t row, int32_t tap, int32_t ic_n, int32_t first, int32_t end)
{
    const int32_t zp = wq->zero_point;
    for (int32_t oc = first; oc < end; ++oc) {
        const int8_t *wk = rows + (oc - first) * row + tap;
        const float s = wq->scale[oc], dv = d[oc];
        for (int32_t ic = 0; ic < ic_n; ++ic) {
            g[ic] += dv * es_dequantize_int8(s, zp, wk[ic]);
        }
    }
}

es_status es_conv2d_int8_bwd_in(const es_conv2d_params *params, const es_weights_int8_quant *wq,
                                const es_dims *out_dims, const float *dz,
                                const es_dims *w_dims, const int8_t *w,
                                const es_dims *in_dims, float *dx)
{
    if (dz == NULL || w == NULL || dx == NULL || wq == NULL || wq->scale == NULL ||
        !es_zero_point_ok(wq->zero_point)) {
        return ES_ERR_ARG;
    }
    ES_TRY(es_check_dims(w_dims));
    if (!es_weight_split_ok(wq->tail, wq->head_channels, w_dims->n)) {
        return ES_ERR_ARG;
    }
    ES_TRY(es_conv2d_check(params, in_dims, out_dims, w_dims->h, w_dims->w, w_dims->c, w_dims->n));

    const int32_t n_batch = in_dims->n, ih_n = in_dims->h, iw_n = in_dims->w, ic_n = in_dims->c;
    const int32_t oh_n = out_dims->h, ow_n = out_dims->w, oc_n = out_dims->c;
    const int32_t kh_n = w_dims->h, kw_n = w_dims->w, row = kh_n * kw_n * ic_n;
    /* split weights: the channels in w, then those in the tail, so the order stays kh, kw, oc */
    const int32_t head = wq->tail != NULL ? wq->head_channels : oc_n;

    for (int32_t n = 0; n < n_batch; ++n) {
        for (int32_t ih = 0; ih < ih_n; ++ih) {
            for (int32_t iw = 0; iw < iw_n; ++iw) {
                float *g = dx + ((n * ih_n + ih) * iw_n + iw) * ic_n;
                for (int32_t ic = 0; ic < ic_n; ++ic) {
                    g[ic] = 0.0f;
                }
                for (int32_t kh = 0; kh < kh_n; ++kh) {
                    const int32_t oh = es_window_source(ih, kh, params->stride_h,
                                                        params->dilation_h, params->pad_top, oh_n);
                    if (oh < 0) {
                        continue;
                    }
                    for (int32_t kw = 0; kw < kw_n; ++kw) {
                        const int32_t ow = es_window_source(iw, kw, params->stride_w,
                                                            params->dilation_w, params->pad_left,
                                                            ow_n);
                        if (ow < 0) {
                            continue;
                        }
                        const float *d = dz + ((n * oh_n + oh) * ow_n + ow) * oc_n;
                        const int32_t tap = (kh * kw_n + kw) * ic_n;
                        add_tap(g, d, wq, w, row, tap, ic_n, 0, head);
                        if (head < oc_n) {
                            add_tap(g, d, wq, wq->tail, row, tap, ic_n, head, oc_n);
                        }
                    }
                }
            }
        }
    }
    return ES_OK;
}

/*
 * One (oc, kh, kw) row of the weight gradient: g[ic] = sum over n, oh, ow of
 * dz[n,oh,ow,oc] * x[n,ih,iw,ic] (dequantized), in that order. Shapes already checked.
 */
static void grad_row(const es_conv2d_params *p, const es_affine_int8_params *xq,
                     const es_dims *out_dims, const float *dz, const es_dims *in_dims,
                     const int8_t *in, int32_t oc, int32_t kh, int32_t kw, float *g)
{
    const int32_t n_batch = in_dims->n, ih_n = in_dims->h, iw_n = in_dims->w, ic_n = in_dims->c;
    const int32_t oh_n = out_dims->h, ow_n = out_dims->w, oc_n = out_dims->c;
    const float scale = xq->scale;
    const int32_t zp = xq->zero_point;

    for (int32_t ic = 0; ic < ic_n; ++ic) {
        g[ic] = 0.0f;
    }
    for (int32_t n = 0; n < n_batch; ++n) {
        for (int32_t oh = 0; oh < oh_n; ++oh) {
            const int32_t ih = oh * p->stride_h - p->pad_top + kh * p->dilation_h;
            if (ih < 0 || ih >= ih_n) {
                continue;
            }
            for (int32_t ow = 0; ow < ow_n; ++ow) {
                const int32_t iw = ow * p->stride_w - p->pad_left + kw * p->dilation_w;
                if (iw < 0 || iw >= iw_n) {
                    continue;
                }
                const float d = dz[((n * oh_n + oh) * ow_n + ow) * oc_n + oc];
                const int8_t *x = in + ((n * ih_n + ih) * iw_n + iw) * ic_n;
                for (int32_t ic = 0; ic < ic_n; ++ic) {
                    g[ic] += d * es_dequantize_int8(scale, zp, x[ic]);
                }
            }
        }
    }
}

es_status es_conv2d_int8_bwd_w(const es_conv2d_params *params, const es_affine_int8_params *xq,
                               const es_dims *out_dims, const float *dz,
                               const es_dims *in_dims, const int8_t *in,
                               const es_dims *dw_dims, float *dw)
{
    if (dz == NULL || in == NULL || dw == NULL || xq == NULL || !es_zero_point_ok(xq->zero_point)) {
        return ES_ERR_ARG;
    }
    ES_TRY(es_check_dims(dw_dims));
    ES_TRY(es_check_dims(out_dims));
    if (dw_dims->n > out_dims->c) {
        return ES_ERR_SHAPE;
    }
    ES_TRY(es_conv2d_check(params, in_dims, out_dims, dw_dims->h, dw_dims->w, dw_dims->c,
                        out_dims->c));
    const int32_t kh_n = dw_dims->h, kw_n = dw_dims->w, ic_n = dw_dims->c;
    for (int32_t oc = 0; oc < dw_dims->n; ++oc) {
        for (int32_t kh = 0; kh < kh_n; ++kh) {
            for (int32_t kw = 0; kw < kw_n; ++kw) {
                grad_row(params, xq, out_dims, dz, in_dims, in, oc, kh, kw,
                         dw + ((oc * kh_n + kh) * kw_n + kw) * ic_n);
            }
        }
    }
    return ES_OK;
}

es_status es_conv2d_int8_bwd_w_qas(const es_conv2d_params *params, const es_affine_int8_params *xq,
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
    ES_TRY(es_check_dims(w_dims));
    ES_TRY(es_conv2d_check(params, in_dims, out_dims, w_dims->h, w_dims->w, w_dims->c, w_dims->n));
    if (!es_qas_layer_ok(qas, w_dims->n, master, rng_state)) {
        return ES_ERR_ARG;
    }
    const int32_t kh_n = w_dims->h, kw_n = w_dims->w, ic_n = w_dims->c;
    for (int32_t oc = 0; oc < qas->channels; ++oc) {
        for (int32_t kh = 0; kh < kh_n; ++kh) {
            for (int32_t kw = 0; kw < kw_n; ++kw) {
                const int32_t row = ((oc * kh_n + kh) * kw_n + kw) * ic_n;
                grad_row(params, xq, out_dims, dz, in_dims, in, oc, kh, kw, scratch);
                ES_TRY(es_qas_int8_chunk(qas, ic_n, ic_n, qas->factor + oc, scratch,
                                         master != NULL ? master + row : NULL, rng_state, w + row));
            }
        }
    }
    return ES_OK;
}

size_t es_conv2d_int8_bwd_w_qas_scratch_size(const es_dims *w_dims)
{
    return w_dims != NULL && w_dims->c > 0 ? (size_t)w_dims->c * sizeof(float) : 0u;
}
