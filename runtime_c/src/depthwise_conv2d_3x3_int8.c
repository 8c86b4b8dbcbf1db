/*
 * depthwise_conv2d_3x3_int8.c -- 3x3 DEPTHWISE_CONV_2D in int8 (edgesdk/depthwise_conv2d_3x3_int8.h).
 *
 * Channel by channel, in runs of up to RUN outputs (a block of output rows x columns: whole rows
 * when the map is narrow, so small maps need few runs):
 *   1. the input rows a run reads are copied from the channel (C bytes apart in NHWC) into
 *      contiguous stack rows, with the input's zero point where a tap lies outside the input.
 *      A tap reading the zero point adds w * (zp + input_offset) = 0, exactly what the
 *      reference's skipped tap adds, so border and interior outputs take the same path;
 *   2. each output sums its 3x3 window from the buffer: per kernel row one 32-bit load and a
 *      three-tap dot product (mac_int8.h; with stride 1 one load serves two neighbouring
 *      outputs), starting from the channel's base (bias + input_offset * sum of the nine
 *      weights: the offset hoisted);
 *   3. the run is requantized (es_out_run).
 */
#include "edgesdk/depthwise_conv2d_3x3_int8.h"

#include "fast_int8.h"
#include "mac_int8.h"

/* Outputs per run; the input one run reads is copied into up to ROWS stack rows of PITCH bytes
 * (a constant, so that the loads of the three kernel rows take immediate offsets). */
#define RUN 32
#define PITCH 36
#define ROWS 7

static es_status check(const es_depthwise_conv2d_int8_params *p, const es_dims *in_dims,
                       const es_dims *w_dims, const es_dims *out_dims)
{
    ES_TRY(es_depthwise_conv2d_int8_check(p, in_dims, w_dims, out_dims));
    if (p->depth_multiplier != 1 || p->dilation_h != 1 || p->dilation_w != 1) {
        return ES_ERR_ARG;
    }
    if (w_dims->h != 3 || w_dims->w != 3) {
        return ES_ERR_SHAPE;
    }
    return ES_OK;
}

/* One channel's weights, per kernel row. */
typedef struct {
    es_taps3 row[3];
} taps;

static taps load_taps(const int8_t *w, int32_t channels)
{
    taps k;
    int32_t r;
    for (r = 0; r < 3; ++r) {
        const int8_t *wr = w + 3 * r * channels;
        k.row[r] = es_taps3_of(wr[0], wr[channels], wr[2 * channels]);
    }
    return k;
}

/* One layer and one channel, as the loops see them. */
typedef struct {
    const int8_t *x;   /* channel c of image n: x[(ih * IW + iw) * C] */
    int8_t *y;         /* channel c of image n's output: y[(oh * OW + ow) * C] */
    int32_t in_h;
    int32_t in_w;
    int32_t out_h;
    int32_t out_w;
    int32_t channels;
    int32_t stride_h;
    int32_t stride_w;
    int32_t pad_top;
    int32_t pad_left;
    int32_t run_rows;  /* output rows per run */
    int32_t run_cols;  /* output columns per run */
    int8_t zero_point; /* the input's: -input_offset */
    es_out_channel ch; /* base: bias + input_offset * (sum of the nine weights) */
    es_out_range range;
} plane;

/* Input bytes one buffer row holds for cols outputs: their windows, plus the byte after the
 * last window, which the last 32-bit load also reads. */
static int32_t span_of(int32_t cols, int32_t stride_w)
{
    return (cols - 1) * stride_w + 4;
}

/* The run shape: as many columns as fit (whole rows when they do), then as many rows. */
static void choose_run(plane *c)
{
    int32_t cols = (PITCH - 4) / c->stride_w + 1;
    int32_t rows;
    cols = cols < RUN ? cols : RUN;
    cols = cols < c->out_w ? cols : c->out_w;
    rows = RUN / cols < c->out_h ? RUN / cols : c->out_h;
    rows = rows < (ROWS - 3) / c->stride_h + 1 ? rows : (ROWS - 3) / c->stride_h + 1;
    c->run_cols = cols;
    c->run_rows = rows > 1 ? rows : 1;
}

/* count bytes of input row ih from column iw on into row, the zero point outside the input. */
static void copy_row(const plane *c, int32_t ih, int32_t iw, int32_t count, int8_t *row)
{
    const int32_t step = c->channels;
    const int32_t before = iw < 0 ? (-iw < count ? -iw : count) : 0;
    const int32_t inside_end = c->in_w - iw < count ? c->in_w - iw : count;
    int8_t *const end = row + count;
    int8_t *copy_end = row + (ih < 0 || ih >= c->in_h || inside_end < before ? before : inside_end);
    const int8_t *x = c->x + (ih * c->in_w + iw + before) * step;
    int8_t *dst = row;
    while (dst != row + before) {
        *dst++ = c->zero_point;
    }
    for (; dst + 4 <= copy_end; dst += 4, x += 4 * step) { /* unrolled: the loop runs once per byte */
        dst[0] = x[0];
        dst[1] = x[step];
        dst[2] = x[2 * step];
        dst[3] = x[3 * step];
    }
    for (; dst != copy_end; ++dst, x += step) {
        *dst = *x;
    }
    while (dst != end) {
        *dst++ = c->zero_point;
    }
}

