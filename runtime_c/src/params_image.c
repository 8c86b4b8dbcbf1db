/*
 * params_image.c -- the parameter image, format ESPI version 1 (edgesdk/params_image.h).
 * Bytes are assembled one at a time, so the image is little-endian on any CPU.
 */
#include "edgesdk/params_image.h"

#include <string.h>

#include "internal.h"

#define HEADER_BYTES 16u
#define RECORD_BYTES 12u

static size_t element_bytes(es_param_dtype dtype)
{
    switch (dtype) {
    case ES_PARAM_INT8:
        return 1u;
    case ES_PARAM_INT32:
    case ES_PARAM_FLOAT32:
        return 4u;
    default:
        return 0u;
    }
}

static size_t padded(size_t bytes)
{
    return (bytes + 3u) & ~(size_t)3u;
}

size_t es_params_image_size(const es_param_record *records, int32_t count)
{
    size_t total = HEADER_BYTES;
    if (records == NULL || count < 0) {
        return 0u;
    }
    for (int32_t i = 0; i < count; ++i) {
        const size_t size = element_bytes(records[i].dtype);
        if (size == 0u) {
            return 0u;
        }
        total += RECORD_BYTES + padded(size * records[i].count);
    }
    return total;
}

static void put_u32(unsigned char *at, uint32_t value)
{
    at[0] = (unsigned char)(value & 0xffu);
    at[1] = (unsigned char)((value >> 8) & 0xffu);
    at[2] = (unsigned char)((value >> 16) & 0xffu);
    at[3] = (unsigned char)(value >> 24);
}

static uint32_t get_u32(const unsigned char *at)
{
    return (uint32_t)at[0] | ((uint32_t)at[1] << 8) | ((uint32_t)at[2] << 16) |
           ((uint32_t)at[3] << 24);
}

uint32_t es_crc32(uint32_t crc, const void *data, size_t len)
{
    const unsigned char *bytes = (const unsigned char *)data;
    crc = ~crc;
    for (size_t i = 0; i < len; ++i) {
        crc ^= bytes[i];
        for (int bit = 0; bit < 8; ++bit) {
            crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
        }
    }
    return ~crc;
}

/* count elements of one dtype from src into the image at `at`, little-endian. */
static void put_elements(unsigned char *at, const void *src, es_param_dtype dtype, uint32_t count)
{
    if (dtype == ES_PARAM_INT8) {
        memcpy(at, src, count);
        return;
    }
    for (uint32_t i = 0; i < count; ++i) {
        uint32_t bits;
        memcpy(&bits, (const unsigned char *)src + (size_t)i * 4u, 4u);
        put_u32(at + (size_t)i * 4u, bits);
    }
}

static void get_elements(const unsigned char *at, void *dst, es_param_dtype dtype, uint32_t count)
{
    if (dtype == ES_PARAM_INT8) {
        memcpy(dst, at, count);
        return;
    }
    for (uint32_t i = 0; i < count; ++i) {
        const uint32_t bits = get_u32(at + (size_t)i * 4u);
        memcpy((unsigned char *)dst + (size_t)i * 4u, &bits, 4u);
    }
}

/* 1 when the image's count elements at `at` equal those of src. */
static int same_elements(const unsigned char *at, const void *src, es_param_dtype dtype,
                         uint32_t count)
{
    if (dtype == ES_PARAM_INT8) {
        const unsigned char *bytes = (const unsigned char *)src;
        for (uint32_t i = 0; i < count; ++i) {
            if (at[i] != bytes[i]) {
                return 0;
            }
        }
        return 1;
    }
    for (uint32_t i = 0; i < count; ++i) {
        uint32_t bits;
        memcpy(&bits, (const unsigned char *)src + (size_t)i * 4u, 4u);
        if (get_u32(at + (size_t)i * 4u) != bits) {
            return 0;
        }
    }
    return 1;
}

/* The elements a record keeps in data: all of them, or the head of a split weight. */
static uint32_t data_count(const es_param_record *record)
{
    return record->tail != NULL ? record->head_count : record->count;
}

/* 1 when a record's arrays are usable: data for its RAM elements, a split only with a tail. */
static int record_ok(const es_param_record *record)
{
    if (record->tail == NULL ? record->head_count != 0u : record->head_count > record->count) {
        return 0;
    }
    return record->data != NULL || data_count(record) == 0u;
}

/* The elements of one record (data, then a split weight's tail), little-endian. */
static void put_record(unsigned char *at, const es_param_record *record)
{
    const uint32_t head = data_count(record);
    put_elements(at, record->data, record->dtype, head);
    if (record->tail != NULL) {
        put_elements(at + element_bytes(record->dtype) * head, record->tail, record->dtype,
                     record->count - head);
    }
}

