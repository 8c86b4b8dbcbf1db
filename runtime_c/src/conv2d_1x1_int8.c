/*
 * conv2d_1x1_int8.c -- pointwise CONV_2D in int8 (edgesdk/conv2d_1x1_int8.h).
 *
 * The input is P = N*H*W rows of IC bytes, the weights OC rows of IC bytes, the output P rows of
 * OC bytes. Output channels are taken in pairs in the outer loop, so the weight sums (for the
 * hoisted input offset) and the requantization constants are read once per channel; pixels in
 * pairs in the inner loop, so each 2x2 block of outputs loads two input and two weight rows once.
 */
#include "edgesdk/conv2d_1x1_int8.h"

#include "fast_int8.h"
#include "mac_int8.h"

static es_status check(const es_conv2d_int8_params *p, const es_dims *in_dims, const es_dims *w_dims,
                       const es_dims *out_dims)
{
    ES_TRY(es_conv2d_int8_whole_check(p, in_dims, w_dims, out_dims));
    if (p->stride_h != 1 || p->stride_w != 1 || p->pad_top != 0 || p->pad_left != 0) {
        return ES_ERR_ARG;
    }
    if (w_dims->h != 1 || w_dims->w != 1 || out_dims->h != in_dims->h || out_dims->w != in_dims->w) {
        return ES_ERR_SHAPE;
    }
    return ES_OK;
}

/* One layer's operands, as the loops see them. */
typedef struct {
    const int8_t *in;     /* [pixels, depth] */
    const int8_t *w;      /* [channels, depth] */
    int8_t *out;          /* [pixels, channels] */
    int32_t pixels;       /* N * H * W */
    int32_t depth;        /* IC */
    int32_t channels;     /* OC */
    int32_t input_offset;
    es_out_range range;
} matmul;

static es_out_channel channel_constants(const matmul *m, const es_conv2d_int8_params *p, const int32_t *bias,
                                        int32_t oc)
{
    const int32_t weight_sum = es_sum_int8(m->w + oc * m->depth, m->depth);
    return es_out_channel_of(bias, p->multiplier, p->shift, oc, m->input_offset, weight_sum);
}

/* Pixels per run: their accumulators are summed first, then requantized together (es_out_run). */
#define RUN 16

/* Accumulators of pixels [0, count) of a run starting at x, for output channels oc (acc0) and
 * oc + 1 (acc1), w0 being oc's weights, each row depth bytes long. Inlined into pair_sums once
 * per depth below, so that small constant depths lose their loop overhead. */
static inline void pair_sums_of(const int8_t *x, int32_t count, const int8_t *w0, int32_t base0,
                                int32_t base1, int32_t *acc0, int32_t *acc1, int32_t depth)
{
    int32_t i = 0;
    for (; i + 2 <= count; i += 2, x += 2 * depth) {
        const es_dots2x2 d = es_dot_2x2(x, depth, w0, depth, depth);
        acc0[i] = es_wrap_add(d.x0w0, base0);
        acc1[i] = es_wrap_add(d.x0w1, base1);
        acc0[i + 1] = es_wrap_add(d.x1w0, base0);
        acc1[i + 1] = es_wrap_add(d.x1w1, base1);
    }
    if (i < count) {
        const es_dots1x2 d = es_dot_1x2(x, w0, depth, depth);
        acc0[i] = es_wrap_add(d.w0, base0);
        acc1[i] = es_wrap_add(d.w1, base1);
    }
}

/* pair_sums_of with the depths of narrow bottleneck layers (8, 16) as constants. */
static void pair_sums(const matmul *m, const int8_t *x, int32_t count, const int8_t *w0, int32_t base0,
                      int32_t base1, int32_t *acc0, int32_t *acc1)
{
    if (m->depth == 8) {
        pair_sums_of(x, count, w0, base0, base1, acc0, acc1, 8);
    } else if (m->depth == 16) {
        pair_sums_of(x, count, w0, base0, base1, acc0, acc1, 16);
    } else {
        pair_sums_of(x, count, w0, base0, base1, acc0, acc1, m->depth);
    }
}

/* Output channels oc and oc + 1 of every pixel. */
static void channel_pair(const matmul *m, es_out_channel c0, es_out_channel c1, int32_t oc)
{
    int32_t acc0[RUN], acc1[RUN];
    int32_t px, count;
    for (px = 0; px < m->pixels; px += count) {
        int8_t *y = m->out + px * m->channels + oc;
        count = m->pixels - px < RUN ? m->pixels - px : RUN;
        pair_sums(m, m->in + px * m->depth, count, m->w + oc * m->depth, c0.base, c1.base, acc0, acc1);
        es_out_run(acc0, count, c0, m->range, y, m->channels);
        es_out_run(acc1, count, c1, m->range, y + 1, m->channels);
    }
}

/* The last output channel oc of every pixel, when OC is odd: pixels in pairs as the two rows. */
static void single_channel(const matmul *m, es_out_channel c0, int32_t oc)
{
    const int8_t *w0 = m->w + oc * m->depth;
    int32_t acc[RUN];
    int32_t px, count, i;
    for (px = 0; px < m->pixels; px += count) {
        const int8_t *x = m->in + px * m->depth;
        count = m->pixels - px < RUN ? m->pixels - px : RUN;
        for (i = 0; i + 2 <= count; i += 2, x += 2 * m->depth) {
            const es_dots1x2 d = es_dot_1x2(w0, x, m->depth, m->depth);
            acc[i] = es_wrap_add(d.w0, c0.base);
            acc[i + 1] = es_wrap_add(d.w1, c0.base);
        }
        if (i < count) {
            acc[i] = es_wrap_add(es_dot_1x1(x, w0, m->depth), c0.base);
        }
        es_out_run(acc, count, c0, m->range, m->out + px * m->channels + oc, m->channels);
    }
}

es_status es_conv2d_1x1_int8_fwd(const es_conv2d_int8_params *params,
                                 const es_dims *in_dims, const int8_t *in,
                                 const es_dims *w_dims, const int8_t *w,
                                 const int32_t *bias,
                                 const es_dims *out_dims, int8_t *out)
{
    matmul m;
    int32_t oc;
    if (in == NULL || w == NULL || out == NULL) {
        return ES_ERR_ARG;
    }
    ES_TRY(check(params, in_dims, w_dims, out_dims));
    m.in = in;
    m.w = w;
    m.out = out;
    m.pixels = in_dims->n * in_dims->h * in_dims->w;
    m.depth = in_dims->c;
    m.channels = out_dims->c;
    m.input_offset = params->input_offset;
    m.range.output_offset = params->output_offset;
    m.range.act_min = params->act_min;
    m.range.act_max = params->act_max;
    for (oc = 0; oc + 2 <= m.channels; oc += 2) {
        const es_out_channel c0 = channel_constants(&m, params, bias, oc);
        channel_pair(&m, c0, channel_constants(&m, params, bias, oc + 1), oc);
    }
    if (oc < m.channels) {
        single_channel(&m, channel_constants(&m, params, bias, oc), oc);
    }
    return ES_OK;
}
