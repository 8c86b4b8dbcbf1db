/*
 * edgesdk/pager.h -- the flash pager: page buffers out to a swap device and back, as a log that
 * spreads erases evenly over the device.
 *
 * SLOTS. The generated code knows at build time every buffer it pages; it gives each a slot
 * (a small integer) and passes a const table of slot capacities. A slot holds at most one copy:
 * a page-out of a slot replaces its previous copy. Buffers whose storage lifetimes do not overlap
 * may share a slot, which lowers the space the pager needs (see es_pager_required_bytes).
 *
 * PLACEMENT (a circular log). Let R = device size, S = sector size, g = program granularity,
 * align(n) = n rounded up to a multiple of g. The pager keeps a write position `head` and the
 * number of erased bytes ahead of it, `free`; [head, head + free) (modulo R) is erased, and
 * head + free (the `frontier`) is a sector boundary. A copy of n bytes is programmed at head,
 * occupying align(n) bytes (the tail of the last unit is padded with 0xFF); head += align(n).
 * A copy may run past the end of the device and continue at offset 0. The previous copy of the
 * slot becomes stale.
 *
 * ERASING. Before a page-out of n bytes the pager makes free >= align(n) + Q, with the reserve
 * Q = M + S - g (M = the largest aligned slot capacity), by cleaning the sector at the frontier,
 * one sector at a time: the live copies that start in that sector are first relocated to head
 * (read and programmed again, in order of their offsets), then the sector is erased and free
 * grows by S. So the frontier sweeps the device in order, every sector is erased exactly once
 * per sweep, and erase counts never differ by more than one between sectors, whatever the
 * sequence of page-outs. The device is not touched at init: each sector is erased before its
 * first program.
 *
 * INVARIANTS. (1) No live copy is ever erased: a sector is erased only after every live copy
 * starting in it was relocated, and no live copy starts before the frontier and reaches into it.
 * (2) Nothing is programmed outside erased space, and every program unit is programmed at most
 * once between two erases of its sector. (3) After every successful call, free >= Q or no copy
 * is live; with (4) R >= es_pager_required_bytes(...) = W + M + 2S - 2g (W = the sum of the
 * aligned slot capacities: the most that can be live at once) every relocation has room and
 * every page-out succeeds. Init refuses a smaller device (ES_ERR_ARG, ES_PAGER_E_REGION_SMALL).
 * docs/pager.md has the proof; edgesdk.codegen.pager_model replays the same algorithm in Python
 * and predicts the counters below exactly.
 *
 * Live copies: a copy is live from its page-out until the slot is paged out again or dropped.
 * Page-in does not release it (a buffer may be paged in several times); call es_pager_drop after
 * the last page-in, or a later sweep will relocate the copy (correct, but it costs programs and
 * wear).
 *
 * FAILURES. Device errors return ES_ERR_IO with error = ES_PAGER_E_DEVICE, the device's status
 * in device_status and the byte offset in error_offset. A failed page-out leaves its slot empty
 * (the caller still has the data in RAM: page out again); a failure while relocating keeps the
 * old copy. Other slots' copies are never touched by a failure. Space touched by a failed
 * program is not programmed again before its sector is erased; a failed relocation can leave
 * the reserve short, and then page-outs return ES_ERR_IO with ES_PAGER_E_NO_ROOM until the copy
 * blocking the frontier is paged out again or dropped, or es_pager_init starts over.
 *
 * WEAR ACROSS BOOTS (optional journal). Without a journal every es_pager_init starts the log at
 * sector 0, so a firmware that boots, trains a step and loses power wears the first sectors
 * only. With config.journal (a second, small device: at least 2 sectors, e.g. the two sectors
 * below the swap region) the pager appends one record after every erase: the number of erases
 * the region has taken in its life, E (8 bytes: E, then ~E; a record torn by a power cut fails
 * that check and is skipped). The frontier sweeps the sectors in order, so E says everything:
 * init reads the largest valid E and resumes the sweep at sector E mod sectors, with
 * sector_erases[i] = E / sectors + (i < E mod sectors) -- the lifetime counts, rebuilt. Records
 * fill one journal sector after the other (a ring); the next sector is erased when the current
 * one is full, never the one holding the newest record. Nothing paged out survives a reboot
 * (the slot table is in RAM); only the position does. A cut between an erase and its record
 * makes the next boot erase that sector once more.
 *
 * Every call is deterministic: the same sequence of calls gives the same device operations on
 * every target. No heap, no globals; all state is caller-owned.
 */
#ifndef EDGESDK_PAGER_H
#define EDGESDK_PAGER_H

#include <stdint.h>

#include "edgesdk/common.h"
#include "edgesdk/swap.h"

