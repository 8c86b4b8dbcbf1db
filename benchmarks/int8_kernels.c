/*
 * int8_kernels.c -- instructions (QEMU, -icount) per call of the int8 forward kernels on the
 * layer shapes of MobileNetV2-alpha-0.35 at 96x96 (tests/fixtures/mobilenetv2_035_96.tflite),
 * each shape run through the reference kernel and through the fast kernel code generation picks
 * for it. Reports, per shape i:
 *
 *   @es shape.<i> [kind, H, W, IC, OC, K, stride]   kind: 0 conv, 1 depthwise, 2 pointwise, 3 FC
 *   @es count.<i> <n>        how many layers of the model have it
 *   @es macs.<i> <n>         multiply-accumulates of one call
 *   @es ref.<i> <n>          counter of the reference kernel
 *   @es fast.<i> <n>         counter of the fast kernel
 *   @es same.<i> <0|1>       the two outputs are equal
 *
 * Driven by int8_kernels.py. Inputs and weights are pseudo-random (the counts hardly depend on
 * the values). To fit the largest layers in the nRF52840's 256 KB, one buffer holds everything:
 * the input and the weights both read from its start (they may overlap: both are only read), the
 * output written at its end; the two kernels' outputs are compared by hash.
 */
#include <stdint.h>
#include <string.h>

#include "edgesdk/kernels_int8.h"
#include "edgesdk/port.h"

typedef enum { CONV, DEPTHWISE, POINTWISE, FC } kind;

typedef struct {
    kind op;
    int32_t h, w, ic, oc; /* input H x W x IC, output channels (depthwise: IC) */
    int32_t k, stride, pad; /* kernel size, stride, pad before (both axes) */
    int32_t count;          /* layers of this shape in the model */
} layer;

/* The model's CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED layers, grouped by shape. */
static const layer LAYERS[] = {
    {CONV, 96, 96, 3, 16, 3, 2, 0, 1},
    {DEPTHWISE, 48, 48, 16, 16, 3, 1, 1, 1},
    {POINTWISE, 48, 48, 16, 8, 1, 1, 0, 1},
    {POINTWISE, 48, 48, 8, 48, 1, 1, 0, 1},
    {DEPTHWISE, 48, 48, 48, 48, 3, 2, 0, 1},
    {POINTWISE, 24, 24, 48, 8, 1, 1, 0, 2},
    {POINTWISE, 24, 24, 8, 48, 1, 1, 0, 2},
    {DEPTHWISE, 24, 24, 48, 48, 3, 1, 1, 1},
    {DEPTHWISE, 24, 24, 48, 48, 3, 2, 0, 1},
    {POINTWISE, 12, 12, 48, 16, 1, 1, 0, 1},
    {POINTWISE, 12, 12, 16, 96, 1, 1, 0, 3},
    {DEPTHWISE, 12, 12, 96, 96, 3, 1, 1, 2},
    {POINTWISE, 12, 12, 96, 16, 1, 1, 0, 2},
    {DEPTHWISE, 12, 12, 96, 96, 3, 2, 0, 1},
    {POINTWISE, 6, 6, 96, 24, 1, 1, 0, 1},
    {POINTWISE, 6, 6, 24, 144, 1, 1, 0, 4},
    {DEPTHWISE, 6, 6, 144, 144, 3, 1, 1, 4},
    {POINTWISE, 6, 6, 144, 24, 1, 1, 0, 3},
    {POINTWISE, 6, 6, 144, 32, 1, 1, 0, 1},
    {POINTWISE, 6, 6, 32, 192, 1, 1, 0, 3},
    {DEPTHWISE, 6, 6, 192, 192, 3, 1, 1, 2},
    {POINTWISE, 6, 6, 192, 32, 1, 1, 0, 2},
    {DEPTHWISE, 6, 6, 192, 192, 3, 2, 0, 1},
    {POINTWISE, 3, 3, 192, 56, 1, 1, 0, 1},
    {POINTWISE, 3, 3, 56, 336, 1, 1, 0, 3},
    {DEPTHWISE, 3, 3, 336, 336, 3, 1, 1, 3},
    {POINTWISE, 3, 3, 336, 56, 1, 1, 0, 2},
    {POINTWISE, 3, 3, 336, 112, 1, 1, 0, 1},
    {POINTWISE, 3, 3, 112, 1280, 1, 1, 0, 1},
    {FC, 1, 1, 1280, 10, 1, 1, 0, 1},
};

#define MEMORY (160 * 1024)
#define MAX_CHANNELS 1280

static int8_t g_memory[MEMORY];
static int32_t g_bias[MAX_CHANNELS], g_mult[MAX_CHANNELS], g_shift[MAX_CHANNELS];

static void fill(void)
{
    uint32_t s = 2463534242u;
    for (int32_t i = 0; i < MEMORY; ++i) {
        s = es_xorshift32(s);
        g_memory[i] = (int8_t)(s >> 24);
    }
    for (int32_t i = 0; i < MAX_CHANNELS; ++i) {
        s = es_xorshift32(s);
        g_mult[i] = (int32_t)(1073741824u + (s >> 2));
        g_shift[i] = -(int32_t)(6 + s % 5);
        g_bias[i] = (int32_t)(s % 20001u) - 10000;
    }
}

typedef es_status (*conv_fn)(const es_conv2d_int8_params *, const es_dims *, const int8_t *,
                             const es_dims *, const int8_t *, const int32_t *, const es_dims *, int8_t *);
typedef es_status (*depthwise_fn)(const es_depthwise_conv2d_int8_params *, const es_dims *,
                                  const int8_t *, const es_dims *, const int8_t *, const int32_t *,
                                  const es_dims *, int8_t *);
