/*
 * swap_nrf52_qspi.c -- the nRF52840's QSPI NOR chip as a swap device (edgesdk/swap_nrf52.h).
 *
 * nRF52840 product specification, QSPI: ENABLE, then TASKS_ACTIVATE and EVENTS_READY; EasyDMA
 * transfers with READ.SRC/DST/CNT + TASKS_READSTART, WRITE.DST/SRC/CNT + TASKS_WRITESTART
 * (addresses and counts multiples of 4, RAM buffers word aligned), ERASE.PTR/LEN +
 * TASKS_ERASESTART; each ends with EVENTS_READY. The peripheral sends WREN before writes and
 * erases; the chip's status register (0x05, bit 0 WIP) is then polled with a custom
 * instruction (CINSTRCONF). Compile-only so far: not yet run on a board.
 */
#include "../cortex_m/cortex_m.h"

#if defined(ES_PORT_NRF52)

#include <string.h>

#include "edgesdk/swap_nrf52.h"

#define QSPI 0x40029000u
#define QSPI_TASKS_ACTIVATE ES_REG32(QSPI + 0x000u)
#define QSPI_TASKS_READSTART ES_REG32(QSPI + 0x004u)
#define QSPI_TASKS_WRITESTART ES_REG32(QSPI + 0x008u)
#define QSPI_TASKS_ERASESTART ES_REG32(QSPI + 0x00Cu)
#define QSPI_EVENTS_READY ES_REG32(QSPI + 0x100u)
#define QSPI_ENABLE ES_REG32(QSPI + 0x500u)
#define QSPI_READ_SRC ES_REG32(QSPI + 0x504u)
#define QSPI_READ_DST ES_REG32(QSPI + 0x508u)
#define QSPI_READ_CNT ES_REG32(QSPI + 0x50Cu)
#define QSPI_WRITE_DST ES_REG32(QSPI + 0x510u)
#define QSPI_WRITE_SRC ES_REG32(QSPI + 0x514u)
#define QSPI_WRITE_CNT ES_REG32(QSPI + 0x518u)
#define QSPI_ERASE_PTR ES_REG32(QSPI + 0x51Cu)
#define QSPI_ERASE_LEN ES_REG32(QSPI + 0x520u)
#define QSPI_PSEL(n) ES_REG32(QSPI + 0x524u + 4u * (n)) /* 0 SCK, 1 CSN, 3..6 IO0..IO3 */
#define QSPI_IFCONFIG0 ES_REG32(QSPI + 0x544u)
#define QSPI_IFCONFIG1 ES_REG32(QSPI + 0x600u)
#define QSPI_CINSTRCONF ES_REG32(QSPI + 0x634u)
#define QSPI_CINSTRDAT0 ES_REG32(QSPI + 0x638u)

#define ERASE_LEN_4KB 0u
#define IFCONFIG0_FASTREAD_PP_24BIT_256 0u /* READOC FASTREAD, WRITEOC PP, 24-bit, 256 B pages */
#define CINSTR_LENGTH_2 (2u << 8)          /* opcode + one data byte */
#define CINSTR_LIO2_LIO3 ((1u << 12) | (1u << 13))
#define CMD_READ_STATUS 0x05u
#define PAGE 256u
#define BOUNCE_BYTES 256u
#define QSPI_DEFAULT_TIMEOUT 20000000u

static void pin_for_qspi(uint32_t pin)
{
    uint32_t port = pin >> 5;
    uint32_t base = port == 0u ? 0x50000000u : 0x50000300u;
    ES_REG32(base + 0x700u + 4u * (pin & 31u)) = 3u << 8; /* input, drive H0H1 */
}

static int32_t wait_event(es_swap_nrf52_qspi *qspi)
{
    uint32_t polls = qspi->timeout;
    while (QSPI_EVENTS_READY == 0u) {
        if (polls-- == 0u) {
            return ES_SWAP_ERR_TIMEOUT;
        }
    }
    QSPI_EVENTS_READY = 0u;
    return ES_SWAP_OK;
}

/* Poll the chip's status register until WIP clears. */
static int32_t wait_chip(es_swap_nrf52_qspi *qspi)
{
    uint32_t polls = qspi->timeout;
    for (;;) {
        int32_t status;
        QSPI_EVENTS_READY = 0u;
        QSPI_CINSTRCONF = CMD_READ_STATUS | CINSTR_LENGTH_2 | CINSTR_LIO2_LIO3;
        status = wait_event(qspi);
        if (status != ES_SWAP_OK) {
            return status;
        }
        if ((QSPI_CINSTRDAT0 & 1u) == 0u) {
            return ES_SWAP_OK;
        }
        if (polls-- == 0u) {
            qspi->last_status = QSPI_CINSTRDAT0 & 0xFFu;
            return ES_SWAP_ERR_TIMEOUT;
        }
    }
}

static int in_range(const es_swap_nrf52_qspi *qspi, uint32_t offset, uint32_t len)
{
    return (uint64_t)offset + len <= 4096u * (uint64_t)qspi->sectors;
}

