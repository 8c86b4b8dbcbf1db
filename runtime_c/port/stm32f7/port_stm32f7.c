/*
 * port_stm32f7.c -- STM32F7 boards (ES_PORT_STM32F7), e.g. STM32F746G-DISCO.
 *
 * es_port_init raises the clock to 216 MHz from the 25 MHz HSE (PLL, over-drive, 7 wait states;
 * clock_stm32f7.c), turns on the Cortex-M7 L1 instruction and data caches (ARMv7-M cache
 * maintenance: invalidate, then enable) and the flash ART accelerator with prefetch
 * (RM0385, FLASH_ACR), opens the console (USART1 115200 8N1 on the ST-LINK virtual COM port)
 * and starts the DWT cycle counter. Define ES_STM32F7_KEEP_CLOCK when the firmware sets up
 * its clocks itself.
 */
#include "../cortex_m/cortex_m.h"

#include "edgesdk/clock_stm32f7.h"

#if defined(ES_PORT_STM32F7)

#define ES_STM32F7_FLASH_ACR ES_REG32(0x40023C00u)
#define ES_FLASH_ACR_PRFTEN (1u << 8)
#define ES_FLASH_ACR_ARTEN (1u << 9)
#define ES_CCR_DC (1u << 16)
#define ES_CCR_IC (1u << 17)

static void enable_caches(void)
{
    uint32_t ccsidr;
    uint32_t sets;
    uint32_t ways;
    uint32_t set;
    uint32_t way;

    if ((ES_SCB_CCR & ES_CCR_IC) == 0u) {
        ES_BARRIER();
        ES_SCB_ICIALLU = 0u;
        ES_BARRIER();
        ES_SCB_CCR |= ES_CCR_IC;
        ES_BARRIER();
    }
    if ((ES_SCB_CCR & ES_CCR_DC) == 0u) {
        ES_SCB_CSSELR = 0u; /* level 1 data cache */
        ES_BARRIER();
        ccsidr = ES_SCB_CCSIDR;
        sets = (ccsidr >> 13) & 0x7FFFu;
        ways = (ccsidr >> 3) & 0x3FFu;
        for (set = 0u; set <= sets; ++set) {
            for (way = 0u; way <= ways; ++way) {
                ES_SCB_DCISW = (set << 5) | (way << 30); /* 32-byte lines, 4 ways */
            }
        }
        ES_BARRIER();
        ES_SCB_CCR |= ES_CCR_DC;
        ES_BARRIER();
    }
}

void es_port_init(void)
{
#if !defined(ES_STM32F7_KEEP_CLOCK)
    (void)es_stm32f7_clock_216mhz(); /* on a timeout the core stays on the 16 MHz HSI */
#endif
    ES_STM32F7_FLASH_ACR |= ES_FLASH_ACR_ARTEN | ES_FLASH_ACR_PRFTEN;
    enable_caches();
    es_stm32f7_console_init();
    es_cm_dwt_start();
}

void es_cm_console_write(const char *text)
{
    es_stm32f7_console_write(text);
}

const char *es_port_name(void)
{
    return "stm32f7";
}

#endif /* ES_PORT_STM32F7 */
