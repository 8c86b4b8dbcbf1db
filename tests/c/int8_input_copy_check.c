/*
 * int8_input_copy_check.c -- the input batch of a planned int8 model (tests/test_int8_codegen.py).
 *
 * A planned step reads its batch from the arena (the schedule's input node), so
 * es_train_step_int8 copies a batch given in the caller's own array there first. Linked with a
 * generated model whose input and output are int8, this trains the same batches twice from
 * es_init: once written into es_input_int8() (no copy), once from a caller's array, and reports
 * "@es check.<name> 0|1": same losses, same parameters, same inference output, the caller's
 * array untouched, and the parameters trained.
 */
#include <string.h>

#include "edgesdk/edgesdk.h"
#include "edgesdk/port.h"
#include "model.h"

#define STEPS 3
#define INFER_SEED 9

static int8_t batch[ES_MODEL_INPUT_COUNT];
static es_label labels[ES_MODEL_LABEL_COUNT];
static unsigned char params_fresh[ES_MODEL_PARAMS_BYTES];
static unsigned char params_in_place[ES_MODEL_PARAMS_BYTES];
static unsigned char params_copied[ES_MODEL_PARAMS_BYTES];
static int8_t out_in_place[ES_MODEL_OUTPUT_COUNT];
static int8_t out_copied[ES_MODEL_OUTPUT_COUNT];

static void check(const char *name, int ok)
{
    es_report_u64(name, ok ? 1u : 0u);
}

/* a batch that differs from step to step */
static void fill(int8_t *x, int32_t seed)
{
    for (int32_t i = 0; i < ES_MODEL_INPUT_COUNT; ++i) {
        x[i] = (int8_t)((i * 37 + seed * 11) % 251 - 125);
    }
}

static int batch_is(int32_t seed)
{
    for (int32_t i = 0; i < ES_MODEL_INPUT_COUNT; ++i) {
        if (batch[i] != (int8_t)((i * 37 + seed * 11) % 251 - 125)) {
            return 0;
        }
    }
    return 1;
}

int main(void)
{
    float loss_in_place[STEPS];
    float loss_copied[STEPS];
    int ok_in_place = 1;
    int ok_copied = 1;
    int untouched = 1;
    es_port_init();
    for (int32_t i = 0; i < ES_MODEL_LABEL_COUNT; ++i) {
        labels[i] = (es_label)(i % 3);
    }

    ok_in_place &= es_init() == ES_OK;
    ok_in_place &= es_params_save(params_fresh, sizeof params_fresh) == ES_OK;
    for (int32_t step = 0; step < STEPS; ++step) {
        fill(es_input_int8(), step);
        ok_in_place &= es_train_step_int8(es_input_int8(), labels, &loss_in_place[step]) == ES_OK;
    }
    ok_in_place &= es_params_save(params_in_place, sizeof params_in_place) == ES_OK;
    fill(es_input_int8(), INFER_SEED);
    ok_in_place &= es_infer_int8(es_input_int8(), out_in_place) == ES_OK;

    ok_copied &= es_init() == ES_OK;
    for (int32_t step = 0; step < STEPS; ++step) {
        fill(batch, step);
        ok_copied &= es_train_step_int8(batch, labels, &loss_copied[step]) == ES_OK;
        untouched &= batch_is(step);
    }
    ok_copied &= es_params_save(params_copied, sizeof params_copied) == ES_OK;
    fill(batch, INFER_SEED);
    ok_copied &= es_infer_int8(batch, out_copied) == ES_OK;

    check("check.in_place_runs", ok_in_place);
    check("check.copied_runs", ok_copied);
    check("check.same_losses", memcmp(loss_in_place, loss_copied, sizeof loss_copied) == 0);
    check("check.same_params", memcmp(params_in_place, params_copied, sizeof params_copied) == 0);
    check("check.same_output", memcmp(out_in_place, out_copied, sizeof out_copied) == 0);
    check("check.batch_untouched", untouched);
    check("check.trained", memcmp(params_fresh, params_in_place, sizeof params_fresh) != 0);
    es_report_port();
    return 0;
}