typedef es_status (*fc_fn)(const es_fully_connected_int8_params *, const es_dims *, const int8_t *,
                           const es_dims *, const int8_t *, const int32_t *, const es_dims *, int8_t *);

/* The counter of one call; 0 when the kernel refused. */
static uint64_t timed_conv(conv_fn f, const es_conv2d_int8_params *p, const es_dims *in, const es_dims *w,
                           const es_dims *out, int8_t *y)
{
    const uint64_t t0 = es_port_counter();
    const es_status status = f(p, in, g_memory, w, g_memory, g_bias, out, y);
    return status == ES_OK ? es_port_counter() - t0 : 0u;
}

static uint64_t timed_depthwise(depthwise_fn f, const es_depthwise_conv2d_int8_params *p, const es_dims *in,
                                const es_dims *w, const es_dims *out, int8_t *y)
{
    const uint64_t t0 = es_port_counter();
    const es_status status = f(p, in, g_memory, w, g_memory, g_bias, out, y);
    return status == ES_OK ? es_port_counter() - t0 : 0u;
}

static uint64_t timed_fc(fc_fn f, const es_fully_connected_int8_params *p, const es_dims *in, const es_dims *w,
                         const es_dims *out, int8_t *y)
{
    const uint64_t t0 = es_port_counter();
    const es_status status = f(p, in, g_memory, w, g_memory, g_bias, out, y);
    return status == ES_OK ? es_port_counter() - t0 : 0u;
}

/* SAME padding, as in the model: ceil(n_in / stride) outputs. */
static int32_t out_size(int32_t n_in, int32_t stride)
{
    return (n_in + stride - 1) / stride;
}

/* FNV-1a of an output. */
static uint64_t hash(const int8_t *p, int32_t count)
{
    uint64_t h = 14695981039346656037u;
    for (int32_t i = 0; i < count; ++i) {
        h = (h ^ (uint8_t)p[i]) * 1099511628211u;
    }
    return h;
}

static void report_indexed(const char *what, int32_t i, uint64_t value)
{
    char key[32];
    size_t n = strlen(what);
    memcpy(key, what, n);
    key[n] = '.';
    key[n + 1] = (char)('0' + i / 10);
    key[n + 2] = (char)('0' + i % 10);
    key[n + 3] = '\0';
    es_report_u64(key, value);
}

static void measure(int32_t i, const layer *l)
{
    const es_dims in = {1, l->h, l->w, l->ic};
    es_dims out = {1, out_size(l->h, l->stride), out_size(l->w, l->stride), l->oc};
    const int32_t shape[7] = {(int32_t)l->op, l->h, l->w, l->ic, l->oc, l->k, l->stride};
    int8_t *const y = g_memory + MEMORY - es_dims_count(&out);
    uint64_t ref = 0u, fast = 0u, macs, ref_hash;
    if (l->op == DEPTHWISE) {
        const es_dims w = {1, 3, 3, l->ic};
        const es_depthwise_conv2d_int8_params p = {l->stride, l->stride, 1, 1, l->pad, l->pad, 1,
                                                   128, -5, -128, 127, g_mult, g_shift};
        ref = timed_depthwise(es_depthwise_conv2d_int8_fwd, &p, &in, &w, &out, y);
        ref_hash = hash(y, es_dims_count(&out));
        fast = timed_depthwise(es_depthwise_conv2d_3x3_int8_fwd, &p, &in, &w, &out, y);
        macs = (uint64_t)es_dims_count(&out) * 9u;
    } else if (l->op == FC) {
        const es_dims x = {1, 1, 1, l->ic}, w = {l->oc, 1, 1, l->ic};
        const es_fully_connected_int8_params p = {128, 0, 3, -128, 127, g_mult, g_shift, NULL, 0};
        out.h = out.w = 1;
        ref = timed_fc(es_fully_connected_int8_fwd, &p, &x, &w, &out, y);
        ref_hash = hash(y, es_dims_count(&out));
        fast = ref; /* no fast variant */
        macs = (uint64_t)l->ic * (uint64_t)l->oc;
    } else {
        const es_dims w = {l->oc, l->k, l->k, l->ic};
        const es_conv2d_int8_params p = {l->stride, l->stride, 1, 1, l->pad, l->pad, 1, -7, -128, 127,
                                         g_mult, g_shift, NULL, 0};
        ref = timed_conv(es_conv2d_int8_fwd, &p, &in, &w, &out, y);
        ref_hash = hash(y, es_dims_count(&out));
        fast = timed_conv(l->op == POINTWISE ? es_conv2d_1x1_int8_fwd : es_conv2d_rows_int8_fwd, &p, &in, &w, &out, y);
        macs = (uint64_t)es_dims_count(&out) * (uint64_t)(l->k * l->k * l->ic);
    }
    {
        char key[16] = "shape.";
        key[6] = (char)('0' + i / 10);
        key[7] = (char)('0' + i % 10);
        key[8] = '\0';
        es_report_i32_array(key, shape, 7);
    }
    report_indexed("count", i, (uint64_t)l->count);
    report_indexed("macs", i, macs);
    report_indexed("ref", i, ref);
    report_indexed("fast", i, fast);
    report_indexed("same", i, hash(y, es_dims_count(&out)) == ref_hash ? 1u : 0u);
}

int main(void)
{
    es_port_init();
    fill();
    for (int32_t i = 0; i < (int32_t)(sizeof LAYERS / sizeof LAYERS[0]); ++i) {
        measure(i, &LAYERS[i]);
    }
    es_report_port();
    return 0;
}
