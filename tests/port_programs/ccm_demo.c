/* ccm_demo.c -- data placed in an extra RAM region (the STM32F4's CCM, section .ccmram). */
#include "edgesdk/port.h"

static volatile uint32_t table[1024] __attribute__((section(".ccmram")));

int main(void)
{
    uint32_t i;
    uint32_t sum = 0u;
    es_port_init();
    for (i = 0u; i < 1024u; ++i) {
        table[i] = i;
    }
    for (i = 0u; i < 1024u; ++i) {
        sum += table[i];
    }
    es_report_u64("ccm.sum", sum);
    es_report_u64("ccm.address", (uint64_t)(uintptr_t)&table[0]);
    return 0;
}
