/*
 * edgesdk/swap_sim.h -- a simulated NOR-flash swap device, for tests and for running the pager
 * where there is no flash (the host, the QEMU stand-ins).
 *
 * Semantics (edgesdk/swap.h): erase sets a sector to 0xFF; program stores old & new and
 * returns ES_SWAP_ERR_NOR when new has a 1 where old has a 0 (a NOR violation; the AND is
 * still stored, as real flash would). Reads and programs outside the device return
 * ES_SWAP_ERR_RANGE, misaligned programs ES_SWAP_ERR_ALIGN.
 *
 * Checks beyond NOR:
 *   - programmed (optional bitmap, one bit per program unit): a unit programmed twice since its
 *     sector's last erase gives ES_SWAP_ERR_TWICE (after programming it). Init sets every bit:
 *     the simulation does not know what the device held, so a unit counts as programmed until
 *     its sector is erased -- programming before erasing is caught too.
 *   - endurance: an erase of a sector that already took `endurance` erases fails with
 *     ES_SWAP_ERR_WORN and changes nothing (0 = unlimited).
 *
 * Fault injection (es_swap_sim.faults; call numbers count from 1, 0 = never):
 *   - fail_read_at: that read call returns ES_SWAP_ERR_FAULT and leaves the buffer as it was;
 *   - fail_program_at: that program call programs only the first half of its units (rounded
 *     down: a torn write) and returns ES_SWAP_ERR_FAULT;
 *   - fail_erase_at: that erase call sets only the first half of the sector to 0xFF (its wear
 *     still counts) and returns ES_SWAP_ERR_FAULT;
 *   - flip_read_at / flip_bit: that read call succeeds but returns bit (flip_bit mod 8 x len) of
 *     its buffer inverted (bit 0 = least significant bit of the first byte).
 *
 * Backends: memory (any port: a caller-owned array) and file (host port only: a file of
 * size_bytes bytes, for regions larger than RAM or to inspect the image afterwards). Both run
 * the same code above their load/store functions, so they behave identically.
 */
#ifndef EDGESDK_SWAP_SIM_H
#define EDGESDK_SWAP_SIM_H

#include <stdint.h>

#include "edgesdk/swap.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    uint32_t fail_read_at;
    uint32_t fail_program_at;
    uint32_t fail_erase_at;
    uint32_t flip_read_at;
    uint32_t flip_bit;
} es_swap_sim_faults;

typedef struct es_swap_sim {
    uint32_t size_bytes;
    uint32_t sector_bytes;
    uint32_t program_bytes;
    uint32_t endurance;         /* erases per sector before ES_SWAP_ERR_WORN; 0 = unlimited */
    uint32_t *sector_erases;    /* [size_bytes / sector_bytes] wear, caller-owned */
    uint8_t *programmed;        /* [(size_bytes / program_bytes + 7) / 8] or NULL (no check) */
    es_swap_sim_faults faults;  /* set after init; see above */
    /* -- backend (set by the init functions) */
    uint8_t *memory;            /* memory backend: [size_bytes] */
    void *file;                 /* file backend: the host's FILE * */
    int32_t (*load)(struct es_swap_sim *sim, uint32_t offset, uint8_t *buf, uint32_t len);
    int32_t (*store)(struct es_swap_sim *sim, uint32_t offset, const uint8_t *buf, uint32_t len);
    /* -- what happened (the device's own account, independent of the pager's counters) */
    uint32_t reads;             /* calls */
    uint32_t programs;
    uint32_t erases;
    uint64_t bytes_read;        /* bytes returned by successful reads */
    uint64_t bytes_programmed;  /* bytes actually programmed (torn writes: the part done) */
    uint32_t nor_violations;    /* program calls that asked for a 0 -> 1 change */
    uint32_t double_programs;   /* program calls that hit a unit programmed since its erase */
    uint32_t faults_injected;   /* fault-injection events that fired */
} es_swap_sim;

/* Geometry accepted by both backends: size_bytes a non-zero multiple of sector_bytes, and
 * program_bytes a power of two dividing sector_bytes. sector_erases is zeroed; the bitmap, if
 * given, is set to all ones. Returns ES_SWAP_OK or ES_SWAP_ERR_RANGE (bad geometry or NULL). */

/* A device over memory[size_bytes]; the memory keeps what it holds (fill it with 0x00 to model
 * a device that was never erased). */
int32_t es_swap_sim_init_memory(es_swap_device *device, es_swap_sim *sim, uint8_t *memory,
                                uint32_t size_bytes, uint32_t sector_bytes, uint32_t program_bytes,
                                uint32_t *sector_erases, uint8_t *programmed);

/* Host port only (runtime_c/port/host/swap_file.c): a device over the file at `path`, created
 * or truncated and filled with size_bytes bytes of `fill`. ES_SWAP_ERR_FILE if it cannot be
 * written. Close it with es_swap_sim_close_file. */
int32_t es_swap_sim_init_file(es_swap_device *device, es_swap_sim *sim, const char *path,
                              uint8_t fill, uint32_t size_bytes, uint32_t sector_bytes,
                              uint32_t program_bytes, uint32_t *sector_erases, uint8_t *programmed);
int32_t es_swap_sim_close_file(es_swap_sim *sim);

/* Shared by the backends: check the geometry, reset the accounts, fill in `device`. */
int32_t es_swap_sim_setup(es_swap_device *device, es_swap_sim *sim, uint32_t size_bytes,
                          uint32_t sector_bytes, uint32_t program_bytes, uint32_t *sector_erases,
                          uint8_t *programmed);

#ifdef __cplusplus
}
#endif

#endif /* EDGESDK_SWAP_SIM_H */
