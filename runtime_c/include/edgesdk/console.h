/*
 * edgesdk/console.h -- lines for people: what a serial monitor shows while a firmware trains.
 *
 *     step 12  loss 0.4451
 *     epoch 2/3  loss 0.5123
 *     test after  acc 87.5 %  (7/8)
 *
 * They are ordinary output lines: the machine-readable records stay the "@es <key> <json>" lines
 * of edgesdk/port.h (marked by their "@es " prefix, exact float bits), which `edgesdk run`
 * parses and every other line it leaves alone. Numbers are formatted here without printf; a
 * line goes out through es_port_write() like everything else. No heap, no stdio.
 */
#ifndef EDGESDK_CONSOLE_H
#define EDGESDK_CONSOLE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Writes `value` with `decimals` digits after the point (0..6), rounded half away from zero,
 * into `out` (at least 24 bytes), NUL-terminated: "-0.4451", "12.0000", "nan", "inf", and
 * "1e+09" style magnitudes ("huge") for |value| >= 1e9. Returns the length. */
size_t es_console_format_f32(char *out, float value, int decimals);

/* Writes the decimal digits of `value` into `out` (at least 21 bytes); returns the length. */
size_t es_console_format_u64(char *out, uint64_t value);

/* "step <step>  loss <loss with 4 decimals>" */
void es_console_step(uint64_t step, float loss);

/* "epoch <epoch>/<epochs>  loss <mean loss with 4 decimals>" */
void es_console_epoch(uint64_t epoch, uint64_t epochs, float loss);

/* "test <when>  acc <correct/total in % with 1 decimal> %  (<correct>/<total>)" */
void es_console_accuracy(const char *when, uint64_t correct, uint64_t total);

/* "test <when>  mse <mse with 6 decimals>" */
void es_console_mse(const char *when, float mse);

/* "<label> <value>" plus " <unit>" when unit is not NULL, e.g. "instructions per step 123456". */
void es_console_count(const char *label, uint64_t value, const char *unit);

#ifdef __cplusplus
}
#endif

#endif /* EDGESDK_CONSOLE_H */
