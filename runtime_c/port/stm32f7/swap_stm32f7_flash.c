/*
 * swap_stm32f7_flash.c -- the STM32F7 internal flash as a swap device (edgesdk/swap_stm32f7.h).
 *
 * RM0385 section 3 (embedded flash memory): unlock FLASH_CR with the two KEYR keys; program with
 * PG set and PSIZE = x32, one 32-bit word per write, waiting for BSY to clear; erase a sector
 * with SER + SNB + STRT. Error flags OPERR, WRPERR, PGAERR, PGPERR, ERSERR are cleared by writing
 * ones. Compile-only so far: not yet run on a board.
 */
#include "../cortex_m/cortex_m.h"

#if defined(ES_PORT_STM32F7)

#include <string.h>

#include "edgesdk/swap_stm32f7.h"

#define F7_FLASH 0x40023C00u
#define F7_FLASH_KEYR ES_REG32(F7_FLASH + 0x04u)
#define F7_FLASH_SR ES_REG32(F7_FLASH + 0x0Cu)
#define F7_FLASH_CR ES_REG32(F7_FLASH + 0x10u)

#define F7_KEY1 0x45670123u
#define F7_KEY2 0xCDEF89ABu

#define F7_SR_EOP (1u << 0)
#define F7_SR_ERRORS ((1u << 1) | (1u << 4) | (1u << 5) | (1u << 6) | (1u << 7)) /* OPERR..ERSERR */
#define F7_SR_BSY (1u << 16)

#define F7_CR_PG (1u << 0)
#define F7_CR_SER (1u << 1)
#define F7_CR_SNB_SHIFT 3u
#define F7_CR_SNB_MASK (0x1Fu << 3)
#define F7_CR_PSIZE_X32 (2u << 8)
#define F7_CR_PSIZE_MASK (3u << 8)
#define F7_CR_STRT (1u << 16)
#define F7_CR_LOCK (1u << 31)

#define F7_SCB_DCIMVAC ES_REG32(0xE000EF5Cu) /* invalidate data cache line by address */
#define F7_CACHE_LINE 32u
#define F7_DEFAULT_TIMEOUT 200000000u

static void invalidate_dcache(uint32_t address, uint32_t len)
{
    uint32_t line = address & ~(F7_CACHE_LINE - 1u);
    ES_BARRIER();
    for (; line < address + len; line += F7_CACHE_LINE) {
        F7_SCB_DCIMVAC = line;
    }
    ES_BARRIER();
}

static int32_t wait_idle(es_swap_stm32f7_flash *flash)
{
    uint32_t polls = flash->timeout;
    while ((F7_FLASH_SR & F7_SR_BSY) != 0u) {
        if (polls-- == 0u) {
            flash->last_sr = F7_FLASH_SR;
            return ES_SWAP_ERR_TIMEOUT;
        }
    }
    if ((F7_FLASH_SR & F7_SR_ERRORS) != 0u) {
        flash->last_sr = F7_FLASH_SR;
        F7_FLASH_SR = F7_SR_ERRORS | F7_SR_EOP;
        return ES_SWAP_ERR_HW;
    }
    return ES_SWAP_OK;
}

static int32_t unlock(es_swap_stm32f7_flash *flash)
{
    int32_t status = wait_idle(flash);
    if (status != ES_SWAP_OK) {
        return status;
    }
    if ((F7_FLASH_CR & F7_CR_LOCK) != 0u) {
        F7_FLASH_KEYR = F7_KEY1;
        F7_FLASH_KEYR = F7_KEY2;
    }
    F7_FLASH_SR = F7_SR_ERRORS | F7_SR_EOP;
    return (F7_FLASH_CR & F7_CR_LOCK) != 0u ? ES_SWAP_ERR_HW : ES_SWAP_OK;
}

