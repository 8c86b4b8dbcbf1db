/*
 * conv2d_rows_int8.c -- CONV_2D in int8 with contiguous kernel rows (edgesdk/conv2d_rows_int8.h).
 *
 * Output channels in pairs (outer loop: their weight sums and requantization constants are
 * prepared once), then every output pixel of the batch. In an interior output row, pixels are
 * taken in pairs: the window of a pixel is KH runs of KW * IC contiguous input bytes, the next
 * pixel's runs start stride_w * IC bytes later, and the two channels' filters are KH * KW * IC
 * bytes apart, so each kernel row is one 2x2 block of dot products (mac_int8.h).
 */
#include "edgesdk/conv2d_rows_int8.h"

#include "fast_int8.h"
#include "mac_int8.h"

static es_status check(const es_conv2d_int8_params *p, const es_dims *in_dims, const es_dims *w_dims,
                       const es_dims *out_dims)
{
    ES_TRY(es_conv2d_int8_whole_check(p, in_dims, w_dims, out_dims));
    return p->dilation_w == 1 ? ES_OK : ES_ERR_ARG;
}

/* One layer, as the loops see it. */
typedef struct {
    const es_conv2d_int8_params *p;
    const int8_t *in;
    const int8_t *w;
    const int32_t *bias;
    int8_t *out;
    es_dims in_dims;
    es_dims out_dims;
    int32_t kh;           /* kernel rows */
    int32_t run;          /* KW * IC: the bytes one kernel row reads */
    int32_t filter;       /* KH * KW * IC: one output channel's weights */
    int32_t row_step;     /* dilation_h * IW * IC: input bytes between kernel rows */
    int32_t pixel_step;   /* stride_w * IC: input bytes between neighbouring windows */
    es_span rows;         /* interior output rows */
    es_span cols;         /* interior output columns */
    es_out_range range;
} layer;

/* Interior pixel (n, oh, ow)'s first input byte. */
static const int8_t *window_start(const layer *l, int32_t n, int32_t oh, int32_t ow)
{
    const int32_t ih0 = oh * l->p->stride_h - l->p->pad_top;
    const int32_t iw0 = ow * l->p->stride_w - l->p->pad_left;
    return l->in + ((n * l->in_dims.h + ih0) * l->in_dims.w + iw0) * l->in_dims.c;
}

/* A border output: the reference's sum over the taps inside the input, offset added per tap. */
static int8_t border_value(const layer *l, int32_t n, int32_t oh, int32_t ow, int32_t oc,
                           es_out_channel bias_only)
{
    const es_conv2d_int8_params *p = l->p;
    const int32_t ih0 = oh * p->stride_h - p->pad_top;
    const int32_t iw0 = ow * p->stride_w - p->pad_left;
    const int32_t kw_count = l->run / l->in_dims.c;
    int32_t acc = 0;
    int32_t kh, kw, ic;
    for (kh = 0; kh < l->kh; ++kh) {
        const int32_t ih = ih0 + kh * p->dilation_h;
        if (ih < 0 || ih >= l->in_dims.h) {
            continue;
        }
        for (kw = 0; kw < kw_count; ++kw) {
            const int32_t iw = iw0 + kw;
            const int8_t *x = l->in + ((n * l->in_dims.h + ih) * l->in_dims.w + iw) * l->in_dims.c;
            const int8_t *wk = l->w + oc * l->filter + (kh * kw_count + kw) * l->in_dims.c;
            if (iw < 0 || iw >= l->in_dims.w) {
                continue;
            }
            for (ic = 0; ic < l->in_dims.c; ++ic) {
                acc = es_wrap_add(acc, (int32_t)wk[ic] * ((int32_t)x[ic] + p->input_offset));
            }
        }
    }
    return es_out_value(acc, bias_only, l->range);
}

/* Constants of output channel oc: with the hoisted offset (interior) or the bias only (border). */
static es_out_channel interior_channel(const layer *l, int32_t oc)
{
    const int32_t weight_sum = es_sum_int8(l->w + oc * l->filter, l->filter);
    return es_out_channel_of(l->bias, l->p->multiplier, l->p->shift, oc, l->p->input_offset, weight_sum);
}

static es_out_channel border_channel(const layer *l, int32_t oc)
{
    return es_out_channel_of(l->bias, l->p->multiplier, l->p->shift, oc, 0, 0);
}

/* Raw dot products of two neighbouring interior pixels (x: the first's window) with the
 * filters w and w + w_step. */
static es_dots2x2 pixel_pair_dots(const layer *l, const int8_t *x, const int8_t *w, int32_t w_step)
{
    es_dots2x2 sum = {0, 0, 0, 0};
    int32_t kh;
    for (kh = 0; kh < l->kh; ++kh) {
        const es_dots2x2 d = es_dot_2x2(x + kh * l->row_step, l->pixel_step, w + kh * l->run, w_step, l->run);
        sum.x0w0 = es_wrap_add(sum.x0w0, d.x0w0);
        sum.x0w1 = es_wrap_add(sum.x0w1, d.x0w1);
        sum.x1w0 = es_wrap_add(sum.x1w0, d.x1w0);
        sum.x1w1 = es_wrap_add(sum.x1w1, d.x1w1);
    }
    return sum;
}

/* Raw dot products of one interior pixel with the filters w and w + w_step. */
static es_dots1x2 pixel_dots(const layer *l, const int8_t *x, const int8_t *w, int32_t w_step)
{
    es_dots1x2 sum = {0, 0};
    int32_t kh;
    for (kh = 0; kh < l->kh; ++kh) {
        const es_dots1x2 d = es_dot_1x2(x + kh * l->row_step, w + kh * l->run, w_step, l->run);
        sum.w0 = es_wrap_add(sum.w0, d.w0);
        sum.w1 = es_wrap_add(sum.w1, d.w1);
    }
    return sum;
}

