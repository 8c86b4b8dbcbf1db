/*
 * clock_stm32f7.c -- STM32F746G-DISCO: 216 MHz from the 25 MHz HSE, and USART1 on the ST-LINK
 * virtual COM port (edgesdk/clock_stm32f7.h). Written from ST RM0385 (STM32F75xxx/74xxx reference
 * manual) and UM1907 (the board's user manual); compiled for the board, driven against a register
 * model on the host (tests/test_port_registers.py); not yet run on a board.
 *
 * Register facts used (RM0385):
 *   RCC 0x40023800: CR +0x00 (HSEON bit 16, HSERDY 17, PLLON 24, PLLRDY 25); PLLCFGR +0x04
 *     (PLLM [5:0], PLLN [14:6], PLLP [17:16] 00 = /2, PLLSRC bit 22 = HSE, PLLQ [27:24]);
 *     CFGR +0x08 (SW [1:0] 10 = PLL, SWS [3:2], HPRE [7:4], PPRE1 [12:10] 101 = /4,
 *     PPRE2 [15:13] 100 = /2); AHB1ENR +0x30 (GPIOA bit 0, GPIOB bit 1); APB1ENR +0x40
 *     (PWREN bit 28); APB2ENR +0x44 (USART1EN bit 4).
 *   PWR 0x40007000: CR1 +0x00 (VOS [15:14] 11 = scale 1, ODEN bit 16, ODSWEN bit 17);
 *     CSR1 +0x04 (VOSRDY bit 14, ODRDY bit 16, ODSWRDY bit 17).
 *   FLASH_ACR 0x40023C00: LATENCY [3:0]; 216 MHz at 2.7-3.6 V needs 7 wait states, and the new
 *     latency must be in effect (read back) before SYSCLK rises.
 *   Over-drive entry (RM0385 "entering Over-drive mode"): PLL configured and on, then ODEN, wait
 *     ODRDY, then ODSWEN, wait ODSWRDY; only then the higher latency and the switch to the PLL.
 *   GPIO A 0x40020000 / B 0x40020400: MODER +0x00 (10 = alternate), OSPEEDR +0x08, AFRL +0x20,
 *     AFRH +0x24; USART1 is AF7.
 *   USART1 0x40011000: CR1 +0x00 (UE bit 0, RE bit 2, TE bit 3), BRR +0x0C (oversampling 16:
 *     f_ck / baud), ISR +0x1C (TC bit 6, TXE bit 7), TDR +0x28.
 * UM1907: the board's 25 MHz crystal drives HSE; USART1 TX = PA9 and RX = PB7 go to the ST-LINK
 * virtual COM port.
 */
#include "../cortex_m/mmio.h"

#if defined(ES_PORT_STM32F7) || defined(ES_MMIO_MODEL)

#include "edgesdk/clock_stm32f7.h"

#define RCC 0x40023800u
#define RCC_CR (RCC + 0x00u)
#define RCC_PLLCFGR (RCC + 0x04u)
#define RCC_CFGR (RCC + 0x08u)
#define RCC_AHB1ENR (RCC + 0x30u)
#define RCC_APB1ENR (RCC + 0x40u)
#define RCC_APB2ENR (RCC + 0x44u)
#define CR_HSEON (1u << 16)
#define CR_HSERDY (1u << 17)
#define CR_PLLON (1u << 24)
#define CR_PLLRDY (1u << 25)

#define PWR_CR1 0x40007000u
#define PWR_CSR1 0x40007004u
#define PWR_VOS_SCALE1 (3u << 14)
#define PWR_ODEN (1u << 16)
#define PWR_ODSWEN (1u << 17)
#define PWR_ODRDY (1u << 16)
#define PWR_ODSWRDY (1u << 17)

#define FLASH_ACR 0x40023C00u
#define FLASH_LATENCY_MASK 0xFu
#define FLASH_LATENCY_216MHZ 7u

#define GPIOA 0x40020000u
#define GPIOB 0x40020400u
#define USART1 0x40011000u
#define USART_CR1 (USART1 + 0x00u)
#define USART_BRR (USART1 + 0x0Cu)
#define USART_ISR (USART1 + 0x1Cu)
#define USART_TDR (USART1 + 0x28u)
#define USART_TXE (1u << 7)

#define READY_POLLS 1000000u

static int wait_set(uint32_t address, uint32_t bits)
{
    uint32_t polls;
    for (polls = 0u; polls < READY_POLLS; ++polls) {
        if ((ES_MMIO_READ(address) & bits) == bits) {
            return 0;
        }
    }
    return 1;
}

