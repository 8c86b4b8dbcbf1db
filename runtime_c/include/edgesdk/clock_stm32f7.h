/*
 * edgesdk/clock_stm32f7.h -- the STM32F746G-DISCO at full speed with a console
 * (runtime_c/port/stm32f7/clock_stm32f7.c). es_port_init() of the stm32f7 port calls both.
 */
#ifndef EDGESDK_CLOCK_STM32F7_H
#define EDGESDK_CLOCK_STM32F7_H

#include <stdint.h>

#define ES_STM32F7_SYSCLK_HZ 216000000u
#define ES_STM32F7_APB2_HZ 108000000u
#define ES_CONSOLE_BAUD 115200u

/* 25 MHz HSE -> PLL (M 25, N 432, P 2, Q 9) -> 216 MHz SYSCLK, over-drive on, 7 flash wait
 * states, AHB 216 / APB1 54 / APB2 108 MHz. Returns 0, or 1 when a ready flag never rose
 * (the clock is then left on HSI). */
int es_stm32f7_clock_216mhz(void);

/* USART1, 115200 8N1, on PA9 (TX) / PB7 (RX): the ST-LINK virtual COM port of the board. */
void es_stm32f7_console_init(void);
void es_stm32f7_console_write(const char *text);

#endif /* EDGESDK_CLOCK_STM32F7_H */
