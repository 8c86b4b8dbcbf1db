/*
 * model_api_check.c -- exercises the public API of a generated model.c (tests/test_codegen.py).
 *
 * Linked with a generated model and the runtime instead of the demo main: checks argument
 * errors, that es_init starts over, that es_params_save / es_params_load round-trip the trained
 * parameters (the same inference output afterwards), and reports "@es check.<name> 0|1".
 */
#include <string.h>

#include "edgesdk/edgesdk.h"
#include "edgesdk/port.h"
#include "model.h"

static float x[ES_MODEL_INPUT_COUNT];
static es_label labels[ES_MODEL_LABEL_COUNT];
static float out_trained[ES_MODEL_OUTPUT_COUNT];
static float out_again[ES_MODEL_OUTPUT_COUNT];
static float out_fresh[ES_MODEL_OUTPUT_COUNT];
static unsigned char saved[ES_MODEL_PARAMS_BYTES];
static unsigned char saved_again[ES_MODEL_PARAMS_BYTES];
static unsigned char fresh[ES_MODEL_PARAMS_BYTES];

static void check(const char *name, int ok)
{
    es_report_u64(name, ok ? 1u : 0u);
}

int main(void)
{
    float loss = 0.0f;
    es_port_init();
    for (int32_t i = 0; i < ES_MODEL_INPUT_COUNT; ++i) {
        x[i] = (float)((i * 7) % 13) / 13.0f - 0.5f;
    }
    for (int32_t i = 0; i < ES_MODEL_LABEL_COUNT; ++i) {
        labels[i] = (es_label)(i % 2);
    }
    check("check.init", es_init() == ES_OK);
    check("check.fresh_save", es_params_save(fresh, sizeof fresh) == ES_OK);
    check("check.fresh_infer", es_infer(x, out_fresh) == ES_OK);

    check("check.null_x", es_train_step(NULL, labels, &loss) == ES_ERR_ARG);
    check("check.null_labels", es_train_step(x, NULL, &loss) == ES_ERR_ARG);
    check("check.null_out", es_infer(x, NULL) == ES_ERR_ARG);
    check("check.short_save", es_params_save(saved, ES_MODEL_PARAMS_BYTES - 1) == ES_ERR_ARG);
    check("check.short_load", es_params_load(saved, ES_MODEL_PARAMS_BYTES - 1) == ES_ERR_ARG);

    check("check.train", es_train_step(x, labels, &loss) == ES_OK && es_train_step(x, labels, NULL) == ES_OK);
    check("check.save", es_params_save(saved, sizeof saved) == ES_OK);
    check("check.trained_changed", memcmp(saved, fresh, sizeof saved) != 0);
    check("check.infer", es_infer(x, out_trained) == ES_OK);

    check("check.reinit", es_init() == ES_OK);
    check("check.save_again", es_params_save(saved_again, sizeof saved_again) == ES_OK);
    check("check.reinit_restores", memcmp(saved_again, fresh, sizeof fresh) == 0);

    check("check.load", es_params_load(saved, sizeof saved) == ES_OK);
    check("check.save_loaded", es_params_save(saved_again, sizeof saved_again) == ES_OK);
    check("check.load_round_trip", memcmp(saved_again, saved, sizeof saved) == 0);
    check("check.infer_loaded", es_infer(x, out_again) == ES_OK);
    check("check.same_output", memcmp(out_again, out_trained, sizeof out_trained) == 0);
    check("check.output_changed", memcmp(out_fresh, out_trained, sizeof out_trained) != 0);
    es_report_port();
    return 0;
}
