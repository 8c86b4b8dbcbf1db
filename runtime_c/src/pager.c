/*
 * pager.c -- the flash pager (edgesdk/pager.h): a circular log over a swap device with
 * relocation ahead of the erase frontier. The algorithm and its invariants are stated in the
 * header and proved in docs/pager.md; edgesdk/codegen/pager_model.py is the same algorithm in
 * Python and must stay step for step identical (the tests compare every counter).
 */
#include "edgesdk/pager.h"

#include <string.h>

#define ES_PAGER_VERIFY_CHUNK 32u /* bytes read back per device call when verifying */

/* ---- small helpers ---------------------------------------------------------------------- */

static uint32_t align_up(uint32_t n, uint32_t unit)
{
    return (n + unit - 1u) & ~(unit - 1u);
}

/* (offset + delta) modulo size, for offset < size and delta <= size. */
static uint32_t wrap(uint32_t offset, uint32_t delta, uint32_t size)
{
    uint64_t sum = (uint64_t)offset + delta;
    return (uint32_t)(sum >= size ? sum - size : sum);
}

static es_status fail(es_pager *pager, es_status status, es_pager_error error)
{
    pager->error = error;
    pager->device_status = ES_SWAP_OK;
    return status;
}

static es_status device_failed(es_pager *pager, int32_t device_status, uint32_t where)
{
    fail(pager, ES_ERR_IO, ES_PAGER_E_DEVICE);
    pager->device_status = device_status;
    pager->error_offset = where;
    return ES_ERR_IO;
}

/* CRC-32 (IEEE 802.3, reflected 0xEDB88320), four bits at a time: a 64-byte table. */
static uint32_t crc32(const uint8_t *data, uint32_t len)
{
    static const uint32_t table[16] = {
        0x00000000u, 0x1DB71064u, 0x3B6E20C8u, 0x26D930ACu, 0x76DC4190u, 0x6B6B51F4u,
        0x4DB26158u, 0x5005713Cu, 0xEDB88320u, 0xF00F9344u, 0xD6D6A3E8u, 0xCB61B38Cu,
        0x9B64C2B0u, 0x86D3D2D4u, 0xA00AE278u, 0xBDBDF21Cu};
    uint32_t crc = 0xFFFFFFFFu;
    uint32_t i;
    for (i = 0u; i < len; ++i) {
        crc ^= data[i];
        crc = (crc >> 4) ^ table[crc & 15u];
        crc = (crc >> 4) ^ table[crc & 15u];
    }
    return ~crc;
}

/* ---- device access: wrap at the end of the device, count every byte ---------------------- */

static es_status device_read(es_pager *pager, uint32_t offset, uint8_t *buf, uint32_t len)
{
    const es_swap_device *device = pager->config.device;
    while (len > 0u) {
        uint32_t run = device->size_bytes - offset;
        int32_t status;
        if (run > len) {
            run = len;
        }
        status = device->read(device->ctx, offset, buf, run);
        if (status != ES_SWAP_OK) {
            return device_failed(pager, status, offset);
        }
        pager->counters.bytes_read += run;
        buf += run;
        len -= run;
        offset = wrap(offset, run, device->size_bytes);
    }
    return ES_OK;
}

/* Read back [offset, offset + len) and compare it with src. */
static es_status verify(es_pager *pager, uint32_t offset, const uint8_t *src, uint32_t len)
{
    uint8_t back[ES_PAGER_VERIFY_CHUNK];
    while (len > 0u) {
        uint32_t run = len < ES_PAGER_VERIFY_CHUNK ? len : ES_PAGER_VERIFY_CHUNK;
        uint32_t i;
        ES_TRY(device_read(pager, offset, back, run));
        for (i = 0u; i < run; ++i) {
            if (back[i] != src[i]) {
                pager->error_offset = wrap(offset, i, pager->config.device->size_bytes);
                return fail(pager, ES_ERR_IO, ES_PAGER_E_VERIFY);
            }
        }
        src += run;
        len -= run;
        offset = wrap(offset, run, pager->config.device->size_bytes);
    }
    return ES_OK;
}

