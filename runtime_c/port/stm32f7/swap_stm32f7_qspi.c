/*
 * swap_stm32f7_qspi.c -- a QUADSPI NOR chip on an STM32F7 as a swap device
 * (edgesdk/swap_stm32f7.h).
 *
 * RM0385 section 13 (QUADSPI): reads in memory-mapped mode (FMODE = 11) at 0x90000000; for a
 * program or erase the memory-mapped mode is aborted (CR.ABORT), the commands run in indirect
 * mode (FMODE = 00 write, 01 read) and the status register is polled in automatic-polling mode
 * (FMODE = 10) until WIP clears; then memory-mapped mode is entered again. Chip commands (Micron
 * N25Q128A): 0x06 write enable, 0x02 page program (at most one 256-byte page each), 0x20 4 KB
 * subsector erase, 0x05 read status (bit 0 WIP), 0x70 read flag status (bit 7 ready, bit 5 erase
 * error, bit 4 program error, bit 1 protection error), 0x50 clear flag status.
 * Compile-only so far: not yet run on a board.
 */
#include "../cortex_m/cortex_m.h"

#if defined(ES_PORT_STM32F7)

#include <string.h>

#include "edgesdk/swap_stm32f7.h"

/* ---- registers -------------------------------------------------------------------------- */

#define QS 0xA0001000u
#define QS_CR ES_REG32(QS + 0x00u)
#define QS_DCR ES_REG32(QS + 0x04u)
#define QS_SR ES_REG32(QS + 0x08u)
#define QS_FCR ES_REG32(QS + 0x0Cu)
#define QS_DLR ES_REG32(QS + 0x10u)
#define QS_CCR ES_REG32(QS + 0x14u)
#define QS_AR ES_REG32(QS + 0x18u)
#define QS_DR8 (*(volatile uint8_t *)(uintptr_t)(QS + 0x20u))
#define QS_PSMKR ES_REG32(QS + 0x24u)
#define QS_PSMAR ES_REG32(QS + 0x28u)
#define QS_PIR ES_REG32(QS + 0x2Cu)

#define QS_CR_EN (1u << 0)
#define QS_CR_ABORT (1u << 1)
#define QS_CR_APMS (1u << 22)
#define QS_SR_TEF (1u << 0)
#define QS_SR_TCF (1u << 1)
#define QS_SR_FTF (1u << 2)
#define QS_SR_SMF (1u << 3)
#define QS_SR_BUSY (1u << 5)
#define QS_FCR_ALL 0x1Bu /* CTOF | CSMF | CTCF | CTEF */

/* CCR fields */
#define CCR_INSTRUCTION(op) ((uint32_t)(op))
#define CCR_IMODE_1 (1u << 8)
#define CCR_ADMODE_1 (1u << 10)
#define CCR_ADSIZE_24 (2u << 12)
#define CCR_DCYC(n) ((uint32_t)(n) << 18)
#define CCR_DMODE_1 (1u << 24)
#define CCR_DMODE_4 (3u << 24)
#define CCR_FMODE_WRITE (0u << 26)
#define CCR_FMODE_READ (1u << 26)
#define CCR_FMODE_POLL (2u << 26)
#define CCR_FMODE_MAPPED (3u << 26)

#define QS_MAPPED 0x90000000u
#define QS_PAGE 256u
#define QS_DEFAULT_TIMEOUT 50000000u

#define CMD_WRITE_ENABLE 0x06u
#define CMD_PAGE_PROGRAM 0x02u
#define CMD_SUBSECTOR_ERASE 0x20u
#define CMD_READ_STATUS 0x05u
#define CMD_READ_FLAG_STATUS 0x70u
#define CMD_CLEAR_FLAG_STATUS 0x50u
#define FSR_ERRORS ((1u << 5) | (1u << 4) | (1u << 1))

/* ---- RCC and GPIO for the DISCO pins ---------------------------------------------------- */

#define RCC_AHB1ENR ES_REG32(0x40023830u)
#define RCC_AHB3ENR ES_REG32(0x40023838u)
#define GPIOB 0x40020400u
#define GPIOD 0x40020C00u
#define GPIOE 0x40021000u

