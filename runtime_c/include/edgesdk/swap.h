/*
 * edgesdk/swap.h -- a swap device: the storage the pager writes paged-out buffers to.
 *
 * A swap device is a region of NOR flash (or a simulation of one) seen from offset 0 to
 * size_bytes - 1, cut into sectors of sector_bytes (the erase unit). Its semantics are NOR's:
 *
 *   - erase(sector) sets every byte of the sector to 0xFF;
 *   - program(offset, buf, len) can only clear bits (1 -> 0): the stored byte becomes
 *     old & new. Asking for a 0 bit to become 1 is an error (the simulation detects it and
 *     returns ES_SWAP_ERR_NOR; real flash silently keeps the 0). offset and len are multiples
 *     of program_bytes, and [offset, offset + len) lies inside the device;
 *   - read(offset, buf, len) copies any byte range inside the device.
 *
 * Each function returns ES_SWAP_OK (0) or a device status (one of ES_SWAP_ERR_* below). The
 * pager turns a non-zero device status into ES_ERR_IO and keeps the device status for the caller
 * (es_pager.device_status). Buffers passed to program/read may have any alignment and may live
 * anywhere in RAM; a driver that needs aligned or DMA-reachable memory copies through its own
 * bounce buffer.
 *
 * The struct is caller-owned: a driver's init function fills it in and points ctx at the
 * driver's own (caller-owned) state. No device keeps globals or allocates memory.
 *
 * Devices in the tree (see docs/pager.md):
 *   edgesdk/swap_sim.h      simulated NOR in RAM (every port) or in a file (host), with fault
 *                           injection, endurance counting and NOR-rule checks
 *   edgesdk/swap_stm32f7.h  STM32F7 internal flash (FLASH registers) and QUADSPI NOR
 *   edgesdk/swap_nrf52.h    nRF52 NVMC internal flash and nRF52840 QSPI NOR
 */
#ifndef EDGESDK_SWAP_H
#define EDGESDK_SWAP_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- device statuses ------------------------------------------------------------------- */

#define ES_SWAP_OK 0
#define ES_SWAP_ERR_RANGE 1   /* offset/length outside the device, or a sector index too big */
#define ES_SWAP_ERR_ALIGN 2   /* program offset or length not a multiple of program_bytes */
#define ES_SWAP_ERR_NOR 3     /* program asked for a 0 bit to become 1 (simulation) */
#define ES_SWAP_ERR_TWICE 4   /* a program unit programmed twice since its erase (simulation) */
#define ES_SWAP_ERR_FAULT 5   /* an injected fault (simulation) */
#define ES_SWAP_ERR_WORN 6    /* the sector reached its erase endurance (simulation) */
#define ES_SWAP_ERR_TIMEOUT 7 /* the hardware did not finish in time */
#define ES_SWAP_ERR_HW 8      /* the hardware flagged an error (the driver keeps its register) */
#define ES_SWAP_ERR_FILE 9    /* a host file operation failed (file-backed simulation) */

/* ---- the device ------------------------------------------------------------------------ */

typedef struct es_swap_device {
    void *ctx;              /* the driver's state, passed back to every call */
    uint32_t size_bytes;    /* bytes of the region, a multiple of sector_bytes */
    uint32_t sector_bytes;  /* erase unit */
    uint32_t program_bytes; /* program granularity: a power of two dividing sector_bytes */
    int32_t (*read)(void *ctx, uint32_t offset, void *buf, uint32_t len);
    int32_t (*program)(void *ctx, uint32_t offset, const void *buf, uint32_t len);
    int32_t (*erase)(void *ctx, uint32_t sector);
} es_swap_device;

/* Name of a device status ("ES_SWAP_ERR_NOR", ...); "ES_SWAP_ERR_UNKNOWN" for other values. */
const char *es_swap_status_name(int32_t status);

#ifdef __cplusplus
}
#endif

#endif /* EDGESDK_SWAP_H */