/* Program len bytes (a multiple of program_bytes) at offset, then verify if asked to. */
static es_status device_program(es_pager *pager, uint32_t offset, const uint8_t *src, uint32_t len)
{
    const es_swap_device *device = pager->config.device;
    uint32_t at = offset;
    const uint8_t *from = src;
    uint32_t left = len;
    while (left > 0u) {
        uint32_t run = device->size_bytes - at;
        int32_t status;
        if (run > left) {
            run = left;
        }
        status = device->program(device->ctx, at, from, run);
        if (status != ES_SWAP_OK) {
            return device_failed(pager, status, at);
        }
        pager->counters.bytes_programmed += run;
        from += run;
        left -= run;
        at = wrap(at, run, device->size_bytes);
    }
    if ((pager->config.flags & ES_PAGER_VERIFY) != 0u) {
        return verify(pager, offset, src, len);
    }
    return ES_OK;
}

/* The bytes [head, head + len) are used (programmed, or spoiled by a failed program). */
static void consume(es_pager *pager, uint32_t len)
{
    pager->head = wrap(pager->head, len, pager->config.device->size_bytes);
    pager->free_bytes -= len;
}

/* ---- the wear journal: E (lifetime erases) after every erase ------------------------------ */

#define JOURNAL_RECORD 8u /* E, ~E (little-endian); a record takes max(8, program unit) bytes */

static uint32_t journal_record_bytes(const es_swap_device *journal)
{
    return journal->program_bytes > JOURNAL_RECORD ? journal->program_bytes : JOURNAL_RECORD;
}

static es_status journal_failed(es_pager *pager, int32_t device_status, uint32_t where)
{
    fail(pager, ES_ERR_IO, ES_PAGER_E_JOURNAL);
    pager->device_status = device_status;
    pager->error_offset = where;
    return ES_ERR_IO;
}

static uint32_t le32(const uint8_t *at)
{
    return (uint32_t)at[0] | ((uint32_t)at[1] << 8) | ((uint32_t)at[2] << 16) | ((uint32_t)at[3] << 24);
}

/* Append the record of pager->lifetime_erases; the next sector of the ring is erased first when
 * the current one is full. A failed program spoils its record's place, never an older record. */
static es_status journal_append(es_pager *pager)
{
    const es_swap_device *journal = pager->config.journal;
    const uint32_t record = journal_record_bytes(journal);
    const uint32_t per_sector = journal->sector_bytes / record;
    uint8_t bytes[ES_PAGER_VERIFY_CHUNK];
    uint32_t value = pager->lifetime_erases;
    uint32_t at;
    uint32_t i;
    int32_t status;
    if (pager->journal_next >= per_sector) {
        const uint32_t next = (pager->journal_sector + 1u) % (journal->size_bytes / journal->sector_bytes);
        status = journal->erase(journal->ctx, next);
        if (status != ES_SWAP_OK) {
            return journal_failed(pager, status, next);
        }
        pager->journal_sector = next;
        pager->journal_next = 0u;
    }
    memset(bytes, 0xFF, record);
    for (i = 0u; i < 4u; ++i) {
        bytes[i] = (uint8_t)(value >> (8u * i));
        bytes[4u + i] = (uint8_t)(~value >> (8u * i));
    }
    at = pager->journal_sector * journal->sector_bytes + pager->journal_next * record;
    pager->journal_next += 1u;
    status = journal->program(journal->ctx, at, bytes, record);
    if (status != ES_SWAP_OK) {
        return journal_failed(pager, status, at);
    }
    pager->journal_records += 1u;
    return ES_OK;
}

/* Init: the newest valid record gives E; the next record goes to the first blank place after it
 * (a torn record is neither valid nor blank). No valid record: E = 0, journal sector 0 erased
 * before the first record. */
static es_status journal_scan(es_pager *pager)
{
    const es_swap_device *journal = pager->config.journal;
    const uint32_t record = journal_record_bytes(journal);
    const uint32_t per_sector = journal->sector_bytes / record;
    const uint32_t sectors = journal->size_bytes / journal->sector_bytes;
    uint8_t bytes[ES_PAGER_VERIFY_CHUNK];
    int found = 0;
    uint32_t best = 0u;
    uint32_t best_sector = 0u;
    uint32_t best_index = 0u;
    uint32_t s;
    uint32_t r;
    for (s = 0u; s < sectors; ++s) {
        for (r = 0u; r < per_sector; ++r) {
            const uint32_t at = s * journal->sector_bytes + r * record;
            const int32_t status = journal->read(journal->ctx, at, bytes, JOURNAL_RECORD);
            uint32_t value;
            if (status != ES_SWAP_OK) {
                return journal_failed(pager, status, at);
            }
            value = le32(bytes);
            if (value == ~le32(bytes + 4) && (!found || (int32_t)(value - best) > 0)) {
                found = 1;
                best = value;
                best_sector = s;
                best_index = r;
            }
        }
    }
    pager->lifetime_erases = best;
    pager->journal_sector = found ? best_sector : sectors - 1u;
    pager->journal_next = per_sector;
    if (!found) {
        return ES_OK;
    }
    for (r = best_index + 1u; r < per_sector; ++r) {
        const uint32_t at = best_sector * journal->sector_bytes + r * record;
        const int32_t status = journal->read(journal->ctx, at, bytes, record);
        int blank = 1;
        if (status != ES_SWAP_OK) {
            return journal_failed(pager, status, at);
        }
        for (s = 0u; s < record; ++s) {
            blank = blank && bytes[s] == 0xFFu;
        }
        if (blank) {
            pager->journal_next = r;
            break;
        }
    }
    return ES_OK;
}