static int32_t qspi_read(void *ctx, uint32_t offset, void *buf, uint32_t len)
{
    es_swap_nrf52_qspi *qspi = (es_swap_nrf52_qspi *)ctx;
    uint8_t *dst = (uint8_t *)buf;
    if (!in_range(qspi, offset, len)) {
        return ES_SWAP_ERR_RANGE;
    }
    while (len > 0u) {
        uint32_t address = qspi->base_offset + offset;
        uint32_t skip = address & 3u; /* DMA reads whole words: read around the range */
        uint32_t run = len < BOUNCE_BYTES - skip ? len : BOUNCE_BYTES - skip;
        uint32_t count = (skip + run + 3u) & ~3u;
        int32_t status;
        QSPI_READ_SRC = address - skip;
        QSPI_READ_DST = (uint32_t)(uintptr_t)qspi->bounce;
        QSPI_READ_CNT = count;
        QSPI_EVENTS_READY = 0u;
        QSPI_TASKS_READSTART = 1u;
        status = wait_event(qspi);
        if (status != ES_SWAP_OK) {
            return status;
        }
        memcpy(dst, (const uint8_t *)qspi->bounce + skip, run);
        dst += run;
        offset += run;
        len -= run;
    }
    return ES_SWAP_OK;
}

static int32_t qspi_program(void *ctx, uint32_t offset, const void *buf, uint32_t len)
{
    es_swap_nrf52_qspi *qspi = (es_swap_nrf52_qspi *)ctx;
    const uint8_t *src = (const uint8_t *)buf;
    uint32_t done = 0u;
    if (!in_range(qspi, offset, len)) {
        return ES_SWAP_ERR_RANGE;
    }
    if ((offset & 3u) != 0u || (len & 3u) != 0u) {
        return ES_SWAP_ERR_ALIGN;
    }
    while (done < len) {
        uint32_t address = qspi->base_offset + offset + done;
        uint32_t run = PAGE - (address & (PAGE - 1u)); /* up to the end of the chip's page */
        int32_t status;
        if (run > len - done) {
            run = len - done;
        }
        memcpy(qspi->bounce, src + done, run);
        QSPI_WRITE_DST = address;
        QSPI_WRITE_SRC = (uint32_t)(uintptr_t)qspi->bounce;
        QSPI_WRITE_CNT = run;
        QSPI_EVENTS_READY = 0u;
        QSPI_TASKS_WRITESTART = 1u;
        status = wait_event(qspi);
        if (status == ES_SWAP_OK) {
            status = wait_chip(qspi);
        }
        if (status != ES_SWAP_OK) {
            return status;
        }
        done += run;
    }
    return ES_SWAP_OK;
}

static int32_t qspi_erase(void *ctx, uint32_t sector)
{
    es_swap_nrf52_qspi *qspi = (es_swap_nrf52_qspi *)ctx;
    int32_t status;
    if (sector >= qspi->sectors) {
        return ES_SWAP_ERR_RANGE;
    }
    QSPI_ERASE_PTR = qspi->base_offset + sector * 4096u;
    QSPI_ERASE_LEN = ERASE_LEN_4KB;
    QSPI_EVENTS_READY = 0u;
    QSPI_TASKS_ERASESTART = 1u;
    status = wait_event(qspi);
    return status == ES_SWAP_OK ? wait_chip(qspi) : status;
}

int32_t es_swap_nrf52_qspi_init(es_swap_device *device, es_swap_nrf52_qspi *qspi,
                                const es_swap_nrf52_qspi_pins *pins, uint32_t base_offset,
                                uint32_t sectors)
{
    static const uint8_t psel_index[6] = {0u, 1u, 3u, 4u, 5u, 6u}; /* SCK, CSN, IO0..IO3 */
    uint8_t pin_list[6];
    uint32_t i;
    if (device == NULL || qspi == NULL || pins == NULL || sectors == 0u ||
        (base_offset & 4095u) != 0u || pins->sck_divider > 15u ||
        (uint64_t)base_offset + 4096u * (uint64_t)sectors > (8u << 20)) {
        return ES_SWAP_ERR_RANGE;
    }
    memset(qspi, 0, sizeof(*qspi));
    qspi->base_offset = base_offset;
    qspi->sectors = sectors;
    qspi->timeout = QSPI_DEFAULT_TIMEOUT;

    pin_list[0] = pins->sck;
    pin_list[1] = pins->csn;
    pin_list[2] = pins->io0;
    pin_list[3] = pins->io1;
    pin_list[4] = pins->io2;
    pin_list[5] = pins->io3;
    for (i = 0u; i < 6u; ++i) {
        uint32_t pin = pin_list[i];
        pin_for_qspi(pin);
        QSPI_PSEL(psel_index[i]) = (pin & 31u) | ((pin >> 5) << 5); /* PIN, PORT; CONNECT = 0 */
    }
    QSPI_IFCONFIG0 = IFCONFIG0_FASTREAD_PP_24BIT_256;
    QSPI_IFCONFIG1 = ((uint32_t)pins->sck_divider << 28) | 1u; /* SPI mode 0, SCKDELAY 1 */
    QSPI_ENABLE = 1u;
    QSPI_EVENTS_READY = 0u;
    QSPI_TASKS_ACTIVATE = 1u;
    if (wait_event(qspi) != ES_SWAP_OK) {
        return ES_SWAP_ERR_TIMEOUT;
    }
    device->ctx = qspi;
    device->size_bytes = 4096u * sectors;
    device->sector_bytes = 4096u;
    device->program_bytes = 4u;
    device->read = qspi_read;
    device->program = qspi_program;
    device->erase = qspi_erase;
    return ES_SWAP_OK;
}

#endif /* ES_PORT_NRF52 */
