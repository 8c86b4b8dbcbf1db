/*
 * power_cut_main.c -- power cuts against a generated project's commit store and pager (host
 * build, simulated NOR flash), for benchmarks/power_cut.py and tests/test_power_cut.py.
 *
 *   power_cut STEPS MAX_CUTS
 *
 * A "reboot" is es_init (every RAM state from its initial value: parameters, optimizer state,
 * pagers, store) with the simulated flash's bytes kept; a "cut" makes the simulated device tear
 * that one operation (half its program units written, or half the sector erased), fail it, and
 * the firmware stops there.
 *
 *  1. boot, restore (the flash is empty), train STEPS steps, commit: image OLD;
 *     train STEPS more steps: image NEW (es_params_save); the flash is kept as it is now;
 *  2. one uncut commit of NEW counts its device operations (erases, programs);
 *  3. for each of them (all, or MAX_CUTS spread evenly; 0 = all): flash back to step 1's, boot,
 *     load NEW, cut at that operation during es_params_commit, reboot, es_params_restore: the
 *     parameters must equal OLD or NEW bit for bit;
 *  4. paged projects: the same for every erase and program of one training step's pager on its
 *     swap device (flash and wear journal back, boot, restore OLD, cut inside es_train_step,
 *     reboot, restore: must be OLD; the reboot reads the journal the cut may have left behind).
 *
 * Results ("@es" lines): "commit.erases", "commit.programs", "step.erases", "step.programs",
 * one "cut" line per cut = [phase (0 commit, 1 pager step), kind (0 erase, 1 program), operation,
 * outcome (0 old, 1 new, -1 lost), status of the cut call], then "cuts" and "survived".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edgesdk/port.h"
#include "edgesdk/swap_sim.h"
#include "model.h"

static float batch_x[ES_MODEL_INPUT_COUNT];
static es_label batch_labels[ES_MODEL_LABEL_COUNT];
static uint8_t image_old[ES_MODEL_PARAMS_BYTES];
static uint8_t image_new[ES_MODEL_PARAMS_BYTES];
static uint8_t image_now[ES_MODEL_PARAMS_BYTES];
static uint32_t rng_state = 0x2545F491u;
static uint8_t *flash_kept;
#if defined(ES_MODEL_PAGED)
static uint8_t *swap_kept[ES_MODEL_PAGER_TIERS];
static uint8_t *journal_kept[ES_MODEL_PAGER_TIERS];
#endif
static uint32_t cuts, survived;

static void die(const char *what, es_status status)
{
    es_report_str("error", what);
    es_report_str("error.status", es_status_name(status));
    es_port_exit(1);
}

static uint32_t rng_next(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
}

static void random_batch(void)
{
    for (int32_t i = 0; i < ES_MODEL_INPUT_COUNT; ++i) {
        batch_x[i] = (float)(rng_next() >> 8) * (1.0f / 16777216.0f);
    }
    for (int32_t i = 0; i < ES_MODEL_LABEL_COUNT; ++i) {
#if defined(ES_MODEL_LOSS_SOFTMAX_XENT)
        batch_labels[i] = (es_label)(rng_next() % (uint32_t)ES_MODEL_CLASSES);
#else
        batch_labels[i] = (float)(rng_next() >> 8) * (1.0f / 16777216.0f);
#endif
    }
}

static es_status train(int32_t steps)
{
    for (int32_t i = 0; i < steps; ++i) {
        float loss = 0.0f;
        random_batch();
        ES_TRY(es_train_step(batch_x, batch_labels, &loss));
    }
    return ES_OK;
}

/* The flash (store and swap regions) as it is now, or back to what was kept. */
static void flash_keep(int back)
{
    es_swap_sim *sim = es_model_commit_sim();
    if (back) {
        memcpy(sim->memory, flash_kept, sim->size_bytes);
    } else {
        flash_kept = malloc(sim->size_bytes);
        if (flash_kept == NULL) {
            die("malloc", ES_ERR_ARG);
        }
        memcpy(flash_kept, sim->memory, sim->size_bytes);
    }
#if defined(ES_MODEL_PAGED)
    for (uint32_t t = 0u; t < ES_MODEL_PAGER_TIERS; ++t) {
        es_swap_sim *swap = es_model_swap_sim(t);
        if (back) {
            memcpy(swap->memory, swap_kept[t], swap->size_bytes);
        } else {
            swap_kept[t] = malloc(swap->size_bytes);
            if (swap_kept[t] == NULL) {
                die("malloc", ES_ERR_ARG);
            }
            memcpy(swap_kept[t], swap->memory, swap->size_bytes);
        }
        {
            es_swap_sim *journal = es_model_journal_sim(t); /* bytes and programmed-unit map */
            const size_t map = (journal->size_bytes / journal->program_bytes + 7u) / 8u;
            if (back) {
                memcpy(journal->memory, journal_kept[t], journal->size_bytes);
                memcpy(journal->programmed, journal_kept[t] + journal->size_bytes, map);
            } else {
                journal_kept[t] = malloc(journal->size_bytes + map);
                if (journal_kept[t] == NULL) {
                    die("malloc", ES_ERR_ARG);
                }
                memcpy(journal_kept[t], journal->memory, journal->size_bytes);
                memcpy(journal_kept[t] + journal->size_bytes, journal->programmed, map);
            }
        }
    }
#endif
}