/* ---- cleaning: relocate the live copies of the frontier sector, then erase it ------------- */

static es_status relocate(es_pager *pager, es_pager_slot *slot)
{
    const es_swap_device *device = pager->config.device;
    uint32_t unit = device->program_bytes;
    uint32_t size = align_up(slot->length, unit);
    uint32_t chunk = pager->config.scratch_bytes & ~(unit - 1u);
    uint32_t to = pager->head;
    uint32_t done = 0u;
    es_status status = ES_OK;

    if (pager->free_bytes < size) {
        return fail(pager, ES_ERR_IO, ES_PAGER_E_NO_ROOM);
    }
    while (done < size && status == ES_OK) {
        uint32_t run = size - done < chunk ? size - done : chunk;
        status = device_read(pager, wrap(slot->start, done, device->size_bytes),
                             pager->config.scratch, run);
        if (status == ES_OK) {
            status = device_program(pager, wrap(to, done, device->size_bytes),
                                    pager->config.scratch, run);
        }
        done += run;
    }
    consume(pager, done); /* on a failure: up to the end of the chunk that failed */
    if (status != ES_OK) {
        return status; /* the old copy is untouched and stays the slot's copy */
    }
    slot->start = to;
    pager->counters.bytes_relocated += size;
    pager->counters.relocations += 1u;
    return ES_OK;
}

/* The live copy with the lowest start in [lo, lo + sector), or NULL. */
static es_pager_slot *first_live_in(es_pager *pager, uint32_t lo)
{
    uint32_t hi = lo + pager->config.device->sector_bytes;
    es_pager_slot *best = NULL;
    uint32_t i;
    for (i = 0u; i < pager->config.slot_count; ++i) {
        es_pager_slot *slot = &pager->config.slots[i];
        if (slot->length != 0u && slot->start >= lo && slot->start < hi &&
            (best == NULL || slot->start < best->start)) {
            best = slot;
        }
    }
    return best;
}

static es_status clean_frontier(es_pager *pager)
{
    const es_swap_device *device = pager->config.device;
    uint32_t sector_bytes = device->sector_bytes;
    uint32_t frontier;
    uint32_t sector;
    es_pager_slot *slot;
    int32_t status;

    if (pager->free_bytes > device->size_bytes - sector_bytes) {
        return fail(pager, ES_ERR_IO, ES_PAGER_E_NO_ROOM); /* nothing left to clean */
    }
    frontier = wrap(pager->head, pager->free_bytes, device->size_bytes);
    sector = frontier / sector_bytes;
    while ((slot = first_live_in(pager, frontier)) != NULL) {
        ES_TRY(relocate(pager, slot));
    }
    status = device->erase(device->ctx, sector);
    if (status != ES_SWAP_OK) {
        return device_failed(pager, status, sector);
    }
    pager->config.sector_erases[sector] += 1u;
    pager->counters.erases += 1u;
    pager->lifetime_erases += 1u;
    pager->free_bytes += sector_bytes;
    if (pager->config.journal != NULL) {
        return journal_append(pager);
    }
    return ES_OK;
}

/* Clean until `need` bytes are erased ahead of head. A valid region never needs a whole sweep;
 * the limit turns a reserve spoiled by failures into ES_PAGER_E_NO_ROOM instead of a loop
 * that relocates the same copies round and round. */
static es_status make_room(es_pager *pager, uint32_t need)
{
    uint32_t cleaned = 0u;
    while (pager->free_bytes < need) {
        if (cleaned == pager->sectors) {
            return fail(pager, ES_ERR_IO, ES_PAGER_E_NO_ROOM);
        }
        ES_TRY(clean_frontier(pager));
        cleaned += 1u;
    }
    return ES_OK;
}

