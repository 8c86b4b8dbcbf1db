/*
 * int8_kernels.c -- instructions (QEMU, -icount) per call of the int8 forward kernels on the
 * layer shapes of MobileNetV2-alpha-0.35 at 96x96 (tests/fixtures/mobilenetv2_035_96.tflite),
 * each shape run through the reference kernel and through the fast kernel code generation picks
 * for it, and the model's fused convolution -> depthwise pairs (kind 4: the convolution's
 * input H x W x IC, OC middle channels, its kernel K, the depthwise's stride) through the two
 * reference kernels (ref) and es_conv_depthwise_int8_fwd (fast). Reports, per shape i:
 *
 *   @es shape.<i> [kind, H, W, IC, OC, K, stride]   kind: 0 conv, 1 depthwise, 2 pointwise, 3 FC,
 *                                                   4 conv -> depthwise
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

typedef enum { CONV, DEPTHWISE, POINTWISE, FC, FUSED } kind;

typedef struct {
    kind op;
    int32_t h, w, ic, oc; /* input H x W x IC, output channels (depthwise: IC) */
    int32_t k, stride, pad; /* kernel size, stride, pad before (both axes); FUSED: the conv's
                             * kernel and pad, the depthwise's stride */
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
    /* the frozen convolution -> depthwise pairs es_conv_depthwise_int8_fwd runs (classifier-only
     * training): the stem, then each expansion with the depthwise after it */
    {FUSED, 96, 96, 3, 16, 3, 1, 0, 1},
    {FUSED, 48, 48, 8, 48, 1, 2, 0, 1},
    {FUSED, 24, 24, 8, 48, 1, 1, 0, 1},
    {FUSED, 24, 24, 8, 48, 1, 2, 0, 1},
    {FUSED, 12, 12, 16, 96, 1, 1, 0, 2},
    {FUSED, 12, 12, 16, 96, 1, 2, 0, 1},
    {FUSED, 6, 6, 24, 144, 1, 1, 0, 4},
    {FUSED, 6, 6, 32, 192, 1, 1, 0, 2},
    {FUSED, 6, 6, 32, 192, 1, 2, 0, 1},
    {FUSED, 3, 3, 56, 336, 1, 1, 0, 3},
};

#define MEMORY (160 * 1024)
#define MAX_CHANNELS 1280

#define RING (3 * 48)

static int8_t g_memory[MEMORY];
static int8_t g_ring[RING]; /* the fused kernel's scratch: three rows of the widest middle map */
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

/* The stem is strided 2 (pad 0, as TFLite's SAME puts its padding after); the expansions 1. */
static int32_t conv_stride(const layer *l)
{
    return l->k == 3 ? 2 : 1;
}

/* A fused pair: the two reference kernels (the middle map stored before the output) against
 * es_conv_depthwise_int8_fwd; MACs of both convolutions. */
static void measure_fused(const layer *l, const es_dims *in, int8_t *y, uint64_t *ref, uint64_t *fast,
                          uint64_t *macs, uint64_t *ref_hash)
{
    const int32_t s = conv_stride(l);
    const es_dims mid = {1, out_size(l->h, s), out_size(l->w, s), l->oc};
    const es_dims conv_w = {l->oc, l->k, l->k, l->ic}, dw_w = {1, 3, 3, l->oc};
    const es_dims out = {1, out_size(mid.h, l->stride), out_size(mid.w, l->stride), l->oc};
    const int32_t dw_pad = l->stride == 1 ? 1 : 0;
    const es_conv2d_int8_params conv = {s, s, 1, 1, l->pad, l->pad, 1, -7, -128, 127, g_mult, g_shift, NULL, 0};
    const es_depthwise_conv2d_int8_params dw = {l->stride, l->stride, 1, 1, dw_pad, dw_pad, 1,
                                                128, -5, -128, 127, g_mult, g_shift};
    int8_t *const m = y - es_dims_count(&mid);
    uint64_t t0 = es_port_counter();
    es_status status = es_conv2d_int8_fwd(&conv, in, g_memory, &conv_w, g_memory, g_bias, &mid, m);
    if (status == ES_OK) {
        status = es_depthwise_conv2d_int8_fwd(&dw, &mid, m, &dw_w, g_memory, g_bias, &out, y);
    }
    *ref = status == ES_OK ? es_port_counter() - t0 : 0u;
    *ref_hash = hash(y, es_dims_count(&out));
    t0 = es_port_counter();
    status = es_conv_depthwise_int8_fwd(&conv, &dw, in, g_memory, &conv_w, g_memory, g_bias, &mid, &dw_w,
                                        g_memory, g_bias, &out, y, g_ring, sizeof g_ring);
    *fast = status == ES_OK ? es_port_counter() - t0 : 0u;
    *macs = (uint64_t)es_dims_count(&mid) * (uint64_t)(l->k * l->k * l->ic) + (uint64_t)es_dims_count(&out) * 9u;
}

static void measure(int32_t i, const layer *l)
{
    const es_dims in = {1, l->h, l->w, l->ic};
    const int32_t s = l->op == FUSED ? conv_stride(l) : 1; /* a fused pair: two strides */
    es_dims out = {1, out_size(out_size(l->h, s), l->stride), out_size(out_size(l->w, s), l->stride), l->oc};
    const int32_t shape[7] = {(int32_t)l->op, l->h, l->w, l->ic, l->oc, l->k, l->stride};
    int8_t *const y = g_memory + MEMORY - es_dims_count(&out);
    uint64_t ref = 0u, fast = 0u, macs, ref_hash;
    if (l->op == FUSED) {
        measure_fused(l, &in, y, &ref, &fast, &macs, &ref_hash);
    } else if (l->op == DEPTHWISE) {
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
