/*
 * pool_int8_bwd.c -- MAX_POOL_2D backward from the saved int8 input (edgesdk/pool_int8_bwd.h):
 * es_max_pool2d_f32_bwd's windows and order, comparing the integers.
 */
#include "edgesdk/pool_int8_bwd.h"

#include "layer_check.h"

es_status es_max_pool2d_int8_bwd(const es_pool2d_params *params,
                                 const es_dims *in_dims, const int8_t *in,
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