/* The output channels a pass computes: oc and oc + pair (pair 0 for an odd last channel, whose
 * second column then repeats the first), with their interior and border constants. */
typedef struct {
    int32_t oc;
    int32_t pair;
    es_out_channel inner0, inner1;
    es_out_channel border0, border1;
} channels;

/* Interior pixels per run: summed first, then requantized together (es_out_run). */
#define RUN 16

/* Accumulators (with the channels' bases) of count interior pixels from window x on. */
static void run_sums(const layer *l, const channels *c, const int8_t *x, int32_t count, int32_t *acc0,
                     int32_t *acc1)
{
    const int8_t *w = l->w + c->oc * l->filter;
    const int32_t w_step = c->pair * l->filter;
    const int32_t base0 = c->inner0.base;
    const int32_t base1 = c->inner1.base;
    int32_t i = 0;
    for (; i + 2 <= count; i += 2, x += 2 * l->pixel_step) {
        const es_dots2x2 d = pixel_pair_dots(l, x, w, w_step);
        acc0[i] = es_wrap_add(d.x0w0, base0);
        acc1[i] = es_wrap_add(d.x0w1, base1);
        acc0[i + 1] = es_wrap_add(d.x1w0, base0);
        acc1[i + 1] = es_wrap_add(d.x1w1, base1);
    }
    if (i < count) {
        const es_dots1x2 d = pixel_dots(l, x, w, w_step);
        acc0[i] = es_wrap_add(d.w0, base0);
        acc1[i] = es_wrap_add(d.w1, base1);
    }
}

/* The interior columns of output row (n, oh); y points at (n, oh, 0, oc). */
static void interior_run(const layer *l, const channels *c, int32_t n, int32_t oh, int8_t *y)
{
    int32_t acc0[RUN], acc1[RUN];
    int32_t ow, count;
    for (ow = l->cols.lo; ow < l->cols.hi; ow += count) {
        int8_t *yo = y + ow * l->out_dims.c;
        count = l->cols.hi - ow < RUN ? l->cols.hi - ow : RUN;
        run_sums(l, c, window_start(l, n, oh, ow), count, acc0, acc1);
        es_out_run(acc0, count, c->inner0, l->range, yo, l->out_dims.c);
        if (c->pair) {
            es_out_run(acc1, count, c->inner1, l->range, yo + 1, l->out_dims.c);
        }
    }
}

/* Border columns [from, to) of output row (n, oh); y points at (n, oh, 0, oc). */
static void border_run(const layer *l, const channels *c, int32_t n, int32_t oh, int32_t from, int32_t to,
                       int8_t *y)
{
    int32_t ow;
    for (ow = from; ow < to; ++ow) {
        y[ow * l->out_dims.c] = border_value(l, n, oh, ow, c->oc, c->border0);
        y[ow * l->out_dims.c + c->pair] = border_value(l, n, oh, ow, c->oc + c->pair, c->border1);
    }
}

/* Every output pixel of channels oc and oc + pair. */
static void channel_pass(const layer *l, int32_t oc, int32_t pair)
{
    channels c;
    int32_t n, oh;
    c.oc = oc;
    c.pair = pair;
    c.inner0 = interior_channel(l, oc);
    c.inner1 = interior_channel(l, oc + pair);
    c.border0 = border_channel(l, oc);
    c.border1 = border_channel(l, oc + pair);
    for (n = 0; n < l->out_dims.n; ++n) {
        for (oh = 0; oh < l->out_dims.h; ++oh) {
            int8_t *y = l->out + (n * l->out_dims.h + oh) * l->out_dims.w * l->out_dims.c + oc;
            if (oh < l->rows.lo || oh >= l->rows.hi) {
                border_run(l, &c, n, oh, 0, l->out_dims.w, y);
                continue;
            }
            border_run(l, &c, n, oh, 0, l->cols.lo, y);
            interior_run(l, &c, n, oh, y);
            border_run(l, &c, n, oh, l->cols.hi, l->out_dims.w, y);
        }
    }
}

es_status es_conv2d_rows_int8_fwd(const es_conv2d_int8_params *params,
                                  const es_dims *in_dims, const int8_t *in,
                                  const es_dims *w_dims, const int8_t *w,
                                  const int32_t *bias,
                                  const es_dims *out_dims, int8_t *out)
{
    layer l;
    int32_t oc;
    if (in == NULL || w == NULL || out == NULL) {
        return ES_ERR_ARG;
    }
    ES_TRY(check(params, in_dims, w_dims, out_dims));
    l.p = params;
    l.in = in;
    l.w = w;
    l.bias = bias;
    l.out = out;
    l.in_dims = *in_dims;
    l.out_dims = *out_dims;
    l.kh = w_dims->h;
    l.run = w_dims->w * w_dims->c;
    l.filter = w_dims->h * l.run;
    l.row_step = params->dilation_h * in_dims->w * in_dims->c;
    l.pixel_step = params->stride_w * in_dims->c;
    l.rows = es_interior(in_dims->h, out_dims->h, w_dims->h, params->stride_h, params->dilation_h,
                         params->pad_top);
    l.cols = es_interior(in_dims->w, out_dims->w, w_dims->w, params->stride_w, 1, params->pad_left);
    l.range.output_offset = params->output_offset;
    l.range.act_min = params->act_min;
    l.range.act_max = params->act_max;
    for (oc = 0; oc + 2 <= out_dims->c; oc += 2) {
        channel_pass(&l, oc, 1);
    }
    if (oc < out_dims->c) {
        channel_pass(&l, oc, 0);
    }
    return ES_OK;
}
