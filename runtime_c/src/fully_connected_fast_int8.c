/*
 * fully_connected_fast_int8.c -- FULLY_CONNECTED in int8, the fast forward
 * (edgesdk/fully_connected_fast_int8.h).
 */
#include "edgesdk/fully_connected_fast_int8.h"

#include "fast_int8.h"
#include "int8_layer_check.h"
#include "internal.h"
#include "mac_int8.h"

/* The output stage of output o (the sum already holds bias and offsets). */
static inline int8_t fc_out(const es_fully_connected_int8_params *p, int32_t o, int32_t sum, es_out_range r)
{
    const es_out_channel ch = es_out_channel_of(NULL, p->multiplier, p->shift, o, 0, 0);
    return es_out_final(sum, ch, r);
}

/* The dot products of one input row x (len values, the offset in lanes) with four weight rows
 * starting at w, row_step apart, plus bias; the tail (len % 4) byte by byte. */
static void dots4(const int8_t *x, const int8_t *w, int32_t row_step, int32_t len, int32_t lanes,
                  int32_t offset, int32_t acc[4])
{
    const int8_t *w1 = w + row_step, *w2 = w1 + row_step, *w3 = w2 + row_step;
    const int8_t *const end4 = x + (len & ~(int32_t)3);
    const int8_t *const end = x + len;
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
    for (; x != end4; x += 4, w += 4, w1 += 4, w2 += 4, w3 += 4) {
        const es_int8x4 v = es_load_int8x4_plus(x, lanes);
        a0 = es_mac_int8x4(a0, v, es_load_int8x4(w));
        a1 = es_mac_int8x4(a1, v, es_load_int8x4(w1));
        a2 = es_mac_int8x4(a2, v, es_load_int8x4(w2));
        a3 = es_mac_int8x4(a3, v, es_load_int8x4(w3));
    }
    for (; x != end; ++x, ++w, ++w1, ++w2, ++w3) {
        const int32_t v = (int32_t)*x + offset;
        a0 = es_wrap_add(a0, v * *w);
        a1 = es_wrap_add(a1, v * *w1);
        a2 = es_wrap_add(a2, v * *w2);
        a3 = es_wrap_add(a3, v * *w3);
    }
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
}

/* dots4 for two weight rows. */
static void dots2(const int8_t *x, const int8_t *w, int32_t row_step, int32_t len, int32_t lanes,
                  int32_t offset, int32_t acc[2])
{
    const int8_t *w1 = w + row_step;
    const int8_t *const end4 = x + (len & ~(int32_t)3);
    const int8_t *const end = x + len;
    int32_t a0 = acc[0], a1 = acc[1];
    for (; x != end4; x += 4, w += 4, w1 += 4) {
        const es_int8x4 v = es_load_int8x4_plus(x, lanes);
        a0 = es_mac_int8x4(a0, v, es_load_int8x4(w));
        a1 = es_mac_int8x4(a1, v, es_load_int8x4(w1));
    }
    for (; x != end; ++x, ++w, ++w1) {
        const int32_t v = (int32_t)*x + offset;
        a0 = es_wrap_add(a0, v * *w);
        a1 = es_wrap_add(a1, v * *w1);
    }
    acc[0] = a0;
    acc[1] = a1;
}

/* The dot product of x with one weight row w, plus acc. */
static int32_t dot1(const int8_t *x, const int8_t *w, int32_t len, int32_t lanes, int32_t offset, int32_t acc)
{
    const int8_t *const end4 = x + (len & ~(int32_t)3);
    const int8_t *const end = x + len;
    for (; x != end4; x += 4, w += 4) {
        acc = es_mac_int8x4(acc, es_load_int8x4_plus(x, lanes), es_load_int8x4(w));
    }
    for (; x != end; ++x, ++w) {
        acc = es_wrap_add(acc, ((int32_t)*x + offset) * *w);
    }
    return acc;
}

es_status es_fully_connected_fast_int8_fwd(const es_fully_connected_int8_params *params,
                                           const es_dims *in_dims, const int8_t *in,
                                           const es_dims *w_dims, const int8_t *w,
                                           const int32_t *bias,
                                           const es_dims *out_dims, int8_t *out)
{
    const es_fully_connected_int8_params *p = params;
    int32_t rows = 0;
    if (in == NULL || w == NULL || out == NULL) {
        return ES_ERR_ARG;
    }
    ES_TRY(es_fully_connected_int8_check(p, in_dims, w_dims, out_dims, &rows));
    if (p->weights_offset != 0 || p->w_tail != NULL || p->w_head_channels != 0) {
        return ES_ERR_ARG;
    }
    const int32_t k_n = in_dims->c, o_n = w_dims->n, offset = p->input_offset;
    const int32_t lanes = es_lanes_of(offset);
    es_out_range range;
    range.output_offset = p->output_offset;
    range.act_min = p->act_min;
    range.act_max = p->act_max;
    for (int32_t r = 0; r < rows; ++r) {
        const int8_t *x = in + r * k_n;
        int8_t *y = out + r * o_n;
        int32_t o = 0;
        for (; o + 4 <= o_n; o += 4) {
            int32_t acc[4];
            for (int32_t j = 0; j < 4; ++j) {
                acc[j] = bias != NULL ? bias[o + j] : 0;
            }
            dots4(x, w + o * k_n, k_n, k_n, lanes, offset, acc);
            for (int32_t j = 0; j < 4; ++j) {
                y[o + j] = fc_out(p, o + j, acc[j], range);
            }
        }
        if (o + 2 <= o_n) {
            int32_t acc[2];
            acc[0] = bias != NULL ? bias[o] : 0;
            acc[1] = bias != NULL ? bias[o + 1] : 0;
            dots2(x, w + o * k_n, k_n, k_n, lanes, offset, acc);
            y[o] = fc_out(p, o, acc[0], range);
            y[o + 1] = fc_out(p, o + 1, acc[1], range);
            o += 2;
        }
        for (; o < o_n; ++o) {
            const int32_t acc = dot1(x, w + o * k_n, k_n, lanes, offset, bias != NULL ? bias[o] : 0);
            y[o] = fc_out(p, o, acc, range);
        }
    }
    return ES_OK;
}
