/*
 * int8_memory_main.c -- the firmware benchmarks/int8_memory.py measures: training steps of a
 * generated int8 model through its int8 API. Each batch is written where a sensor would put it,
 * into the arena's input region (es_input_int8), so it needs no RAM of its own. Reports each
 * step's loss, the port's counter per step (instructions in QEMU) and the stack high-water mark.
 */
#include <stdint.h>

#include "edgesdk/port.h"
#include "model.h"

#ifndef BENCH_STEPS
#define BENCH_STEPS 2
#endif

static es_label batch_labels[ES_MODEL_LABEL_COUNT];
static int8_t infer_out[ES_MODEL_OUTPUT_COUNT];

/* A pseudo-random int8 batch (xorshift32), written into the model's input region. */
static int8_t *fill_batch(uint32_t *state)
{
    int8_t *x = es_input_int8();
    for (int32_t i = 0; i < ES_MODEL_INPUT_COUNT; ++i) {
        *state ^= *state << 13;
        *state ^= *state >> 17;
        *state ^= *state << 5;
        x[i] = (int8_t)(*state >> 24);
    }
    return x;
}

int main(void)
{
    uint32_t state = 0x2545f491u;
    uint64_t total = 0u;
    es_status status;
    es_port_init();
    for (int32_t i = 0; i < ES_MODEL_LABEL_COUNT; ++i) {
        batch_labels[i] = (es_label)(i % 3);
    }
    if ((status = es_init()) != ES_OK) {
        es_report_str("error", es_status_name(status));
        return 1;
    }
    for (int32_t step = 0; step < BENCH_STEPS; ++step) {
        float loss = 0.0f;
        int8_t *x = fill_batch(&state);
        const uint64_t start = es_port_counter();
        status = es_train_step_int8(x, batch_labels, &loss);
        total += es_port_counter() - start;
        if (status != ES_OK) {
            es_report_str("error", es_status_name(status));
            return 1;
        }
        es_report_f32("step.loss", loss);
    }
    es_report_u64("train.steps", BENCH_STEPS);
    es_report_u64("step.counter", total / BENCH_STEPS);
    {
        int8_t *x = fill_batch(&state);
        const uint64_t start = es_port_counter();
        if ((status = es_infer_int8(x, infer_out)) != ES_OK) {
            es_report_str("error", es_status_name(status));
            return 1;
        }
        es_report_u64("infer.counter", es_port_counter() - start);
    }
    es_report_port();
    return 0;
}
