/*
 * edgesdk/swap_stm32f7.h -- swap devices of STM32F7 boards (port stm32f7): the internal flash
 * and a QUADSPI NOR chip (the STM32F746G-DISCO's 16 MB Micron N25Q128A).
 *
 * Register-level drivers after ST RM0385 (FLASH and QUADSPI chapters) and the Micron N25Q128A
 * datasheet. They compile with the board's flags in the test suite but have NOT been run on
 * hardware yet: check them on a board (the pager's ES_PAGER_VERIFY option helps) before relying
 * on them. Both program in 32-bit words (program_bytes = 4). Only built with -DES_PORT_STM32F7.
 *
 * Internal flash. The region is `sectors` equal sectors starting at flash sector `first_sector`
 * (address `base`); on an STM32F746 only sectors 5..7 are 256 KB each, and the pager needs at
 * least two sectors, so e.g. sectors 6-7 (base 0x08080000) when the firmware fits in 512 KB.
 * Programming uses x32 parallelism (VDD 2.7-3.6 V). Flash cannot be read while it is being
 * programmed or erased (one bank): code running from flash stalls until the operation ends
 * (a 256 KB sector erase takes 1-4 s). Reads are memory-mapped; the region's data-cache lines
 * are invalidated after every program and erase.
 *
 * QUADSPI. The chip is read memory-mapped at 0x90000000 (+ base_offset) with the configured
 * read command, and programmed (0x02 page program, split at 256-byte pages) and erased (0x20,
 * 4 KB subsector) with indirect-mode commands, polling the status register's WIP bit with the
 * peripheral's automatic polling and, for Micron parts, checking the flag status register.
 * es_swap_stm32f7_qspi_pins_disco() sets up the STM32F746G-DISCO's QSPI pins and clock; other
 * boards do their own pin set-up before es_swap_stm32f7_qspi_init. Configure the MPU so that
 * speculative reads of 0x90000000 beyond the chip are impossible (ST AN4861) when caches are on.
 */
#ifndef EDGESDK_SWAP_STM32F7_H
#define EDGESDK_SWAP_STM32F7_H

#include <stdint.h>

#include "edgesdk/swap.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- internal flash --------------------------------------------------------------------- */

typedef struct {
    uint32_t base;         /* address of the first byte of the region (AXIM, 0x08xxxxxx) */
    uint32_t first_sector; /* flash sector number at base (FLASH_CR.SNB) */
    uint32_t sector_bytes; /* size of every sector in the region */
    uint32_t sectors;
    uint32_t timeout;      /* polls of FLASH_SR.BSY before ES_SWAP_ERR_TIMEOUT */
    uint32_t last_sr;      /* FLASH_SR of the last failed operation */
} es_swap_stm32f7_flash;

/* E.g. es_swap_stm32f7_flash_init(&dev, &flash, 0x08080000u, 6u, 262144u, 2u). Returns
 * ES_SWAP_ERR_RANGE for a zero size or a misaligned base. */
int32_t es_swap_stm32f7_flash_init(es_swap_device *device, es_swap_stm32f7_flash *flash,
                                   uint32_t base, uint32_t first_sector, uint32_t sector_bytes,
                                   uint32_t sectors);

/* ---- QUADSPI NOR ------------------------------------------------------------------------ */

typedef struct {
    uint32_t base_offset;    /* first byte of the region inside the chip (4 KB aligned) */
    uint32_t sector_bytes;   /* 4096: the 0x20 subsector erase */
    uint32_t sectors;
    uint32_t size_log2;      /* chip size = 2^size_log2 bytes (24 for 16 MB) */
    uint32_t prescaler;      /* QUADSPI clock = HCLK / (prescaler + 1) */
    uint8_t read_command;    /* memory-mapped read: 0x6B quad output fast read */
    uint8_t read_dummy;      /* its dummy cycles (8) */
    uint8_t micron_flags;    /* 1: check the flag status register (0x70) after program/erase */
    uint32_t timeout;        /* polls before ES_SWAP_ERR_TIMEOUT */
    uint32_t last_sr;        /* QUADSPI_SR (or the chip's flag status) of the last failure */
} es_swap_stm32f7_qspi;

/* Enable the QUADSPI clock and route the STM32F746G-DISCO pins (PB2 CLK, PB6 NCS, PD11-PD13
 * IO0, IO1, IO3, PE2 IO2) to it. */
void es_swap_stm32f7_qspi_pins_disco(void);

/* Defaults for the DISCO's N25Q128A: 16 MB, read 0x6B with 8 dummy cycles, prescaler 2
 * (72 MHz at HCLK 216 MHz), Micron flag checks. Leaves the peripheral in memory-mapped mode. */
int32_t es_swap_stm32f7_qspi_init(es_swap_device *device, es_swap_stm32f7_qspi *qspi,
                                  uint32_t base_offset, uint32_t sectors);

#ifdef __cplusplus
}
#endif

#endif /* EDGESDK_SWAP_STM32F7_H */