static void lock(void)
{
    F7_FLASH_CR = (F7_FLASH_CR & ~(F7_CR_PG | F7_CR_SER | F7_CR_SNB_MASK)) | F7_CR_LOCK;
}

static int32_t flash_read(void *ctx, uint32_t offset, void *buf, uint32_t len)
{
    es_swap_stm32f7_flash *flash = (es_swap_stm32f7_flash *)ctx;
    if ((uint64_t)offset + len > (uint64_t)flash->sector_bytes * flash->sectors) {
        return ES_SWAP_ERR_RANGE;
    }
    memcpy(buf, (const void *)(uintptr_t)(flash->base + offset), len);
    return ES_SWAP_OK;
}

static int32_t flash_program(void *ctx, uint32_t offset, const void *buf, uint32_t len)
{
    es_swap_stm32f7_flash *flash = (es_swap_stm32f7_flash *)ctx;
    const uint8_t *src = (const uint8_t *)buf;
    uint32_t done;
    int32_t status;
    if ((uint64_t)offset + len > (uint64_t)flash->sector_bytes * flash->sectors) {
        return ES_SWAP_ERR_RANGE;
    }
    if ((offset & 3u) != 0u || (len & 3u) != 0u) {
        return ES_SWAP_ERR_ALIGN;
    }
    status = unlock(flash);
    for (done = 0u; done < len && status == ES_SWAP_OK; done += 4u) {
        uint32_t word;
        memcpy(&word, src + done, 4u); /* the source may be unaligned */
        F7_FLASH_CR = (F7_FLASH_CR & ~(F7_CR_PSIZE_MASK | F7_CR_SER | F7_CR_SNB_MASK)) |
                      F7_CR_PSIZE_X32 | F7_CR_PG;
        ES_REG32(flash->base + offset + done) = word;
        ES_BARRIER();
        status = wait_idle(flash);
    }
    lock();
    invalidate_dcache(flash->base + offset, len);
    return status;
}

static int32_t flash_erase(void *ctx, uint32_t sector)
{
    es_swap_stm32f7_flash *flash = (es_swap_stm32f7_flash *)ctx;
    int32_t status;
    if (sector >= flash->sectors) {
        return ES_SWAP_ERR_RANGE;
    }
    status = unlock(flash);
    if (status == ES_SWAP_OK) {
        uint32_t snb = (flash->first_sector + sector) << F7_CR_SNB_SHIFT;
        F7_FLASH_CR = (F7_FLASH_CR & ~(F7_CR_PSIZE_MASK | F7_CR_PG | F7_CR_SNB_MASK)) |
                      F7_CR_PSIZE_X32 | F7_CR_SER | (snb & F7_CR_SNB_MASK);
        F7_FLASH_CR |= F7_CR_STRT;
        ES_BARRIER();
        status = wait_idle(flash);
    }
    lock();
    invalidate_dcache(flash->base + sector * flash->sector_bytes, flash->sector_bytes);
    return status;
}

int32_t es_swap_stm32f7_flash_init(es_swap_device *device, es_swap_stm32f7_flash *flash,
                                   uint32_t base, uint32_t first_sector, uint32_t sector_bytes,
                                   uint32_t sectors)
{
    if (device == NULL || flash == NULL || sector_bytes == 0u || sectors == 0u ||
        (base & 3u) != 0u || first_sector > 31u) {
        return ES_SWAP_ERR_RANGE;
    }
    flash->base = base;
    flash->first_sector = first_sector;
    flash->sector_bytes = sector_bytes;
    flash->sectors = sectors;
    flash->timeout = F7_DEFAULT_TIMEOUT;
    flash->last_sr = 0u;
    device->ctx = flash;
    device->size_bytes = sector_bytes * sectors;
    device->sector_bytes = sector_bytes;
    device->program_bytes = 4u;
    device->read = flash_read;
    device->program = flash_program;
    device->erase = flash_erase;
    return ES_SWAP_OK;
}

#endif /* ES_PORT_STM32F7 */
