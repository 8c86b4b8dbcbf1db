/*
 * conv_depthwise_int8.c -- CONV_2D then DEPTHWISE_CONV_2D in int8 through a ring of producer rows
 * (edgesdk/conv_depthwise_int8.h).
 */
#include "edgesdk/conv_depthwise_int8.h"

#include "edgesdk/requant.h"
#include "internal.h"

/* The row loops stay separate functions: inlined into the channel loop they leave the compiler
 * too few registers, and the innermost sum spills on the Cortex-M (measured: 10 instructions per
 * MAC instead of 7). Only a hint; any C99 compiler builds the file without it. */
#if defined(__GNUC__)
#define ROW_FUNCTION __attribute__((noinline)) static
#else
#define ROW_FUNCTION static
#endif

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
    /* the fused node only runs frozen convolutions: one flash array, never a split weight */
    if (p == NULL || p->multiplier == NULL || p->shift == NULL || p->w_tail != NULL || p->w_head_channels != 0) {
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

/* Everything one call reads, in one place: the per-channel loops take a single pointer to it
 * (fewer values live at once, so the inner loops keep theirs in registers). */
typedef struct {
    const es_conv2d_int8_params *conv;
    const es_depthwise_conv2d_int8_params *dw;
    const es_dims *in_dims;
    const int8_t *in;
    const es_dims *conv_w_dims;
    const int8_t *conv_w;
    const int32_t *conv_bias;
    const es_dims *mid_dims;
    const es_dims *dw_w_dims;
    const int8_t *dw_w;
    const int32_t *dw_bias;
    const es_dims *out_dims;
    int8_t *out;
    int8_t *ring;
    int32_t ring_rows;
} fused_call;

/* acc + sum of w[i] * (x[i] + offset), i < count, wrapping like TFLite's int32 sums. */
static int32_t dot_offset(int32_t acc, const int8_t *w, const int8_t *x, int32_t count, int32_t offset)
{
    int32_t i;
    for (i = 0; i < count; ++i) {
        acc = es_wrap_add(acc, (int32_t)w[i] * ((int32_t)x[i] + offset));
    }
    return acc;
}

/* Row `row` of channel c of batch item n of the convolution's output, into its ring row: each
 * element as es_conv2d_int8_fwd computes it. */
ROW_FUNCTION void conv_row(const fused_call *f, int32_t n, int32_t row, int32_t c)
{
    const es_conv2d_int8_params *p = f->conv;
    const es_dims *in_dims = f->in_dims;
    const es_dims *w_dims = f->conv_w_dims;
    const int8_t *x_n = f->in + n * in_dims->h * in_dims->w * in_dims->c;
    const int8_t *w_c = f->conv_w + c * w_dims->h * w_dims->w * w_dims->c;
    const int32_t ih0 = row * p->stride_h - p->pad_top;
    int8_t *dst = f->ring + (row % f->ring_rows) * f->mid_dims->w;
    int32_t ow, kh, kw;
    for (ow = 0; ow < f->mid_dims->w; ++ow) {
        const int32_t iw0 = ow * p->stride_w - p->pad_left;
        int32_t acc = 0;
        for (kh = 0; kh < w_dims->h; ++kh) {
            const int32_t ih = ih0 + kh * p->dilation_h;
            if (ih < 0 || ih >= in_dims->h) {
                continue;
            }
            for (kw = 0; kw < w_dims->w; ++kw) {
                const int32_t iw = iw0 + kw * p->dilation_w;
                if (iw < 0 || iw >= in_dims->w) {
                    continue;
                }
                acc = dot_offset(acc, w_c + (kh * w_dims->w + kw) * in_dims->c,
                                 x_n + (ih * in_dims->w + iw) * in_dims->c, in_dims->c, p->input_offset);
            }
        }
        if (f->conv_bias != NULL) {
            acc = es_wrap_add(acc, f->conv_bias[c]);
        }
        acc = es_wrap_add(es_mbqm(acc, p->multiplier[c], p->shift[c]), p->output_offset);
        dst[ow] = (int8_t)es_clamp(acc, p->act_min, p->act_max);
    }
}

/* Depthwise output row oh of channel c of batch item n, reading the convolution's rows from the
 * ring: each element as es_depthwise_conv2d_int8_fwd computes it. */
ROW_FUNCTION void depthwise_row(const fused_call *f, int32_t n, int32_t oh, int32_t c)
{
    const es_depthwise_conv2d_int8_params *p = f->dw;
    const es_dims *mid_dims = f->mid_dims;
    const es_dims *w_dims = f->dw_w_dims;
    const es_dims *out_dims = f->out_dims;
    const int32_t ih0 = oh * p->stride_h - p->pad_top;
    int8_t *y = f->out + (n * out_dims->h + oh) * out_dims->w * out_dims->c + c;
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
            row = f->ring + (ih % f->ring_rows) * mid_dims->w;
            for (kw = 0; kw < w_dims->w; ++kw) {
                const int32_t iw = iw0 + kw * p->dilation_w;
                if (iw < 0 || iw >= mid_dims->w) {
                    continue;
                }
                acc = es_wrap_add(acc, (int32_t)f->dw_w[(kh * w_dims->w + kw) * w_dims->c + c] *
                                           ((int32_t)row[iw] + p->input_offset));
            }
        }
        if (f->dw_bias != NULL) {
            acc = es_wrap_add(acc, f->dw_bias[c]);
        }
        acc = es_wrap_add(es_mbqm(acc, p->multiplier[c], p->shift[c]), p->output_offset);
        y[ow * out_dims->c] = (int8_t)es_clamp(acc, p->act_min, p->act_max);
    }
}

