/*
 * mean_act_sanitize.c -- es_mean_hw_act_int8_bwd against es_mean_hw_f32_bwd followed by
 * es_act_int8_bwd, and es_mean_hw_act_f32_bwd against es_mean_hw_f32_bwd followed by
 * es_act_f32_bwd, over pseudo-random shapes (batch 1..3, odd sizes), clamp bounds and
 * activations, with gradients that include infinities, NaN, huge and tiny values, for a build
 * with -fsanitize=address,undefined. Every buffer is heap-allocated at its exact size so that
 * AddressSanitizer sees any access outside it; outputs are compared as bits.
 *
 *   mean_act_sanitize         compare 300 cases of each, print "compared N cases, K differ"
 *   mean_act_sanitize short   control: an int8 y one row short, its full dims claimed
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edgesdk/edgesdk.h"
#include "edgesdk/train_int8.h"

static uint32_t rng_state = 747796405u;

static int32_t rnd(int32_t lo, int32_t hi) /* uniform in [lo, hi] */
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return lo + (int32_t)(rng_state % (uint32_t)(hi - lo + 1));
}

/* Gradients: mostly ordinary, some special values (the division must keep them as is). */
static float gradient(void)
{
    switch (rnd(0, 40)) {
    case 0:
        return INFINITY;
    case 1:
        return -INFINITY;
    case 2:
        return NAN;
    case 3:
        return 3.0e38f;
    case 4:
        return 1.0e-44f; /* subnormal */
    case 5:
        return -0.0f;
    default:
        return (float)rnd(-100000, 100000) * 1e-5f;
    }
}

/* Saved float outputs: around the relu / relu6 bounds, exactly on them, and NaN. */
static float saved_output(void)
{
    switch (rnd(0, 20)) {
    case 0:
        return 0.0f;
    case 1:
        return 6.0f;
    case 2:
        return -0.0f;
    case 3:
        return NAN;
    default:
        return (float)rnd(-3000, 9000) * 1e-3f;
    }
}

static float *floats(int32_t count, float (*draw)(void))
{
    float *p = (float *)malloc((size_t)count * sizeof(float));
    for (int32_t i = 0; i < count; ++i) {
        p[i] = draw();
    }
    return p;
}

static int8_t *int8s(int32_t count)
{
    int8_t *p = (int8_t *)malloc((size_t)count);
    for (int32_t i = 0; i < count; ++i) {
        p[i] = (int8_t)rnd(-128, 127);
    }
    return p;
}

static es_dims random_input(void)
{
    const es_dims in = {rnd(1, 3), rnd(1, 7), rnd(1, 7), rnd(1, 40)};
    return in;
}

/* One int8 case: 1 when the fused kernel differs from the two kernels (or a call fails). */
static int compare_int8(int short_y)
{
    const es_dims in = random_input(), out = {in.n, 1, 1, in.c};
    const int32_t count = es_dims_count(&in);
    const int32_t act_min = rnd(0, 3) == 0 ? -128 : rnd(-128, 100);
    const int32_t act_max = rnd(0, 3) == 0 ? 127 : rnd(act_min + 1, 127);
    int8_t *y = int8s(short_y ? count - in.w * in.c : count);
    float *dy = floats(es_dims_count(&out), gradient);
    float *broadcast = (float *)malloc((size_t)count * sizeof(float));
    float *expected = (float *)malloc((size_t)count * sizeof(float));
    float *got = (float *)malloc((size_t)count * sizeof(float));
    int differ = 0;
    if (short_y) {
        es_mean_hw_act_int8_bwd(act_min, act_max, &in, y, &out, dy, got);
    } else if (es_mean_hw_f32_bwd(&out, dy, &in, broadcast) != ES_OK ||
               es_act_int8_bwd(act_min, act_max, &in, y, broadcast, expected) != ES_OK ||
               es_mean_hw_act_int8_bwd(act_min, act_max, &in, y, &out, dy, got) != ES_OK) {
        differ = 1;
    } else {
        differ = memcmp(expected, got, (size_t)count * sizeof(float)) != 0;
    }
    free(y), free(dy), free(broadcast), free(expected), free(got);
    return differ;
}

/* One float32 case, likewise. */
static int compare_f32(void)
{
    const es_dims in = random_input(), out = {in.n, 1, 1, in.c};
    const int32_t count = es_dims_count(&in);
    const es_activation act = (es_activation)rnd(0, 2);
    float *y = floats(count, saved_output);
    float *dy = floats(es_dims_count(&out), gradient);
    float *broadcast = (float *)malloc((size_t)count * sizeof(float));
    float *expected = (float *)malloc((size_t)count * sizeof(float));
    float *got = (float *)malloc((size_t)count * sizeof(float));
    int differ = 0;
    if (es_mean_hw_f32_bwd(&out, dy, &in, broadcast) != ES_OK ||
        es_act_f32_bwd(act, &in, y, broadcast, expected) != ES_OK ||
        es_mean_hw_act_f32_bwd(act, &in, y, &out, dy, got) != ES_OK) {
        differ = 1;
    } else {
        differ = memcmp(expected, got, (size_t)count * sizeof(float)) != 0;
    }
    free(y), free(dy), free(broadcast), free(expected), free(got);
    return differ;
}

int main(int argc, char **argv)
{
    int round, differ = 0;
    if (argc > 1 && strcmp(argv[1], "short") == 0) {
        for (round = 0; round < 20; ++round) {
            compare_int8(1);
        }
        return 0;
    }
    for (round = 0; round < 300; ++round) {
        differ += compare_int8(0);
        differ += compare_f32();
    }
    printf("compared %d cases, %d differ\n", 2 * round, differ);
    return differ == 0 ? 0 : 1;
}
