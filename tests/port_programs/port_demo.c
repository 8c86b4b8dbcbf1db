/*
 * port_demo.c -- a small program that uses the port API the way generated firmware does.
 *
 * It trains a 4-input linear model with SGD in float32 (divisions and sqrtf included) and
 * reports the weights and losses as exact float bits, counts the instructions/cycles of a loop
 * whose length is known, measures a recursion's stack use, and returns DEMO_EXIT.
 * Switches for the tests: DEMO_EXIT (status), DEMO_DEPTH (recursion depth), DEMO_BIG_BYTES
 * (an extra static array), DEMO_FAULT (read an unmapped address), DEMO_HANG (never return).
 */
#include "edgesdk/port.h"

#include <math.h>

#ifndef DEMO_EXIT
#define DEMO_EXIT 0
#endif
#ifndef DEMO_DEPTH
#define DEMO_DEPTH 8
#endif
#define DEMO_SPIN 100000u

#if defined(DEMO_BIG_BYTES)
static volatile unsigned char big[DEMO_BIG_BYTES];
#endif

static float samples[32][4];
static float targets[32];

static void make_data(void)
{
    uint32_t state = 12345u;
    int i;
    int j;
    for (i = 0; i < 32; ++i) {
        float y = 0.25f;
        for (j = 0; j < 4; ++j) {
            state = state * 1664525u + 1013904223u; /* LCG: same sequence everywhere */
            samples[i][j] = (float)(state >> 8) / 16777216.0f - 0.5f;
            y += (float)(j + 1) * samples[i][j];
        }
        targets[i] = y;
    }
}

static float train(float weights[5], float losses[8])
{
    const float rate = 0.3f;
    int epoch;
    int i;
    int j;
    for (j = 0; j < 5; ++j) {
        weights[j] = 0.0f;
    }
    for (epoch = 0; epoch < 8; ++epoch) {
        float total = 0.0f;
        for (i = 0; i < 32; ++i) {
            float prediction = weights[4];
            float error;
            for (j = 0; j < 4; ++j) {
                prediction += weights[j] * samples[i][j];
            }
            error = prediction - targets[i];
            total += error * error;
            for (j = 0; j < 4; ++j) {
                weights[j] -= rate * error * samples[i][j] / (1.0f + (float)epoch);
            }
            weights[4] -= rate * error / (1.0f + (float)epoch);
        }
        losses[epoch] = sqrtf(total / 32.0f);
    }
    return losses[7];
}

/* DEMO_SPIN iterations of a two-instruction loop on the Cortex-M ports. */
static void spin(uint32_t count)
{
#if defined(__arm__)
    __asm__ volatile("1: subs %0, %0, #1\n\tbne 1b" : "+r"(count) : : "cc");
#else
    volatile uint32_t sink = count;
    while (sink != 0u) {
        sink = sink - 1u;
    }
#endif
}

static int recurse(int depth)
{
    volatile int frame[16];
    frame[0] = depth;
    if (depth == 0) {
        return frame[0];
    }
    return recurse(depth - 1) + frame[0];
}

int main(void)
{
    float weights[5];
    float losses[8];
    uint64_t start;
    uint64_t spin_count;

    es_port_init();
    make_data();
    start = es_port_counter();
    train(weights, losses);
    es_report_u64("train.count", es_port_counter() - start);
    es_report_f32_array("sgd.weights", weights, 5);
    es_report_f32_array("sgd.loss", losses, 8);
    es_report_f32("sgd.final_loss", losses[7]);

    start = es_port_counter();
    spin(DEMO_SPIN);
    spin_count = es_port_counter() - start;
    es_report_u64("spin.iterations", DEMO_SPIN);
    es_report_u64("spin.count", spin_count);

    es_report_i64("recurse.sum", recurse(DEMO_DEPTH));
#if defined(DEMO_BIG_BYTES)
    big[0] = 1u;
    es_report_u64("big.first", big[0]);
#endif
#if defined(DEMO_FAULT)
    es_report_u64("fault.read", *(volatile uint32_t *)(uintptr_t)0xFFFFFFF0u);
#endif
#if defined(DEMO_HANG)
    for (;;) {
        spin(1000u);
    }
#endif
    es_report_port();
    return DEMO_EXIT;
}
