/*
 * cortex_m.h -- private to runtime_c/port: Cortex-M registers and helpers shared by the qemu,
 * stm32f7, stm32f4 and nrf52 ports. Register addresses are the architecture's (ARMv7-M
 * Architecture Reference Manual, System Control Space and DWT), the same on every vendor's part.
 */
#ifndef ES_PORT_CORTEX_M_H
#define ES_PORT_CORTEX_M_H

#include "edgesdk/port.h"

#if defined(ES_PORT_QEMU) || defined(ES_PORT_STM32F7) || defined(ES_PORT_STM32F4) || \
    defined(ES_PORT_NRF52)
#define ES_PORT_CORTEX_M 1
#endif

#define ES_REG32(address) (*(volatile uint32_t *)(uintptr_t)(address))

/* ---- System Control Space ---- */
#define ES_SCB_CPACR ES_REG32(0xE000ED88u)  /* coprocessor access: CP10/CP11 = FPU */
#define ES_SCB_VTOR ES_REG32(0xE000ED08u)   /* vector table offset */
#define ES_SCB_CFSR ES_REG32(0xE000ED28u)   /* configurable fault status */
#define ES_SCB_HFSR ES_REG32(0xE000ED2Cu)   /* hard fault status */
#define ES_SCB_CCR ES_REG32(0xE000ED14u)    /* configuration and control (M7: cache enables) */
#define ES_SCB_CCSIDR ES_REG32(0xE000ED80u) /* cache size id (M7) */
#define ES_SCB_CSSELR ES_REG32(0xE000ED84u) /* cache size selection (M7) */
#define ES_SCB_ICIALLU ES_REG32(0xE000EF50u) /* invalidate all instruction cache (M7) */
#define ES_SCB_DCISW ES_REG32(0xE000EF60u)  /* invalidate data cache by set/way (M7) */
#define ES_DHCSR ES_REG32(0xE000EDF0u)      /* debug halting control and status */
#define ES_DEMCR ES_REG32(0xE000EDFCu)      /* debug exception and monitor control */

/* ---- SysTick ---- */
#define ES_SYST_CSR ES_REG32(0xE000E010u)
#define ES_SYST_RVR ES_REG32(0xE000E014u)
#define ES_SYST_CVR ES_REG32(0xE000E018u)

/* ---- Data Watchpoint and Trace unit ---- */
#define ES_DWT_CTRL ES_REG32(0xE0001000u)
#define ES_DWT_CYCCNT ES_REG32(0xE0001004u)
#define ES_DWT_LAR ES_REG32(0xE0001FB0u) /* lock access (M7); writes ignored where absent */

#define ES_BARRIER() __asm__ volatile("dsb\n\tisb" ::: "memory")

/* semihosting.c: ARM semihosting through "bkpt 0xab" (QEMU, or a debugger on a real board). */
void es_cm_semihost_write0(const char *text);
void es_cm_semihost_exit(int status) ES_NORETURN;
int es_cm_debugger_attached(void);

/* board.c: what the real-board ports share: DWT cycles, output through es_port_board_write,
 * exit through semihosting when a debugger is attached. */
void es_cm_dwt_start(void);
uint64_t es_cm_dwt_cycles(void);
void es_cm_board_exit(int status) ES_NORETURN;
void es_cm_console_write(const char *text); /* weak default: semihosting under a debugger */

/* stack.c: called once by the reset handler before main(). */
void es_cm_stack_paint(void);

/* Exit status of firmware that took a fault (HardFault, MemManage, BusFault, UsageFault). */
#define ES_PORT_FAULT_STATUS 255

#endif /* ES_PORT_CORTEX_M_H */