es_status es_params_image_write(const es_param_record *records, int32_t count, void *buf,
                                size_t len)
{
    unsigned char *bytes = (unsigned char *)buf;
    if (records == NULL || buf == NULL || count < 0 || count > 0xffff) {
        return ES_ERR_ARG;
    }
    const size_t size = es_params_image_size(records, count);
    if (size == 0u || len < size) {
        return ES_ERR_ARG;
    }
    for (int32_t i = 0; i < count; ++i) {
        if (!record_ok(&records[i])) {
            return ES_ERR_ARG;
        }
    }
    size_t at = HEADER_BYTES;
    for (int32_t i = 0; i < count; ++i) {
        const es_param_record *record = &records[i];
        const size_t data = element_bytes(record->dtype) * record->count;
        put_u32(bytes + at, record->tensor);
        bytes[at + 4] = (unsigned char)record->dtype;
        bytes[at + 5] = bytes[at + 6] = bytes[at + 7] = 0u;
        put_u32(bytes + at + 8, record->count);
        at += RECORD_BYTES;
        put_record(bytes + at, record);
        memset(bytes + at + data, 0, padded(data) - data);
        at += padded(data);
    }
    memcpy(bytes, "ESPI", 4u);
    bytes[4] = 1u;
    bytes[5] = 0u;
    bytes[6] = (unsigned char)((uint32_t)count & 0xffu);
    bytes[7] = (unsigned char)((uint32_t)count >> 8);
    put_u32(bytes + 8, (uint32_t)(size - HEADER_BYTES));
    put_u32(bytes + 12, es_crc32(0u, bytes + HEADER_BYTES, size - HEADER_BYTES));
    return ES_OK;
}

es_status es_params_image_read(const es_param_record *records, int32_t count, const void *buf,
                               size_t len)
{
    const unsigned char *bytes = (const unsigned char *)buf;
    if (records == NULL || buf == NULL || count < 0 || len < HEADER_BYTES) {
        return ES_ERR_ARG;
    }
    const uint32_t payload = get_u32(bytes + 8);
    if (memcmp(bytes, "ESPI", 4u) != 0 || bytes[4] != 1u || bytes[5] != 0u ||
        payload > len - HEADER_BYTES ||
        get_u32(bytes + 12) != es_crc32(0u, bytes + HEADER_BYTES, payload)) {
        return ES_ERR_ARG;
    }
    const size_t size = es_params_image_size(records, count);
    if (size == 0u || (uint32_t)bytes[6] + ((uint32_t)bytes[7] << 8) != (uint32_t)count ||
        payload != size - HEADER_BYTES) {
        return ES_ERR_SHAPE;
    }
    size_t at = HEADER_BYTES;
    for (int32_t i = 0; i < count; ++i) {
        const es_param_record *record = &records[i];
        if (!record_ok(record)) {
            return ES_ERR_ARG;
        }
        if (get_u32(bytes + at) != record->tensor || bytes[at + 4] != (unsigned char)record->dtype ||
            get_u32(bytes + at + 8) != record->count) {
            return ES_ERR_SHAPE;
        }
        const size_t item = element_bytes(record->dtype);
        const uint32_t head = data_count(record);
        if (record->tail != NULL &&
            !same_elements(bytes + at + RECORD_BYTES + item * head, record->tail, record->dtype,
                           record->count - head)) {
            return ES_ERR_SHAPE; /* frozen rows differ: another model's or sparse update's image */
        }
        at += RECORD_BYTES + padded(item * record->count);
    }
    at = HEADER_BYTES;
    for (int32_t i = 0; i < count; ++i) {
        at += RECORD_BYTES;
        get_elements(bytes + at, records[i].data, records[i].dtype, data_count(&records[i]));
        at += padded(element_bytes(records[i].dtype) * records[i].count);
    }
    return ES_OK;
}

int es_params_finite(const es_param_record *records, int32_t count)
{
    if (records == NULL || count < 0) {
        return 0;
    }
    for (int32_t i = 0; i < count; ++i) {
        if (!record_ok(&records[i])) {
            return 0;
        }
        if (records[i].dtype != ES_PARAM_FLOAT32) {
            continue;
        }
        const uint32_t n = data_count(&records[i]);
        for (uint32_t k = 0; k < n; ++k) {
            uint32_t bits;
            memcpy(&bits, (const unsigned char *)records[i].data + (size_t)k * 4u, 4u);
            if ((bits & 0x7f800000u) == 0x7f800000u) { /* exponent all ones: inf or NaN */
                return 0;
            }
        }
    }
    return 1;
}