#ifdef __cplusplus
extern "C" {
#endif

/* es_pager_config.flags */
#define ES_PAGER_VERIFY 1u   /* read back every programmed byte and compare (costs reads) */
#define ES_PAGER_CHECKSUM 2u /* CRC-32 of each copy at page-out, checked at page-in */

/* What went wrong in the last call that did not return ES_OK. */
typedef enum {
    ES_PAGER_E_NONE = 0,
    ES_PAGER_E_CONFIG = 1,       /* ES_ERR_ARG: NULL pointer, zero sizes, inconsistent geometry */
    ES_PAGER_E_REGION_SMALL = 2, /* ES_ERR_ARG: device smaller than es_pager_required_bytes */
    ES_PAGER_E_SLOT = 3,         /* ES_ERR_ARG: slot index >= slot_count */
    ES_PAGER_E_LENGTH = 4,       /* ES_ERR_ARG: length 0 or above the slot's capacity, or a
                                    page-in length different from the copy's */
    ES_PAGER_E_EMPTY = 5,        /* ES_ERR_ARG: page-in of a slot that holds no copy */
    ES_PAGER_E_DEVICE = 6,       /* ES_ERR_IO: the device returned device_status */
    ES_PAGER_E_VERIFY = 7,       /* ES_ERR_IO: read-back differs from what was programmed */
    ES_PAGER_E_CHECKSUM = 8,     /* ES_ERR_IO: the data read back fails the copy's CRC-32 */
    ES_PAGER_E_NO_ROOM = 9,      /* ES_ERR_IO: earlier failures used up the reserve */
    ES_PAGER_E_JOURNAL = 10      /* ES_ERR_IO: the journal device returned device_status (init:
                                    reading it; later: writing a record, after the erase) */
} es_pager_error;

/* Per-slot state, one per slot, caller-owned (es_pager_init clears it). */
typedef struct {
    uint32_t start;  /* device offset of the live copy */
    uint32_t length; /* bytes of the live copy; 0 = the slot holds no copy */
    uint32_t crc;    /* CRC-32 of the copy (ES_PAGER_CHECKSUM) */
} es_pager_slot;

typedef struct {
    const es_swap_device *device;
    const uint32_t *slot_bytes; /* [slot_count] capacity of each slot in bytes (>= 1) */
    uint32_t slot_count;
    es_pager_slot *slots;       /* [slot_count] caller-owned state */
    uint32_t *sector_erases;    /* [device->size_bytes / sector_bytes] erases per sector,
                                   caller-owned, zeroed by init (with a journal:
                                   the lifetime counts it rebuilds) */
    uint8_t *scratch;           /* relocation bounce buffer, caller-owned */
    uint32_t scratch_bytes;     /* >= device->program_bytes; larger means fewer device calls */
    uint32_t flags;             /* ES_PAGER_VERIFY | ES_PAGER_CHECKSUM */
    const es_swap_device *journal; /* wear journal (>= 2 sectors), or NULL: start at sector 0 */
} es_pager_config;

/* Totals since init. Program and read counts include padding, relocation and verification. */
typedef struct {
    uint64_t bytes_read;       /* every byte read from the device */
    uint64_t bytes_programmed; /* every byte programmed (copies padded to program_bytes) */
    uint64_t bytes_relocated;  /* part of bytes_programmed: live copies moved ahead of erases */
    uint32_t page_outs;        /* successful es_pager_page_out calls */
    uint32_t page_ins;         /* successful es_pager_page_in calls */
    uint32_t relocations;      /* copies relocated */
    uint32_t erases;           /* sectors erased (the sum of sector_erases) */
} es_pager_counters;

typedef struct {
    es_pager_config config;
    uint32_t sectors;       /* device sectors */
    uint32_t reserve;       /* Q = M + S - g */
    uint32_t head;          /* offset of the next program */
    uint32_t free_bytes;    /* erased bytes from head on (the frontier is head + free_bytes) */
    es_pager_counters counters;
    es_pager_error error;   /* of the last failed call */
    int32_t device_status;  /* ES_SWAP_* of the last device failure */
    uint32_t error_offset;  /* device offset (or sector for an erase) of the last failure */
    uint32_t lifetime_erases;  /* E: erases of the region in its life (journal), else since init */
    uint32_t journal_sector;   /* journal sector of the next record */
    uint32_t journal_next;     /* record index in it; == records per sector: erase the next sector */
    uint32_t journal_records;  /* records written since init */
} es_pager;

/* Device bytes the pager needs for these slots: W + M + 2S - 2g (see above). 0 when a capacity
 * is 0, a size is 0 or the figure does not fit in 32 bits. */
uint32_t es_pager_required_bytes(const uint32_t *slot_bytes, uint32_t slot_count,
                                 uint32_t sector_bytes, uint32_t program_bytes);

/* Check the configuration and start with every slot empty; touches no swap device (with a
 * journal: reads it, to resume the sweep). ES_ERR_ARG with error ES_PAGER_E_CONFIG or
 * ES_PAGER_E_REGION_SMALL when it cannot work; ES_ERR_IO with ES_PAGER_E_JOURNAL when the
 * journal cannot be read. */
es_status es_pager_init(es_pager *pager, const es_pager_config *config);

/* Write len bytes of ram as the copy of `slot` (1 <= len <= slot_bytes[slot]). */
es_status es_pager_page_out(es_pager *pager, uint32_t slot, const void *ram, uint32_t len);

/* Read the copy of `slot` into ram; len must equal the length of that copy. The copy stays. */
es_status es_pager_page_in(es_pager *pager, uint32_t slot, void *ram, uint32_t len);

/* Forget the copy of `slot` (its space is reclaimed by a later sweep). Empty slots are fine. */
es_status es_pager_drop(es_pager *pager, uint32_t slot);

/* Name of an es_pager_error ("ES_PAGER_E_NO_ROOM", ...). Never NULL. */
const char *es_pager_error_name(es_pager_error error);

#ifdef __cplusplus
}
#endif

#endif /* EDGESDK_PAGER_H */
