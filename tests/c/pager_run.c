/*
 * pager_run.c -- replays a pager scenario on a simulated NOR device and reports what happened,
 * for tests/test_pager*.py (which compare it with edgesdk.codegen.pager_model).
 *
 *   host:  pager_run SCENARIO [IMAGE]   scenario file; IMAGE = path for the file backend
 *   QEMU:  compiled with -DPAGER_SCENARIO_INC="file.inc" holding the same numbers, comma-separated
 *
 * A scenario is a list of unsigned integers (tests/test_pager.py writes them):
 *
 *   2                                            format version
 *   region sector program flags backend scratch endurance report_sectors
 *   fail_read fail_program fail_erase flip_read flip_bit
 *   journal_sectors journal_sector_bytes         0 0: no wear journal
 *   journal_fail_program journal_fail_erase      faults of the journal device (call numbers, 0 never)
 *   slot_count slot_bytes[slot_count]
 *   op_count (kind slot len)[op_count]           kind 0 page-out, 1 page-in, 2 drop, 3 end of step,
 *                                                4 reboot (es_pager_init again, flash kept)
 *
 * The journal is a second simulated device (program unit as the swap device's) over memory
 * filled with 0x00 (never erased). A reboot re-initializes the pager; both devices keep their
 * bytes, wear accounts and programmed-unit maps (the physical state: a unit programmed before
 * the reboot and programmed again before an erase is caught); the step counters restart.
 *
 * backend: 0 memory filled with 0xFF, 1 memory filled with 0x00 (never erased), 2 file (host).
 * Page-out data is a pseudo-random function of (slot, generation, index); page-in data is
 * compared with what the slot's last successful page-out wrote.
 *
 * Results ("@es" lines): init status; one "fail" line [op, status, error, device_status] per
 * call that did not return ES_OK; per step "step" = [bytes read, bytes programmed, bytes
 * relocated, erases, page-outs, page-ins, relocations], "step.calls" = the device calls so far
 * [reads, programs, erases] and, if report_sectors, "step.sectors" = the erases of each sector
 * in that step; at the end the totals, "sectors" (the pager's
 * sector_erases), "sim.sectors" (the device's own wear count), the simulation's account
 * (NOR violations, double programs, injected faults) and "data_errors"/"bit_errors" of the
 * page-ins that returned ES_OK but delivered other bytes than were paged out.
 */
#include <string.h>

#include "edgesdk/pager.h"
#include "edgesdk/port.h"
#include "edgesdk/swap_sim.h"

#if defined(ES_PORT_HOST)
#include <stdio.h>
#include <stdlib.h>
#endif

/* ---- input and memory --------------------------------------------------------------------- */

#if defined(PAGER_SCENARIO_INC)
static const uint32_t scenario[] = {
#include PAGER_SCENARIO_INC
};
static uint32_t scenario_at;

static int next_u32(uint32_t *value)
{
    if (scenario_at >= sizeof(scenario) / sizeof(scenario[0])) {
        return 0;
    }
    *value = scenario[scenario_at++];
    return 1;
}

#ifndef PAGER_POOL_BYTES
#define PAGER_POOL_BYTES 65536u
#endif
static uint32_t pool_words[PAGER_POOL_BYTES / 4u];
static uint32_t pool_used;

static void *take(uint32_t bytes) /* bump allocation from a static pool, 4-byte aligned */
{
    uint32_t words = (bytes + 3u) / 4u;
    if (pool_used + words > PAGER_POOL_BYTES / 4u) {
        return NULL;
    }
    pool_used += words;
    return &pool_words[pool_used - words];
}

static void give_back(void *memory, uint32_t bytes) /* only the last allocation */
{
    if (memory == &pool_words[pool_used - (bytes + 3u) / 4u]) {
        pool_used -= (bytes + 3u) / 4u;
    }
}
#else
static FILE *scenario_file;

