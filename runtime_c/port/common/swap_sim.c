/*
 * swap_sim.c -- the simulated NOR device of edgesdk/swap_sim.h: the NOR rules, the checks and
 * the fault injection, over a backend's load/store, plus the memory backend. Portable C (every
 * port compiles it; firmware that does not use it loses it to --gc-sections).
 */
#include "edgesdk/swap_sim.h"

#include <string.h>

#define ES_SIM_CHUNK 64u /* bytes handled per backend call */

/* ---- bookkeeping ------------------------------------------------------------------------ */

static int in_range(const es_swap_sim *sim, uint32_t offset, uint32_t len)
{
    return (uint64_t)offset + len <= sim->size_bytes;
}

static void mark_units(es_swap_sim *sim, uint32_t offset, uint32_t len, int programmed)
{
    uint32_t unit;
    if (sim->programmed == NULL) {
        return;
    }
    for (unit = offset / sim->program_bytes; unit < (offset + len) / sim->program_bytes; ++unit) {
        uint8_t bit = (uint8_t)(1u << (unit & 7u));
        if (programmed) {
            sim->programmed[unit >> 3] = (uint8_t)(sim->programmed[unit >> 3] | bit);
        } else {
            sim->programmed[unit >> 3] = (uint8_t)(sim->programmed[unit >> 3] & ~bit);
        }
    }
}

static int any_unit_programmed(const es_swap_sim *sim, uint32_t offset, uint32_t len)
{
    uint32_t unit;
    if (sim->programmed == NULL) {
        return 0;
    }
    for (unit = offset / sim->program_bytes; unit < (offset + len) / sim->program_bytes; ++unit) {
        if ((sim->programmed[unit >> 3] >> (unit & 7u)) & 1u) {
            return 1;
        }
    }
    return 0;
}

static int32_t fill_erased(es_swap_sim *sim, uint32_t offset, uint32_t len)
{
    uint8_t ones[ES_SIM_CHUNK];
    memset(ones, 0xFF, sizeof(ones));
    while (len > 0u) {
        uint32_t run = len < ES_SIM_CHUNK ? len : ES_SIM_CHUNK;
        int32_t status = sim->store(sim, offset, ones, run);
        if (status != ES_SWAP_OK) {
            return status;
        }
        offset += run;
        len -= run;
    }
    return ES_SWAP_OK;
}

/* ---- the device functions --------------------------------------------------------------- */

static int32_t sim_read(void *ctx, uint32_t offset, void *buf, uint32_t len)
{
    es_swap_sim *sim = (es_swap_sim *)ctx;
    int32_t status;
    sim->reads += 1u;
    if (buf == NULL || !in_range(sim, offset, len)) {
        return ES_SWAP_ERR_RANGE;
    }
    if (sim->reads == sim->faults.fail_read_at) {
        sim->faults_injected += 1u;
        return ES_SWAP_ERR_FAULT;
    }
    status = sim->load(sim, offset, (uint8_t *)buf, len);
    if (status != ES_SWAP_OK) {
        return status;
    }
    if (sim->reads == sim->faults.flip_read_at && len > 0u) {
        uint32_t bit = sim->faults.flip_bit % (8u * len);
        uint8_t *bytes = (uint8_t *)buf;
        bytes[bit >> 3] = (uint8_t)(bytes[bit >> 3] ^ (1u << (bit & 7u)));
        sim->faults_injected += 1u;
    }
    sim->bytes_read += len;
    return ES_SWAP_OK;
}

static int32_t sim_program(void *ctx, uint32_t offset, const void *buf, uint32_t len)
{
    es_swap_sim *sim = (es_swap_sim *)ctx;
    const uint8_t *src = (const uint8_t *)buf;
    uint8_t old[ES_SIM_CHUNK];
    uint32_t done = 0u;
    uint32_t limit = len;
    int violation = 0;
    int twice;
    int torn;

    sim->programs += 1u;
    if (buf == NULL || !in_range(sim, offset, len)) {
        return ES_SWAP_ERR_RANGE;
    }
    if (offset % sim->program_bytes != 0u || len % sim->program_bytes != 0u) {
        return ES_SWAP_ERR_ALIGN;
    }
    torn = sim->programs == sim->faults.fail_program_at;
    if (torn) {
        limit = (len / sim->program_bytes / 2u) * sim->program_bytes;
        sim->faults_injected += 1u;
    }
    twice = any_unit_programmed(sim, offset, limit);
    while (done < limit) {
        uint32_t run = limit - done < ES_SIM_CHUNK ? limit - done : ES_SIM_CHUNK;
        uint32_t i;
        int32_t status = sim->load(sim, offset + done, old, run);
        if (status != ES_SWAP_OK) {
            return status;
        }
        for (i = 0u; i < run; ++i) {
            uint8_t want = src[done + i];
            if ((uint8_t)(want & ~old[i]) != 0u) {
                violation = 1;
            }
            old[i] = (uint8_t)(old[i] & want);
        }
        status = sim->store(sim, offset + done, old, run);
        if (status != ES_SWAP_OK) {
            return status;
        }
        done += run;
    }
    mark_units(sim, offset, limit, 1);
    sim->bytes_programmed += limit;
    if (violation) {
        sim->nor_violations += 1u;
    }
    if (twice) {
        sim->double_programs += 1u;
    }
    if (torn) {
        return ES_SWAP_ERR_FAULT;
    }
    if (violation) {
        return ES_SWAP_ERR_NOR;
    }
    return twice ? ES_SWAP_ERR_TWICE : ES_SWAP_OK;
}

