/*
 * split_image_check.c -- es_params_load of a generated model whose weights are split (trainable
 * rows in RAM, frozen rows in flash; tests/test_int8_split_weights.py).
 *
 * Linked with the generated model.c, its runtime and "other_image.h" (written by the test: the
 * parameter image of the same model trained under another sparse update, whose trainable rows
 * overlap this build's frozen ones). Built with
 *   -DFROZEN_BYTE=n   offset in this model's image of an element of a split weight's frozen rows
 *   -DHEAD_BYTE=n     offset of an element of its RAM rows
 * Reports "@es check.<name> 0|1".
 */
#include <string.h>

#include "edgesdk/params_image.h"
#include "edgesdk/port.h"
#include "model.h"
#include "other_image.h"

static es_label labels[ES_MODEL_LABEL_COUNT];
static unsigned char saved[ES_MODEL_PARAMS_BYTES];
static unsigned char again[ES_MODEL_PARAMS_BYTES];
static unsigned char edited[ES_MODEL_PARAMS_BYTES];

static void check(const char *name, int ok)
{
    es_report_u64(name, ok ? 1u : 0u);
}

/* A copy of the saved image with one element byte changed and the CRC made right again. */
static const unsigned char *edit(size_t at)
{
    memcpy(edited, saved, sizeof edited);
    edited[at] ^= 0x01u;
    const uint32_t crc = es_crc32(0u, edited + 16, sizeof edited - 16u);
    for (int i = 0; i < 4; ++i) {
        edited[12 + i] = (unsigned char)(crc >> (8 * i));
    }
    return edited;
}

int main(void)
{
    float loss = 0.0f;
    es_port_init();
    int8_t *x = es_input_int8();
    for (int32_t i = 0; i < ES_MODEL_INPUT_COUNT; ++i) {
        x[i] = (int8_t)((i * 37) % 251 - 125);
    }
    for (int32_t i = 0; i < ES_MODEL_LABEL_COUNT; ++i) {
        labels[i] = (es_label)(i % ES_MODEL_CLASSES);
    }
    check("check.init", es_init() == ES_OK);
    check("check.train", es_train_step_int8(x, labels, &loss) == ES_OK);
    check("check.save", es_params_save(saved, sizeof saved) == ES_OK);
    check("check.same_size", sizeof other_image == sizeof saved);

    /* trained under another sparse update: its rows differ where this build keeps flash */
    check("check.other_refused", es_params_load(other_image, sizeof other_image) == ES_ERR_SHAPE);
    check("check.frozen_edit_refused", es_params_load(edit(FROZEN_BYTE), sizeof edited) == ES_ERR_SHAPE);
    check("check.refusals_change_nothing",
          es_params_save(again, sizeof again) == ES_OK && memcmp(again, saved, sizeof saved) == 0);

    /* an edit of a trainable row loads, and is what es_params_save writes back */
    check("check.head_edit_loads", es_params_load(edit(HEAD_BYTE), sizeof edited) == ES_OK);
    check("check.head_edit_saved",
          es_params_save(again, sizeof again) == ES_OK && memcmp(again, edited, sizeof edited) == 0);
    check("check.own_image_loads", es_params_load(saved, sizeof saved) == ES_OK);
    es_report_port();
    return 0;
}
