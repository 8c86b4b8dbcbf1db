/*
 * board.c -- what the real-board ports (stm32f7, stm32f4, nrf52) share: the DWT cycle counter
 * extended to 64 bits, output through es_port_board_write (semihosting when a debugger is
 * attached unless the firmware defines its own), and exit.
 */
#include "cortex_m.h"

#if defined(ES_PORT_STM32F7) || defined(ES_PORT_STM32F4) || defined(ES_PORT_NRF52)

static uint32_t dwt_last;
static uint64_t dwt_high;

void es_cm_dwt_start(void)
{
    ES_DEMCR |= 1u << 24;       /* TRCENA: power the DWT */
    ES_DWT_LAR = 0xC5ACCE55u;   /* unlock (Cortex-M7) */
    ES_DWT_CYCCNT = 0u;
    ES_DWT_CTRL |= 1u;          /* CYCCNTENA */
    dwt_last = 0u;
    dwt_high = 0u;
}

uint64_t es_cm_dwt_cycles(void)
{
    uint32_t now = ES_DWT_CYCCNT;
    if (now < dwt_last) {
        dwt_high += (uint64_t)1u << 32;
    }
    dwt_last = now;
    return dwt_high + now;
}

/* The port's console: a port with a UART defines it (stm32f7: USART1 on the ST-LINK virtual COM
 * port); the others have none written yet and fall back to semihosting under a debugger. */
__attribute__((weak)) void es_cm_console_write(const char *text)
{
    if (es_cm_debugger_attached()) {
        es_cm_semihost_write0(text);
    }
}

__attribute__((weak)) void es_port_board_write(const char *text)
{
    es_cm_console_write(text);
}

void es_port_write(const char *text)
{
    es_port_board_write(text);
}

uint64_t es_port_counter(void)
{
    return es_cm_dwt_cycles();
}

const char *es_port_counter_unit(void)
{
    return "cycles";
}

void es_port_exit(int status)
{
    es_report_i64("exit", status); /* the console's last record: `edgesdk run --monitor` stops here */
    if (es_cm_debugger_attached()) {
        es_cm_semihost_exit(status);
    }
    for (;;) {
        __asm__ volatile("wfi");
    }
}

#endif /* real-board ports */
