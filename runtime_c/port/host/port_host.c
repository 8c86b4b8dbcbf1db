/*
 * port_host.c -- the build machine as a board (ES_PORT_HOST): stdout, CLOCK_MONOTONIC, exit().
 * The host has no painted stack, so both stack functions report 0 (unknown).
 */
#if defined(ES_PORT_HOST)
#define _POSIX_C_SOURCE 199309L /* clock_gettime under -std=c99 */
#endif

#include "edgesdk/port.h"

#if defined(ES_PORT_HOST)

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static uint64_t start_ns;

static uint64_t now_ns(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

void es_port_init(void)
{
    start_ns = now_ns();
}

void es_port_write(const char *text)
{
    fputs(text, stdout);
}

void es_port_board_write(const char *text)
{
    es_port_write(text);
}

uint64_t es_port_counter(void)
{
    return now_ns() - start_ns;
}

const char *es_port_counter_unit(void)
{
    return "nanoseconds";
}

const char *es_port_name(void)
{
    return "host";
}

void es_port_exit(int status)
{
    fflush(stdout);
    exit(status);
}

size_t es_port_stack_size(void)
{
    return 0;
}

size_t es_port_stack_high_water(void)
{
    return 0;
}

#endif /* ES_PORT_HOST */