/* After a cut: reboot, restore, compare. 0 old, 1 new, -1 lost. */
static int outcome_after_reboot(void)
{
    es_status status = es_init();
    if (status != ES_OK) {
        return -1;
    }
    if (es_params_restore() != ES_OK || es_params_save(image_now, sizeof image_now) != ES_OK) {
        return -1;
    }
    if (memcmp(image_now, image_old, sizeof image_now) == 0) {
        return 0;
    }
    return memcmp(image_now, image_new, sizeof image_now) == 0 ? 1 : -1;
}

/* Whether cut number `index` (1-based) of `count` is one of the `max_cuts` taken (0: all). */
static int taken(uint32_t index, uint32_t count, uint32_t max_cuts)
{
    if (max_cuts == 0u || count <= max_cuts) {
        return 1;
    }
    /* max_cuts indices spread evenly, the first and the last included */
    for (uint32_t k = 0u; k < max_cuts; ++k) {
        if (1u + (uint32_t)(((uint64_t)k * (count - 1u)) / (max_cuts - 1u)) == index) {
            return 1;
        }
    }
    return 0;
}

static void report_cut(int32_t phase, int32_t kind, uint32_t op, int outcome, es_status status)
{
    const int32_t line[5] = {phase, kind, (int32_t)op, outcome, (int32_t)status};
    es_report_i32_array("cut", line, 5u);
    cuts += 1u;
    survived += (phase == 0 ? outcome >= 0 : outcome == 0) ? 1u : 0u;
}

static void cut_commits(uint32_t max_cuts)
{
    es_status status;
    uint32_t erases, programs;
    flash_keep(1);
    if ((status = es_init()) != ES_OK || (status = es_params_load(image_new, sizeof image_new)) != ES_OK ||
        (status = es_params_commit()) != ES_OK) {
        die("uncut commit", status);
    }
    erases = es_model_commit_sim()->erases;
    programs = es_model_commit_sim()->programs;
    es_report_u64("commit.erases", erases);
    es_report_u64("commit.programs", programs);
    for (int32_t kind = 0; kind < 2; ++kind) {
        const uint32_t count = kind == 0 ? erases : programs;
        for (uint32_t op = 1u; op <= count; ++op) {
            if (!taken(op, count, max_cuts)) {
                continue;
            }
            flash_keep(1);
            if ((status = es_init()) != ES_OK || (status = es_params_load(image_new, sizeof image_new)) != ES_OK) {
                die("boot before a cut", status);
            }
            if (kind == 0) {
                es_model_commit_sim()->faults.fail_erase_at = op;
            } else {
                es_model_commit_sim()->faults.fail_program_at = op;
            }
            status = es_params_commit();
            report_cut(0, kind, op, status == ES_OK ? -1 : outcome_after_reboot(), status);
        }
    }
}