static int32_t sim_erase(void *ctx, uint32_t sector)
{
    es_swap_sim *sim = (es_swap_sim *)ctx;
    uint32_t offset;
    uint32_t len = sim->sector_bytes;
    int torn;
    int32_t status;

    sim->erases += 1u;
    if (sector >= sim->size_bytes / sim->sector_bytes) {
        return ES_SWAP_ERR_RANGE;
    }
    if (sim->endurance != 0u && sim->sector_erases[sector] >= sim->endurance) {
        return ES_SWAP_ERR_WORN;
    }
    offset = sector * sim->sector_bytes;
    torn = sim->erases == sim->faults.fail_erase_at;
    if (torn) {
        len = (sim->sector_bytes / sim->program_bytes / 2u) * sim->program_bytes;
        sim->faults_injected += 1u;
    }
    sim->sector_erases[sector] += 1u;
    status = fill_erased(sim, offset, len);
    if (status != ES_SWAP_OK) {
        return status;
    }
    mark_units(sim, offset, len, 0);
    return torn ? ES_SWAP_ERR_FAULT : ES_SWAP_OK;
}

/* ---- set-up and the memory backend ------------------------------------------------------ */

int32_t es_swap_sim_setup(es_swap_device *device, es_swap_sim *sim, uint32_t size_bytes,
                          uint32_t sector_bytes, uint32_t program_bytes, uint32_t *sector_erases,
                          uint8_t *programmed)
{
    if (device == NULL || sim == NULL || sector_erases == NULL || sector_bytes == 0u ||
        size_bytes == 0u || size_bytes % sector_bytes != 0u || program_bytes == 0u ||
        (program_bytes & (program_bytes - 1u)) != 0u || sector_bytes % program_bytes != 0u) {
        return ES_SWAP_ERR_RANGE;
    }
    memset(sim, 0, sizeof(*sim));
    sim->size_bytes = size_bytes;
    sim->sector_bytes = sector_bytes;
    sim->program_bytes = program_bytes;
    sim->sector_erases = sector_erases;
    sim->programmed = programmed;
    memset(sector_erases, 0, sizeof(*sector_erases) * (size_bytes / sector_bytes));
    if (programmed != NULL) {
        memset(programmed, 0xFF, (size_bytes / program_bytes + 7u) / 8u);
    }
    device->ctx = sim;
    device->size_bytes = size_bytes;
    device->sector_bytes = sector_bytes;
    device->program_bytes = program_bytes;
    device->read = sim_read;
    device->program = sim_program;
    device->erase = sim_erase;
    return ES_SWAP_OK;
}

static int32_t memory_load(es_swap_sim *sim, uint32_t offset, uint8_t *buf, uint32_t len)
{
    memcpy(buf, sim->memory + offset, len);
    return ES_SWAP_OK;
}

static int32_t memory_store(es_swap_sim *sim, uint32_t offset, const uint8_t *buf, uint32_t len)
{
    memcpy(sim->memory + offset, buf, len);
    return ES_SWAP_OK;
}

int32_t es_swap_sim_init_memory(es_swap_device *device, es_swap_sim *sim, uint8_t *memory,
                                uint32_t size_bytes, uint32_t sector_bytes, uint32_t program_bytes,
                                uint32_t *sector_erases, uint8_t *programmed)
{
    int32_t status;
    if (memory == NULL) {
        return ES_SWAP_ERR_RANGE;
    }
    status = es_swap_sim_setup(device, sim, size_bytes, sector_bytes, program_bytes, sector_erases,
                               programmed);
    if (status != ES_SWAP_OK) {
        return status;
    }
    sim->memory = memory;
    sim->load = memory_load;
    sim->store = memory_store;
    return ES_SWAP_OK;
}
