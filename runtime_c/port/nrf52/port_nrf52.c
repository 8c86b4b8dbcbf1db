/*
 * port_nrf52.c -- nRF52832 and nRF52840 boards (ES_PORT_NRF52).
 *
 * es_port_init enables the flash instruction cache (NVMC ICACHECNF.CACHEEN, nRF52832/nRF52840
 * product specifications) and starts the DWT cycle counter. The CPU runs at 64 MHz from reset.
 */
#include "../cortex_m/cortex_m.h"

#if defined(ES_PORT_NRF52)

#define ES_NRF52_NVMC_ICACHECNF ES_REG32(0x4001E540u)

void es_port_init(void)
{
    ES_NRF52_NVMC_ICACHECNF |= 1u; /* CACHEEN */
    es_cm_dwt_start();
}

const char *es_port_name(void)
{
    return "nrf52";
}

#endif /* ES_PORT_NRF52 */
