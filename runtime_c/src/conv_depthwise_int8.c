/*
 * conv_depthwise_int8.c -- CONV_2D then DEPTHWISE_CONV_2D in int8 through a ring of producer rows
 * (edgesdk/conv_depthwise_int8.h).
 */
#include "edgesdk/conv_depthwise_int8.h"

#include "edgesdk/requant.h"
#include "internal.h"

/* 1 when every requantization of `count` channels is one es_mbqm accepts. */
static int requants_ok(const int32_t *multiplier, const int32_t *shift, int32_t count)
{
    int32_t i;
    for (i = 0; i < count; ++i) {
        if (!es_requant_ok(multiplier[i], shift[i])) {
            return 0;
        }
    }
    return 1;
}

static es_status check_conv(const es_conv2d_int8_params *p, const es_dims *in_dims,
                            const es_dims *w_dims, const es_dims *mid_dims)
{
    if (p == NULL || p->multiplier == NULL || p->shift == NULL) {
        return ES_ERR_ARG;
    }
    if (!es_axis_params_ok(p->stride_h, p->dilation_h, p->pad_top) ||
        !es_axis_params_ok(p->stride_w, p->dilation_w, p->pad_left) ||
        !es_zero_point_ok(-p->input_offset) || !es_zero_point_ok(p->output_offset) ||
        !es_int8_range_ok(p->act_min, p->act_max)) {
        return ES_ERR_ARG;
    }
    if (in_dims->n != mid_dims->n || w_dims->c != in_dims->c || w_dims->n != mid_dims->c ||
        !es_window_ok(in_dims->h, mid_dims->h, w_dims->h, p->stride_h, p->dilation_h, p->pad_top) ||
        !es_window_ok(in_dims->w, mid_dims->w, w_dims->w, p->stride_w, p->dilation_w, p->pad_left)) {
        return ES_ERR_SHAPE;
    }
    return requants_ok(p->multiplier, p->shift, mid_dims->c) ? ES_OK : ES_ERR_ARG;
}

static es_status check_depthwise(const es_depthwise_conv2d_int8_params *p, const es_dims *mid_dims,
                                 const es_dims *w_dims, const es_dims *out_dims)
{
    if (p == NULL || p->multiplier == NULL || p->shift == NULL) {
        return ES_ERR_ARG;
    }
    if (!es_axis_params_ok(p->stride_h, p->dilation_h, p->pad_top) ||
        !es_axis_params_ok(p->stride_w, p->dilation_w, p->pad_left) || p->depth_multiplier != 1 ||
        !es_zero_point_ok(-p->input_offset) || !es_zero_point_ok(p->output_offset) ||
        !es_int8_range_ok(p->act_min, p->act_max)) {
        return ES_ERR_ARG;
    }
    if (mid_dims->n != out_dims->n || w_dims->n != 1 || w_dims->c != mid_dims->c ||
        out_dims->c != mid_dims->c ||
        !es_window_ok(mid_dims->h, out_dims->h, w_dims->h, p->stride_h, p->dilation_h, p->pad_top) ||
        !es_window_ok(mid_dims->w, out_dims->w, w_dims->w, p->stride_w, p->dilation_w, p->pad_left)) {
        return ES_ERR_SHAPE;
    }
    return requants_ok(p->multiplier, p->shift, mid_dims->c) ? ES_OK : ES_ERR_ARG;
}

static es_status check(const es_conv2d_int8_params *conv, const es_depthwise_conv2d_int8_params *dw,
                       const es_dims *in_dims, const es_dims *conv_w_dims, const es_dims *mid_dims,
                       const es_dims *dw_w_dims, const es_dims *out_dims, size_t scratch_bytes)
{
    ES_TRY(es_check_dims(in_dims));
    ES_TRY(es_check_dims(conv_w_dims));
    ES_TRY(es_check_dims(mid_dims));
    ES_TRY(es_check_dims(dw_w_dims));
    ES_TRY(es_check_dims(out_dims));
    ES_TRY(check_conv(conv, in_dims, conv_w_dims, mid_dims));
    ES_TRY(check_depthwise(dw, mid_dims, dw_w_dims, out_dims));
    if (scratch_bytes < es_conv_depthwise_int8_scratch_size(dw, dw_w_dims, mid_dims)) {
        return ES_ERR_ARG;
    }
    return ES_OK;
}

size_t es_conv_depthwise_int8_scratch_size(const es_depthwise_conv2d_int8_params *dw,
                                           const es_dims *dw_w_dims, const es_dims *mid_dims)
{
    if (dw == NULL || dw->dilation_h < 1 || !es_dims_ok(dw_w_dims) || !es_dims_ok(mid_dims)) {
        return 0;
    }
    return ((size_t)(dw_w_dims->h - 1) * (size_t)dw->dilation_h + 1u) * (size_t)mid_dims->w;
}

/* Row `row` of channel c of batch item n of the convolution's output, into dst[MW]: each element
 * as es_conv2d_int8_fwd computes it. */
