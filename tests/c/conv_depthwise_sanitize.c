/*
 * conv_depthwise_sanitize.c -- es_conv_depthwise_int8_fwd against es_conv2d_int8_fwd followed by
 * es_depthwise_conv2d_int8_fwd, over pseudo-random geometries (producer kernel 1..3, strides 1..2,
 * dilations 1..2, input depths 1..17, half of the depthwise kernels 3x3, SAME and VALID padding,
 * batch 2, odd sizes, extreme requantizations), for a build with -fsanitize=address,undefined.
 * Every buffer, the ring included, is heap-allocated at its exact size so that AddressSanitizer
 * sees any access outside it.
 *
 *   conv_depthwise_sanitize         compare 400 cases, print "compared N cases, K differ"
 *   conv_depthwise_sanitize short   control: a ring one row short, its size claimed in full
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edgesdk/kernels_int8.h"

static uint32_t rng_state = 2891336453u;

static uint32_t next_random(void) /* xorshift32 */
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
}

static int32_t rnd(int32_t lo, int32_t hi) /* uniform in [lo, hi] */
{
    next_random();
    return lo + (int32_t)(rng_state % (uint32_t)(hi - lo + 1));
}

static int8_t *int8s(int32_t count)
{
    int8_t *p = (int8_t *)malloc((size_t)count);
    int32_t i;
    for (i = 0; i < count; ++i) {
        p[i] = (int8_t)rnd(-128, 127);
    }
    return p;
}

/* count values in [lo, hi] (hi - lo < 2^31), or any int32 (`wide`), or any int32 >= 0
 * (`wide_positive`: requantization multipliers). */
static int32_t *int32s(int32_t count, int32_t lo, int32_t hi, int wide, int wide_positive)
{
    int32_t *p = (int32_t *)malloc((size_t)count * sizeof(int32_t));
    int32_t i;
    for (i = 0; i < count; ++i) {
        next_random();
        if (wide) {
            p[i] = (int32_t)rng_state; /* two's complement conversion, as GCC defines it */
        } else if (wide_positive) {
            p[i] = (int32_t)(rng_state >> 1);
        } else {
            p[i] = rnd(lo, hi);
        }
    }
    return p;
}

/* Output length and pad before along one axis: SAME (pad split as TFLite) or VALID. */
static int32_t axis_out(int32_t size, int32_t k, int32_t stride, int32_t dilation, int same, int32_t *pad)
{
    const int32_t effective = (k - 1) * dilation + 1;
    const int32_t out = same ? (size + stride - 1) / stride : (size - effective + stride) / stride;
    const int32_t total = (out - 1) * stride + effective - size;
    *pad = total > 0 ? total / 2 : 0;
    return out;
}

typedef struct {
    es_conv2d_int8_params conv;
    es_depthwise_conv2d_int8_params dw;
    es_dims in, conv_w, mid, dw_w, out;
} geometry;

/* A random geometry with at least one output element; 0 when the windows leave none. */
static int random_geometry(geometry *g)
{
    const int32_t k1 = rnd(1, 3);
    memset(g, 0, sizeof(*g));
    g->in.n = 2;
    g->in.h = rnd(2, 13);
    g->in.w = rnd(2, 13);
    g->in.c = rnd(0, 3) == 0 ? rnd(6, 17) : rnd(1, 5); /* the depth-8 dot products too */
    g->conv.stride_h = g->conv.stride_w = rnd(1, 2);
    g->conv.dilation_h = g->conv.dilation_w = rnd(1, 2);
    g->conv_w.n = rnd(1, 6);
    g->conv_w.h = g->conv_w.w = k1;
    g->conv_w.c = g->in.c;
    g->mid.n = 2;
    g->mid.c = g->conv_w.n;
    g->mid.h = axis_out(g->in.h, k1, g->conv.stride_h, g->conv.dilation_h, rnd(0, 1), &g->conv.pad_top);
    g->mid.w = axis_out(g->in.w, k1, g->conv.stride_w, g->conv.dilation_w, rnd(0, 1), &g->conv.pad_left);
    g->dw.stride_h = g->dw.stride_w = rnd(1, 2);
    g->dw.dilation_h = rnd(1, 2);
    g->dw.depth_multiplier = 1;
    g->dw_w.n = 1;
    if (rnd(0, 1)) { /* 3x3, dilation_w 1: the kernel's three-tap path */
        g->dw.dilation_w = 1;
        g->dw_w.h = g->dw_w.w = 3;
    } else {
        g->dw.dilation_w = rnd(1, 2);
        g->dw_w.h = rnd(1, 4);
        g->dw_w.w = rnd(1, 4);
    }
    g->dw_w.c = g->mid.c;
    g->out = g->mid;
    if (g->mid.h < 1 || g->mid.w < 1) {
        return 0;
    }
    g->out.h = axis_out(g->mid.h, g->dw_w.h, g->dw.stride_h, g->dw.dilation_h, rnd(0, 1), &g->dw.pad_top);
    g->out.w = axis_out(g->mid.w, g->dw_w.w, g->dw.stride_w, g->dw.dilation_w, rnd(0, 1), &g->dw.pad_left);
    g->conv.input_offset = rnd(-127, 128);
    g->conv.output_offset = rnd(-128, 127);
    g->conv.act_min = rnd(-128, 0);
    g->conv.act_max = rnd(0, 127);
    g->dw.input_offset = -g->conv.output_offset;
    g->dw.output_offset = rnd(-128, 127);
    g->dw.act_min = rnd(-128, 0);
    g->dw.act_max = rnd(0, 127);
    return g->out.h >= 1 && g->out.w >= 1;
}

