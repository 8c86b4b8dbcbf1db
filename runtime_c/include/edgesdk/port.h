/*
 * edgesdk/port.h -- what the generated code and main.c need from a board.
 *
 * A port is chosen at compile time by defining exactly one of
 *
 *   ES_PORT_HOST     the build machine itself (gcc): output to stdout, a nanosecond clock
 *   ES_PORT_QEMU     the QEMU mps2 stand-ins (mps2-an500 Cortex-M7, mps2-an386 Cortex-M4):
 *                    output and exit status through semihosting, an instruction counter
 *   ES_PORT_STM32F7  STM32F7 boards (STM32F746G-DISCO): 216 MHz, caches on, USART1 console,
 *                    DWT cycle counter
 *   ES_PORT_STM32F4  STM32F4 boards (STM32F4-Discovery): DWT cycle counter, flash accelerator on
 *   ES_PORT_NRF52    nRF52832 / nRF52840 boards: DWT cycle counter, instruction cache on
 *
 * and, for firmware whose start-up code and linker script come from edgesdk (the generated
 * PlatformIO project and the direct builds), also ES_PORT_STARTUP: that brings in the vector
 * table and reset handler (runtime_c/port/cortex_m/startup.c), which enables the FPU, copies
 * .data, zeroes .bss, paints the stack, calls main() and passes its return value to
 * es_port_exit(). Every port source is compiled always and is empty unless its macro is set,
 * so a build lists the whole runtime_c/port tree and picks the port with -D.
 *
 * Typical main.c:
 *
 *     int main(void) {
 *         es_port_init();
 *         uint64_t t0 = es_port_counter();
 *         ... train ...
 *         es_report_u64("step.count", es_port_counter() - t0);
 *         es_report_port();
 *         return 0;   (on the mps2 stand-ins this becomes QEMU's exit status)
 *     }
 *
 * Results travel as text lines "@es <key> <json value>\n" (docs/building.md defines the
 * protocol; edgesdk.build.protocol parses it). Use the es_report_* writers below rather than
 * writing such lines by hand. No function here allocates memory or needs printf.
 */
#ifndef EDGESDK_PORT_H
#define EDGESDK_PORT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define ES_NORETURN __attribute__((noreturn))
#else
#define ES_NORETURN
#endif

/* ---- the board ------------------------------------------------------------------------ */

/* Start the counter and whatever the board needs before training (caches, flash accelerator).
 * Call once, first thing in main(). The FPU is already enabled by the start-up code. */
void es_port_init(void);

/* Write a NUL-terminated string as it is (no newline added). */
void es_port_write(const char *text);

/* A monotonic 64-bit counter since es_port_init(); its unit is es_port_counter_unit(). */
uint64_t es_port_counter(void);

/* Unit of es_port_counter():
 *   "instructions"  QEMU with -icount shift=0: SysTick ticks x 40 (25 MHz tick, 1 ns per
 *                   instruction), so the resolution is 40 instructions. Not M7 cycles.
 *   "cycles"        real boards: DWT->CYCCNT, extended to 64 bits in software (call the
 *                   counter at least once per 2^32 cycles: every 19 s at 216 MHz).
 *   "nanoseconds"   host: CLOCK_MONOTONIC. */
const char *es_port_counter_unit(void);

/* Name of the compiled port: "host", "qemu", "stm32f7", "stm32f4" or "nrf52". */
const char *es_port_name(void);

/* End the program with a status (0 = success). QEMU: semihosting SYS_EXIT_EXTENDED, so the
 * status becomes QEMU's exit status. Host: exit(status). Real boards: an "@es exit <status>"
 * record on the console, then semihosting exit when a debugger is attached, otherwise the core
 * sleeps forever. */
void es_port_exit(int status) ES_NORETURN;

/* Bytes reserved for the stack by the linker script; 0 when unknown (host, or firmware
 * whose start-up code is not edgesdk's). */
size_t es_port_stack_size(void);

/* Most stack bytes ever in use since reset, found by scanning the paint the start-up code
 * laid; 0 when unknown (as for es_port_stack_size). Equal to es_port_stack_size() when the
 * paint is gone at the very bottom: the stack overflowed or came within 4 bytes of it. */
size_t es_port_stack_high_water(void);

/* Where es_port_write sends text on the real-board ports (stm32f7, stm32f4, nrf52). The
 * default is the port's console: USART1 at 115200 baud on stm32f7 (the ST-LINK virtual COM
 * port); on stm32f4 and nrf52, which have no UART written yet, semihosting when a debugger is
 * attached and nothing otherwise. Define this function in your firmware to route output
 * elsewhere. Unused on host and QEMU. */
void es_port_board_write(const char *text);

/* ---- result lines (port-independent; runtime_c/port/common/report.c) --------------------- */

/* "@es <key> <decimal>" */
void es_report_u64(const char *key, uint64_t value);
void es_report_i64(const char *key, int64_t value);

/* "@es <key> "<text>"" with '"', '\\' and control characters escaped as in JSON. */
void es_report_str(const char *key, const char *value);

/* "@es <key> {"f32":"0x3f800000"}": the exact bits, so host and target can be compared
 * bit for bit. The parser turns it into the float with those bits. */
void es_report_f32(const char *key, float value);

/* "@es <key> {"f32":["0x...", ...]}" and "@es <key> [1,-2,...]": whole arrays on one line. */
void es_report_f32_array(const char *key, const float *values, size_t count);
void es_report_i32_array(const char *key, const int32_t *values, size_t count);

/* The port's own facts: port.name, counter.unit, stack.size, stack.high_water. */
void es_report_port(void);

#ifdef __cplusplus
}
#endif

#endif /* EDGESDK_PORT_H */
