/*
 * startup.c -- vector table and reset handler for firmware whose linker script is edgesdk's
 * (compiled only with ES_PORT_STARTUP and a Cortex-M port).
 *
 * Reset: enable the FPU (CP10/CP11 in CPACR; without it the first float instruction faults),
 * copy .data from flash, zero .bss, paint the stack, run main() and hand its return value to
 * es_port_exit(). Faults print "@es fault ..." lines and exit with ES_PORT_FAULT_STATUS.
 * Build with -fno-tree-loop-distribute-patterns: the copy loops below must not be turned into
 * calls to memcpy/memset.
 */
#include "cortex_m.h"

#if defined(ES_PORT_CORTEX_M) && defined(ES_PORT_STARTUP)

extern uint32_t __es_stack_end[];
extern uint32_t __es_data_load[];
extern uint32_t __es_data_start[];
extern uint32_t __es_data_end[];
extern uint32_t __es_bss_start[];
extern uint32_t __es_bss_end[];

int main(void);

void Reset_Handler(void) ES_NORETURN;
void es_cm_fault_handler(void);
void NMI_Handler(void) __attribute__((weak, alias("es_cm_fault_handler")));
void HardFault_Handler(void) __attribute__((weak, alias("es_cm_fault_handler")));
void MemManage_Handler(void) __attribute__((weak, alias("es_cm_fault_handler")));
void BusFault_Handler(void) __attribute__((weak, alias("es_cm_fault_handler")));
void UsageFault_Handler(void) __attribute__((weak, alias("es_cm_fault_handler")));
void SVC_Handler(void) __attribute__((weak, alias("es_cm_fault_handler")));
void DebugMon_Handler(void) __attribute__((weak, alias("es_cm_fault_handler")));
void PendSV_Handler(void) __attribute__((weak, alias("es_cm_fault_handler")));
void SysTick_Handler(void) __attribute__((weak, alias("es_cm_fault_handler")));

/* The 16 system exceptions; no peripheral interrupt is enabled by the runtime. */
__attribute__((section(".isr_vector"), used)) const uintptr_t es_vector_table[16] = {
    (uintptr_t)__es_stack_end,      /* initial stack pointer */
    (uintptr_t)Reset_Handler,
    (uintptr_t)NMI_Handler,
    (uintptr_t)HardFault_Handler,
    (uintptr_t)MemManage_Handler,
    (uintptr_t)BusFault_Handler,
    (uintptr_t)UsageFault_Handler,
    0u, 0u, 0u, 0u,                 /* reserved */
    (uintptr_t)SVC_Handler,
    (uintptr_t)DebugMon_Handler,
    0u,                             /* reserved */
    (uintptr_t)PendSV_Handler,
    (uintptr_t)SysTick_Handler,
};

void Reset_Handler(void)
{
    uint32_t *source = __es_data_load;
    uint32_t *target;

    ES_SCB_CPACR |= 0xFu << 20; /* CP10 and CP11: full access */
    /* Exceptions use this table wherever it is linked (an application behind a bootloader, as
     * on the Arduino Nano 33 BLE at 0x10000): ARMv7-M VTOR, bits [31:7] of the table address. */
    ES_SCB_VTOR = (uint32_t)(uintptr_t)es_vector_table;
    ES_BARRIER();

    for (target = __es_data_start; target < __es_data_end;) {
        *target++ = *source++;
    }
    for (target = __es_bss_start; target < __es_bss_end;) {
        *target++ = 0u;
    }
    es_cm_stack_paint();
    es_port_exit(main());
}

void es_cm_fault_handler(void)
{
    es_report_str("fault", "exception");
    es_report_u64("fault.hfsr", ES_SCB_HFSR);
    es_report_u64("fault.cfsr", ES_SCB_CFSR);
    es_port_exit(ES_PORT_FAULT_STATUS);
}

#endif /* ES_PORT_CORTEX_M && ES_PORT_STARTUP */
