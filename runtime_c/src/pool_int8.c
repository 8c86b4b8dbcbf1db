/*
 * pool_int8.c -- AVERAGE_POOL_2D and MAX_POOL_2D in int8 (edgesdk/pool_int8.h).
 */
#include "edgesdk/pool_int8.h"

#include "edgesdk/requant.h"
#include "internal.h"

static es_status check(const es_pool2d_int8_params *p, const es_dims *in_dims, const es_dims *out_dims)
{
    if (p == NULL) {
        return ES_ERR_ARG;
    }
    ES_TRY(es_check_dims(in_dims));
    ES_TRY(es_check_dims(out_dims));
    if (p->filter_h < 1 || p->filter_w < 1 || !es_axis_params_ok(p->stride_h, 1, p->pad_top) ||
        !es_axis_params_ok(p->stride_w, 1, p->pad_left) || !es_int8_range_ok(p->act_min, p->act_max)) {
        return ES_ERR_ARG;
    }
    if (in_dims->n != out_dims->n || in_dims->c != out_dims->c ||
        !es_window_ok(in_dims->h, out_dims->h, p->filter_h, p->stride_h, 1, p->pad_top) ||
        !es_window_ok(in_dims->w, out_dims->w, p->filter_w, p->stride_w, 1, p->pad_left)) {
        return ES_ERR_SHAPE;
    }
    return ES_OK;
}

/* The in-bounds part [start, end) of the window starting at `origin` along an axis of `size`. */
static void clip_window(int32_t origin, int32_t filter, int32_t size, int32_t *start, int32_t *end)
{
    *start = origin < 0 ? -origin : 0;
    *end = size - origin < filter ? size - origin : filter;
}

static es_status pool(const es_pool2d_int8_params *params, const es_dims *in_dims, const int8_t *in,
                      const es_dims *out_dims, int8_t *out, int average)
{
    int32_t n, oh, ow, c, fh, fw, h0, h1, w0, w1;
    if (in == NULL || out == NULL) {
        return ES_ERR_ARG;
    }
    ES_TRY(check(params, in_dims, out_dims));
    for (n = 0; n < out_dims->n; ++n) {
        for (oh = 0; oh < out_dims->h; ++oh) {
            const int32_t ih0 = oh * params->stride_h - params->pad_top;
            clip_window(ih0, params->filter_h, in_dims->h, &h0, &h1);
            for (ow = 0; ow < out_dims->w; ++ow) {
                const int32_t iw0 = ow * params->stride_w - params->pad_left;
                clip_window(iw0, params->filter_w, in_dims->w, &w0, &w1);
                for (c = 0; c < out_dims->c; ++c) {
                    int32_t acc = average ? 0 : -128;
                    int32_t count = 0;
                    for (fh = h0; fh < h1; ++fh) {
                        for (fw = w0; fw < w1; ++fw) {
                            const int32_t v =
                                in[((n * in_dims->h + ih0 + fh) * in_dims->w + iw0 + fw) * in_dims->c + c];
                            acc = average ? acc + v : (v > acc ? v : acc);
                            ++count;
                        }
                    }
                    if (average) { /* count >= 1: every window starts inside the input */
                        acc = acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count;
                    }
                    out[((n * out_dims->h + oh) * out_dims->w + ow) * out_dims->c + c] =
                        (int8_t)es_clamp(acc, params->act_min, params->act_max);
                }
            }
        }
    }
    return ES_OK;
}

es_status es_avg_pool2d_int8_fwd(const es_pool2d_int8_params *params,
                                 const es_dims *in_dims, const int8_t *in,
                                 const es_dims *out_dims, int8_t *out)
{
    return pool(params, in_dims, in, out_dims, out, 1);
}

es_status es_max_pool2d_int8_fwd(const es_pool2d_int8_params *params,
                                 const es_dims *in_dims, const int8_t *in,
                                 const es_dims *out_dims, int8_t *out)
{
    return pool(params, in_dims, in, out_dims, out, 0);
}
