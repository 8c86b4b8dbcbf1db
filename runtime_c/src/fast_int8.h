/*
 * fast_int8.h -- what the fast int8 forward kernels share besides their multiply-accumulates
 * (mac_int8.h): the reference kernels' argument checks, which every fast variant runs before its
 * own geometry checks, and the output stage. Not part of the public API.
 *
 * The checks repeat those of conv2d_int8.c, depthwise_conv2d_int8.c and fully_connected_int8.c
 * (there they are private to the reference files, which stay the specification, untouched), so
 * a fast kernel refuses at least everything the reference refuses, with the same status.
 */
#ifndef EDGESDK_FAST_INT8_H
#define EDGESDK_FAST_INT8_H

#include "edgesdk/conv2d_int8.h"
#include "edgesdk/depthwise_conv2d_int8.h"
#include "edgesdk/fully_connected_int8.h"
#include "edgesdk/requant.h"
#include "internal.h"

/* ---- the reference kernels' checks */

/* The requantization of each of count output channels is in range. */
static inline int es_requant_all_ok(const int32_t *multiplier, const int32_t *shift, int32_t count)
{
    int32_t i;
    for (i = 0; i < count; ++i) {
        if (!es_requant_ok(multiplier[i], shift[i])) {
            return 0;
        }
    }
    return 1;
}

/* es_conv2d_int8_fwd's checks. */
static inline es_status es_conv2d_int8_check(const es_conv2d_int8_params *p, const es_dims *in_dims,
                                             const es_dims *w_dims, const es_dims *out_dims)
{
    if (p == NULL || p->multiplier == NULL || p->shift == NULL) {
        return ES_ERR_ARG;
    }
    ES_TRY(es_check_dims(in_dims));
    ES_TRY(es_check_dims(w_dims));
    ES_TRY(es_check_dims(out_dims));
    if (!es_axis_params_ok(p->stride_h, p->dilation_h, p->pad_top) ||
        !es_axis_params_ok(p->stride_w, p->dilation_w, p->pad_left) ||
        !es_zero_point_ok(-p->input_offset) || !es_zero_point_ok(p->output_offset) ||
        !es_int8_range_ok(p->act_min, p->act_max)) {
        return ES_ERR_ARG;
    }
    if (in_dims->n != out_dims->n || w_dims->c != in_dims->c || w_dims->n != out_dims->c ||
        !es_window_ok(in_dims->h, out_dims->h, w_dims->h, p->stride_h, p->dilation_h, p->pad_top) ||
        !es_window_ok(in_dims->w, out_dims->w, w_dims->w, p->stride_w, p->dilation_w, p->pad_left)) {
        return ES_ERR_SHAPE;
    }
    return es_requant_all_ok(p->multiplier, p->shift, out_dims->c) ? ES_OK : ES_ERR_ARG;
}

/* es_depthwise_conv2d_int8_fwd's checks. */
static inline es_status es_depthwise_conv2d_int8_check(const es_depthwise_conv2d_int8_params *p,
                                                       const es_dims *in_dims, const es_dims *w_dims,
                                                       const es_dims *out_dims)
{
    if (p == NULL || p->multiplier == NULL || p->shift == NULL) {
        return ES_ERR_ARG;
    }
    ES_TRY(es_check_dims(in_dims));
    ES_TRY(es_check_dims(w_dims));
    ES_TRY(es_check_dims(out_dims));
    if (!es_axis_params_ok(p->stride_h, p->dilation_h, p->pad_top) ||
        !es_axis_params_ok(p->stride_w, p->dilation_w, p->pad_left) || p->depth_multiplier < 1 ||
        !es_zero_point_ok(-p->input_offset) || !es_zero_point_ok(p->output_offset) ||
        !es_int8_range_ok(p->act_min, p->act_max)) {
        return ES_ERR_ARG;
    }
    if (in_dims->n != out_dims->n || w_dims->n != 1 ||
        w_dims->c != in_dims->c * p->depth_multiplier || out_dims->c != w_dims->c ||
        !es_window_ok(in_dims->h, out_dims->h, w_dims->h, p->stride_h, p->dilation_h, p->pad_top) ||
        !es_window_ok(in_dims->w, out_dims->w, w_dims->w, p->stride_w, p->dilation_w, p->pad_left)) {
        return ES_ERR_SHAPE;
    }
    return es_requant_all_ok(p->multiplier, p->shift, out_dims->c) ? ES_OK : ES_ERR_ARG;
}

/* es_fully_connected_int8_fwd's checks. */
static inline es_status es_fully_connected_int8_check(const es_fully_connected_int8_params *p,
                                                      const es_dims *in_dims, const es_dims *w_dims,
                                                      const es_dims *out_dims)
{
    if (p == NULL || p->multiplier == NULL || p->shift == NULL) {
        return ES_ERR_ARG;
    }
    ES_TRY(es_check_dims(in_dims));
    ES_TRY(es_check_dims(w_dims));
    ES_TRY(es_check_dims(out_dims));
    if (!es_zero_point_ok(-p->input_offset) || !es_zero_point_ok(-p->weights_offset) ||
        !es_zero_point_ok(p->output_offset) || !es_int8_range_ok(p->act_min, p->act_max)) {
        return ES_ERR_ARG;
    }
    if (w_dims->h != 1 || w_dims->w != 1 || w_dims->c != in_dims->c || out_dims->c != w_dims->n ||
        out_dims->n * out_dims->h * out_dims->w != in_dims->n * in_dims->h * in_dims->w) {
        return ES_ERR_SHAPE;
    }
    return es_requant_all_ok(p->multiplier, p->shift, w_dims->n) ? ES_OK : ES_ERR_ARG;
}

