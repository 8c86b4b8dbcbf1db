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
    ES_TRY(es_conv2d_int8_check(p, in_dims, w_dims, out_dims));
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

static es_out_channel channel(const matmul *m, const es_conv2d_int8_params *p, const int32_t *bias, int32_t oc)
{
    const int32_t weight_sum = es_sum_int8(m->w + oc * m->depth, m->depth);
    return es_out_channel_of(bias, p->multiplier, p->shift, oc, m->input_offset, weight_sum);
}

/* Output channels oc and oc + 1 of every pixel. */
static void channel_pair(const matmul *m, es_out_channel c0, es_out_channel c1, int32_t oc)
{
    const int8_t *w0 = m->w + oc * m->depth;
    const int8_t *x = m->in;
    int8_t *y = m->out + oc;
    int32_t px;
    for (px = 0; px + 2 <= m->pixels; px += 2) {
        const es_dots2x2 d = es_dot_2x2(x, m->depth, w0, m->depth, m->depth);
        y[0] = es_out_value(d.x0w0, c0, m->range);
        y[1] = es_out_value(d.x0w1, c1, m->range);
        y[m->channels] = es_out_value(d.x1w0, c0, m->range);
        y[m->channels + 1] = es_out_value(d.x1w1, c1, m->range);
        x += 2 * m->depth;
        y += 2 * m->channels;
    }
    if (px < m->pixels) {
        const es_dots1x2 d = es_dot_1x2(x, w0, m->depth, m->depth);
        y[0] = es_out_value(d.w0, c0, m->range);
        y[1] = es_out_value(d.w1, c1, m->range);
    }
}

/* The last output channel oc of every pixel, when OC is odd. */
static void single_channel(const matmul *m, es_out_channel c0, int32_t oc)
{
    const int8_t *w0 = m->w + oc * m->depth;
    const int8_t *x = m->in;
    int8_t *y = m->out + oc;
    int32_t px;
    for (px = 0; px + 2 <= m->pixels; px += 2) {
        const es_dots1x2 d = es_dot_1x2(w0, x, m->depth, m->depth);
        y[0] = es_out_value(d.w0, c0, m->range);
        y[m->channels] = es_out_value(d.w1, c0, m->range);
        x += 2 * m->depth;
        y += 2 * m->channels;
    }
    if (px < m->pixels) {
        const es_dots1x2 d = es_dot_1x2(w0, x, 0, m->depth);
        y[0] = es_out_value(d.w0, c0, m->range);
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
        channel_pair(&m, channel(&m, params, bias, oc), channel(&m, params, bias, oc + 1), oc);
    }
    if (oc < m.channels) {
        single_channel(&m, channel(&m, params, bias, oc), oc);
    }
    return ES_OK;
}
