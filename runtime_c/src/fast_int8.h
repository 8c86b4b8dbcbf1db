/*
 * fast_int8.h -- what the fast int8 forward kernels share besides their multiply-accumulates
 * (mac_int8.h): the reference kernels' argument checks, which every fast variant runs before its
 * own geometry checks, the interior of a window axis, and the output stage. Not part of the
 * public API.
 *
 * The argument checks are the reference kernels' own (int8_layer_check.h), so a fast kernel
 * refuses at least everything the reference refuses, with the same status. The fast kernels read
 * one whole weight tensor: they check with es_conv2d_int8_whole_check, which also refuses a split
 * weight (ES_ERR_ARG).
 */
#ifndef EDGESDK_FAST_INT8_H
#define EDGESDK_FAST_INT8_H

#include "edgesdk/conv2d_int8.h"
#include "edgesdk/depthwise_conv2d_int8.h"
#include "edgesdk/requant.h"
#include "int8_layer_check.h"
#include "internal.h"
#include "mac_int8.h"

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
 * are the requantization (multiplier, shift) prepared once per channel for es_out_requantize.
 */
typedef struct {
    int32_t base;
    int32_t multiplier; /* >= 0 (the checks refuse negative ones) */
    int32_t left;       /* max(shift, 0) */
    int32_t right;      /* max(-shift, 0) */
    int64_t nudge;      /* 2^30, plus 2^(30 + right) when right > 0 */
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
    ch.nudge = ((int64_t)1 << 30) + (ch.right > 0 ? (int64_t)1 << (30 + ch.right) : 0);
    return ch;
}

/*
 * es_mbqm(acc, multiplier, shift) for multiplier >= 0 in fewer instructions, with its bits. With
 * x = acc << left (modulo 2^32), P = x * multiplier (exact in 64 bits) and r = right:
 *
 * - es_srdhm(x, m) rounds P / 2^31 with the nudge 2^30 (P >= 0) or 1 - 2^30 (P < 0), then
 *   truncates toward zero. For P < 0 that truncation of (P + 1 - 2^30) / 2^31 is the floor of
 *   (P + 1 - 2^30 + 2^31 - 1) / 2^31 = (P + 2^30) / 2^31, as for P >= 0: so
 *   h = es_srdhm(x, m) = floor((P + 2^30) / 2^31). (Its saturating case, x = m = INT32_MIN, needs
 *   m < 0.) With r = 0 that is the result.
 * - es_rdbpot(h, r), r >= 1, adds 1 to floor(h / 2^r) when the remainder exceeds 2^(r-1) - 1 +
 *   [h < 0], i.e. it is floor((h + 2^(r-1) - [h < 0]) / 2^r). [h < 0] may be replaced by [x < 0]:
 *   they differ only when x < 0 and h = 0, and then both give 0.
 * - floor((floor(a / 2^31) + c) / 2^r) = floor((a + c 2^31) / 2^(31+r)) for integer c, so the result
 *   is (P + 2^30 + 2^(30+r) - [x < 0] 2^31) >> (31 + r) (|P| < 2^62: no overflow), which is the
 *   high word of that 64-bit sum shifted right by r - 1.
 *
 * tests/c/int8_fast_check.c compares it with es_mbqm on the host and on the Cortex-M targets.
 */
static inline int32_t es_out_requantize(int32_t acc, es_out_channel ch)
{
    const int32_t x = es_wrap_shl(acc, ch.left);
    const int64_t sum = (int64_t)x * ch.multiplier + ch.nudge;
    if (ch.right == 0) {
        return (int32_t)(sum >> 31);
    }
    return (int32_t)((sum - (x < 0 ? (int64_t)1 << 31 : 0)) >> 32) >> (ch.right - 1);
}

/* The int8 output of an accumulator that already holds the channel's base. */
static inline int8_t es_out_final(int32_t acc, es_out_channel ch, es_out_range r)
{
    const int32_t y = es_wrap_add(es_out_requantize(acc, ch), r.output_offset);
    return (int8_t)es_clamp(y, r.act_min, r.act_max);
}

/* The int8 output of a raw dot product: the reference kernels' output stage, bit for bit. */
static inline int8_t es_out_value(int32_t dot, es_out_channel ch, es_out_range r)
{
    return es_out_final(es_wrap_add(dot, ch.base), ch, r);
}

/* es_out_run's loop, specialized by two flags (constant where it is inlined, so each of the
 * four copies has no test inside): shifted = (right != 0); full = the clamp is the int8 range. */
static inline void es_out_loop(const int32_t *acc, int32_t count, es_out_channel ch, es_out_range r,
                               int8_t *y, int32_t y_step, int shifted, int full)
{
    const int32_t *const end = acc + count;
    ch.right = shifted ? ch.right : 0;
    for (; acc != end; ++acc, y += y_step) {
        const int32_t v = es_wrap_add(es_out_requantize(*acc, ch), r.output_offset);
        *y = (int8_t)(full ? es_sat_int8(v) : es_clamp(v, r.act_min, r.act_max));
    }
}

/*
 * Outputs y[0], y[y_step], ... of count accumulators (each with the channel's base already in).
 * The kernels first fill a short run of accumulators, then requantize it here: each loop then
 * keeps its own constants in registers (the output stage's do not fit beside a dot product's
 * pointers and weights on a Cortex-M).
 */
static inline void es_out_run(const int32_t *acc, int32_t count, es_out_channel ch, es_out_range r,
                              int8_t *y, int32_t y_step)
{
    const int full = r.act_min == -128 && r.act_max == 127;
    if (ch.right == 0) {
        if (full) {
            es_out_loop(acc, count, ch, r, y, y_step, 0, 1);
        } else {
            es_out_loop(acc, count, ch, r, y, y_step, 0, 0);
        }
    } else if (full) {
        es_out_loop(acc, count, ch, r, y, y_step, 1, 1);
    } else {
        es_out_loop(acc, count, ch, r, y, y_step, 1, 0);
    }
}

#endif /* EDGESDK_FAST_INT8_H */