int es_stm32f7_clock_216mhz(void)
{
    uint32_t cfgr;
    ES_MMIO_SET(RCC_APB1ENR, 1u << 28);       /* PWR interface clock */
    (void)ES_MMIO_READ(RCC_APB1ENR);          /* the enable takes effect before PWR is written */
    ES_MMIO_SET(PWR_CR1, PWR_VOS_SCALE1);     /* VOS is written while the PLL is off */

    ES_MMIO_SET(RCC_CR, CR_HSEON);
    if (wait_set(RCC_CR, CR_HSERDY) != 0) {
        return 1;
    }
    /* 25 MHz / M 25 = 1 MHz; x N 432 = 432 MHz VCO; / P 2 = 216 MHz; / Q 9 = 48 MHz */
    ES_MMIO_WRITE(RCC_PLLCFGR, 25u | (432u << 6) | (0u << 16) | (1u << 22) | (9u << 24));
    ES_MMIO_SET(RCC_CR, CR_PLLON);

    ES_MMIO_SET(PWR_CR1, PWR_ODEN);
    if (wait_set(PWR_CSR1, PWR_ODRDY) != 0) {
        return 1;
    }
    ES_MMIO_SET(PWR_CR1, PWR_ODSWEN);
    if (wait_set(PWR_CSR1, PWR_ODSWRDY) != 0 || wait_set(RCC_CR, CR_PLLRDY) != 0) {
        return 1;
    }

    ES_MMIO_WRITE(FLASH_ACR, (ES_MMIO_READ(FLASH_ACR) & ~FLASH_LATENCY_MASK) | FLASH_LATENCY_216MHZ);
    if ((ES_MMIO_READ(FLASH_ACR) & FLASH_LATENCY_MASK) != FLASH_LATENCY_216MHZ) {
        return 1;
    }
    /* AHB /1, APB1 /4 (54 MHz, at most 54), APB2 /2 (108 MHz, at most 108), then SYSCLK = PLL */
    cfgr = ES_MMIO_READ(RCC_CFGR) & ~((0xFu << 4) | (7u << 10) | (7u << 13) | 3u);
    ES_MMIO_WRITE(RCC_CFGR, cfgr | (5u << 10) | (4u << 13));
    ES_MMIO_WRITE(RCC_CFGR, ES_MMIO_READ(RCC_CFGR) | 2u);
    return wait_set(RCC_CFGR, 2u << 2); /* SWS = PLL */
}

static void pin_af7(uint32_t port, uint32_t pin)
{
    const uint32_t afr = port + (pin < 8u ? 0x20u : 0x24u);
    const uint32_t shift = (pin & 7u) * 4u;
    ES_MMIO_WRITE(port + 0x00u, (ES_MMIO_READ(port + 0x00u) & ~(3u << (2u * pin))) | (2u << (2u * pin)));
    ES_MMIO_SET(port + 0x08u, 2u << (2u * pin)); /* high speed */
    ES_MMIO_WRITE(afr, (ES_MMIO_READ(afr) & ~(0xFu << shift)) | (7u << shift));
}

void es_stm32f7_console_init(void)
{
    ES_MMIO_SET(RCC_AHB1ENR, (1u << 0) | (1u << 1)); /* GPIOA, GPIOB */
    ES_MMIO_SET(RCC_APB2ENR, 1u << 4);               /* USART1 */
    (void)ES_MMIO_READ(RCC_APB2ENR);
    pin_af7(GPIOA, 9u); /* TX */
    pin_af7(GPIOB, 7u); /* RX */
    ES_MMIO_WRITE(USART_CR1, 0u); /* UE = 0 while BRR is written */
    ES_MMIO_WRITE(USART_BRR, (ES_STM32F7_APB2_HZ + ES_CONSOLE_BAUD / 2u) / ES_CONSOLE_BAUD);
    ES_MMIO_WRITE(USART_CR1, (1u << 3) | (1u << 2) | 1u); /* TE, RE, UE */
}

void es_stm32f7_console_write(const char *text)
{
    for (; *text != '\0'; ++text) {
        if (*text == '\n') {
            (void)wait_set(USART_ISR, USART_TXE);
            ES_MMIO_WRITE(USART_TDR, '\r');
        }
        (void)wait_set(USART_ISR, USART_TXE);
        ES_MMIO_WRITE(USART_TDR, (uint32_t)(unsigned char)*text);
    }
}

#endif /* ES_PORT_STM32F7 || ES_MMIO_MODEL */