static void pin_alternate(uint32_t port, uint32_t pin, uint32_t function)
{
    volatile uint32_t *afr = &ES_REG32(port + (pin < 8u ? 0x20u : 0x24u));
    uint32_t shift = (pin & 7u) * 4u;
    ES_REG32(port + 0x00u) = (ES_REG32(port + 0x00u) & ~(3u << (2u * pin))) | (2u << (2u * pin));
    ES_REG32(port + 0x08u) |= 3u << (2u * pin); /* very high speed */
    *afr = (*afr & ~(0xFu << shift)) | (function << shift);
}

void es_swap_stm32f7_qspi_pins_disco(void)
{
    RCC_AHB1ENR |= (1u << 1) | (1u << 3) | (1u << 4); /* GPIOB, GPIOD, GPIOE */
    RCC_AHB3ENR |= 1u << 1;                             /* QSPIEN */
    ES_BARRIER();
    pin_alternate(GPIOB, 2u, 9u);   /* CLK */
    pin_alternate(GPIOB, 6u, 10u);  /* BK1_NCS */
    pin_alternate(GPIOD, 11u, 9u);  /* BK1_IO0 */
    pin_alternate(GPIOD, 12u, 9u);  /* BK1_IO1 */
    pin_alternate(GPIOE, 2u, 9u);   /* BK1_IO2 */
    pin_alternate(GPIOD, 13u, 9u);  /* BK1_IO3 */
}

/* ---- command helpers -------------------------------------------------------------------- */

static int32_t wait_flag(es_swap_stm32f7_qspi *qspi, uint32_t flag)
{
    uint32_t polls = qspi->timeout;
    while ((QS_SR & flag) == 0u) {
        if ((QS_SR & QS_SR_TEF) != 0u) {
            qspi->last_sr = QS_SR;
            QS_FCR = QS_FCR_ALL;
            return ES_SWAP_ERR_HW;
        }
        if (polls-- == 0u) {
            qspi->last_sr = QS_SR;
            return ES_SWAP_ERR_TIMEOUT;
        }
    }
    QS_FCR = QS_FCR_ALL;
    return ES_SWAP_OK;
}

static int32_t wait_not_busy(es_swap_stm32f7_qspi *qspi)
{
    uint32_t polls = qspi->timeout;
    while ((QS_SR & QS_SR_BUSY) != 0u) {
        if (polls-- == 0u) {
            qspi->last_sr = QS_SR;
            return ES_SWAP_ERR_TIMEOUT;
        }
    }
    return ES_SWAP_OK;
}

/* Leave memory-mapped mode so that indirect commands can run. */
static int32_t leave_mapped(es_swap_stm32f7_qspi *qspi)
{
    uint32_t polls = qspi->timeout;
    QS_CR |= QS_CR_ABORT;
    while ((QS_CR & QS_CR_ABORT) != 0u) {
        if (polls-- == 0u) {
            qspi->last_sr = QS_SR;
            return ES_SWAP_ERR_TIMEOUT;
        }
    }
    return wait_not_busy(qspi);
}

static int32_t enter_mapped(es_swap_stm32f7_qspi *qspi)
{
    int32_t status = wait_not_busy(qspi);
    if (status != ES_SWAP_OK) {
        return status;
    }
    QS_CCR = CCR_FMODE_MAPPED | CCR_DMODE_4 | CCR_DCYC(qspi->read_dummy) | CCR_ADSIZE_24 |
             CCR_ADMODE_1 | CCR_IMODE_1 | CCR_INSTRUCTION(qspi->read_command);
    return ES_SWAP_OK;
}

/* An instruction with no address and no data (write enable, clear flag status). */
static int32_t command(es_swap_stm32f7_qspi *qspi, uint8_t op)
{
    int32_t status = wait_not_busy(qspi);
    if (status != ES_SWAP_OK) {
        return status;
    }
    QS_CCR = CCR_FMODE_WRITE | CCR_IMODE_1 | CCR_INSTRUCTION(op);
    return wait_flag(qspi, QS_SR_TCF);
}

