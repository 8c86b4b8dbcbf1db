/*
 * pool_f32.c -- AVERAGE_POOL_2D and MAX_POOL_2D float32 reference kernels: forward and input
 * gradient. Contracts and summation orders: edgesdk/pool_f32.h.
 */
#include "edgesdk/pool_f32.h"

#include "layer_check.h"

es_status es_avg_pool2d_f32_fwd(const es_pool2d_params *params,
                                const es_dims *in_dims, const float *in,
                                const es_dims *out_dims, float *out)
{
    if (in == NULL || out == NULL) {
        return ES_ERR_ARG;
    }
    ES_TRY(es_pool2d_check(params, in_dims, out_dims));
    const int32_t n_batch = in_dims->n, ih_n = in_dims->h, iw_n = in_dims->w, c_n = in_dims->c;
    const int32_t oh_n = out_dims->h, ow_n = out_dims->w;

    for (int32_t n = 0; n < n_batch; ++n) {
        for (int32_t oh = 0; oh < oh_n; ++oh) {
            int32_t h_lo, h_hi;
            es_clip_window(oh * params->stride_h - params->pad_top, params->filter_h, ih_n, &h_lo,
                        &h_hi);
            for (int32_t ow = 0; ow < ow_n; ++ow) {
                int32_t w_lo, w_hi;
                es_clip_window(ow * params->stride_w - params->pad_left, params->filter_w, iw_n,
                            &w_lo, &w_hi);
                const float count = (float)((h_hi - h_lo) * (w_hi - w_lo));
                float *y = out + ((n * oh_n + oh) * ow_n + ow) * c_n;
                for (int32_t c = 0; c < c_n; ++c) {
                    float acc = 0.0f;
                    for (int32_t ih = h_lo; ih < h_hi; ++ih) {
                        for (int32_t iw = w_lo; iw < w_hi; ++iw) {
                            acc += in[((n * ih_n + ih) * iw_n + iw) * c_n + c];
                        }
                    }
                    y[c] = es_activate(params->activation, acc / count);
                }
            }
        }
    }
    return ES_OK;
}

es_status es_avg_pool2d_f32_bwd(const es_pool2d_params *params,
                                const es_dims *out_dims, const float *dz,
                                const es_dims *in_dims, float *dx)
{
    if (dz == NULL || dx == NULL) {
        return ES_ERR_ARG;
    }
    ES_TRY(es_pool2d_check(params, in_dims, out_dims));
    const int32_t n_batch = in_dims->n, ih_n = in_dims->h, iw_n = in_dims->w, c_n = in_dims->c;
    const int32_t oh_n = out_dims->h, ow_n = out_dims->w;

    for (int32_t n = 0; n < n_batch; ++n) {
        for (int32_t ih = 0; ih < ih_n; ++ih) {
            for (int32_t iw = 0; iw < iw_n; ++iw) {
                float *g = dx + ((n * ih_n + ih) * iw_n + iw) * c_n;
                for (int32_t c = 0; c < c_n; ++c) {
                    g[c] = 0.0f;
                }
                for (int32_t kh = 0; kh < params->filter_h; ++kh) {
                    const int32_t oh = es_window_source(ih, kh, params->stride_h, 1,
                                                        params->pad_top, oh_n);
                    if (oh < 0) {
                        continue;
                    }
                    int32_t h_lo, h_hi;
                    es_clip_window(oh * params->stride_h - params->pad_top, params->filter_h, ih_n,
                                &h_lo, &h_hi);
                    for (int32_t kw = 0; kw < params->filter_w; ++kw) {
                        const int32_t ow = es_window_source(iw, kw, params->stride_w, 1,
                                                            params->pad_left, ow_n);
                        if (ow < 0) {
                            continue;
                        }
                        int32_t w_lo, w_hi;
                        es_clip_window(ow * params->stride_w - params->pad_left, params->filter_w,
                                    iw_n, &w_lo, &w_hi);
                        const float count = (float)((h_hi - h_lo) * (w_hi - w_lo));
                        const float *d = dz + ((n * oh_n + oh) * ow_n + ow) * c_n;
                        for (int32_t c = 0; c < c_n; ++c) {
                            g[c] += d[c] / count;
                        }
                    }
                }
            }
        }
    }
    return ES_OK;
}

