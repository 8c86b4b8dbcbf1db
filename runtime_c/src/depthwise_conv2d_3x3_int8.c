/*
 * depthwise_conv2d_3x3_int8.c -- 3x3 DEPTHWISE_CONV_2D in int8 (edgesdk/depthwise_conv2d_3x3_int8.h).
 *
 * Channel by channel: the channel's nine weights are loaded once (packed two per register) and
 * its whole output plane is computed. Every output sums nine raw products, the input offset
 * folded into the channel's constant. Outputs whose 3x3 window lies inside the input (the
 * interior, a rectangle of output rows x columns found once per call) read the input in place,
 * without bounds checks; the others (the border) read a copy of their window padded with the
 * input's zero point.
 */
#include "edgesdk/depthwise_conv2d_3x3_int8.h"

#include "fast_int8.h"
#include "mac_int8.h"

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

/* One channel's nine weights, taps (kh, kw) in row-major order, two per register. */
typedef struct {
    int32_t t01;
    int32_t t23;
    int32_t t45;
    int32_t t67;
    int32_t t8;
} taps;

static taps load_taps(const int8_t *w, int32_t channels)
{
    taps k;
    k.t01 = es_pack_int8x2(w[0], w[channels]);
    k.t23 = es_pack_int8x2(w[2 * channels], w[3 * channels]);
    k.t45 = es_pack_int8x2(w[4 * channels], w[5 * channels]);
    k.t67 = es_pack_int8x2(w[6 * channels], w[7 * channels]);
    k.t8 = es_pack_int8x2(w[8 * channels], 0);
    return k;
}

/* One layer and one channel, as the loops see them. */
typedef struct {
    const int8_t *x;   /* channel c of image n: x[(ih * IW + iw) * C] */
    int8_t *y;         /* channel c of image n's output: y[(oh * OW + ow) * C] */
    int32_t in_h;
    int32_t in_w;
    int32_t out_w;
    int32_t channels;
    int32_t stride_w;
    int32_t pad_left;
    int8_t zero_point; /* the input's: -input_offset */
    es_out_channel ch; /* base: bias + input_offset * (sum of the nine weights) */
    es_out_range range;
} plane;

/* The raw sum of the nine products of the window whose top-left tap is x; taps col apart in a
 * row, rows row apart. */
static int32_t window_dot(const int8_t *x, int32_t col, int32_t row, taps k)
{
    const int8_t *x1 = x + row;
    const int8_t *x2 = x1 + row;
    int32_t acc = es_mac_lo(0, x[0], k.t01);
    acc = es_mac_hi(acc, x[col], k.t01);
    acc = es_mac_lo(acc, x[2 * col], k.t23);
    acc = es_mac_hi(acc, x1[0], k.t23);
    acc = es_mac_lo(acc, x1[col], k.t45);
    acc = es_mac_hi(acc, x1[2 * col], k.t45);
    acc = es_mac_lo(acc, x2[0], k.t67);
    acc = es_mac_hi(acc, x2[col], k.t67);
    return es_mac_lo(acc, x2[2 * col], k.t8);
}

/* Interior outputs [cols.lo, cols.hi) of output row oh, whose window starts at input row ih0.
 * What the loop reads is copied into locals first: the int8 stores may alias any memory. */
static void interior_run(const plane *c, taps k, int32_t oh, int32_t ih0, es_span cols)
{
    const int32_t col = c->channels;
    const int32_t row = c->in_w * col;
    const int32_t step = c->stride_w * col;
    const es_out_channel ch = c->ch;
    const es_out_range range = c->range;
    const int8_t *x = c->x + (ih0 * c->in_w + cols.lo * c->stride_w - c->pad_left) * col;
    int8_t *y = c->y + (oh * c->out_w + cols.lo) * col;
    int8_t *const end = y + (cols.hi - cols.lo) * col;
    for (; y != end; y += col, x += step) {
        *y = es_out_value(window_dot(x, col, row, k), ch, range);
    }
}

/*
 * Border outputs [from, to) of output row oh. A tap outside the input contributes nothing to the
 * reference's sum of w * (x + input_offset), which is what a tap reading the input's zero point
 * (-input_offset) contributes: so each border window is copied with the zero point in place of
 * the missing taps, and then summed exactly as an interior one, with the same channel constant.
 */
static void border_run(const plane *c, taps k, int32_t oh, int32_t ih0, int32_t from, int32_t to)
{
    int32_t ow, kh, kw;
    for (ow = from; ow < to; ++ow) {
        const int32_t iw0 = ow * c->stride_w - c->pad_left;
        int8_t window[9];
        for (kh = 0; kh < 3; ++kh) {
            const int32_t ih = ih0 + kh;
            for (kw = 0; kw < 3; ++kw) {
                const int32_t iw = iw0 + kw;
                const int inside = ih >= 0 && ih < c->in_h && iw >= 0 && iw < c->in_w;
                window[kh * 3 + kw] = inside ? c->x[(ih * c->in_w + iw) * c->channels] : c->zero_point;
            }
        }
        c->y[(oh * c->out_w + ow) * c->channels] = es_out_value(window_dot(window, 1, 3, k), c->ch, c->range);
    }
}

/* The whole output plane of one channel. */
static void channel_plane(const plane *c, taps k, es_span rows, es_span cols, int32_t out_h, int32_t stride_h,
                          int32_t pad_top)
{
    int32_t oh;
    for (oh = 0; oh < out_h; ++oh) {
        const int32_t ih0 = oh * stride_h - pad_top;
        if (oh < rows.lo || oh >= rows.hi) {
            border_run(c, k, oh, ih0, 0, c->out_w);
            continue;
        }
        border_run(c, k, oh, ih0, 0, cols.lo);
        interior_run(c, k, oh, ih0, cols);
        border_run(c, k, oh, ih0, cols.hi, c->out_w);
    }
}

es_status es_depthwise_conv2d_3x3_int8_fwd(const es_depthwise_conv2d_int8_params *params,
                                           const es_dims *in_dims, const int8_t *in,
                                           const es_dims *w_dims, const int8_t *w,
                                           const int32_t *bias,
                                           const es_dims *out_dims, int8_t *out)
{
    plane c;
    es_span rows, cols;
    int32_t n, ch;
    if (in == NULL || w == NULL || out == NULL) {
        return ES_ERR_ARG;
    }
    ES_TRY(check(params, in_dims, w_dims, out_dims));
    rows = es_interior(in_dims->h, out_dims->h, 3, params->stride_h, 1, params->pad_top);
    cols = es_interior(in_dims->w, out_dims->w, 3, params->stride_w, 1, params->pad_left);
    c.in_h = in_dims->h;
    c.in_w = in_dims->w;
    c.out_w = out_dims->w;
    c.channels = in_dims->c;
    c.stride_w = params->stride_w;
    c.pad_left = params->pad_left;
    c.zero_point = (int8_t)-params->input_offset;
    c.range.output_offset = params->output_offset;
    c.range.act_min = params->act_min;
    c.range.act_max = params->act_max;
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
            channel_plane(&c, load_taps(wc, c.channels), rows, cols, out_dims->h, params->stride_h,
                          params->pad_top);
        }
    }
    return ES_OK;
}
