/*
 * conv2d_f32.c -- CONV_2D float32 reference kernels: forward, input gradient, weight gradient.
 * Contracts and summation orders: edgesdk/conv2d_f32.h.
 */
#include "edgesdk/conv2d_f32.h"

#include "layer_check.h"

es_status es_conv2d_f32_fwd(const es_conv2d_params *params,
                            const es_dims *in_dims, const float *in,
                            const es_dims *w_dims, const float *w,
                            const float *bias,
                            const es_dims *out_dims, float *out)
{
    if (in == NULL || w == NULL || out == NULL) {
        return ES_ERR_ARG;
    }
    ES_TRY(es_check_dims(w_dims));
    ES_TRY(es_conv2d_check(params, in_dims, out_dims, w_dims->h, w_dims->w, w_dims->c, w_dims->n));

    const int32_t n_batch = in_dims->n, ih_n = in_dims->h, iw_n = in_dims->w, ic_n = in_dims->c;
    const int32_t oh_n = out_dims->h, ow_n = out_dims->w, oc_n = out_dims->c;
    const int32_t kh_n = w_dims->h, kw_n = w_dims->w;

    for (int32_t n = 0; n < n_batch; ++n) {
        for (int32_t oh = 0; oh < oh_n; ++oh) {
            const int32_t ih0 = oh * params->stride_h - params->pad_top;
            for (int32_t ow = 0; ow < ow_n; ++ow) {
                const int32_t iw0 = ow * params->stride_w - params->pad_left;
                float *y = out + ((n * oh_n + oh) * ow_n + ow) * oc_n;
                for (int32_t oc = 0; oc < oc_n; ++oc) {
                    float acc = 0.0f;
                    for (int32_t kh = 0; kh < kh_n; ++kh) {
                        const int32_t ih = ih0 + kh * params->dilation_h;
                        if (ih < 0 || ih >= ih_n) {
                            continue;
                        }
                        for (int32_t kw = 0; kw < kw_n; ++kw) {
                            const int32_t iw = iw0 + kw * params->dilation_w;
                            if (iw < 0 || iw >= iw_n) {
                                continue;
                            }
                            const float *x = in + ((n * ih_n + ih) * iw_n + iw) * ic_n;
                            const float *wk = w + ((oc * kh_n + kh) * kw_n + kw) * ic_n;
                            acc = es_dot_f32(acc, x, wk, ic_n);
                        }
                    }
                    if (bias != NULL) {
                        acc += bias[oc];
                    }
                    y[oc] = es_activate(params->activation, acc);
                }
            }
        }
    }
    return ES_OK;
}

es_status es_conv2d_f32_bwd_in(const es_conv2d_params *params,
                               const es_dims *out_dims, const float *dz,
                               const es_dims *w_dims, const float *w,
                               const es_dims *in_dims, float *dx)
{
    if (dz == NULL || w == NULL || dx == NULL) {
        return ES_ERR_ARG;
    }
    ES_TRY(es_check_dims(w_dims));
    ES_TRY(es_conv2d_check(params, in_dims, out_dims, w_dims->h, w_dims->w, w_dims->c, w_dims->n));

    const int32_t n_batch = in_dims->n, ih_n = in_dims->h, iw_n = in_dims->w, ic_n = in_dims->c;
    const int32_t oh_n = out_dims->h, ow_n = out_dims->w, oc_n = out_dims->c;
    const int32_t kh_n = w_dims->h, kw_n = w_dims->w;

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
                        for (int32_t oc = 0; oc < oc_n; ++oc) {
                            const float *wk = w + ((oc * kh_n + kh) * kw_n + kw) * ic_n;
                            es_axpy_f32(g, d[oc], wk, ic_n);
                        }
                    }
                }
            }
        }
    }
    return ES_OK;
}

es_status es_conv2d_f32_bwd_w(const es_conv2d_params *params,
                              const es_dims *out_dims, const float *dz,
                              const es_dims *in_dims, const float *in,
                              const es_dims *dw_dims, float *dw)
{
    if (dz == NULL || in == NULL || dw == NULL) {
        return ES_ERR_ARG;
    }
    ES_TRY(es_check_dims(dw_dims));
    ES_TRY(es_check_dims(out_dims));
    if (dw_dims->n > out_dims->c) {
        return ES_ERR_SHAPE;
    }
    ES_TRY(es_conv2d_check(params, in_dims, out_dims, dw_dims->h, dw_dims->w, dw_dims->c,
                        out_dims->c));

    const int32_t n_batch = in_dims->n, ih_n = in_dims->h, iw_n = in_dims->w, ic_n = in_dims->c;
    const int32_t oh_n = out_dims->h, ow_n = out_dims->w, oc_n = out_dims->c;
    const int32_t kh_n = dw_dims->h, kw_n = dw_dims->w, k_channels = dw_dims->n;

    for (int32_t oc = 0; oc < k_channels; ++oc) {
        for (int32_t kh = 0; kh < kh_n; ++kh) {
            for (int32_t kw = 0; kw < kw_n; ++kw) {
                float *g = dw + ((oc * kh_n + kh) * kw_n + kw) * ic_n;
                for (int32_t ic = 0; ic < ic_n; ++ic) {
                    g[ic] = 0.0f;
                }
                for (int32_t n = 0; n < n_batch; ++n) {
                    for (int32_t oh = 0; oh < oh_n; ++oh) {
                        const int32_t ih = oh * params->stride_h - params->pad_top +
                                           kh * params->dilation_h;
                        if (ih < 0 || ih >= ih_n) {
                            continue;
                        }
                        for (int32_t ow = 0; ow < ow_n; ++ow) {
                            const int32_t iw = ow * params->stride_w - params->pad_left +
                                               kw * params->dilation_w;
                            if (iw < 0 || iw >= iw_n) {
                                continue;
                            }
                            const float d = dz[((n * oh_n + oh) * ow_n + ow) * oc_n + oc];
                            const float *x = in + ((n * ih_n + ih) * iw_n + iw) * ic_n;
                            es_axpy_f32(g, d, x, ic_n);
                        }
                    }
                }
            }
        }
    }
    return ES_OK;
}