static void conv_row(const es_conv2d_int8_params *p, const es_dims *in_dims, const int8_t *in,
                     const es_dims *w_dims, const int8_t *w, const int32_t *bias,
                     const es_dims *mid_dims, int32_t n, int32_t row, int32_t c, int8_t *dst)
{
    const int32_t ih0 = row * p->stride_h - p->pad_top;
    int32_t ow, kh, kw, ic;
    for (ow = 0; ow < mid_dims->w; ++ow) {
        const int32_t iw0 = ow * p->stride_w - p->pad_left;
        int32_t acc = 0;
        for (kh = 0; kh < w_dims->h; ++kh) {
            const int32_t ih = ih0 + kh * p->dilation_h;
            if (ih < 0 || ih >= in_dims->h) {
                continue;
            }
            for (kw = 0; kw < w_dims->w; ++kw) {
                const int32_t iw = iw0 + kw * p->dilation_w;
                const int8_t *x;
                const int8_t *wk;
                if (iw < 0 || iw >= in_dims->w) {
                    continue;
                }
                x = in + ((n * in_dims->h + ih) * in_dims->w + iw) * in_dims->c;
                wk = w + ((c * w_dims->h + kh) * w_dims->w + kw) * w_dims->c;
                for (ic = 0; ic < in_dims->c; ++ic) {
                    acc = es_wrap_add(acc, (int32_t)wk[ic] * ((int32_t)x[ic] + p->input_offset));
                }
            }
        }
        if (bias != NULL) {
            acc = es_wrap_add(acc, bias[c]);
        }
        acc = es_wrap_add(es_mbqm(acc, p->multiplier[c], p->shift[c]), p->output_offset);
        dst[ow] = (int8_t)es_clamp(acc, p->act_min, p->act_max);
    }
}

/* Depthwise output row oh of channel c of batch item n, reading mid rows from the ring: each
 * element as es_depthwise_conv2d_int8_fwd computes it. */
static void depthwise_row(const es_depthwise_conv2d_int8_params *p, const es_dims *mid_dims,
                          const int8_t *ring, int32_t ring_rows, const es_dims *w_dims,
                          const int8_t *w, const int32_t *bias, const es_dims *out_dims, int32_t n,
                          int32_t oh, int32_t c, int8_t *out)
{
    const int32_t ih0 = oh * p->stride_h - p->pad_top;
    int32_t ow, kh, kw;
    for (ow = 0; ow < out_dims->w; ++ow) {
        const int32_t iw0 = ow * p->stride_w - p->pad_left;
        int32_t acc = 0;
        for (kh = 0; kh < w_dims->h; ++kh) {
            const int32_t ih = ih0 + kh * p->dilation_h;
            const int8_t *row;
            if (ih < 0 || ih >= mid_dims->h) {
                continue;
            }
            row = ring + (ih % ring_rows) * mid_dims->w;
            for (kw = 0; kw < w_dims->w; ++kw) {
                const int32_t iw = iw0 + kw * p->dilation_w;
                if (iw < 0 || iw >= mid_dims->w) {
                    continue;
                }
                acc = es_wrap_add(acc, (int32_t)w[(kh * w_dims->w + kw) * w_dims->c + c] *
                                           ((int32_t)row[iw] + p->input_offset));
            }
        }
        if (bias != NULL) {
            acc = es_wrap_add(acc, bias[c]);
        }
        acc = es_wrap_add(es_mbqm(acc, p->multiplier[c], p->shift[c]), p->output_offset);
        out[((n * out_dims->h + oh) * out_dims->w + ow) * out_dims->c + c] =
            (int8_t)es_clamp(acc, p->act_min, p->act_max);
    }
}

es_status es_conv_depthwise_int8_fwd(const es_conv2d_int8_params *conv,
                                     const es_depthwise_conv2d_int8_params *dw,
                                     const es_dims *in_dims, const int8_t *in,
                                     const es_dims *conv_w_dims, const int8_t *conv_w,
                                     const int32_t *conv_bias,
                                     const es_dims *mid_dims,
                                     const es_dims *dw_w_dims, const int8_t *dw_w,
                                     const int32_t *dw_bias,
                                     const es_dims *out_dims, int8_t *out,
                                     int8_t *scratch, size_t scratch_bytes)
{
    int32_t n, c, oh, ring_rows;
    if (in == NULL || conv_w == NULL || dw_w == NULL || out == NULL || scratch == NULL) {
        return ES_ERR_ARG;
    }
    ES_TRY(check(conv, dw, in_dims, conv_w_dims, mid_dims, dw_w_dims, out_dims, scratch_bytes));
    ring_rows = (dw_w_dims->h - 1) * dw->dilation_h + 1;
    for (n = 0; n < out_dims->n; ++n) {
        for (c = 0; c < mid_dims->c; ++c) {
            int32_t next = 0; /* the lowest mid row not computed yet */
            for (oh = 0; oh < out_dims->h; ++oh) {
                const int32_t first = oh * dw->stride_h - dw->pad_top;
                const int32_t last = first + (dw_w_dims->h - 1) * dw->dilation_h;
                const int32_t high = last < mid_dims->h - 1 ? last : mid_dims->h - 1;
                int32_t row = first > next ? first : next;
                /* rows below `first` that were never computed are read by no later output row */
                for (; row <= high; ++row) {
                    conv_row(conv, in_dims, in, conv_w_dims, conv_w, conv_bias, mid_dims, n, row, c,
                             scratch + (row % ring_rows) * mid_dims->w);
                }
                next = high + 1 > next ? high + 1 : next;
                depthwise_row(dw, mid_dims, scratch, ring_rows, dw_w_dims, dw_w, dw_bias, out_dims,
                              n, oh, c, out);
            }
        }
    }
    return ES_OK;
}