/* Auto-poll the status register until WIP (bit 0) reads 0. */
static int32_t wait_ready(es_swap_stm32f7_qspi *qspi)
{
    int32_t status = wait_not_busy(qspi);
    if (status != ES_SWAP_OK) {
        return status;
    }
    QS_PSMKR = 0x01u;
    QS_PSMAR = 0x00u;
    QS_PIR = 0x10u;
    QS_DLR = 0u;
    QS_CR |= QS_CR_APMS;
    QS_CCR = CCR_FMODE_POLL | CCR_DMODE_1 | CCR_IMODE_1 | CCR_INSTRUCTION(CMD_READ_STATUS);
    return wait_flag(qspi, QS_SR_SMF);
}

/* Micron: the flag status register says whether the last program/erase failed. */
static int32_t check_flags(es_swap_stm32f7_qspi *qspi)
{
    uint8_t flags;
    int32_t status;
    if (!qspi->micron_flags) {
        return ES_SWAP_OK;
    }
    status = wait_not_busy(qspi);
    if (status != ES_SWAP_OK) {
        return status;
    }
    QS_DLR = 0u;
    QS_CCR = CCR_FMODE_READ | CCR_DMODE_1 | CCR_IMODE_1 | CCR_INSTRUCTION(CMD_READ_FLAG_STATUS);
    status = wait_flag(qspi, QS_SR_TCF);
    if (status != ES_SWAP_OK) {
        return status;
    }
    flags = QS_DR8;
    if ((flags & FSR_ERRORS) != 0u) {
        qspi->last_sr = flags;
        (void)command(qspi, CMD_CLEAR_FLAG_STATUS);
        return ES_SWAP_ERR_HW;
    }
    return ES_SWAP_OK;
}

static void invalidate_dcache(uint32_t address, uint32_t len)
{
    uint32_t line = address & ~31u;
    ES_BARRIER();
    for (; line < address + len; line += 32u) {
        ES_REG32(0xE000EF5Cu) = line; /* SCB_DCIMVAC */
    }
    ES_BARRIER();
}

/* ---- device functions ------------------------------------------------------------------- */

static int in_range(const es_swap_stm32f7_qspi *qspi, uint32_t offset, uint32_t len)
{
    return (uint64_t)offset + len <= (uint64_t)qspi->sector_bytes * qspi->sectors;
}

static int32_t qspi_read(void *ctx, uint32_t offset, void *buf, uint32_t len)
{
    es_swap_stm32f7_qspi *qspi = (es_swap_stm32f7_qspi *)ctx;
    if (!in_range(qspi, offset, len)) {
        return ES_SWAP_ERR_RANGE;
    }
    memcpy(buf, (const void *)(uintptr_t)(QS_MAPPED + qspi->base_offset + offset), len);
    return ES_SWAP_OK;
}

static int32_t program_page(es_swap_stm32f7_qspi *qspi, uint32_t address, const uint8_t *src,
                            uint32_t len)
{
    uint32_t i;
    int32_t status = command(qspi, CMD_WRITE_ENABLE);
    if (status != ES_SWAP_OK) {
        return status;
    }
    QS_DLR = len - 1u;
    QS_CCR = CCR_FMODE_WRITE | CCR_DMODE_1 | CCR_ADSIZE_24 | CCR_ADMODE_1 | CCR_IMODE_1 |
             CCR_INSTRUCTION(CMD_PAGE_PROGRAM);
    QS_AR = address;
    for (i = 0u; i < len; ++i) {
        status = wait_flag(qspi, QS_SR_FTF);
        if (status != ES_SWAP_OK) {
            return status;
        }
        QS_DR8 = src[i];
    }
    status = wait_flag(qspi, QS_SR_TCF);
    if (status == ES_SWAP_OK) {
        status = wait_ready(qspi);
    }
    return status == ES_SWAP_OK ? check_flags(qspi) : status;
}

