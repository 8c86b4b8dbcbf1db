/*
 * semihosting.c -- ARM semihosting calls ("bkpt 0xab", operation in r0, argument in r1).
 * QEMU implements them with -semihosting-config enable=on; on a real board a debugger does
 * (and without one the breakpoint would fault, so the real-board ports check first).
 */
#include "cortex_m.h"

#if defined(ES_PORT_CORTEX_M)

#define ES_SYS_WRITE0 0x04u
#define ES_SYS_EXIT_EXTENDED 0x20u
#define ES_ADP_STOPPED_APPLICATION_EXIT 0x20026u

static uint32_t semihost_call(uint32_t operation, const void *argument)
{
    register uint32_t r0 __asm__("r0") = operation;
    register const void *r1 __asm__("r1") = argument;
    __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

void es_cm_semihost_write0(const char *text)
{
    (void)semihost_call(ES_SYS_WRITE0, text);
}

void es_cm_semihost_exit(int status)
{
    /* SYS_EXIT_EXTENDED takes a block {reason, subcode}; the subcode is the exit status. */
    uint32_t block[2];
    block[0] = ES_ADP_STOPPED_APPLICATION_EXIT;
    block[1] = (uint32_t)status;
    (void)semihost_call(ES_SYS_EXIT_EXTENDED, block);
    for (;;) {
        __asm__ volatile("wfi");
    }
}

int es_cm_debugger_attached(void)
{
    return (ES_DHCSR & 1u) != 0u; /* C_DEBUGEN */
}

#endif /* ES_PORT_CORTEX_M */
