/*
 * pager_board.c -- the pager on a real board's swap devices: built (not run) for the
 * stm32f746 and nrf52840 boards by tests/test_pager_targets.py, to prove that the register-level
 * drivers compile and link with the board's flags. On a board it pages one buffer out and back
 * through every device and reports the counters and whether the data came back.
 */
#include <string.h>

#include "edgesdk/pager.h"
#include "edgesdk/port.h"
#if defined(ES_PORT_STM32F7)
#include "edgesdk/swap_stm32f7.h"
#elif defined(ES_PORT_NRF52)
#include "edgesdk/swap_nrf52.h"
#endif

static const uint32_t slot_bytes[2] = {1024u, 512u};
static es_pager_slot slots[2];
static uint32_t sector_erases[256];
static uint8_t scratch[256];
static uint8_t out_buffer[1024];
static uint8_t in_buffer[1024];

static void exercise(const char *name, const es_swap_device *device)
{
    es_pager pager;
    es_pager_config config;
    uint32_t i;
    es_status status;

    config.device = device;
    config.slot_bytes = slot_bytes;
    config.slot_count = 2u;
    config.slots = slots;
    config.sector_erases = sector_erases;
    config.scratch = scratch;
    config.scratch_bytes = sizeof(scratch);
    config.flags = ES_PAGER_VERIFY | ES_PAGER_CHECKSUM;
    es_report_str("device", name);
    if (device->size_bytes / device->sector_bytes > 256u) {
        es_report_str("error", "too many sectors for this program");
        return;
    }
    for (i = 0u; i < sizeof(out_buffer); ++i) {
        out_buffer[i] = (uint8_t)(i * 7u + 3u);
    }
    status = es_pager_init(&pager, &config);
    if (status == ES_OK) {
        status = es_pager_page_out(&pager, 0u, out_buffer, sizeof(out_buffer));
    }
    if (status == ES_OK) {
        status = es_pager_page_in(&pager, 0u, in_buffer, sizeof(in_buffer));
    }
    es_report_str("status", es_status_name(status));
    es_report_str("error", es_pager_error_name(pager.error));
    es_report_str("device_status", es_swap_status_name(pager.device_status));
    es_report_u64("same", memcmp(out_buffer, in_buffer, sizeof(in_buffer)) == 0);
    es_report_u64("bytes_programmed", pager.counters.bytes_programmed);
    es_report_u64("erases", pager.counters.erases);
}

int main(void)
{
    es_swap_device device;
    int32_t status;
    es_port_init();
#if defined(ES_PORT_STM32F7)
    {
        static es_swap_stm32f7_flash flash;
        static es_swap_stm32f7_qspi qspi;
        /* sectors 5-7 (3 x 256 KB from 0x08040000): the firmware must fit in the first 256 KB */
        status = es_swap_stm32f7_flash_init(&device, &flash, 0x08040000u, 5u, 262144u, 3u);
        if (status == ES_SWAP_OK) {
            exercise("stm32f7 internal flash", &device);
        }
        es_swap_stm32f7_qspi_pins_disco();
        status = es_swap_stm32f7_qspi_init(&device, &qspi, 15u << 20, 256u); /* the last 1 MB */
        if (status == ES_SWAP_OK) {
            exercise("stm32f7 qspi", &device);
        }
    }
#elif defined(ES_PORT_NRF52)
    {
        static es_swap_nrf52_nvmc nvmc;
        static es_swap_nrf52_qspi qspi;
        static const es_swap_nrf52_qspi_pins pins = ES_SWAP_NRF52840_DK_QSPI_PINS;
        status = es_swap_nrf52_nvmc_init(&device, &nvmc, 0xE0000u, 32u); /* the top 128 KB */
        if (status == ES_SWAP_OK) {
            exercise("nrf52 nvmc", &device);
        }
        status = es_swap_nrf52_qspi_init(&device, &qspi, &pins, 7u << 20, 256u); /* the last 1 MB */
        if (status == ES_SWAP_OK) {
            exercise("nrf52 qspi", &device);
        }
    }
#else
    (void)device;
    status = ES_SWAP_OK;
#endif
    es_report_i64("last_init", status);
    es_report_port();
    return 0;
}
