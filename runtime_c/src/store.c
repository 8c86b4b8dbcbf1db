/*
 * store.c -- the commit store (edgesdk/store.h): two slots, a sequence number and two CRCs, so
 * that a power cut during a commit leaves the previous or the new image loadable.
 */
#include "edgesdk/store.h"

#include <string.h>

#include "edgesdk/params_image.h"

#define CHUNK 64u /* bytes per device read while checking a CRC */

/* ---- small helpers ---------------------------------------------------------------------- */

static uint32_t align_up(uint32_t n, uint32_t unit)
{
    return (n + unit - 1u) & ~(unit - 1u);
}

static void put_u32(uint8_t *at, uint32_t value)
{
    at[0] = (uint8_t)(value & 0xffu);
    at[1] = (uint8_t)((value >> 8) & 0xffu);
    at[2] = (uint8_t)((value >> 16) & 0xffu);
    at[3] = (uint8_t)(value >> 24);
}

static uint32_t get_u32(const uint8_t *at)
{
    return (uint32_t)at[0] | ((uint32_t)at[1] << 8) | ((uint32_t)at[2] << 16) | ((uint32_t)at[3] << 24);
}

/* 1 when the n bytes at a and b are equal (no libc memcmp: the runtime links only memcpy,
 * memmove, memset and sqrtf). */
static int same_bytes(const uint8_t *a, const uint8_t *b, uint32_t n)
{
    uint32_t i;
    for (i = 0u; i < n; ++i) {
        if (a[i] != b[i]) {
            return 0;
        }
    }
    return 1;
}

static es_status fail(es_store *store, es_status status, es_store_error error)
{
    store->error = error;
    store->device_status = ES_SWAP_OK;
    return status;
}

static es_status device_failed(es_store *store, int32_t device_status, uint32_t where)
{
    fail(store, ES_ERR_IO, ES_STORE_E_DEVICE);
    store->device_status = device_status;
    store->error_offset = where;
    return ES_ERR_IO;
}

static es_status device_read(es_store *store, uint32_t offset, void *buf, uint32_t len)
{
    const es_swap_device *device = store->device;
    const int32_t status = device->read(device->ctx, offset, buf, len);
    if (status != ES_SWAP_OK) {
        return device_failed(store, status, offset);
    }
    store->counters.bytes_read += len;
    return ES_OK;
}

static es_status device_program(es_store *store, uint32_t offset, const void *buf, uint32_t len)
{
    const es_swap_device *device = store->device;
    const int32_t status = device->program(device->ctx, offset, buf, len);
    if (status != ES_SWAP_OK) {
        return device_failed(store, status, offset);
    }
    store->counters.bytes_programmed += len;
    return ES_OK;
}

/* CRC-32 of len bytes of the device from offset, read CHUNK bytes at a time. */
static es_status device_crc(es_store *store, uint32_t offset, uint32_t len, uint32_t *crc)
{
    uint8_t chunk[CHUNK];
    uint32_t value = 0u;
    while (len > 0u) {
        const uint32_t run = len < CHUNK ? len : CHUNK;
        ES_TRY(device_read(store, offset, chunk, run));
        value = es_crc32(value, chunk, run);
        offset += run;
        len -= run;
    }
    *crc = value;
    return ES_OK;
}

/* The header of a commit (H bytes: the fields, then 0xFF). */
static void make_header(const es_store *store, uint32_t sequence, uint32_t len, uint32_t crc,
                        uint8_t *header)
{
    memset(header, 0xFF, store->header_bytes);
    memcpy(header, "ESCM", 4u);
    header[4] = 1u;
    header[5] = 0u;
    header[6] = (uint8_t)(store->header_bytes & 0xffu);
    header[7] = (uint8_t)(store->header_bytes >> 8);
    put_u32(header + 8, sequence);
    put_u32(header + 12, len);
    put_u32(header + 16, crc);
    put_u32(header + 20, store->slot_bytes);
    put_u32(header + 24, 0u);
    put_u32(header + 28, es_crc32(0u, header, 28u));
}

/* Read slot `slot`'s header; 1 and its sequence, length and image CRC when the header is valid. */
static int header_valid(const es_store *store, const uint8_t *header, uint32_t *sequence,
                        uint32_t *len, uint32_t *crc)
{
    if (!same_bytes(header, (const uint8_t *)"ESCM", 4u) || header[4] != 1u || header[5] != 0u ||
        ((uint32_t)header[6] | ((uint32_t)header[7] << 8)) != store->header_bytes ||
        get_u32(header + 20) != store->slot_bytes || get_u32(header + 28) != es_crc32(0u, header, 28u)) {
        return 0;
    }
    *sequence = get_u32(header + 8);
    *len = get_u32(header + 12);
    *crc = get_u32(header + 16);
    return *sequence != 0u && *len != 0u && *len <= store->slot_bytes - store->header_bytes;
}

