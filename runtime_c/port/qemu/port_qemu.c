/*
 * port_qemu.c -- the QEMU mps2 stand-ins (ES_PORT_QEMU): mps2-an500 (Cortex-M7) and
 * mps2-an386 (Cortex-M4).
 *
 * Output and exit status go through semihosting. The counter is SysTick on the processor
 * clock (25 MHz on the mps2 machines). QEMU's DWT has no cycle counter, but run with
 * -icount shift=0 it advances virtual time by exactly 1 ns per instruction, so one SysTick tick
 * is 40 instructions and the count is deterministic. The SysTick interrupt extends the 24-bit
 * down-counter to 64 bits.
 */
#include "../cortex_m/cortex_m.h"

#if defined(ES_PORT_QEMU)

#define ES_SYSTICK_RELOAD 0x00FFFFFFu
#define ES_INSTRUCTIONS_PER_TICK 40u /* 1 ns per instruction / 25 MHz tick */

static volatile uint32_t systick_wraps;
static uint64_t start_ticks;

void SysTick_Handler(void)
{
    systick_wraps = systick_wraps + 1u;
}

static uint64_t systick_ticks(void)
{
    uint32_t high;
    uint32_t low;
    do { /* a wrap between the two reads is taken as an interrupt at once: read again */
        high = systick_wraps;
        low = ES_SYST_CVR;
    } while (high != systick_wraps);
    return ((uint64_t)high << 24) + (ES_SYSTICK_RELOAD - low);
}

void es_port_init(void)
{
    ES_SYST_CSR = 0u;
    ES_SYST_RVR = ES_SYSTICK_RELOAD;
    ES_SYST_CVR = 0u;
    systick_wraps = 0u;
    ES_SYST_CSR = 7u; /* ENABLE | TICKINT | CLKSOURCE = processor clock */
    while (ES_SYST_CVR == 0u) {
        /* the first tick loads the reload value; that load is not a wrap */
    }
    start_ticks = systick_ticks();
}

void es_port_write(const char *text)
{
    es_cm_semihost_write0(text);
}

void es_port_board_write(const char *text)
{
    es_cm_semihost_write0(text);
}

uint64_t es_port_counter(void)
{
    return (systick_ticks() - start_ticks) * ES_INSTRUCTIONS_PER_TICK;
}

const char *es_port_counter_unit(void)
{
    return "instructions";
}

const char *es_port_name(void)
{
    return "qemu";
}

void es_port_exit(int status)
{
    es_cm_semihost_exit(status);
}

#endif /* ES_PORT_QEMU */