static int next_u32(uint32_t *value)
{
    unsigned long read_value;
    if (fscanf(scenario_file, "%lu", &read_value) != 1) {
        return 0;
    }
    *value = (uint32_t)read_value;
    return 1;
}

static void *take(uint32_t bytes) /* exact sizes, so ASan sees one byte too far */
{
    return malloc(bytes == 0u ? 1u : bytes);
}

static void give_back(void *memory, uint32_t bytes)
{
    (void)bytes;
    free(memory);
}
#endif

/* ---- data ----------------------------------------------------------------------------- */

static uint8_t pattern(uint32_t slot, uint32_t generation, uint32_t index)
{
    uint32_t x = slot * 0x9E3779B1u ^ generation * 0x85EBCA77u ^ index * 0xC2B2AE3Du;
    x ^= x >> 15;
    x *= 0x2C1B3C6Du;
    x ^= x >> 12;
    return (uint8_t)(x >> 8);
}

#define MAX_SLOTS 256u
#define STEP_FIELDS 7u

static uint32_t slot_bytes[MAX_SLOTS];
static es_pager_slot slot_state[MAX_SLOTS];
static uint32_t generation[MAX_SLOTS];   /* page-outs issued per slot */
static uint32_t held[MAX_SLOTS];         /* generation of the copy that should be there, 0 = none */
static uint32_t held_length[MAX_SLOTS];

static void report_step(const es_pager *pager, const es_pager_counters *before,
                        const uint32_t *sectors_before, int32_t *delta, const es_swap_sim *sim)
{
    int32_t fields[STEP_FIELDS];
    int32_t calls[3];
    const es_pager_counters *now = &pager->counters;
    uint32_t s;
    fields[0] = (int32_t)(now->bytes_read - before->bytes_read);
    fields[1] = (int32_t)(now->bytes_programmed - before->bytes_programmed);
    fields[2] = (int32_t)(now->bytes_relocated - before->bytes_relocated);
    fields[3] = (int32_t)(now->erases - before->erases);
    fields[4] = (int32_t)(now->page_outs - before->page_outs);
    fields[5] = (int32_t)(now->page_ins - before->page_ins);
    fields[6] = (int32_t)(now->relocations - before->relocations);
    es_report_i32_array("step", fields, STEP_FIELDS);
    calls[0] = (int32_t)sim->reads;
    calls[1] = (int32_t)sim->programs;
    calls[2] = (int32_t)sim->erases;
    es_report_i32_array("step.calls", calls, 3u);
    if (delta != NULL) {
        for (s = 0u; s < pager->sectors; ++s) {
            delta[s] = (int32_t)(pager->config.sector_erases[s] - sectors_before[s]);
        }
        es_report_i32_array("step.sectors", delta, pager->sectors);
    }
}

static void report_fail(uint32_t op, es_status status, const es_pager *pager)
{
    int32_t fields[4];
    fields[0] = (int32_t)op;
    fields[1] = (int32_t)status;
    fields[2] = (int32_t)pager->error;
    fields[3] = pager->device_status;
    es_report_i32_array("fail", fields, 4u);
}

/* ---- the run ---------------------------------------------------------------------------- */

/* Everything the run allocates, kept reachable (the host build runs under LeakSanitizer). */
static struct {
    uint8_t *memory;
    uint32_t *sector_erases;
    uint32_t *sectors_before;
    uint32_t *sim_erases;
    int32_t *delta;
    uint8_t *programmed;
    uint8_t *scratch;
    uint8_t *journal_memory;
    uint8_t *journal_programmed;
    uint32_t *journal_erases;
} buffers;

static int read_header(uint32_t *header, uint32_t count)
{
    uint32_t i;
    for (i = 0u; i < count; ++i) {
        if (!next_u32(&header[i])) {
            return 0;
        }
    }
    return 1;
}