/* Stride 1: count outputs of one row; outputs i and i + 1 from one load per kernel row. */
static void sums_stride1(const int8_t *in, int32_t count, int32_t base, taps k, int32_t *acc)
{
    const int32_t pitch = PITCH;
    int32_t i = 0;
    for (; i + 2 <= count; i += 2, in += 2) {
        const es_int8x4 a = es_load_int8x4(in);
        const es_int8x4 b = es_load_int8x4(in + pitch);
        const es_int8x4 d = es_load_int8x4(in + 2 * pitch);
        acc[i] = es_dot3(es_dot3(es_dot3(base, a, k.row[0]), b, k.row[1]), d, k.row[2]);
        acc[i + 1] = es_dot3_next(es_dot3_next(es_dot3_next(base, a, k.row[0]), b, k.row[1]), d, k.row[2]);
    }
    if (i < count) {
        const int32_t top = es_dot3(base, es_load_int8x4(in), k.row[0]);
        const int32_t middle = es_dot3(top, es_load_int8x4(in + pitch), k.row[1]);
        acc[i] = es_dot3(middle, es_load_int8x4(in + 2 * pitch), k.row[2]);
    }
}

/* Any stride: one load per kernel row and output. */
static void sums_strided(const int8_t *in, int32_t count, int32_t stride, int32_t base, taps k, int32_t *acc)
{
    const int32_t pitch = PITCH;
    int32_t i;
    for (i = 0; i < count; ++i, in += stride) {
        const int32_t top = es_dot3(base, es_load_int8x4(in), k.row[0]);
        const int32_t middle = es_dot3(top, es_load_int8x4(in + pitch), k.row[1]);
        acc[i] = es_dot3(middle, es_load_int8x4(in + 2 * pitch), k.row[2]);
    }
}

/* Outputs rows [oh, oh + rows) x columns [ow, ow + cols). */
static void output_run(const plane *c, taps k, int32_t oh, int32_t ow, int32_t rows, int32_t cols)
{
    int8_t buffer[ROWS * PITCH];
    int32_t acc[RUN];
    const int32_t ih0 = oh * c->stride_h - c->pad_top;
    const int32_t iw0 = ow * c->stride_w - c->pad_left;
    const int32_t span = span_of(cols, c->stride_w);
    const int32_t in_rows = (rows - 1) * c->stride_h + 3;
    int32_t r;
    for (r = 0; r < in_rows; ++r) {
        copy_row(c, ih0 + r, iw0, span, buffer + r * PITCH);
    }
    for (r = 0; r < rows; ++r) {
        const int8_t *in = buffer + r * c->stride_h * PITCH;
        if (c->stride_w == 1) {
            sums_stride1(in, cols, c->ch.base, k, acc + r * cols);
        } else {
            sums_strided(in, cols, c->stride_w, c->ch.base, k, acc + r * cols);
        }
    }
    if (cols == c->out_w) { /* whole rows: the outputs are consecutive pixels */
        es_out_run(acc, rows * cols, c->ch, c->range, c->y + oh * c->out_w * c->channels, c->channels);
        return;
    }
    for (r = 0; r < rows; ++r) {
        es_out_run(acc + r * cols, cols, c->ch, c->range, c->y + ((oh + r) * c->out_w + ow) * c->channels,
                   c->channels);
    }
}

/* The whole output plane of one channel. */
static void channel_plane(const plane *c, taps k)
{
    int32_t oh, ow, rows, cols;
    for (oh = 0; oh < c->out_h; oh += rows) {
        rows = c->out_h - oh < c->run_rows ? c->out_h - oh : c->run_rows;
        for (ow = 0; ow < c->out_w; ow += cols) {
            cols = c->out_w - ow < c->run_cols ? c->out_w - ow : c->run_cols;
            output_run(c, k, oh, ow, rows, cols);
        }
    }
}

es_status es_depthwise_conv2d_3x3_int8_fwd(const es_depthwise_conv2d_int8_params *params,
                                           const es_dims *in_dims, const int8_t *in,
                                           const es_dims *w_dims, const int8_t *w,
                                           const int32_t *bias,
                                           const es_dims *out_dims, int8_t *out)
{
    plane c;
    int32_t n, ch;
    if (in == NULL || w == NULL || out == NULL) {
        return ES_ERR_ARG;
    }
    ES_TRY(check(params, in_dims, w_dims, out_dims));
    c.in_h = in_dims->h;
    c.in_w = in_dims->w;
    c.out_h = out_dims->h;
    c.out_w = out_dims->w;
    c.channels = in_dims->c;
    c.stride_h = params->stride_h;
    c.stride_w = params->stride_w;
    c.pad_top = params->pad_top;
    c.pad_left = params->pad_left;
    c.zero_point = (int8_t)-params->input_offset;
    c.range.output_offset = params->output_offset;
    c.range.act_min = params->act_min;
    c.range.act_max = params->act_max;
    choose_run(&c);
    for (n = 0; n < in_dims->n; ++n) {
        for (ch = 0; ch < c.channels; ++ch) {
            const int8_t *wc = w + ch;
            int32_t t, weight_sum = 0;
            for (t = 0; t < 9; ++t) {
                weight_sum += wc[t * c.channels];
            }
            c.x = in + n * in_dims->h * in_dims->w * c.channels + ch;
            c.y = out + n * out_dims->h * out_dims->w * c.channels + ch;
            c.ch = es_out_channel_of(bias, params->multiplier, params->shift, ch, params->input_offset,
                                     weight_sum);
            channel_plane(&c, load_taps(wc, c.channels));
        }
    }
    return ES_OK;
}