/* One case: 1 when the fused kernel's output differs from the two kernels' (or a call fails). */
static int compare_case(int extreme, int short_ring)
{
    geometry g;
    size_t ring_bytes;
    int8_t *x, *w1, *w2, *mid, *ring, *expected, *got;
    int32_t *b1, *b2, *m1, *s1, *m2, *s2;
    int differ = 0;
    while (!random_geometry(&g)) {
    }
    x = int8s(es_dims_count(&g.in));
    w1 = int8s(es_dims_count(&g.conv_w));
    w2 = int8s(es_dims_count(&g.dw_w));
    b1 = int32s(g.mid.c, -5000, 5000, extreme, 0);
    b2 = int32s(g.mid.c, -5000, 5000, extreme, 0);
    m1 = int32s(g.mid.c, 1 << 30, INT32_MAX, 0, extreme);
    s1 = int32s(g.mid.c, extreme ? -31 : -14, extreme ? 30 : 0, 0, 0);
    m2 = int32s(g.mid.c, 1 << 30, INT32_MAX, 0, extreme);
    s2 = int32s(g.mid.c, extreme ? -31 : -14, extreme ? 30 : 0, 0, 0);
    g.conv.multiplier = m1;
    g.conv.shift = s1;
    g.dw.multiplier = m2;
    g.dw.shift = s2;
    mid = (int8_t *)malloc((size_t)es_dims_count(&g.mid));
    expected = (int8_t *)malloc((size_t)es_dims_count(&g.out));
    got = (int8_t *)malloc((size_t)es_dims_count(&g.out));
    ring_bytes = es_conv_depthwise_int8_scratch_size(&g.dw, &g.dw_w, &g.mid);
    ring = (int8_t *)malloc(short_ring ? ring_bytes - (size_t)g.mid.w : ring_bytes);
    if (es_conv2d_int8_fwd(&g.conv, &g.in, x, &g.conv_w, w1, b1, &g.mid, mid) != ES_OK ||
        es_depthwise_conv2d_int8_fwd(&g.dw, &g.mid, mid, &g.dw_w, w2, b2, &g.out, expected) != ES_OK ||
        es_conv_depthwise_int8_fwd(&g.conv, &g.dw, &g.in, x, &g.conv_w, w1, b1, &g.mid, &g.dw_w, w2, b2,
                                   &g.out, got, ring, ring_bytes) != ES_OK) {
        differ = 1;
    } else {
        differ = memcmp(expected, got, (size_t)es_dims_count(&g.out)) != 0;
    }
    free(x), free(w1), free(w2), free(b1), free(b2), free(m1), free(s1), free(m2), free(s2);
    free(mid), free(expected), free(got), free(ring);
    return differ;
}

int main(int argc, char **argv)
{
    int round, differ = 0;
    if (argc > 1 && strcmp(argv[1], "short") == 0) {
        int i;
        for (i = 0; i < 50; ++i) { /* some ring of more than one row is overrun */
            compare_case(0, 1);
        }
        return 0;
    }
    for (round = 0; round < 400; ++round) {
        differ += compare_case(round % 3 == 0, 0);
    }
    printf("compared %d cases, %d differ\n", round, differ);
    return differ == 0 ? 0 : 1;
}