/* ---- public API --------------------------------------------------------------------------- */

uint32_t es_pager_required_bytes(const uint32_t *slot_bytes, uint32_t slot_count,
                                 uint32_t sector_bytes, uint32_t program_bytes)
{
    uint64_t total = 0u;
    uint64_t largest = 0u;
    uint64_t need;
    uint32_t i;
    if (slot_bytes == NULL || slot_count == 0u || sector_bytes == 0u || program_bytes == 0u ||
        (program_bytes & (program_bytes - 1u)) != 0u || sector_bytes % program_bytes != 0u) {
        return 0u;
    }
    for (i = 0u; i < slot_count; ++i) {
        uint64_t size = ((uint64_t)slot_bytes[i] + program_bytes - 1u) & ~(uint64_t)(program_bytes - 1u);
        if (slot_bytes[i] == 0u) {
            return 0u;
        }
        total += size;
        largest = size > largest ? size : largest;
    }
    need = total + largest + 2u * (uint64_t)sector_bytes - 2u * (uint64_t)program_bytes;
    return need > 0xFFFFFFFFu ? 0u : (uint32_t)need;
}

es_status es_pager_init(es_pager *pager, const es_pager_config *config)
{
    const es_swap_device *device;
    uint32_t required;
    uint32_t largest = 0u;
    uint32_t i;

    if (pager == NULL) {
        return ES_ERR_ARG;
    }
    memset(pager, 0, sizeof(*pager));
    if (config == NULL || config->device == NULL || config->slot_bytes == NULL ||
        config->slots == NULL || config->sector_erases == NULL || config->scratch == NULL) {
        return fail(pager, ES_ERR_ARG, ES_PAGER_E_CONFIG);
    }
    pager->config = *config;
    device = config->device;
    if (device->read == NULL || device->program == NULL || device->erase == NULL ||
        device->sector_bytes == 0u || device->size_bytes == 0u ||
        device->size_bytes % device->sector_bytes != 0u ||
        config->scratch_bytes < device->program_bytes) {
        return fail(pager, ES_ERR_ARG, ES_PAGER_E_CONFIG);
    }
    required = es_pager_required_bytes(config->slot_bytes, config->slot_count,
                                       device->sector_bytes, device->program_bytes);
    if (required == 0u) {
        return fail(pager, ES_ERR_ARG, ES_PAGER_E_CONFIG);
    }
    if (device->size_bytes < required) {
        pager->error_offset = required; /* what the device would need */
        return fail(pager, ES_ERR_ARG, ES_PAGER_E_REGION_SMALL);
    }
    for (i = 0u; i < config->slot_count; ++i) {
        uint32_t size = align_up(config->slot_bytes[i], device->program_bytes);
        largest = size > largest ? size : largest;
    }
    pager->sectors = device->size_bytes / device->sector_bytes;
    pager->reserve = largest + device->sector_bytes - device->program_bytes;
    memset(config->slots, 0, sizeof(*config->slots) * config->slot_count);
    memset(config->sector_erases, 0, sizeof(*config->sector_erases) * pager->sectors);
    if (config->journal != NULL) {
        const es_swap_device *journal = config->journal;
        uint32_t lap;
        uint32_t at;
        if (journal->read == NULL || journal->program == NULL || journal->erase == NULL ||
            journal->sector_bytes == 0u || journal->program_bytes == 0u ||
            journal->program_bytes > ES_PAGER_VERIFY_CHUNK ||
            journal->sector_bytes % journal_record_bytes(journal) != 0u ||
            journal->size_bytes % journal->sector_bytes != 0u ||
            journal->size_bytes / journal->sector_bytes < 2u) {
            return fail(pager, ES_ERR_ARG, ES_PAGER_E_CONFIG);
        }
        ES_TRY(journal_scan(pager));
        /* the sweep went through sectors 0, 1, ... in order: resume it where E left it */
        lap = pager->lifetime_erases / pager->sectors;
        at = pager->lifetime_erases % pager->sectors;
        for (i = 0u; i < pager->sectors; ++i) {
            config->sector_erases[i] = lap + (i < at ? 1u : 0u);
        }
        pager->head = at * device->sector_bytes;
    }
    return ES_OK;
}

