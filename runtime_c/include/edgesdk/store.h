/*
 * edgesdk/store.h -- the commit store: keeps one image (the trained parameters) in NOR flash so
 * that a power cut at any moment leaves either the previous or the new image loadable.
 *
 * GUARANTEE. If es_store_commit of image N+1 is interrupted at any point -- at any erase or
 * program, torn or not -- the next es_store_open finds image N or image N+1, complete and
 * CRC-checked; once es_store_commit has returned ES_OK it finds image N+1.
 *
 * FORMAT. The store's device (a region of a flash tier, edgesdk/swap.h) is cut into two slots of
 * size_bytes / 2 each (a whole number of sectors). A slot holds one commit:
 *
 *     offset  size  field (little-endian)
 *     0       4     magic "ESCM"
 *     4       2     version, 1
 *     6       2     header bytes H = max(32, program_bytes)
 *     8       4     sequence number (1, 2, 3, ...; the newest commit has the largest)
 *     12      4     image bytes L
 *     16      4     CRC-32 of the image (IEEE, as zlib.crc32)
 *     20      4     slot bytes (the geometry it was written with)
 *     24      4     0
 *     28      4     CRC-32 of bytes 0..27
 *     32      ...   0xFF up to H
 *     H       L     the image, its last program unit padded with 0xFF
 *
 * COMMIT ORDER. The target is the slot that does not hold the newest valid commit: (1) erase its
 * sectors, (2) program the image, (3) read the image back and check its CRC, (4) program the
 * header, (5) read the header back. Until (4) completes the target has no valid header, so the
 * other slot's commit is the newest; the newest valid commit is never erased or programmed.
 * A torn erase or program leaves a slot whose header or image CRC fails: it is ignored.
 *
 * A slot is valid when its header has the magic, version, header size and slot size, its CRC
 * matches, L fits in the slot and the image's CRC matches; es_store_open takes the valid slot
 * with the larger sequence number. Each slot is erased once every two commits.
 *
 * No heap, no globals; every buffer is the caller's. Device failures are ES_ERR_IO with error,
 * device_status and error_offset set, as the pager does.
 */
#ifndef EDGESDK_STORE_H
#define EDGESDK_STORE_H

#include <stdint.h>

#include "edgesdk/common.h"
#include "edgesdk/swap.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ES_STORE_HEADER_MIN 32u  /* bytes of the header fields */
#define ES_STORE_UNIT_MAX 64u    /* largest program unit the store supports */

/* What went wrong in the last call that did not return ES_OK. */
typedef enum {
    ES_STORE_E_NONE = 0,
    ES_STORE_E_CONFIG = 1, /* ES_ERR_ARG: NULL, odd geometry, program unit above ES_STORE_UNIT_MAX */
    ES_STORE_E_SIZE = 2,   /* ES_ERR_ARG: the image does not fit in a slot (or len 0), or the
                              buffer is smaller than the stored image */
    ES_STORE_E_EMPTY = 3,  /* ES_ERR_ARG: restore with no valid commit on the device */
    ES_STORE_E_DEVICE = 4, /* ES_ERR_IO: the device returned device_status */
    ES_STORE_E_VERIFY = 5  /* ES_ERR_IO: what was read back differs from what was programmed */
} es_store_error;

typedef struct {
    uint32_t commits;          /* successful es_store_commit calls */
    uint32_t erases;           /* sectors erased */
    uint64_t bytes_programmed; /* header and image, padded to program units */
    uint64_t bytes_read;
} es_store_counters;

typedef struct {
    const es_swap_device *device;
    uint32_t slot_bytes;     /* device->size_bytes / 2 */
    uint32_t header_bytes;   /* H */
    int32_t newest;          /* slot (0 or 1) of the newest valid commit; -1: none */
    uint32_t sequence;       /* its sequence number; 0: none */
    uint32_t image_bytes;    /* its image length */
    es_store_counters counters;
    es_store_error error;
    int32_t device_status;
    uint32_t error_offset;
} es_store;

/* Device bytes a store needs for images of up to image_bytes: two slots of header + image,
 * each rounded up to whole sectors. 0 for a zero size or unit, or above 32 bits. */
uint32_t es_store_required_bytes(uint32_t image_bytes, uint32_t sector_bytes, uint32_t program_bytes);

/* Check the geometry and find the newest valid commit (reads both slots' headers and images;
 * programs and erases nothing). A device holding no commit is fine (newest = -1). */
es_status es_store_open(es_store *store, const es_swap_device *device);

/* Make `image` (len bytes) the newest commit, in the order above. On any failure the previous
 * newest commit stays the newest (store->newest unchanged). */
es_status es_store_commit(es_store *store, const void *image, uint32_t len);

/* Copy the newest valid commit into buf (len >= its size) and its size into *image_len (may be
 * NULL). ES_ERR_ARG with ES_STORE_E_EMPTY when the device holds none. The copy in buf is checked
 * against the image CRC again (a read disturbed on the way is ES_ERR_IO, ES_STORE_E_VERIFY). */
es_status es_store_restore(es_store *store, void *buf, uint32_t len, uint32_t *image_len);

/* Name of an es_store_error ("ES_STORE_E_EMPTY", ...). Never NULL. */
const char *es_store_error_name(es_store_error error);

#ifdef __cplusplus
}
#endif

#endif /* EDGESDK_STORE_H */