es_status es_max_pool2d_f32_fwd(const es_pool2d_params *params,
                                const es_dims *in_dims, const float *in,
                                const es_dims *out_dims, float *out)
{
    if (in == NULL || out == NULL) {
        return ES_ERR_ARG;
    }
    ES_TRY(es_pool2d_check(params, in_dims, out_dims));
    const int32_t n_batch = in_dims->n, ih_n = in_dims->h, iw_n = in_dims->w, c_n = in_dims->c;
    const int32_t oh_n = out_dims->h, ow_n = out_dims->w;

    for (int32_t n = 0; n < n_batch; ++n) {
        for (int32_t oh = 0; oh < oh_n; ++oh) {
            int32_t h_lo, h_hi;
            es_clip_window(oh * params->stride_h - params->pad_top, params->filter_h, ih_n, &h_lo,
                        &h_hi);
            for (int32_t ow = 0; ow < ow_n; ++ow) {
                int32_t w_lo, w_hi;
                es_clip_window(ow * params->stride_w - params->pad_left, params->filter_w, iw_n,
                            &w_lo, &w_hi);
                float *y = out + ((n * oh_n + oh) * ow_n + ow) * c_n;
                for (int32_t c = 0; c < c_n; ++c) {
                    float best = in[((n * ih_n + h_lo) * iw_n + w_lo) * c_n + c];
                    for (int32_t ih = h_lo; ih < h_hi; ++ih) {
                        for (int32_t iw = w_lo; iw < w_hi; ++iw) {
                            const float v = in[((n * ih_n + ih) * iw_n + iw) * c_n + c];
                            if (v > best) {
                                best = v;
                            }
                        }
                    }
                    y[c] = es_activate(params->activation, best);
                }
            }
        }
    }
    return ES_OK;
}

es_status es_max_pool2d_f32_bwd(const es_pool2d_params *params,
                                const es_dims *in_dims, const float *in,
                                const es_dims *out_dims, const float *dz,
                                float *dx)
{
    if (in == NULL || dz == NULL || dx == NULL) {
        return ES_ERR_ARG;
    }
    ES_TRY(es_pool2d_check(params, in_dims, out_dims));
    const int32_t n_batch = in_dims->n, ih_n = in_dims->h, iw_n = in_dims->w, c_n = in_dims->c;
    const int32_t oh_n = out_dims->h, ow_n = out_dims->w;
    const int32_t in_count = es_dims_count(in_dims);

    for (int32_t i = 0; i < in_count; ++i) {
        dx[i] = 0.0f;
    }
    for (int32_t n = 0; n < n_batch; ++n) {
        for (int32_t oh = 0; oh < oh_n; ++oh) {
            int32_t h_lo, h_hi;
            es_clip_window(oh * params->stride_h - params->pad_top, params->filter_h, ih_n, &h_lo,
                        &h_hi);
            for (int32_t ow = 0; ow < ow_n; ++ow) {
                int32_t w_lo, w_hi;
                es_clip_window(ow * params->stride_w - params->pad_left, params->filter_w, iw_n,
                            &w_lo, &w_hi);
                const float *d = dz + ((n * oh_n + oh) * ow_n + ow) * c_n;
                for (int32_t c = 0; c < c_n; ++c) {
                    int32_t best_at = ((n * ih_n + h_lo) * iw_n + w_lo) * c_n + c;
                    for (int32_t ih = h_lo; ih < h_hi; ++ih) {
                        for (int32_t iw = w_lo; iw < w_hi; ++iw) {
                            const int32_t at = ((n * ih_n + ih) * iw_n + iw) * c_n + c;
                            if (in[at] > in[best_at]) {
                                best_at = at;
                            }
                        }
                    }
                    dx[best_at] += d[c];
                }
            }
        }
    }
    return ES_OK;
}
