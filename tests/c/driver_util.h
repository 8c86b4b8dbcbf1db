/*
 * driver_util.h -- what the int8 sanitizer drivers share: a seeded xorshift32 stream (define
 * DRIVER_SEED before including), random arrays, and the "called <kernel>" / FAIL bookkeeping the
 * Python tests read. Included by one driver file each, so everything is static.
 */
#ifndef EDGESDK_TEST_DRIVER_UTIL_H
#define EDGESDK_TEST_DRIVER_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edgesdk/qas_int8.h"

static uint32_t rng_state = DRIVER_SEED;

static int32_t rnd(int32_t lo, int32_t hi) /* uniform in [lo, hi] */
{
    rng_state = es_xorshift32(rng_state);
    return lo + (int32_t)(rng_state % (uint32_t)(hi - lo + 1));
}

static int8_t *int8s(int32_t count)
{
    int8_t *p = (int8_t *)malloc((size_t)count);
    for (int32_t i = 0; i < count; ++i) {
        p[i] = (int8_t)rnd(-127, 127);
    }
    return p;
}

static float *positives(int32_t count)
{
    float *p = (float *)malloc((size_t)count * sizeof(float));
    for (int32_t i = 0; i < count; ++i) {
        p[i] = (float)rnd(1, 1000) * 1e-3f;
    }
    return p;
}

static int failures;

/* Print "called <name>" the first time a kernel is seen, and count a status other than wanted. */
static void expect(const char *name, es_status status, es_status wanted)
{
    static const char *seen[64];
    static int count;
    int known = 0;
    for (int i = 0; i < count; ++i) {
        known |= strcmp(seen[i], name) == 0;
    }
    if (!known && count < 64) {
        seen[count++] = name;
        printf("called %s\n", name);
    }
    if (status != wanted) {
        printf("FAIL %s: status %d, expected %d\n", name, (int)status, (int)wanted);
        failures += 1;
    }
}

#endif /* EDGESDK_TEST_DRIVER_UTIL_H */