#if defined(ES_MODEL_PAGED)
static void cut_pager_step(uint32_t max_cuts)
{
    es_status status;
    uint32_t erases = 0u, programs = 0u;
    uint32_t tier_ops[2][ES_MODEL_PAGER_TIERS];
    flash_keep(1);
    if ((status = es_init()) != ES_OK || (status = es_params_restore()) != ES_OK ||
        (status = train(1)) != ES_OK) {
        die("uncut step", status);
    }
    for (uint32_t t = 0u; t < ES_MODEL_PAGER_TIERS; ++t) {
        tier_ops[0][t] = es_model_swap_sim(t)->erases;
        tier_ops[1][t] = es_model_swap_sim(t)->programs;
        erases += tier_ops[0][t];
        programs += tier_ops[1][t];
    }
    es_report_u64("step.erases", erases);
    es_report_u64("step.programs", programs);
    /* operations are numbered over the tiers in order: tier 0's first */
    for (int32_t kind = 0; kind < 2; ++kind) {
        const uint32_t count = kind == 0 ? erases : programs;
        for (uint32_t op = 1u; op <= count; ++op) {
            uint32_t left = op;
            if (!taken(op, count, max_cuts)) {
                continue;
            }
            flash_keep(1);
            if ((status = es_init()) != ES_OK || (status = es_params_restore()) != ES_OK) {
                die("boot before a step cut", status);
            }
            for (uint32_t t = 0u; t < ES_MODEL_PAGER_TIERS; ++t) { /* the tier of operation `op` */
                if (left >= 1u && left <= tier_ops[kind][t]) {
                    if (kind == 0) {
                        es_model_swap_sim(t)->faults.fail_erase_at = left;
                    } else {
                        es_model_swap_sim(t)->faults.fail_program_at = left;
                    }
                    left = 0u;
                } else if (left > 0u) {
                    left -= tier_ops[kind][t];
                }
            }
            status = train(1);
            report_cut(1, kind, op, status == ES_OK ? -1 : outcome_after_reboot(), status);
        }
    }
}
#endif

int main(int argc, char **argv)
{
    es_status status;
    int32_t steps;
    uint32_t max_cuts;
    es_port_init();
    if (argc != 3) {
        die("usage: power_cut STEPS MAX_CUTS", ES_ERR_ARG);
    }
    steps = (int32_t)strtol(argv[1], NULL, 10);
    max_cuts = (uint32_t)strtoul(argv[2], NULL, 10);
    if ((status = es_init()) != ES_OK) {
        die("es_init", status);
    }
    if (es_params_restore() != ES_ERR_ARG || es_model_store()->error != ES_STORE_E_EMPTY) {
        die("restore from an empty flash", ES_ERR_ARG);
    }
    if ((status = train(steps)) != ES_OK || (status = es_params_commit()) != ES_OK ||
        (status = es_params_save(image_old, sizeof image_old)) != ES_OK) {
        die("train and commit", status);
    }
    if ((status = train(steps)) != ES_OK || (status = es_params_save(image_new, sizeof image_new)) != ES_OK) {
        die("train more", status);
    }
    if (memcmp(image_old, image_new, sizeof image_old) == 0) {
        die("training changed no parameter", ES_ERR_ARG);
    }
    flash_keep(0);
    cut_commits(max_cuts);
#if defined(ES_MODEL_PAGED)
    cut_pager_step(max_cuts);
#endif
    es_report_u64("cuts", cuts);
    es_report_u64("survived", survived);
    return 0;
}
