/*
 * swap_nrf52_nvmc.c -- nRF52 internal flash through the NVMC as a swap device
 * (edgesdk/swap_nrf52.h).
 *
 * nRF52832/nRF52840 product specifications, NVMC: CONFIG.WEN = 1 enables writes, 2 enables
 * erases, 0 returns to read-only; a 32-bit aligned word write or an ERASEPAGE write starts the
 * operation and READY reads 1 again when it has finished. Reads are memory-mapped.
 * Compile-only so far: not yet run on a board.
 */
#include "../cortex_m/cortex_m.h"

#if defined(ES_PORT_NRF52)

#include <string.h>

#include "edgesdk/swap_nrf52.h"

#define NVMC 0x4001E000u
#define NVMC_READY ES_REG32(NVMC + 0x400u)
#define NVMC_CONFIG ES_REG32(NVMC + 0x504u)
#define NVMC_ERASEPAGE ES_REG32(NVMC + 0x508u)

#define CONFIG_READ 0u
#define CONFIG_WRITE 1u
#define CONFIG_ERASE 2u
#define NRF52_PAGE 4096u
#define NVMC_DEFAULT_TIMEOUT 20000000u

static int32_t wait_ready(const es_swap_nrf52_nvmc *nvmc)
{
    uint32_t polls = nvmc->timeout;
    while ((NVMC_READY & 1u) == 0u) {
        if (polls-- == 0u) {
            return ES_SWAP_ERR_TIMEOUT;
        }
    }
    return ES_SWAP_OK;
}

static int32_t set_mode(const es_swap_nrf52_nvmc *nvmc, uint32_t mode)
{
    int32_t status = wait_ready(nvmc);
    NVMC_CONFIG = mode;
    ES_BARRIER();
    return status;
}

static int32_t nvmc_read(void *ctx, uint32_t offset, void *buf, uint32_t len)
{
    es_swap_nrf52_nvmc *nvmc = (es_swap_nrf52_nvmc *)ctx;
    if ((uint64_t)offset + len > (uint64_t)nvmc->pages * NRF52_PAGE) {
        return ES_SWAP_ERR_RANGE;
    }
    memcpy(buf, (const void *)(uintptr_t)(nvmc->base + offset), len);
    return ES_SWAP_OK;
}

static int32_t nvmc_program(void *ctx, uint32_t offset, const void *buf, uint32_t len)
{
    es_swap_nrf52_nvmc *nvmc = (es_swap_nrf52_nvmc *)ctx;
    const uint8_t *src = (const uint8_t *)buf;
    uint32_t done;
    int32_t status;
    if ((uint64_t)offset + len > (uint64_t)nvmc->pages * NRF52_PAGE) {
        return ES_SWAP_ERR_RANGE;
    }
    if ((offset & 3u) != 0u || (len & 3u) != 0u) {
        return ES_SWAP_ERR_ALIGN;
    }
    status = set_mode(nvmc, CONFIG_WRITE);
    for (done = 0u; done < len && status == ES_SWAP_OK; done += 4u) {
        uint32_t word;
        memcpy(&word, src + done, 4u); /* the source may be unaligned */
        ES_REG32(nvmc->base + offset + done) = word;
        ES_BARRIER();
        status = wait_ready(nvmc);
    }
    if (set_mode(nvmc, CONFIG_READ) != ES_SWAP_OK && status == ES_SWAP_OK) {
        status = ES_SWAP_ERR_TIMEOUT;
    }
    return status;
}

static int32_t nvmc_erase(void *ctx, uint32_t sector)
{
    es_swap_nrf52_nvmc *nvmc = (es_swap_nrf52_nvmc *)ctx;
    int32_t status;
    if (sector >= nvmc->pages) {
        return ES_SWAP_ERR_RANGE;
    }
    status = set_mode(nvmc, CONFIG_ERASE);
    if (status == ES_SWAP_OK) {
        NVMC_ERASEPAGE = nvmc->base + sector * NRF52_PAGE;
        ES_BARRIER();
        status = wait_ready(nvmc);
    }
    if (set_mode(nvmc, CONFIG_READ) != ES_SWAP_OK && status == ES_SWAP_OK) {
        status = ES_SWAP_ERR_TIMEOUT;
    }
    return status;
}

int32_t es_swap_nrf52_nvmc_init(es_swap_device *device, es_swap_nrf52_nvmc *nvmc, uint32_t base,
                                uint32_t pages)
{
    if (device == NULL || nvmc == NULL || pages == 0u || (base & (NRF52_PAGE - 1u)) != 0u) {
        return ES_SWAP_ERR_RANGE;
    }
    nvmc->base = base;
    nvmc->pages = pages;
    nvmc->timeout = NVMC_DEFAULT_TIMEOUT;
    device->ctx = nvmc;
    device->size_bytes = pages * NRF52_PAGE;
    device->sector_bytes = NRF52_PAGE;
    device->program_bytes = 4u;
    device->read = nvmc_read;
    device->program = nvmc_program;
    device->erase = nvmc_erase;
    return ES_SWAP_OK;
}

#endif /* ES_PORT_NRF52 */