/* Channel c of batch item n: the depthwise output rows in order, each after the convolution rows
 * it reads that are not in the ring yet (rows below a window that were never computed are read by
 * no later output row). */
static void fused_channel(const fused_call *f, int32_t n, int32_t c)
{
    const es_depthwise_conv2d_int8_params *dw = f->dw;
    const int32_t span = (f->dw_w_dims->h - 1) * dw->dilation_h;
    const int32_t mid_rows = f->mid_dims->h;
    int32_t next = 0; /* the lowest row of the convolution's output not computed yet */
    int32_t oh;
    for (oh = 0; oh < f->out_dims->h; ++oh) {
        const int32_t first = oh * dw->stride_h - dw->pad_top;
        const int32_t high = first + span < mid_rows - 1 ? first + span : mid_rows - 1;
        int32_t row;
        for (row = first > next ? first : next; row <= high; ++row) {
            conv_row(f, n, row, c);
        }
        next = high + 1 > next ? high + 1 : next;
        depthwise_row(f, n, oh, c);
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
    fused_call f;
    int32_t n, c;
    if (in == NULL || conv_w == NULL || dw_w == NULL || out == NULL || scratch == NULL) {
        return ES_ERR_ARG;
    }
    ES_TRY(check(conv, dw, in_dims, conv_w_dims, mid_dims, dw_w_dims, out_dims, scratch_bytes));
    f.conv = conv;
    f.dw = dw;
    f.in_dims = in_dims;
    f.in = in;
    f.conv_w_dims = conv_w_dims;
    f.conv_w = conv_w;
    f.conv_bias = conv_bias;
    f.mid_dims = mid_dims;
    f.dw_w_dims = dw_w_dims;
    f.dw_w = dw_w;
    f.dw_bias = dw_bias;
    f.out_dims = out_dims;
    f.out = out;
    f.ring = scratch;
    f.ring_rows = (dw_w_dims->h - 1) * dw->dilation_h + 1;
    for (n = 0; n < out_dims->n; ++n) {
        for (c = 0; c < mid_dims->c; ++c) {
            fused_channel(&f, n, c);
        }
    }
    return ES_OK;
}
