/*
 * console.c -- the human lines of edgesdk/console.h. Port-independent: text goes out through
 * es_port_write(). Floats are formatted in double precision from the float's value, so the
 * printed digits are those of the exact float rounded to the requested decimals.
 */
#include "edgesdk/console.h"

#include "edgesdk/port.h"

size_t es_console_format_u64(char *out, uint64_t value)
{
    char digits[20];
    size_t n = 0;
    size_t length = 0;
    do {
        digits[n++] = (char)('0' + (int)(value % 10u));
        value /= 10u;
    } while (value != 0u);
    while (n > 0) {
        out[length++] = digits[--n];
    }
    out[length] = '\0';
    return length;
}

static size_t copy(char *out, const char *text)
{
    size_t length = 0;
    while (text[length] != '\0') {
        out[length] = text[length];
        ++length;
    }
    out[length] = '\0';
    return length;
}

size_t es_console_format_f32(char *out, float value, int decimals)
{
    double magnitude = (double)value;
    uint64_t scale = 1u;
    uint64_t scaled;
    size_t length = 0;
    int i;

    if (value != value) {
        return copy(out, "nan");
    }
    if (decimals < 0) {
        decimals = 0;
    }
    if (decimals > 6) {
        decimals = 6;
    }
    if (magnitude < 0.0) {
        out[length++] = '-';
        magnitude = -magnitude;
    }
    if (magnitude >= 1e9) {
        return length + copy(out + length, magnitude > 3.5e38 ? "inf" : "huge");
    }
    for (i = 0; i < decimals; ++i) {
        scale *= 10u;
    }
    scaled = (uint64_t)(magnitude * (double)scale + 0.5);
    length += es_console_format_u64(out + length, scaled / scale);
    if (decimals > 0) {
        uint64_t fraction = scaled % scale;
        out[length++] = '.';
        for (i = decimals - 1; i >= 0; --i) {
            out[length + (size_t)i] = (char)('0' + (int)(fraction % 10u));
            fraction /= 10u;
        }
        length += (size_t)decimals;
        out[length] = '\0';
    }
    return length;
}

static void write_u64(uint64_t value)
{
    char text[24];
    es_console_format_u64(text, value);
    es_port_write(text);
}

static void write_f32(float value, int decimals)
{
    char text[24];
    es_console_format_f32(text, value, decimals);
    es_port_write(text);
}

void es_console_step(uint64_t step, float loss)
{
    es_port_write("step ");
    write_u64(step);
    es_port_write("  loss ");
    write_f32(loss, 4);
    es_port_write("\n");
}

void es_console_epoch(uint64_t epoch, uint64_t epochs, float loss)
{
    es_port_write("epoch ");
    write_u64(epoch);
    es_port_write("/");
    write_u64(epochs);
    es_port_write("  loss ");
    write_f32(loss, 4);
    es_port_write("\n");
}

void es_console_accuracy(const char *when, uint64_t correct, uint64_t total)
{
    /* tenths of a percent, rounded half up, in integers */
    const uint64_t permille = total > 0u ? (correct * 2000u + total) / (2u * total) : 0u;
    es_port_write("test ");
    es_port_write(when);
    es_port_write("  acc ");
    write_u64(permille / 10u);
    es_port_write(".");
    write_u64(permille % 10u);
    es_port_write(" %  (");
    write_u64(correct);
    es_port_write("/");
    write_u64(total);
    es_port_write(")\n");
}

void es_console_mse(const char *when, float mse)
{
    es_port_write("test ");
    es_port_write(when);
    es_port_write("  mse ");
    write_f32(mse, 6);
    es_port_write("\n");
}

void es_console_count(const char *label, uint64_t value, const char *unit)
{
    es_port_write(label);
    es_port_write(" ");
    write_u64(value);
    if (unit != NULL) {
        es_port_write(" ");
        es_port_write(unit);
    }
    es_port_write("\n");
}