static int32_t qspi_program(void *ctx, uint32_t offset, const void *buf, uint32_t len)
{
    es_swap_stm32f7_qspi *qspi = (es_swap_stm32f7_qspi *)ctx;
    const uint8_t *src = (const uint8_t *)buf;
    uint32_t done = 0u;
    int32_t status;
    int32_t mapped;
    if (!in_range(qspi, offset, len)) {
        return ES_SWAP_ERR_RANGE;
    }
    if ((offset & 3u) != 0u || (len & 3u) != 0u) {
        return ES_SWAP_ERR_ALIGN;
    }
    status = leave_mapped(qspi);
    while (status == ES_SWAP_OK && done < len) {
        uint32_t address = qspi->base_offset + offset + done;
        uint32_t run = QS_PAGE - (address & (QS_PAGE - 1u)); /* up to the end of the page */
        if (run > len - done) {
            run = len - done;
        }
        status = program_page(qspi, address, src + done, run);
        done += run;
    }
    mapped = enter_mapped(qspi);
    invalidate_dcache(QS_MAPPED + qspi->base_offset + offset, len);
    return status != ES_SWAP_OK ? status : mapped;
}

static int32_t qspi_erase(void *ctx, uint32_t sector)
{
    es_swap_stm32f7_qspi *qspi = (es_swap_stm32f7_qspi *)ctx;
    uint32_t address;
    int32_t status;
    int32_t mapped;
    if (sector >= qspi->sectors) {
        return ES_SWAP_ERR_RANGE;
    }
    address = qspi->base_offset + sector * qspi->sector_bytes;
    status = leave_mapped(qspi);
    if (status == ES_SWAP_OK) {
        status = command(qspi, CMD_WRITE_ENABLE);
    }
    if (status == ES_SWAP_OK) {
        QS_CCR = CCR_FMODE_WRITE | CCR_ADSIZE_24 | CCR_ADMODE_1 | CCR_IMODE_1 |
                 CCR_INSTRUCTION(CMD_SUBSECTOR_ERASE);
        QS_AR = address;
        status = wait_flag(qspi, QS_SR_TCF);
    }
    if (status == ES_SWAP_OK) {
        status = wait_ready(qspi);
    }
    if (status == ES_SWAP_OK) {
        status = check_flags(qspi);
    }
    mapped = enter_mapped(qspi);
    invalidate_dcache(QS_MAPPED + address, qspi->sector_bytes);
    return status != ES_SWAP_OK ? status : mapped;
}

int32_t es_swap_stm32f7_qspi_init(es_swap_device *device, es_swap_stm32f7_qspi *qspi,
                                  uint32_t base_offset, uint32_t sectors)
{
    if (device == NULL || qspi == NULL || sectors == 0u || (base_offset & 4095u) != 0u ||
        (uint64_t)base_offset + 4096u * (uint64_t)sectors > (1u << 24)) {
        return ES_SWAP_ERR_RANGE;
    }
    qspi->base_offset = base_offset;
    qspi->sector_bytes = 4096u;
    qspi->sectors = sectors;
    qspi->size_log2 = 24u;
    qspi->prescaler = 2u;
    qspi->read_command = 0x6Bu;
    qspi->read_dummy = 8u;
    qspi->micron_flags = 1u;
    qspi->timeout = QS_DEFAULT_TIMEOUT;
    qspi->last_sr = 0u;

    QS_CR = 0u; /* disabled while configuring */
    QS_DCR = ((qspi->size_log2 - 1u) << 16) | (1u << 8); /* FSIZE, CSHT = 2 cycles */
    QS_CR = (qspi->prescaler << 24) | (3u << 8) | QS_CR_EN; /* FTHRES = 4 bytes */
    QS_FCR = QS_FCR_ALL;

    device->ctx = qspi;
    device->size_bytes = 4096u * sectors;
    device->sector_bytes = 4096u;
    device->program_bytes = 4u;
    device->read = qspi_read;
    device->program = qspi_program;
    device->erase = qspi_erase;
    return enter_mapped(qspi);
}

#endif /* ES_PORT_STM32F7 */