/* Whether slot `slot` holds a valid commit (header and image CRC); device errors propagate. */
static es_status slot_valid(es_store *store, uint32_t slot, int *valid, uint32_t *sequence, uint32_t *len)
{
    uint8_t header[ES_STORE_UNIT_MAX];
    const uint32_t base = slot * store->slot_bytes;
    uint32_t crc = 0u;
    uint32_t got = 0u;
    *valid = 0;
    ES_TRY(device_read(store, base, header, ES_STORE_HEADER_MIN));
    if (!header_valid(store, header, sequence, len, &crc)) {
        return ES_OK;
    }
    ES_TRY(device_crc(store, base + store->header_bytes, *len, &got));
    *valid = got == crc;
    return ES_OK;
}

/* 1 when sequence a is newer than b (serial-number order, so wrapping past 2^32 still works). */
static int newer(uint32_t a, uint32_t b)
{
    return (int32_t)(a - b) > 0;
}

/* ---- public API --------------------------------------------------------------------------- */

uint32_t es_store_required_bytes(uint32_t image_bytes, uint32_t sector_bytes, uint32_t program_bytes)
{
    uint32_t header;
    uint32_t slot;
    uint32_t sectors;
    if (image_bytes == 0u || sector_bytes == 0u || program_bytes == 0u ||
        (program_bytes & (program_bytes - 1u)) != 0u || program_bytes > ES_STORE_UNIT_MAX ||
        image_bytes > 0x7FFFFFFFu - 2u * ES_STORE_UNIT_MAX) {
        return 0u;
    }
    header = program_bytes > ES_STORE_HEADER_MIN ? program_bytes : ES_STORE_HEADER_MIN;
    slot = header + align_up(image_bytes, program_bytes);
    sectors = slot / sector_bytes + (slot % sector_bytes != 0u ? 1u : 0u);
    if (sectors > 0x7FFFFFFFu / sector_bytes) {
        return 0u;
    }
    return 2u * sectors * sector_bytes > sectors * sector_bytes ? 2u * sectors * sector_bytes : 0u;
}

es_status es_store_open(es_store *store, const es_swap_device *device)
{
    uint32_t slot;
    if (store == NULL) {
        return ES_ERR_ARG;
    }
    memset(store, 0, sizeof(*store));
    store->newest = -1;
    if (device == NULL || device->read == NULL || device->program == NULL || device->erase == NULL ||
        device->sector_bytes == 0u || device->program_bytes == 0u ||
        (device->program_bytes & (device->program_bytes - 1u)) != 0u ||
        device->program_bytes > ES_STORE_UNIT_MAX || device->sector_bytes % device->program_bytes != 0u ||
        device->size_bytes % (2u * device->sector_bytes) != 0u || device->size_bytes == 0u) {
        return fail(store, ES_ERR_ARG, ES_STORE_E_CONFIG);
    }
    store->device = device;
    store->slot_bytes = device->size_bytes / 2u;
    store->header_bytes = device->program_bytes > ES_STORE_HEADER_MIN ? device->program_bytes
                                                                       : ES_STORE_HEADER_MIN;
    if (store->slot_bytes <= store->header_bytes) {
        store->device = NULL;
        return fail(store, ES_ERR_ARG, ES_STORE_E_CONFIG);
    }
    for (slot = 0u; slot < 2u; ++slot) {
        int valid = 0;
        uint32_t sequence = 0u;
        uint32_t len = 0u;
        ES_TRY(slot_valid(store, slot, &valid, &sequence, &len));
        if (valid && (store->newest < 0 || newer(sequence, store->sequence))) {
            store->newest = (int32_t)slot;
            store->sequence = sequence;
            store->image_bytes = len;
        }
    }
    return ES_OK;
}

