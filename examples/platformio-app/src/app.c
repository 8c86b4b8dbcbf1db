/*
 * app.c -- a user's own firmware around edgesdk's training runtime: its own main(), a sensor that
 * fills a ring buffer, and the int8 API of the generated model (model.h).
 *
 * The "sensor" is a deterministic stand-in for an 8 x 8 pressure pad: every frame shows one of
 * ES_MODEL_OUTPUT_COUNT shapes (a bar at a row or a column chosen by the class) plus noise. The
 * loop copies each new frame from the ring buffer into es_input_int8() (the arena slot the step
 * reads, no RAM of its own), trains on it with its class as the label, then infers on fresh
 * frames, saves the trained weights into a buffer (where a device would write them to flash),
 * reloads them and checks that inference gives the same answers.
 */
#include <stdint.h>
#include <string.h>

#include "edgesdk/console.h"
#include "edgesdk/port.h"
#include "model.h"

#define FRAME_BYTES ES_MODEL_INPUT_COUNT
#define RING_FRAMES 4u
#define TRAIN_STEPS 40
#define TEST_FRAMES 20

static int8_t ring[RING_FRAMES][FRAME_BYTES]; /* the sensor driver's buffer */
static es_label ring_label[RING_FRAMES];
static uint32_t ring_head;
static uint32_t noise_state = 0x2545F491u;
static uint8_t saved[ES_MODEL_PARAMS_BYTES]; /* where a device keeps its weights (flash) */

static uint32_t noise(void)
{
    noise_state ^= noise_state << 13;
    noise_state ^= noise_state >> 17;
    noise_state ^= noise_state << 5;
    return noise_state;
}

/* The sensor's interrupt would do this: one new frame into the ring. */
static uint32_t sensor_frame(void)
{
    const uint32_t slot = ring_head++ % RING_FRAMES;
    const es_label cls = (es_label)(noise() % ES_MODEL_OUTPUT_COUNT);
    uint32_t i;
    for (i = 0u; i < FRAME_BYTES; ++i) {
        const uint32_t row = i / 8u;
        const uint32_t col = i % 8u;
        const int on = cls < 8 ? row == (uint32_t)cls : col == (uint32_t)(cls - 8) * 4u + 2u;
        const int32_t level = (on ? 90 : -90) + (int32_t)(noise() % 41u) - 20;
        ring[slot][i] = (int8_t)level;
    }
    ring_label[slot] = cls;
    return slot;
}

static int argmax(const int8_t *values, int count)
{
    int best = 0;
    int i;
    for (i = 1; i < count; ++i) {
        if (values[i] > values[best]) {
            best = i;
        }
    }
    return best;
}

static int fail(const char *what, es_status status)
{
    es_report_str("error", what);
    es_report_i64("error.status", (int64_t)status);
    return 1;
}

/* Classifies TEST_FRAMES frames from a fixed noise seed; returns the count right, and a hash
 * of every output so that two runs can be compared exactly. */
static es_status evaluate(uint32_t seed, uint32_t *correct, uint32_t *hash)
{
    int8_t out[ES_MODEL_OUTPUT_COUNT];
    int n;
    es_status status;
    noise_state = seed;
    *correct = 0u;
    *hash = 2166136261u;
    for (n = 0; n < TEST_FRAMES; ++n) {
        const uint32_t slot = sensor_frame();
        int i;
        memcpy(es_input_int8(), ring[slot], FRAME_BYTES);
        if ((status = es_infer_int8(es_input_int8(), out)) != ES_OK) {
            return status;
        }
        for (i = 0; i < ES_MODEL_OUTPUT_COUNT; ++i) {
            *hash = (*hash ^ (uint8_t)out[i]) * 16777619u;
        }
        *correct += argmax(out, ES_MODEL_OUTPUT_COUNT) == ring_label[slot] ? 1u : 0u;
    }
    return ES_OK;
}

int main(void)
{
    uint32_t correct_before, correct_after, correct_reloaded, hash_after, hash_reloaded, hash;
    es_status status;
    int step;

    es_port_init();
    if ((status = es_init()) != ES_OK) {
        return fail("es_init", status);
    }
    if ((status = evaluate(0x1234567u, &correct_before, &hash)) != ES_OK) {
        return fail("evaluate", status);
    }
    es_console_accuracy("before", correct_before, TEST_FRAMES);
    es_report_u64("app.correct_before", correct_before);

    noise_state = 0x2545F491u;
    for (step = 1; step <= TRAIN_STEPS; ++step) {
        const uint32_t slot = sensor_frame();
        float loss = 0.0f;
        memcpy(es_input_int8(), ring[slot], FRAME_BYTES);
        if ((status = es_train_step_int8(es_input_int8(), &ring_label[slot], &loss)) != ES_OK) {
            return fail("es_train_step_int8", status);
        }
        es_console_step((uint64_t)step, loss);
        es_report_f32("app.loss", loss);
    }

    if ((status = evaluate(0x1234567u, &correct_after, &hash_after)) != ES_OK) {
        return fail("evaluate", status);
    }
    es_console_accuracy("after", correct_after, TEST_FRAMES);
    es_report_u64("app.correct_after", correct_after);

    /* keep the weights, start over from the model's initial ones, bring the trained ones back */
    if ((status = es_params_save(saved, sizeof saved)) != ES_OK) {
        return fail("es_params_save", status);
    }
    if ((status = es_init()) != ES_OK || (status = es_params_load(saved, sizeof saved)) != ES_OK) {
        return fail("es_params_load", status);
    }
    if ((status = evaluate(0x1234567u, &correct_reloaded, &hash_reloaded)) != ES_OK) {
        return fail("evaluate", status);
    }
    es_report_u64("app.outputs_hash", hash_after);
    es_report_u64("app.reloaded_same", hash_reloaded == hash_after ? 1u : 0u);
    es_report_u64("app.params_bytes", sizeof saved);
    es_report_port();
    return 0;
}
