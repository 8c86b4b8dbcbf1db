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

/* The elements of one record, little-endian. */
static void put_elements(unsigned char *at, const es_param_record *record)
{
    if (record->dtype == ES_PARAM_INT8) {
        memcpy(at, record->data, record->count);
        return;
    }
    for (uint32_t i = 0; i < record->count; ++i) {
        uint32_t bits;
        memcpy(&bits, (const unsigned char *)record->data + (size_t)i * 4u, 4u);
        put_u32(at + (size_t)i * 4u, bits);
    }
}

static void get_elements(const unsigned char *at, const es_param_record *record)
{
    if (record->dtype == ES_PARAM_INT8) {
        memcpy(record->data, at, record->count);
        return;
    }
    for (uint32_t i = 0; i < record->count; ++i) {
        const uint32_t bits = get_u32(at + (size_t)i * 4u);
        memcpy((unsigned char *)record->data + (size_t)i * 4u, &bits, 4u);
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
        if (records[i].data == NULL && records[i].count > 0u) {
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
        put_elements(bytes + at, record);
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
        if (record->data == NULL && record->count > 0u) {
            return ES_ERR_ARG;
        }
        if (get_u32(bytes + at) != record->tensor || bytes[at + 4] != (unsigned char)record->dtype ||
            get_u32(bytes + at + 8) != record->count) {
            return ES_ERR_SHAPE;
        }
        at += RECORD_BYTES + padded(element_bytes(record->dtype) * record->count);
    }
    at = HEADER_BYTES;
    for (int32_t i = 0; i < count; ++i) {
        at += RECORD_BYTES;
        get_elements(bytes + at, &records[i]);
        at += padded(element_bytes(records[i].dtype) * records[i].count);
    }
    return ES_OK;
}