es_status es_store_commit(es_store *store, const void *image, uint32_t len)
{
    const es_swap_device *device;
    const uint8_t *src = (const uint8_t *)image;
    uint8_t unit_buf[ES_STORE_UNIT_MAX];
    uint32_t unit;
    uint32_t target;
    uint32_t base;
    uint32_t body;
    uint32_t done;
    uint32_t sector;
    uint32_t crc;
    uint32_t got = 0u;
    uint32_t sequence;

    if (store == NULL) {
        return ES_ERR_ARG;
    }
    if (store->device == NULL || image == NULL) {
        return fail(store, ES_ERR_ARG, ES_STORE_E_CONFIG);
    }
    if (len == 0u || len > store->slot_bytes - store->header_bytes ||
        align_up(len, store->device->program_bytes) > store->slot_bytes - store->header_bytes) {
        return fail(store, ES_ERR_ARG, ES_STORE_E_SIZE);
    }
    device = store->device;
    unit = device->program_bytes;
    target = store->newest == 0 ? 1u : 0u;
    base = target * store->slot_bytes;
    sequence = store->newest < 0 ? 1u : store->sequence + 1u;
    if (sequence == 0u) {
        sequence = 1u; /* 0 means "none"; serial order still ranks 1 above 0xFFFFFFFF */
    }

    /* (1) erase the target slot, sector by sector */
    for (sector = base / device->sector_bytes; sector < (base + store->slot_bytes) / device->sector_bytes;
         ++sector) {
        const int32_t status = device->erase(device->ctx, sector);
        if (status != ES_SWAP_OK) {
            return device_failed(store, status, sector);
        }
        store->counters.erases += 1u;
    }
    /* (2) program the image, one sector's worth per call, the last unit padded with 0xFF */
    body = len & ~(unit - 1u);
    done = 0u;
    while (done < body) {
        const uint32_t at = base + store->header_bytes + done;
        uint32_t run = device->sector_bytes - at % device->sector_bytes;
        if (run > body - done) {
            run = body - done;
        }
        ES_TRY(device_program(store, at, src + done, run));
        done += run;
    }
    if (body < len) {
        memset(unit_buf, 0xFF, unit);
        memcpy(unit_buf, src + body, len - body);
        ES_TRY(device_program(store, base + store->header_bytes + body, unit_buf, unit));
    }
    /* (3) the image as the device holds it must have the image's CRC */
    crc = es_crc32(0u, image, len);
    ES_TRY(device_crc(store, base + store->header_bytes, len, &got));
    if (got != crc) {
        store->error_offset = base + store->header_bytes;
        return fail(store, ES_ERR_IO, ES_STORE_E_VERIFY);
    }
    /* (4) the header: from here on the new commit is the newest */
    make_header(store, sequence, len, crc, unit_buf);
    ES_TRY(device_program(store, base, unit_buf, store->header_bytes));
    /* (5) read it back */
    {
        uint8_t back[ES_STORE_UNIT_MAX];
        ES_TRY(device_read(store, base, back, store->header_bytes));
        if (!same_bytes(back, unit_buf, store->header_bytes)) {
            store->error_offset = base;
            return fail(store, ES_ERR_IO, ES_STORE_E_VERIFY);
        }
    }
    store->newest = (int32_t)target;
    store->sequence = sequence;
    store->image_bytes = len;
    store->counters.commits += 1u;
    return ES_OK;
}

es_status es_store_restore(es_store *store, void *buf, uint32_t len, uint32_t *image_len)
{
    uint8_t header[ES_STORE_UNIT_MAX];
    uint32_t sequence = 0u;
    uint32_t stored = 0u;
    uint32_t crc = 0u;
    uint32_t base;
    if (store == NULL) {
        return ES_ERR_ARG;
    }
    if (store->device == NULL || buf == NULL) {
        return fail(store, ES_ERR_ARG, ES_STORE_E_CONFIG);
    }
    if (store->newest < 0) {
        return fail(store, ES_ERR_ARG, ES_STORE_E_EMPTY);
    }
    if (len < store->image_bytes) {
        return fail(store, ES_ERR_ARG, ES_STORE_E_SIZE);
    }
    base = (uint32_t)store->newest * store->slot_bytes;
    ES_TRY(device_read(store, base, header, ES_STORE_HEADER_MIN));
    if (!header_valid(store, header, &sequence, &stored, &crc) || sequence != store->sequence ||
        stored != store->image_bytes) {
        store->error_offset = base;
        return fail(store, ES_ERR_IO, ES_STORE_E_VERIFY);
    }
    ES_TRY(device_read(store, base + store->header_bytes, buf, stored));
    if (es_crc32(0u, buf, stored) != crc) {
        store->error_offset = base + store->header_bytes;
        return fail(store, ES_ERR_IO, ES_STORE_E_VERIFY);
    }
    if (image_len != NULL) {
        *image_len = stored;
    }
    return ES_OK;
}

const char *es_store_error_name(es_store_error error)
{
    switch (error) {
    case ES_STORE_E_NONE:
        return "ES_STORE_E_NONE";
    case ES_STORE_E_CONFIG:
        return "ES_STORE_E_CONFIG";
    case ES_STORE_E_SIZE:
        return "ES_STORE_E_SIZE";
    case ES_STORE_E_EMPTY:
        return "ES_STORE_E_EMPTY";
    case ES_STORE_E_DEVICE:
        return "ES_STORE_E_DEVICE";
    case ES_STORE_E_VERIFY:
        return "ES_STORE_E_VERIFY";
    }
    return "ES_STORE_E_UNKNOWN";
}
