/*
 * port_stm32f4.c -- STM32F4 boards (ES_PORT_STM32F4), e.g. STM32F4-Discovery (STM32F407VG).
 *
 * es_port_init turns on the flash accelerator's prefetch, instruction and data caches
 * (RM0090, FLASH_ACR) and starts the DWT cycle counter. The clock tree is left as reset leaves
 * it (16 MHz HSI); counts are in cycles.
 */
#include "../cortex_m/cortex_m.h"

#if defined(ES_PORT_STM32F4)

#define ES_STM32F4_FLASH_ACR ES_REG32(0x40023C00u)
#define ES_FLASH_ACR_PRFTEN (1u << 8)
#define ES_FLASH_ACR_ICEN (1u << 9)
#define ES_FLASH_ACR_DCEN (1u << 10)

void es_port_init(void)
{
    ES_STM32F4_FLASH_ACR |= ES_FLASH_ACR_PRFTEN | ES_FLASH_ACR_ICEN | ES_FLASH_ACR_DCEN;
    es_cm_dwt_start();
}

const char *es_port_name(void)
{
    return "stm32f4";
}

#endif /* ES_PORT_STM32F4 */
