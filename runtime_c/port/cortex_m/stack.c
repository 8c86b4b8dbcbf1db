/*
 * stack.c -- stack painting and high-water measurement.
 *
 * The linker script (templates/linker/cortex_m.ld.j2) reserves the stack at the very bottom of
 * RAM, between __es_stack_start and __es_stack_end, so that an overflow runs off the start of RAM
 * and faults instead of silently overwriting .data or .bss. Before main() the reset handler
 * fills the unused part with a pattern; the high-water mark is the distance from the top of the
 * stack to the lowest word that no longer holds it.
 */
#include "cortex_m.h"

#if defined(ES_PORT_CORTEX_M)

#if defined(ES_PORT_STARTUP)

#define ES_STACK_PAINT 0xA5A5A5A5u

extern uint32_t __es_stack_start[];
extern uint32_t __es_stack_end[];

void es_cm_stack_paint(void)
{
    uint32_t *word = __es_stack_start;
    uintptr_t sp;
    __asm__ volatile("mov %0, sp" : "=r"(sp));
    /* everything below the current frame, less a margin for this function's own spills */
    while ((uintptr_t)word + 64u < sp) {
        *word++ = ES_STACK_PAINT;
    }
}

size_t es_port_stack_size(void)
{
    return (size_t)((uintptr_t)__es_stack_end - (uintptr_t)__es_stack_start);
}

size_t es_port_stack_high_water(void)
{
    const uint32_t *word = __es_stack_start;
    while (word < __es_stack_end && *word == ES_STACK_PAINT) {
        ++word;
    }
    return (size_t)((uintptr_t)__es_stack_end - (uintptr_t)word);
}

#else /* the firmware's start-up code and linker script are not edgesdk's: unknown */

size_t es_port_stack_size(void)
{
    return 0;
}

size_t es_port_stack_high_water(void)
{
    return 0;
}

#endif /* ES_PORT_STARTUP */

#endif /* ES_PORT_CORTEX_M */
