/*
 * depthwise_conv2d_int8_bwd.c -- DEPTHWISE_CONV_2D backward of an int8 layer
 * (edgesdk/depthwise_conv2d_int8_bwd.h): the loops of depthwise_conv2d_f32.c with every int8
 * element dequantized where it is read.
 */
#include "edgesdk/depthwise_conv2d_int8_bwd.h"

#include "edgesdk/requant.h"
#include "layer_check.h"

es_status es_depthwise_conv2d_int8_bwd_in(const es_depthwise_conv2d_params *params,
                                          const es_weights_int8_quant *wq,
                                          const es_dims *out_dims, const float *dz,
                                          const es_dims *w_dims, const int8_t *w,
                                          const es_dims *in_dims, float *dx)
{
    if (dz == NULL || w == NULL || dx == NULL || wq == NULL || wq->scale == NULL ||
        !es_zero_point_ok(wq->zero_point) || wq->tail != NULL || wq->head_channels != 0) {
        return ES_ERR_ARG;
    }
    ES_TRY(es_check_dims(w_dims));
    ES_TRY(es_depthwise_check(params, in_dims, out_dims, w_dims->h, w_dims->w));
    ES_TRY(es_depthwise_weights_check(w_dims, out_dims));

    const int32_t n_batch = in_dims->n, ih_n = in_dims->h, iw_n = in_dims->w, c_n = in_dims->c;
    const int32_t oh_n = out_dims->h, ow_n = out_dims->w, oc_n = out_dims->c;
    const int32_t kh_n = w_dims->h, kw_n = w_dims->w, m_n = params->depth_multiplier;
    const int32_t zp = wq->zero_point;
    const float *scale = wq->scale;

    for (int32_t n = 0; n < n_batch; ++n) {
        for (int32_t ih = 0; ih < ih_n; ++ih) {
            for (int32_t iw = 0; iw < iw_n; ++iw) {
                float *g = dx + ((n * ih_n + ih) * iw_n + iw) * c_n;
                for (int32_t c = 0; c < c_n; ++c) {
                    g[c] = 0.0f;
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
                        const int8_t *wk = w + (kh * kw_n + kw) * oc_n;
                        for (int32_t c = 0; c < c_n; ++c) {
                            for (int32_t m = 0; m < m_n; ++m) {
                                const int32_t j = c * m_n + m;
                                g[c] += d[j] * es_dequantize_int8(scale[j], zp, wk[j]);
                            }
                        }
                    }
                }
            }
        }
    }
    return ES_OK;
}

/*
 * One tap (kh, kw) of the weight gradient for the first k output channels: g[j] = sum over
 * n, oh, ow of dz[n,oh,ow,j] * x[n,ih,iw,j/M] (dequantized), in that order.
 */
static void grad_tap(const es_depthwise_conv2d_params *p, const es_affine_int8_params *xq,
                     const es_dims *out_dims, const float *dz, const es_dims *in_dims,
                     const int8_t *in, int32_t kh, int32_t kw, int32_t k, float *g)
{
    const int32_t n_batch = in_dims->n, ih_n = in_dims->h, iw_n = in_dims->w, c_n = in_dims->c;
    const int32_t oh_n = out_dims->h, ow_n = out_dims->w, oc_n = out_dims->c;
    const int32_t m_n = p->depth_multiplier, zp = xq->zero_point;
    const float scale = xq->scale;

    for (int32_t j = 0; j < k; ++j) {
        g[j] = 0.0f;
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
                const float *d = dz + ((n * oh_n + oh) * ow_n + ow) * oc_n;
                const int8_t *x = in + ((n * ih_n + ih) * iw_n + iw) * c_n;
                for (int32_t j = 0; j < k; ++j) {
                    g[j] += d[j] * es_dequantize_int8(scale, zp, x[j / m_n]);
                }
            }
        }
    }
}

es_status es_depthwise_conv2d_int8_bwd_w(const es_depthwise_conv2d_params *params,
                                         const es_affine_int8_params *xq,
                                         const es_dims *out_dims, const float *dz,
                                         const es_dims *in_dims, const int8_t *in,
                                         const es_dims *dw_dims, float *dw)
{
    if (dz == NULL || in == NULL || dw == NULL || xq == NULL || !es_zero_point_ok(xq->zero_point)) {
        return ES_ERR_ARG;
    }
    ES_TRY(es_check_dims(dw_dims));
    ES_TRY(es_depthwise_check(params, in_dims, out_dims, dw_dims->h, dw_dims->w));
    if (dw_dims->n != 1 || dw_dims->c > out_dims->c) {
        return ES_ERR_SHAPE;
    }
    const int32_t kh_n = dw_dims->h, kw_n = dw_dims->w, k = dw_dims->c;
    for (int32_t kh = 0; kh < kh_n; ++kh) {
        for (int32_t kw = 0; kw < kw_n; ++kw) {
            grad_tap(params, xq, out_dims, dz, in_dims, in, kh, kw, k, dw + (kh * kw_n + kw) * k);
        }
    }
    return ES_OK;
}

es_status es_depthwise_conv2d_int8_bwd_w_qas(const es_depthwise_conv2d_params *params,
                                             const es_affine_int8_params *xq,
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
    ES_TRY(es_depthwise_check(params, in_dims, out_dims, w_dims->h, w_dims->w));
    ES_TRY(es_depthwise_weights_check(w_dims, out_dims));
    if (!es_qas_layer_ok(qas, w_dims->c, master, rng_state)) {
        return ES_ERR_ARG;
    }
    const int32_t kh_n = w_dims->h, kw_n = w_dims->w, k = qas->channels;
    for (int32_t kh = 0; kh < kh_n; ++kh) {
        for (int32_t kw = 0; kw < kw_n; ++kw) {
            const int32_t tap = kh * kw_n + kw;
            grad_tap(params, xq, out_dims, dz, in_dims, in, kh, kw, k, scratch);
            ES_TRY(es_qas_int8_chunk(qas, k, 1, qas->factor, scratch,
                                     master != NULL ? master + tap * k : NULL, rng_state,
                                     w + tap * w_dims->c));
        }
    }
    return ES_OK;
}

size_t es_depthwise_conv2d_int8_bwd_w_qas_scratch_size(const es_qas_layer_params *qas)
{
    return qas != NULL && qas->channels > 0 ? (size_t)qas->channels * sizeof(float) : 0u;
}
