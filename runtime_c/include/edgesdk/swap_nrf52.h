/*
 * edgesdk/swap_nrf52.h -- swap devices of nRF52 boards (port nrf52): the internal flash through
 * the NVMC, and the nRF52840's QSPI NOR (the nRF52840-DK's 8 MB Macronix MX25R6435F).
 *
 * Register-level drivers after the nRF52832/nRF52840 product specifications (NVMC, QSPI) and the
 * MX25R6435F datasheet. They compile with the board's flags in the test suite but have NOT been
 * run on hardware yet: check them on a board (the pager's ES_PAGER_VERIFY option helps) before
 * relying on them. Both program in 32-bit words (program_bytes = 4). Only built with
 * -DES_PORT_NRF52.
 *
 * NVMC. The region is `pages` 4 KB flash pages from `base` (e.g. the top 32 pages of the
 * nRF52840, base 0xE0000). Word writes and page erases halt the CPU while the NVMC works (up to
 * 85-90 ms per page erase). The NVMC reports no errors: use ES_PAGER_VERIFY to catch a failed
 * write. Not usable while a SoftDevice is enabled (it owns the NVMC: use its flash API instead).
 * A word may be written at most twice between erases (nWRITE); the pager writes it once.
 *
 * QSPI (nRF52840 only). Reads and writes go through EasyDMA from a word-aligned bounce buffer
 * inside the driver state (which must therefore live in RAM); writes are split at 256-byte
 * pages; erases are 4 KB sectors. The peripheral sends write enable itself; the driver then
 * polls the chip's status register (WIP) with a custom instruction. The defaults use single-line
 * commands (FASTREAD 0x0B, PP 0x02), which need no quad-enable bit in the chip.
 */
#ifndef EDGESDK_SWAP_NRF52_H
#define EDGESDK_SWAP_NRF52_H

#include <stdint.h>

#include "edgesdk/swap.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- NVMC internal flash ---------------------------------------------------------------- */

typedef struct {
    uint32_t base;    /* address of the region's first page (4 KB aligned) */
    uint32_t pages;
    uint32_t timeout; /* polls of NVMC READY before ES_SWAP_ERR_TIMEOUT */
} es_swap_nrf52_nvmc;

int32_t es_swap_nrf52_nvmc_init(es_swap_device *device, es_swap_nrf52_nvmc *nvmc, uint32_t base,
                                uint32_t pages);

/* ---- QSPI NOR (nRF52840) ---------------------------------------------------------------- */

typedef struct {
    uint8_t sck, csn, io0, io1, io2, io3; /* GPIO numbers: port * 32 + pin */
    uint8_t sck_divider;                  /* SCK = 32 MHz / (sck_divider + 1) */
} es_swap_nrf52_qspi_pins;

/* The nRF52840-DK: SCK P0.19, CSN P0.17, IO0-IO3 P0.20-P0.23, 8 MHz. */
#define ES_SWAP_NRF52840_DK_QSPI_PINS {19u, 17u, 20u, 21u, 22u, 23u, 3u}

typedef struct {
    uint32_t base_offset;  /* first byte of the region inside the chip (4 KB aligned) */
    uint32_t sectors;      /* 4 KB sectors */
    uint32_t timeout;      /* polls before ES_SWAP_ERR_TIMEOUT */
    uint32_t last_status;  /* the chip's status register when the last operation failed */
    uint32_t bounce[64];   /* EasyDMA buffer: 256 bytes, word aligned, in RAM */
} es_swap_nrf52_qspi;

/* Configure the pins and the interface, activate the peripheral and describe an 8 MB chip. */
int32_t es_swap_nrf52_qspi_init(es_swap_device *device, es_swap_nrf52_qspi *qspi,
                                const es_swap_nrf52_qspi_pins *pins, uint32_t base_offset,
                                uint32_t sectors);

#ifdef __cplusplus
}
#endif

#endif /* EDGESDK_SWAP_NRF52_H */
