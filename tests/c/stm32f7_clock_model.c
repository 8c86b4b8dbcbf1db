/*
 * stm32f7_clock_model.c -- a register model of the STM32F7 parts clock_stm32f7.c touches, for a
 * host build of it (-DES_MMIO_MODEL). Ready flags rise a few reads after their enable, as on the
 * chip; every write is checked against the order RM0385 requires. Prints one line per
 * violation and "ok" when there is none.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "edgesdk/clock_stm32f7.h"

uint32_t es_mmio_read(uint32_t address);
void es_mmio_write(uint32_t address, uint32_t value);

#define RCC_CR 0x40023800u
#define RCC_PLLCFGR 0x40023804u
#define RCC_CFGR 0x40023808u
#define RCC_AHB1ENR 0x40023830u
#define RCC_APB1ENR 0x40023840u
#define RCC_APB2ENR 0x40023844u
#define PWR_CR1 0x40007000u
#define PWR_CSR1 0x40007004u
#define FLASH_ACR 0x40023C00u
#define GPIOA_MODER 0x40020000u
#define GPIOA_AFRH 0x40020024u
#define GPIOB_MODER 0x40020400u
#define GPIOB_AFRL 0x40020420u
#define USART_CR1 0x40011000u
#define USART_BRR 0x4001100Cu
#define USART_ISR 0x4001101Cu
#define USART_TDR 0x40011028u

#define MAX_REGS 64
static uint32_t reg_address[MAX_REGS];
static uint32_t reg_value[MAX_REGS];
static int regs;
static int violations;

/* what the code has observed (read back) so far */
static int seen_hserdy, seen_pllrdy, seen_odrdy, seen_odswrdy, seen_latency, seen_txe;
static int hse_reads, pll_reads, od_reads, odsw_reads;
static char sent[16];
static size_t sent_count;

static uint32_t *slot(uint32_t address)
{
    int i;
    for (i = 0; i < regs; ++i) {
        if (reg_address[i] == address) {
            return &reg_value[i];
        }
    }
    reg_address[regs] = address;
    reg_value[regs] = 0u;
    return &reg_value[regs++];
}

static void violation(const char *what)
{
    printf("violation: %s\n", what);
    violations += 1;
}

uint32_t es_mmio_read(uint32_t address)
{
    uint32_t *value = slot(address);
    if (address == RCC_CR) {
        if ((*value & (1u << 16)) && ++hse_reads > 3) {
            *value |= 1u << 17;
        }
        if ((*value & (1u << 24)) && ++pll_reads > 3) {
            *value |= 1u << 25;
        }
        seen_hserdy |= (*value >> 17) & 1u;
        seen_pllrdy |= (*value >> 25) & 1u;
    } else if (address == PWR_CSR1) {
        const uint32_t cr1 = *slot(PWR_CR1);
        if ((cr1 & (1u << 16)) && ++od_reads > 3) {
            *value |= 1u << 16;
        }
        if ((cr1 & (1u << 17)) && ++odsw_reads > 3) {
            *value |= 1u << 17;
        }
        seen_odrdy |= (*value >> 16) & 1u;
        seen_odswrdy |= (*value >> 17) & 1u;
    } else if (address == FLASH_ACR) {
        seen_latency = (*value & 0xFu) == 7u;
    } else if (address == USART_ISR) {
        *value = 1u << 7; /* TXE: the model's transmitter is always ready */
        seen_txe = 1;
    }
    return *value;
}

