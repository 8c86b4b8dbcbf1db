/*
 * console_check.c -- drives edgesdk/console.h on the host: for every float (its bits in hex on
 * the command line) one line "<bits> <0 decimals> <1> <4> <6>", then the demo's line kinds.
 * tests/test_console.py compares every line with Python's exact decimal arithmetic.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edgesdk/console.h"

int main(int argc, char **argv)
{
    static const int decimals[] = {0, 1, 4, 6};
    int i;
    size_t d;
    for (i = 1; i < argc; ++i) {
        uint32_t bits = (uint32_t)strtoul(argv[i], NULL, 16);
        float value;
        memcpy(&value, &bits, sizeof value);
        printf("%s", argv[i]);
        for (d = 0; d < sizeof decimals / sizeof decimals[0]; ++d) {
            char text[24];
            size_t length = es_console_format_f32(text, value, decimals[d]);
            if (length != strlen(text)) {
                return 1;
            }
            printf(" %s", text);
        }
        printf("\n");
    }
    fflush(stdout);
    es_console_step(12u, 0.44514f);
    es_console_epoch(2u, 3u, 1.5f);
    es_console_accuracy("after", 7u, 8u);
    es_console_accuracy("before", 2u, 3u);
    es_console_mse("after", 0.0001234f);
    es_console_count("per step:", 18446744073709551615u, "instructions");
    return 0;
}