enum { H_VERSION, H_REGION, H_SECTOR, H_PROGRAM, H_FLAGS, H_BACKEND, H_SCRATCH, H_ENDURANCE,
       H_SECTORS, H_FAIL_READ, H_FAIL_PROGRAM, H_FAIL_ERASE, H_FLIP_READ, H_FLIP_BIT,
       H_JOURNAL_SECTORS, H_JOURNAL_SECTOR, H_JOURNAL_FAIL_PROGRAM, H_JOURNAL_FAIL_ERASE, H_SLOT_COUNT, H_COUNT };

static void replay_op(es_pager *pager, uint32_t index, uint32_t kind, uint32_t slot, uint32_t len,
                      uint64_t *data_errors, uint64_t *bit_errors)
{
    es_status result;
    uint8_t *data;
    uint32_t k;
    if (kind == 2u) {
        result = es_pager_drop(pager, slot);
        if (result == ES_OK && slot < MAX_SLOTS) {
            held[slot] = 0u;
        }
        if (result != ES_OK) {
            report_fail(index, result, pager);
        }
        return;
    }
    data = (uint8_t *)take(len);
    if (data == NULL) {
        es_report_str("error", "out of memory for data");
        return;
    }
    if (kind == 0u) {
        uint32_t gen = slot < MAX_SLOTS ? ++generation[slot] : 0u;
        for (k = 0u; k < len; ++k) {
            data[k] = pattern(slot, gen, k);
        }
        result = es_pager_page_out(pager, slot, data, len);
        if (slot < MAX_SLOTS) {
            held[slot] = result == ES_OK ? gen : 0u;
            held_length[slot] = len;
        }
    } else {
        memset(data, 0x5A, len);
        result = es_pager_page_in(pager, slot, data, len);
        if (result == ES_OK) {
            uint32_t wrong = 0u;
            int known = slot < MAX_SLOTS && held[slot] != 0u && held_length[slot] == len;
            for (k = 0u; k < len; ++k) {
                uint8_t want = known ? pattern(slot, held[slot], k) : (uint8_t)~data[k];
                uint8_t diff = (uint8_t)(want ^ data[k]);
                wrong += diff != 0u;
                while (diff != 0u) {
                    *bit_errors += diff & 1u;
                    diff = (uint8_t)(diff >> 1);
                }
            }
            *data_errors += wrong != 0u;
        }
    }
    if (result != ES_OK) {
        report_fail(index, result, pager);
    }
    give_back(data, len);
}