void es_mmio_write(uint32_t address, uint32_t value)
{
    uint32_t *old = slot(address);
    if ((address == PWR_CR1 || address == PWR_CSR1) && !(*slot(RCC_APB1ENR) & (1u << 28))) {
        violation("PWR written before its clock (RCC_APB1ENR.PWREN)");
    }
    if (address == PWR_CR1) {
        if (((value ^ *old) & (3u << 14)) && (*slot(RCC_CR) & (1u << 24))) {
            violation("VOS changed while the PLL is on");
        }
        if ((value & (1u << 16)) && !(*old & (1u << 16)) && !(*slot(RCC_CR) & (1u << 24))) {
            violation("over-drive enabled before the PLL");
        }
        if ((value & (1u << 17)) && !(*old & (1u << 17)) && !seen_odrdy) {
            violation("ODSWEN set before ODRDY was seen");
        }
    }
    if (address == RCC_CR && (value & (1u << 24)) && !(*old & (1u << 24))) {
        if (!seen_hserdy) {
            violation("PLL on before HSERDY was seen");
        }
        if (!(*slot(RCC_PLLCFGR) & (1u << 22))) {
            violation("PLL on before its source was set to HSE");
        }
    }
    if (address == RCC_PLLCFGR && (*slot(RCC_CR) & (1u << 24))) {
        violation("PLLCFGR written while the PLL is on");
    }
    if (address == RCC_CFGR && (value & 3u) == 2u && (*old & 3u) != 2u) {
        const uint32_t ppre1 = (value >> 10) & 7u;
        const uint32_t ppre2 = (value >> 13) & 7u;
        if (!seen_latency) {
            violation("SYSCLK switched to the PLL before 7 wait states were read back");
        }
        if (!seen_pllrdy) {
            violation("SYSCLK switched before PLLRDY was seen");
        }
        if (!seen_odswrdy) {
            violation("SYSCLK switched before ODSWRDY was seen");
        }
        if (ppre1 < 5u || ppre2 < 4u) {
            violation("APB prescalers not set before the switch (APB1 <= 54 MHz, APB2 <= 108 MHz)");
        }
        value |= 2u << 2; /* SWS follows SW */
    }
    if ((address == USART_BRR || address == USART_CR1) && !(*slot(RCC_APB2ENR) & (1u << 4))) {
        violation("USART1 written before its clock (RCC_APB2ENR.USART1EN)");
    }
    if (address == USART_BRR && (*slot(USART_CR1) & 1u)) {
        violation("BRR written while the USART is enabled");
    }
    if (address == USART_TDR) {
        if (!seen_txe) {
            violation("TDR written before TXE was seen");
        }
        seen_txe = 0;
        if (sent_count < sizeof sent - 1) {
            sent[sent_count++] = (char)value;
        }
    }
    *old = value;
}

static void expect(int ok, const char *what)
{
    if (!ok) {
        violation(what);
    }
}

int main(void)
{
    uint32_t pll;
    uint32_t m, n, p, q, sysclk;
    expect(es_stm32f7_clock_216mhz() == 0, "es_stm32f7_clock_216mhz reported a timeout");
    pll = *slot(RCC_PLLCFGR);
    m = pll & 0x3Fu;
    n = (pll >> 6) & 0x1FFu;
    p = 2u * (((pll >> 16) & 3u) + 1u);
    q = (pll >> 24) & 0xFu;
    sysclk = m ? 25000000u / m * n / p : 0u;
    expect(sysclk == ES_STM32F7_SYSCLK_HZ, "the PLL does not make 216 MHz from 25 MHz");
    expect(m && 25000000u / m * n / q == 48000000u, "the PLL's Q output is not 48 MHz");
    expect(m && 25000000u / m >= 1000000u && 25000000u / m <= 2000000u, "PLL input outside 1-2 MHz");
    expect((*slot(RCC_CFGR) & (3u << 2)) == (2u << 2), "SWS is not the PLL");
    expect((*slot(PWR_CR1) & (3u << 14)) == (3u << 14), "not voltage scale 1");

    es_stm32f7_console_init();
    expect(*slot(USART_BRR) == 938u, "BRR is not 108 MHz / 115200 (938)");
    expect((*slot(USART_CR1) & 0xDu) == 0xDu, "USART1 not enabled with TE and RE");
    expect(((*slot(GPIOA_MODER) >> 18) & 3u) == 2u && ((*slot(GPIOA_AFRH) >> 4) & 0xFu) == 7u,
           "PA9 is not USART1_TX (alternate function 7)");
    expect(((*slot(GPIOB_MODER) >> 14) & 3u) == 2u && ((*slot(GPIOB_AFRL) >> 28) & 0xFu) == 7u,
           "PB7 is not USART1_RX (alternate function 7)");
    es_stm32f7_console_write("hi\n");
    expect(sent_count == 4 && memcmp(sent, "hi\r\n", 4) == 0, "the console did not send \"hi\\r\\n\"");
    if (violations == 0) {
        printf("ok\n");
    }
    return violations == 0 ? 0 : 1;
}
