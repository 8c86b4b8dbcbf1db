/*
 * report.c -- writers for the "@es <key> <json value>" result lines (docs/building.md).
 *
 * Port-independent: everything goes through es_port_write(). Numbers are formatted here, not by
 * printf, so the firmware needs no stdio. A line is assembled in a small buffer and written in
 * pieces, so arrays of any length fit.
 */
#include "edgesdk/port.h"

#include <string.h>

typedef struct {
    char text[96];
    size_t used;
} es_line;

static void line_flush(es_line *line)
{
    if (line->used > 0) {
        line->text[line->used] = '\0';
        es_port_write(line->text);
        line->used = 0;
    }
}

static void line_char(es_line *line, char c)
{
    if (line->used + 1 >= sizeof line->text) {
        line_flush(line);
    }
    line->text[line->used++] = c;
}

static void line_str(es_line *line, const char *text)
{
    while (*text != '\0') {
        line_char(line, *text++);
    }
}

static void line_u64(es_line *line, uint64_t value)
{
    char digits[20];
    size_t n = 0;
    do {
        digits[n++] = (char)('0' + (int)(value % 10u));
        value /= 10u;
    } while (value != 0u);
    while (n > 0) {
        line_char(line, digits[--n]);
    }
}

static void line_i64(es_line *line, int64_t value)
{
    if (value < 0) {
        line_char(line, '-');
        /* negate in unsigned arithmetic: defined for INT64_MIN too */
        line_u64(line, (uint64_t)0 - (uint64_t)value);
    } else {
        line_u64(line, (uint64_t)value);
    }
}

static void line_hex32(es_line *line, uint32_t value)
{
    static const char hex[] = "0123456789abcdef";
    int shift;
    line_str(line, "\"0x");
    for (shift = 28; shift >= 0; shift -= 4) {
        line_char(line, hex[(value >> shift) & 0xfu]);
    }
    line_char(line, '"');
}

static uint32_t float_bits(float value)
{
    uint32_t bits;
    memcpy(&bits, &value, sizeof bits);
    return bits;
}

static void line_begin(es_line *line, const char *key)
{
    line->used = 0;
    line_str(line, "@es ");
    line_str(line, key);
    line_char(line, ' ');
}

static void line_end(es_line *line)
{
    line_char(line, '\n');
    line_flush(line);
}

void es_report_u64(const char *key, uint64_t value)
{
    es_line line;
    line_begin(&line, key);
    line_u64(&line, value);
    line_end(&line);
}

void es_report_i64(const char *key, int64_t value)
{
    es_line line;
    line_begin(&line, key);
    line_i64(&line, value);
    line_end(&line);
}

void es_report_str(const char *key, const char *value)
{
    static const char hex[] = "0123456789abcdef";
    es_line line;
    line_begin(&line, key);
    line_char(&line, '"');
    for (; *value != '\0'; ++value) {
        unsigned char c = (unsigned char)*value;
        if (c == '"' || c == '\\') {
            line_char(&line, '\\');
            line_char(&line, (char)c);
        } else if (c < 0x20u) {
            line_str(&line, "\\u00");
            line_char(&line, hex[c >> 4]);
            line_char(&line, hex[c & 0xfu]);
        } else {
            line_char(&line, (char)c);
        }
    }
    line_char(&line, '"');
    line_end(&line);
}

void es_report_f32(const char *key, float value)
{
    es_line line;
    line_begin(&line, key);
    line_str(&line, "{\"f32\":");
    line_hex32(&line, float_bits(value));
    line_char(&line, '}');
    line_end(&line);
}

void es_report_f32_array(const char *key, const float *values, size_t count)
{
    es_line line;
    size_t i;
    line_begin(&line, key);
    line_str(&line, "{\"f32\":[");
    for (i = 0; i < count; ++i) {
        if (i > 0) {
            line_char(&line, ',');
        }
        line_hex32(&line, float_bits(values[i]));
    }
    line_str(&line, "]}");
    line_end(&line);
}

void es_report_i32_array(const char *key, const int32_t *values, size_t count)
{
    es_line line;
    size_t i;
    line_begin(&line, key);
    line_char(&line, '[');
    for (i = 0; i < count; ++i) {
        if (i > 0) {
            line_char(&line, ',');
        }
        line_i64(&line, values[i]);
    }
    line_char(&line, ']');
    line_end(&line);
}

void es_report_port(void)
{
    es_report_str("port.name", es_port_name());
    es_report_str("counter.unit", es_port_counter_unit());
    es_report_u64("stack.size", (uint64_t)es_port_stack_size());
    es_report_u64("stack.high_water", (uint64_t)es_port_stack_high_water());
}
