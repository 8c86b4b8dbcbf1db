/*
 * store_cut.c -- the commit store (edgesdk/store.h) under power cuts, on the simulated NOR
 * device, for tests/test_store.py (host, ASan + UBSan).
 *
 *   store_cut SECTOR_BYTES PROGRAM_BYTES IMAGE_BYTES SEED
 *
 * Commits two images (A, then B), then for every device operation of the commit of a third
 * image C -- each erase and each program, found by counting the calls of an uncut commit -- it
 * starts again from the flash as it was after B, cuts the power at that operation (a torn erase
 * or program: the simulation does half of it and fails), reboots (the simulated device is set up
 * again over the same memory, the store opened afresh), restores, and checks the restored bytes
 * equal B or C bit for bit. Then it commits again after the cut (that commit must succeed and
 * restore to C) and cuts once more inside that second commit (double cut).
 *
 * Results ("@es" lines): "cuts", "survived", "restored_old", "restored_new", "recommit_ok",
 * "double_cuts", "double_survived", "commit.erases", "commit.programs", "nor_violations",
 * "double_programs", and "error" on anything unexpected.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edgesdk/port.h"
#include "edgesdk/store.h"
#include "edgesdk/swap_sim.h"

#define MAX_REGION (1u << 18)

static uint8_t memory[MAX_REGION];
static uint8_t after_b[MAX_REGION];
static uint8_t programmed[MAX_REGION / 8u + 1u];
static uint32_t sim_erases[MAX_REGION];
static uint8_t image[3][MAX_REGION / 2u];
static uint8_t back[MAX_REGION / 2u];
static uint8_t before[MAX_REGION];

static es_swap_device device;
static es_swap_sim sim;
static es_store store;
static uint32_t region, sector, unit, image_bytes;
static uint32_t nor_violations, double_programs;

static void die(const char *what)
{
    es_report_str("error", what);
    es_port_exit(1);
}

/* Power on: the device over the same memory (faults, counts and the programmed map start
 * afresh: the map marks every unit as programmed until it is erased), the store opened. */
static void boot(void)
{
    nor_violations += sim.nor_violations;
    double_programs += sim.double_programs;
    if (es_swap_sim_init_memory(&device, &sim, memory, region, sector, unit, sim_erases, programmed) !=
        ES_SWAP_OK) {
        die("sim init");
    }
    if (es_store_open(&store, &device) != ES_OK) {
        die("es_store_open");
    }
}

/* 0: restored image `old`, 1: image `fresh`, -1: neither (or nothing restored). */
static int restored(int old, int fresh)
{
    uint32_t len = 0u;
    if (es_store_restore(&store, back, sizeof back, &len) != ES_OK || len != image_bytes) {
        return -1;
    }
    if (memcmp(back, image[old], image_bytes) == 0) {
        return 0;
    }
    return memcmp(back, image[fresh], image_bytes) == 0 ? 1 : -1;
}

int main(int argc, char **argv)
{
    uint32_t seed;
    uint32_t programs, erases, cut, kind;
    uint32_t cuts = 0u, survived = 0u, old_count = 0u, new_count = 0u, recommit_ok = 0u;
    uint32_t double_cuts = 0u, double_survived = 0u;
    es_port_init();
    if (argc != 5) {
        die("usage: store_cut SECTOR_BYTES PROGRAM_BYTES IMAGE_BYTES SEED");
    }
    sector = (uint32_t)strtoul(argv[1], NULL, 10);
    unit = (uint32_t)strtoul(argv[2], NULL, 10);
    image_bytes = (uint32_t)strtoul(argv[3], NULL, 10);
    seed = (uint32_t)strtoul(argv[4], NULL, 10);
    region = es_store_required_bytes(image_bytes, sector, unit);
    if (region == 0u || region > MAX_REGION) {
        die("geometry");
    }
    for (uint32_t i = 0u; i < 3u; ++i) {
        for (uint32_t b = 0u; b < image_bytes; ++b) {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            image[i][b] = (uint8_t)seed;
        }
    }
    memset(memory, 0x00, region); /* a device that was never erased */
    boot();
    if (store.newest != -1 || es_store_commit(&store, image[0], image_bytes) != ES_OK ||
        es_store_commit(&store, image[1], image_bytes) != ES_OK) {
        die("commit A, B");
    }
    memcpy(after_b, memory, region);
    boot();
    if (restored(0, 1) != 1) {
        die("B not restored");
    }
    /* an uncut commit of C: how many erases and programs it makes */
    if (es_store_commit(&store, image[2], image_bytes) != ES_OK) {
        die("commit C");
    }
    programs = sim.programs;
    erases = sim.erases;
    es_report_u64("commit.erases", erases);
    es_report_u64("commit.programs", programs);

    for (kind = 0u; kind < 2u; ++kind) { /* 0: cut at an erase, 1: at a program */
        const uint32_t count = kind == 0u ? erases : programs;
        for (cut = 1u; cut <= count; ++cut) {
            int got;
            memcpy(memory, after_b, region);
            boot();
            if (kind == 0u) {
                sim.faults.fail_erase_at = cut;
            } else {
                sim.faults.fail_program_at = cut;
            }
            cuts += 1u;
            if (es_store_commit(&store, image[2], image_bytes) == ES_OK) {
                die("a cut commit returned ES_OK");
            }
            boot(); /* the power comes back */
            got = restored(1, 2);
            survived += got >= 0 ? 1u : 0u;
            old_count += got == 0 ? 1u : 0u;
            new_count += got == 1 ? 1u : 0u;
            /* commit C again after the cut, and cut that one once, half-way through */
            {
                memcpy(before, memory, region);
                if (es_store_commit(&store, image[2], image_bytes) == ES_OK) {
                    boot();
                    recommit_ok += restored(1, 2) == 1 ? 1u : 0u;
                }
                memcpy(memory, before, region);
                boot();
                {
                    const int expect_old = restored(1, 2);
                    sim.faults.fail_program_at = (programs + 1u) / 2u;
                    double_cuts += 1u;
                    (void)es_store_commit(&store, image[2], image_bytes);
                    boot();
                    got = restored(1, 2);
                    double_survived += got >= 0 && got >= expect_old ? 1u : 0u;
                }
            }
        }
    }
    boot();
    es_report_u64("cuts", cuts);
    es_report_u64("survived", survived);
    es_report_u64("restored_old", old_count);
    es_report_u64("restored_new", new_count);
    es_report_u64("recommit_ok", recommit_ok);
    es_report_u64("double_cuts", double_cuts);
    es_report_u64("double_survived", double_survived);
    es_report_u64("nor_violations", nor_violations);
    es_report_u64("double_programs", double_programs);
    return 0;
}
