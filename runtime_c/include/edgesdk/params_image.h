/*
 * edgesdk/params_image.h -- the parameter image (format "ESPI", version 1): the bytes a device
 * writes to keep its trained parameters, which `edgesdk export` writes back into the .tflite.
 *
 * Layout (every integer little-endian, whatever the CPU; edgesdk.export.image is the Python twin):
 *
 *     offset  size  field
 *     0       4     magic "ESPI"
 *     4       2     version, 1
 *     6       2     record count N
 *     8       4     payload bytes (everything after this 16-byte header)
 *     12      4     CRC-32 of the payload (IEEE 802.3 polynomial, as zlib.crc32)
 *     16      ...   N records: u32 IR tensor index, u8 dtype (1 int8, 2 int32, 3 float32),
 *                   3 zero bytes, u32 element count, the elements (little-endian, row-major),
 *                   zero bytes up to a multiple of 4
 *
 * The generated model.c describes its trainable parameters as an es_param_record table (in
 * training-graph order) and its es_params_save / es_params_load call the functions below.
 *
 * A split weight (an int8 weight trained only on its first output channels: those rows in RAM,
 * the frozen rest in flash) is still one record of the whole tensor: its first head_count
 * elements come from data, the rest from tail. Reading such a record writes only data; the tail
 * elements of the image must equal the record's tail (they cannot be written: flash), else the
 * image is another model's or another sparse update's (ES_ERR_SHAPE).
 */
#ifndef EDGESDK_PARAMS_IMAGE_H
#define EDGESDK_PARAMS_IMAGE_H

#include "edgesdk/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Element type of a record. */
typedef enum {
    ES_PARAM_INT8 = 1,   /* int8 weights */
    ES_PARAM_INT32 = 2,  /* int32 biases */
    ES_PARAM_FLOAT32 = 3 /* float32 parameters (fp32 training) */
} es_param_dtype;

/* One trainable parameter. */
typedef struct {
    uint32_t tensor;      /* IR tensor index of the parameter in the model */
    es_param_dtype dtype; /* its element type */
    uint32_t count;       /* its element count (the whole tensor) */
    void *data;           /* its RAM array: int8_t, int32_t or float by dtype (split: head_count) */
    const void *tail;     /* split weight: elements head_count..count-1, frozen (flash); else NULL */
    uint32_t head_count;  /* split weight: the elements in data, 0..count; 0 when tail is NULL */
} es_param_record;

/* Bytes of the image of these records (header included); 0 for an unknown dtype. */
size_t es_params_image_size(const es_param_record *records, int32_t count);

/*
 * Write the image of the records into buf (len >= es_params_image_size). ES_ERR_ARG for NULL
 * pointers, a short buffer, more than 65535 records, an unknown dtype or a bad split (head_count
 * above count, or set without a tail); nothing is written then.
 */
es_status es_params_image_write(const es_param_record *records, int32_t count, void *buf,
                                size_t len);

/*
 * Read an image back into the records' arrays. Everything is checked before anything is written:
 * ES_ERR_ARG for NULL pointers, a short buffer, a bad magic, version, length or CRC (not an image,
 * or a damaged one), a bad split as for writing; ES_ERR_SHAPE when the image's records are not
 * these parameters (another model: a different count, tensor index, dtype or element count, or
 * frozen tail elements that differ from the record's tail). len may exceed the image.
 */
es_status es_params_image_read(const es_param_record *records, int32_t count, const void *buf,
                               size_t len);

/* 1 when every float32 element the records hold in RAM is finite (int8 and int32 records always
 * are), else 0; NULL or bad records: 0. */
int es_params_finite(const es_param_record *records, int32_t count);

/* CRC-32 (IEEE 802.3, reflected, as zlib.crc32): crc = es_crc32(0, data, n) for one block;
 * pass the previous result to continue over several blocks. */
uint32_t es_crc32(uint32_t crc, const void *data, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* EDGESDK_PARAMS_IMAGE_H */
