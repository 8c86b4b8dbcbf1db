/*
 * mmio.h -- register access for the clock and console code of the real-board ports.
 *
 * On the target, ES_MMIO_READ / ES_MMIO_WRITE are plain volatile accesses. A host build that
 * defines ES_MMIO_MODEL turns them into calls to es_mmio_read / es_mmio_write, which a test
 * supplies: a simulated register file that raises ready flags and checks that the sequence
 * keeps the order the reference manual requires (tests/c/stm32f7_clock_model.c).
 */
#ifndef ES_PORT_MMIO_H
#define ES_PORT_MMIO_H

#include <stdint.h>

#if defined(ES_MMIO_MODEL)
uint32_t es_mmio_read(uint32_t address);
void es_mmio_write(uint32_t address, uint32_t value);
#define ES_MMIO_READ(address) es_mmio_read(address)
#define ES_MMIO_WRITE(address, value) es_mmio_write((address), (value))
#else
#define ES_MMIO_READ(address) (*(volatile uint32_t *)(uintptr_t)(address))
#define ES_MMIO_WRITE(address, value) (*(volatile uint32_t *)(uintptr_t)(address) = (value))
#endif

#define ES_MMIO_SET(address, bits) ES_MMIO_WRITE((address), ES_MMIO_READ(address) | (bits))

#endif /* ES_PORT_MMIO_H */