/* ---- windows */

/* Outputs [lo, hi) of one axis. */
typedef struct {
    int32_t lo;
    int32_t hi;
} es_span;

/*
 * The interior of one axis: the outputs [lo, hi) whose k taps (dilation apart, the first at
 * o * stride - pad) all lie inside the n_in inputs. Those before lo and from hi on are the border
 * (0 <= lo <= hi <= n_out).
 */
static inline es_span es_interior(int32_t n_in, int32_t n_out, int32_t k, int32_t stride, int32_t dilation,
                                  int32_t pad)
{
    const int32_t last_start = n_in - 1 - (k - 1) * dilation + pad; /* o * stride may reach this */
    es_span s;
    s.lo = (pad + stride - 1) / stride;
    s.hi = last_start < 0 ? 0 : last_start / stride + 1;
    s.lo = s.lo < n_out ? s.lo : n_out;
    s.hi = s.hi < s.lo ? s.lo : (s.hi > n_out ? n_out : s.hi);
    return s;
}

/* ---- the output stage */

/*
 * The constants of one output channel. base is added to the raw dot product sum(w * x), so it
 * holds the bias and the hoisted input offset, input_offset * sum(w) over the taps the dot
 * product covers: sum(w * (x + offset)) + bias == sum(w * x) + base (modulo 2^32). The others
 * are the requantization (multiplier, shift) split once per channel into what es_out_value needs.
 */
typedef struct {
    int32_t base;
    int32_t multiplier; /* >= 0 (the checks refuse negative ones) */
    int32_t left;       /* max(shift, 0) */
    int32_t right;      /* max(-shift, 0) */
    int32_t mask;       /* 2^right - 1 */
    int32_t half;       /* mask >> 1 */
} es_out_channel;

/* Shared by every output channel of a layer. */
typedef struct {
    int32_t output_offset;
    int32_t act_min;
    int32_t act_max;
} es_out_range;

/* Channel c's constants for dot products over weights whose sum is weight_sum. */
static inline es_out_channel es_out_channel_of(const int32_t *bias, const int32_t *multiplier,
                                               const int32_t *shift, int32_t c,
                                               int32_t input_offset, int32_t weight_sum)
{
    es_out_channel ch;
    ch.base = es_wrap_add(bias != NULL ? bias[c] : 0, es_wrap_mul(input_offset, weight_sum));
    ch.multiplier = multiplier[c];
    ch.left = shift[c] > 0 ? shift[c] : 0;
    ch.right = shift[c] > 0 ? 0 : -shift[c];
    ch.mask = (int32_t)(((int64_t)1 << ch.right) - 1);
    ch.half = ch.mask >> 1;
    return ch;
}

/*
 * es_mbqm(acc, multiplier, shift) for multiplier >= 0, in fewer instructions, same bits:
 *
 * - es_srdhm(a, m) rounds a*m / 2^31 with the nudge +2^30 (a*m >= 0) or 1 - 2^30 (a*m < 0) and
 *   then truncates toward zero. For a*m < 0, truncating (a*m + 1 - 2^30) / 2^31 toward zero is
 *   flooring (a*m + 1 - 2^30 + 2^31 - 1) / 2^31 = (a*m + 2^30) / 2^31; for a*m >= 0 it is
 *   flooring (a*m + 2^30) / 2^31 too. So es_srdhm(a, m) = (a*m + 2^30) >> 31, an arithmetic
 *   shift of the 64-bit sum, except for its saturating case a = m = INT32_MIN, which m >= 0
 *   rules out. |a*m| < 2^62, so the sum does not overflow.
 * - es_rdbpot(h, right) is unchanged, with its mask and half-mask computed once per channel.
 *
 * tests/c/int8_fast_check.c compares it with es_mbqm on the host and on the Cortex-M targets.
 */
static inline int32_t es_out_requantize(int32_t acc, es_out_channel ch)
{
    const int64_t product = (int64_t)es_wrap_shl(acc, ch.left) * ch.multiplier;
    const int32_t high = (int32_t)((product + ((int64_t)1 << 30)) >> 31);
    const int32_t threshold = ch.half + (high < 0 ? 1 : 0);
    return (high >> ch.right) + ((high & ch.mask) > threshold ? 1 : 0);
}

/* The int8 output of a raw dot product: the reference kernels' output stage, bit for bit. */
static inline int8_t es_out_value(int32_t dot, es_out_channel ch, es_out_range r)
{
    const int32_t acc = es_wrap_add(dot, ch.base);
    const int32_t y = es_wrap_add(es_out_requantize(acc, ch), r.output_offset);
    return (int8_t)es_clamp(y, r.act_min, r.act_max);
}

#endif /* EDGESDK_FAST_INT8_H */