es_status es_pager_page_out(es_pager *pager, uint32_t slot, const void *ram, uint32_t len)
{
    const es_swap_device *device;
    const uint8_t *src = (const uint8_t *)ram;
    es_pager_slot *state;
    uint32_t unit;
    uint32_t body;
    uint32_t size;
    uint32_t start;
    es_status status;

    if (pager == NULL || ram == NULL) {
        return pager == NULL ? ES_ERR_ARG : fail(pager, ES_ERR_ARG, ES_PAGER_E_CONFIG);
    }
    if (slot >= pager->config.slot_count) {
        return fail(pager, ES_ERR_ARG, ES_PAGER_E_SLOT);
    }
    if (len == 0u || len > pager->config.slot_bytes[slot]) {
        return fail(pager, ES_ERR_ARG, ES_PAGER_E_LENGTH);
    }
    device = pager->config.device;
    unit = device->program_bytes;
    state = &pager->config.slots[slot];
    state->length = 0u; /* the old copy is stale from now on */
    size = align_up(len, unit);
    ES_TRY(make_room(pager, size + pager->reserve));

    start = pager->head;
    body = len & ~(unit - 1u);
    status = device_program(pager, start, src, body);
    if (status == ES_OK && body < len) { /* the last unit, padded with erased bytes */
        memset(pager->config.scratch, 0xFF, unit);
        memcpy(pager->config.scratch, src + body, len - body);
        status = device_program(pager, wrap(start, body, device->size_bytes), pager->config.scratch, unit);
    }
    consume(pager, size);
    if (status != ES_OK) {
        return status;
    }
    state->start = start;
    state->length = len;
    state->crc = (pager->config.flags & ES_PAGER_CHECKSUM) != 0u ? crc32(src, len) : 0u;
    pager->counters.page_outs += 1u;
    return ES_OK;
}

es_status es_pager_page_in(es_pager *pager, uint32_t slot, void *ram, uint32_t len)
{
    es_pager_slot *state;
    if (pager == NULL || ram == NULL) {
        return pager == NULL ? ES_ERR_ARG : fail(pager, ES_ERR_ARG, ES_PAGER_E_CONFIG);
    }
    if (slot >= pager->config.slot_count) {
        return fail(pager, ES_ERR_ARG, ES_PAGER_E_SLOT);
    }
    state = &pager->config.slots[slot];
    if (state->length == 0u) {
        return fail(pager, ES_ERR_ARG, ES_PAGER_E_EMPTY);
    }
    if (len != state->length) {
        return fail(pager, ES_ERR_ARG, ES_PAGER_E_LENGTH);
    }
    ES_TRY(device_read(pager, state->start, (uint8_t *)ram, len));
    if ((pager->config.flags & ES_PAGER_CHECKSUM) != 0u && crc32((const uint8_t *)ram, len) != state->crc) {
        pager->error_offset = state->start;
        return fail(pager, ES_ERR_IO, ES_PAGER_E_CHECKSUM);
    }
    pager->counters.page_ins += 1u;
    return ES_OK;
}

es_status es_pager_drop(es_pager *pager, uint32_t slot)
{
    if (pager == NULL) {
        return ES_ERR_ARG;
    }
    if (slot >= pager->config.slot_count) {
        return fail(pager, ES_ERR_ARG, ES_PAGER_E_SLOT);
    }
    pager->config.slots[slot].length = 0u;
    return ES_OK;
}

const char *es_pager_error_name(es_pager_error error)
{
    switch (error) {
    case ES_PAGER_E_NONE:
        return "ES_PAGER_E_NONE";
    case ES_PAGER_E_CONFIG:
        return "ES_PAGER_E_CONFIG";
    case ES_PAGER_E_REGION_SMALL:
        return "ES_PAGER_E_REGION_SMALL";
    case ES_PAGER_E_SLOT:
        return "ES_PAGER_E_SLOT";
    case ES_PAGER_E_LENGTH:
        return "ES_PAGER_E_LENGTH";
    case ES_PAGER_E_EMPTY:
        return "ES_PAGER_E_EMPTY";
    case ES_PAGER_E_DEVICE:
        return "ES_PAGER_E_DEVICE";
    case ES_PAGER_E_VERIFY:
        return "ES_PAGER_E_VERIFY";
    case ES_PAGER_E_CHECKSUM:
        return "ES_PAGER_E_CHECKSUM";
    case ES_PAGER_E_NO_ROOM:
        return "ES_PAGER_E_NO_ROOM";
    case ES_PAGER_E_JOURNAL:
        return "ES_PAGER_E_JOURNAL";
    }
    return "ES_PAGER_E_UNKNOWN";
}