static int run(const char *image_path)
{
    uint32_t h[H_COUNT];
    uint32_t op_count, sectors, i;
    es_swap_device device;
    es_swap_sim sim;
    es_pager pager;
    es_pager_config config;
    es_pager_counters before;
    es_swap_device journal_device;
    es_swap_sim journal_sim;
    uint32_t journal_bytes = 0u;
    uint64_t data_errors = 0u;
    uint64_t bit_errors = 0u;
    int32_t status;
    es_status result;

    if (!read_header(h, H_COUNT) || h[H_VERSION] != 2u || h[H_SLOT_COUNT] > MAX_SLOTS ||
        h[H_SECTOR] == 0u || h[H_PROGRAM] == 0u) {
        es_report_str("error", "bad scenario header");
        return 2;
    }
    for (i = 0u; i < h[H_SLOT_COUNT]; ++i) {
        if (!next_u32(&slot_bytes[i])) {
            es_report_str("error", "bad slot table");
            return 2;
        }
    }
    sectors = h[H_REGION] / h[H_SECTOR];
    buffers.sector_erases = (uint32_t *)take(4u * sectors);
    buffers.sectors_before = (uint32_t *)take(4u * sectors);
    buffers.sim_erases = (uint32_t *)take(4u * sectors);
    buffers.delta = (int32_t *)take(4u * sectors);
    buffers.programmed = (uint8_t *)take((h[H_REGION] / h[H_PROGRAM] + 7u) / 8u);
    buffers.scratch = (uint8_t *)take(h[H_SCRATCH]);
    buffers.memory = h[H_BACKEND] == 2u ? NULL : (uint8_t *)take(h[H_REGION]);
    if (buffers.sector_erases == NULL || buffers.sectors_before == NULL ||
        buffers.sim_erases == NULL || buffers.delta == NULL || buffers.programmed == NULL ||
        buffers.scratch == NULL || (h[H_BACKEND] != 2u && buffers.memory == NULL)) {
        es_report_str("error", "out of memory");
        return 2;
    }
    if (h[H_BACKEND] == 2u) {
#if defined(ES_PORT_HOST)
        status = es_swap_sim_init_file(&device, &sim, image_path, 0x00u, h[H_REGION], h[H_SECTOR],
                                       h[H_PROGRAM], buffers.sim_erases, buffers.programmed);
#else
        (void)image_path;
        status = ES_SWAP_ERR_FILE;
#endif
    } else {
        memset(buffers.memory, h[H_BACKEND] == 1u ? 0x00 : 0xFF, h[H_REGION]);
        status = es_swap_sim_init_memory(&device, &sim, buffers.memory, h[H_REGION], h[H_SECTOR],
                                         h[H_PROGRAM], buffers.sim_erases, buffers.programmed);
    }
    es_report_i64("sim.init", status);
    if (status != ES_SWAP_OK) {
        return 3;
    }
    sim.endurance = h[H_ENDURANCE];
    sim.faults.fail_read_at = h[H_FAIL_READ];
    sim.faults.fail_program_at = h[H_FAIL_PROGRAM];
    sim.faults.fail_erase_at = h[H_FAIL_ERASE];
    sim.faults.flip_read_at = h[H_FLIP_READ];
    sim.faults.flip_bit = h[H_FLIP_BIT];

    config.device = &device;
    config.slot_bytes = slot_bytes;
    config.slot_count = h[H_SLOT_COUNT];
    config.slots = slot_state;
    config.sector_erases = buffers.sector_erases;
    config.scratch = buffers.scratch;
    config.scratch_bytes = h[H_SCRATCH];
    config.flags = h[H_FLAGS];
    config.journal = NULL;
    if (h[H_JOURNAL_SECTORS] != 0u) {
        journal_bytes = h[H_JOURNAL_SECTORS] * h[H_JOURNAL_SECTOR];
        buffers.journal_memory = (uint8_t *)take(journal_bytes);
        buffers.journal_programmed = (uint8_t *)take((journal_bytes / h[H_PROGRAM] + 7u) / 8u);
        buffers.journal_erases = (uint32_t *)take(4u * h[H_JOURNAL_SECTORS]);
        if (buffers.journal_memory == NULL || buffers.journal_programmed == NULL ||
            buffers.journal_erases == NULL) {
            es_report_str("error", "out of memory for the journal");
            return 2;
        }
        memset(buffers.journal_memory, 0x00, journal_bytes);
        if (es_swap_sim_init_memory(&journal_device, &journal_sim, buffers.journal_memory, journal_bytes,
                                    h[H_JOURNAL_SECTOR], h[H_PROGRAM], buffers.journal_erases,
                                    buffers.journal_programmed) != ES_SWAP_OK) {
            es_report_str("error", "journal geometry");
            return 2;
        }
        journal_sim.faults.fail_program_at = h[H_JOURNAL_FAIL_PROGRAM];
        journal_sim.faults.fail_erase_at = h[H_JOURNAL_FAIL_ERASE];
        config.journal = &journal_device;
    }
    es_report_u64("required", es_pager_required_bytes(slot_bytes, h[H_SLOT_COUNT], h[H_SECTOR],
                                                      h[H_PROGRAM]));
    result = es_pager_init(&pager, &config);
    es_report_i64("init", result);
    es_report_str("init.error", es_pager_error_name(pager.error));
    if (result != ES_OK || !next_u32(&op_count)) {
        return result != ES_OK ? 0 : 2;
    }

    before = pager.counters;
    memcpy(buffers.sectors_before, buffers.sector_erases, 4u * sectors);
    for (i = 0u; i < op_count; ++i) {
        uint32_t kind, slot, len;
        if (!next_u32(&kind) || !next_u32(&slot) || !next_u32(&len)) {
            es_report_str("error", "truncated ops");
            return 2;
        }
        if (kind == 4u) { /* reboot: the flash keeps its bytes, RAM state starts over */
            result = es_pager_init(&pager, &config);
            if (result != ES_OK) {
                report_fail(i, result, &pager);
            }
            before = pager.counters;
            memcpy(buffers.sectors_before, buffers.sector_erases, 4u * sectors);
            es_report_u64("reboot.head", pager.head);
        } else if (kind == 3u) {
            report_step(&pager, &before, buffers.sectors_before, h[H_SECTORS] ? buffers.delta : NULL,
                        &sim);
            before = pager.counters;
            memcpy(buffers.sectors_before, buffers.sector_erases, 4u * sectors);
        } else {
            replay_op(&pager, i, kind, slot, len, &data_errors, &bit_errors);
        }
    }

    es_report_u64("bytes_read", pager.counters.bytes_read);
    es_report_u64("bytes_programmed", pager.counters.bytes_programmed);
    es_report_u64("bytes_relocated", pager.counters.bytes_relocated);
    es_report_u64("erases", pager.counters.erases);
    es_report_u64("page_outs", pager.counters.page_outs);
    es_report_u64("page_ins", pager.counters.page_ins);
    es_report_u64("relocations", pager.counters.relocations);
    es_report_u64("head", pager.head);
    es_report_u64("free", pager.free_bytes);
    for (i = 0u; i < sectors; ++i) {
        buffers.delta[i] = (int32_t)buffers.sector_erases[i];
    }
    es_report_i32_array("sectors", buffers.delta, sectors);
    for (i = 0u; i < sectors; ++i) {
        buffers.delta[i] = (int32_t)buffers.sim_erases[i];
    }
    es_report_i32_array("sim.sectors", buffers.delta, sectors);
    es_report_u64("sim.bytes_read", sim.bytes_read);
    es_report_u64("sim.bytes_programmed", sim.bytes_programmed);
    es_report_u64("sim.nor_violations", sim.nor_violations);
    es_report_u64("sim.double_programs", sim.double_programs);
    es_report_u64("sim.faults_injected", sim.faults_injected);
    if (config.journal != NULL) {
        es_report_u64("journal.records", pager.journal_records);
        es_report_u64("journal.lifetime_erases", pager.lifetime_erases);
        es_report_u64("journal.sim.erases", journal_sim.erases);
        es_report_u64("journal.sim.nor_violations", journal_sim.nor_violations);
        es_report_u64("journal.sim.double_programs", journal_sim.double_programs);
    }
    es_report_u64("data_errors", data_errors);
    es_report_u64("bit_errors", bit_errors);
#if defined(ES_PORT_HOST)
    if (h[H_BACKEND] == 2u) {
        es_report_i64("sim.close", es_swap_sim_close_file(&sim));
    }
#endif
    return 0;
}

#if defined(PAGER_SCENARIO_INC)
int main(void)
{
    int code;
    es_port_init();
    code = run(NULL);
    es_report_port();
    return code;
}
#else
int main(int argc, char **argv)
{
    int code;
    es_port_init();
    if (argc < 2 || (scenario_file = fopen(argv[1], "r")) == NULL) {
        es_report_str("error", "usage: pager_run SCENARIO [IMAGE]");
        return 2;
    }
    code = run(argc > 2 ? argv[2] : NULL);
    fclose(scenario_file);
    es_report_port();
    return code;
}
#endif
