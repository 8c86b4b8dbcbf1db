/*
 * int8_fast_check.c -- every fast int8 kernel against its reference kernel, on the device: the
 * same pseudo-random cases (odd sizes, batch 2, any stride and padding a kernel accepts, full
 * int8 inputs, asymmetric offsets, per-channel and extreme requantizations, int32 biases at their
 * ends, activation clamps) run through both, and the outputs must be equal byte for byte; bytes
 * past the output must stay untouched. The fused convolution -> depthwise kernel
 * (es_conv_depthwise_int8_fwd) is compared with its two reference kernels run one after the
 * other, and the bytes past its ring scratch must stay untouched too. The fast FULLY_CONNECTED
 * forward is compared with es_fully_connected_int8_fwd, and its fused weight gradient + QAS
 * update with es_fully_connected_int8_bwd_w_qas (the updated weights and master copies, rows of
 * any length, both sides of the look-up table's threshold, steps that saturate, NaN gradients). Built for the host and the emulated Cortex-M7 / M4F (the
 * DSP paths of mac_int8.h), reporting per kernel:
 *
 *   @es cases.<kernel> <count>     cases run
 *   @es differ.<kernel> <count>    cases whose fast output differs from the reference (must be 0)
 *   @es bits.<kernel> <hash>       FNV-1a of every fast output (the same on every target)
 *   @es mac.dsp <0|1>              whether the DSP-extension path was compiled in
 *
 * plus the same for "requantize": the fast kernels' es_out_requantize against es_mbqm on
 * random and extreme (accumulator, multiplier, shift) triples. Compiled with
 * -DES_FAST_CHECK_CONTROL, one output byte of every kernel case is flipped before the comparison:
 * then every case must differ (the comparison can fail).
 *
 * No heap: static buffers, so it runs as bare-metal firmware.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "edgesdk/kernels_int8.h"
#include "edgesdk/port.h"
#include "edgesdk/train_int8.h"
#include "fast_int8.h" /* the fast kernels' output stage (runtime_c/src), checked against es_mbqm */

#define CASES 120
#define CAP 8192
#define GUARD 16
#define MAX_CHANNELS 64

static int8_t g_x[CAP], g_w[CAP], g_ref[CAP + GUARD], g_fast[CAP + GUARD];
static int32_t g_bias[MAX_CHANNELS], g_mult[MAX_CHANNELS], g_shift[MAX_CHANNELS];
static int8_t g_mid[CAP], g_ring[CAP + GUARD];
static int32_t g_bias2[MAX_CHANNELS], g_mult2[MAX_CHANNELS], g_shift2[MAX_CHANNELS];
static uint32_t g_seed = 2463534242u;

static int32_t rnd(int32_t lo, int32_t hi) /* uniform in [lo, hi] */
{
    g_seed = es_xorshift32(g_seed);
    return lo + (int32_t)(g_seed % (uint32_t)(hi - lo + 1));
}

static void fill(int8_t *p, int32_t count, int32_t lo)
{
    for (int32_t i = 0; i < count; ++i) {
        p[i] = (int8_t)rnd(lo, 127);
    }
}

/* Per-channel requantizations and biases; every third case extreme (any multiplier, shifts
 * -31..30, biases at the int32 ends), where the reference's int32 arithmetic wraps. */
static void channel_constants(int32_t count, int extreme)
{
    for (int32_t i = 0; i < count; ++i) {
        g_seed = es_xorshift32(g_seed);
        g_mult[i] = extreme ? (int32_t)(g_seed >> 1) : rnd(1 << 30, INT32_MAX);
        g_shift[i] = extreme ? rnd(-31, 30) : rnd(-14, 0);
        g_seed = es_xorshift32(g_seed);
        g_bias[i] = extreme ? (int32_t)g_seed : rnd(-5000, 5000);
    }
    if (extreme && count > 1) {
        g_bias[0] = INT32_MAX;
        g_bias[1] = INT32_MIN;
    }
}

typedef struct {
    const char *name;
    int32_t cases;
    int32_t differ;
    uint64_t hash;
} tally;

static void tally_init(tally *t, const char *name)
{
    t->name = name;
    t->cases = 0;
    t->differ = 0;
    t->hash = 14695981039346656037u;
}

/* 1 when the GUARD bytes at p still hold the fill pattern. */
static int guard_intact(const int8_t *p)
{
    for (int32_t i = 0; i < GUARD; ++i) {
        if (p[i] != 0x5A) {
            return 0;
        }
    }
    return 1;
}

static void prepare_outputs(void)
{
    memset(g_ref, 0x5A, sizeof g_ref);
    memset(g_fast, 0x5A, sizeof g_fast);
}

/* Compares the two outputs (count bytes) and the guard bytes after them; scratch_ok: the fast
 * kernel wrote nothing past its scratch. */
static void record_scratch(tally *t, es_status ref_status, es_status fast_status, int32_t count, int scratch_ok)
{
    int same;
#if defined(ES_FAST_CHECK_CONTROL)
    g_fast[rnd(0, count - 1)] ^= 1;
#endif
    same = scratch_ok && ref_status == ES_OK && fast_status == ES_OK && memcmp(g_ref, g_fast, (size_t)count) == 0;
    for (int32_t i = count; i < count + GUARD; ++i) {
        same = same && g_fast[i] == 0x5A;
    }
    for (int32_t i = 0; i < count; ++i) {
        t->hash = (t->hash ^ (uint8_t)g_fast[i]) * 1099511628211u;
    }
    t->cases += 1;
    t->differ += same ? 0 : 1;
}

static void record(tally *t, es_status ref_status, es_status fast_status, int32_t count)
{
    record_scratch(t, ref_status, fast_status, count, 1);
}

static void report(const tally *t)
{
    char key[64];
    const char *parts[3] = {"cases.", "differ.", "bits."};
    const uint64_t values[3] = {(uint64_t)t->cases, (uint64_t)t->differ, t->hash};
    for (int i = 0; i < 3; ++i) {
        size_t n = strlen(parts[i]);
        memcpy(key, parts[i], n);
        memcpy(key + n, t->name, strlen(t->name) + 1);
        es_report_u64(key, values[i]);
    }
}

static void common_conv(es_conv2d_int8_params *p)
{
    p->input_offset = rnd(0, 3) == 0 ? 128 : rnd(-127, 128);
    p->output_offset = rnd(-128, 127);
    p->act_min = rnd(0, 1) ? -128 : rnd(-128, 0);
    p->act_max = rnd(0, 1) ? 127 : rnd(p->act_min, 127);
    p->multiplier = g_mult;
    p->shift = g_shift;
}

static void pointwise_case(tally *t, int extreme)
{
    es_conv2d_int8_params p;
    es_dims in = {rnd(1, 2), rnd(1, 7), rnd(1, 7), rnd(1, 40)};
    es_dims w = {rnd(1, 20), 1, 1, 0};
    es_dims out;
    const int with_bias = rnd(0, 3) != 0;
    if (rnd(0, 3) == 0) {
        in.c = 8 * rnd(1, 2); /* the depths with loops of their own */
    }
    w.c = in.c;
    p.w_tail = NULL; /* one whole weight array */
    p.w_head_channels = 0;
    out = in;
    out.c = w.n;
    p.stride_h = p.stride_w = 1;
    p.dilation_h = rnd(1, 2);
    p.dilation_w = rnd(1, 2);
    p.pad_top = p.pad_left = 0;
    common_conv(&p);
    channel_constants(w.n, extreme);
    fill(g_x, es_dims_count(&in), -128);
    fill(g_w, es_dims_count(&w), -127);
    prepare_outputs();
    record(t, es_conv2d_int8_fwd(&p, &in, g_x, &w, g_w, with_bias ? g_bias : NULL, &out, g_ref),
           es_conv2d_1x1_int8_fwd(&p, &in, g_x, &w, g_w, with_bias ? g_bias : NULL, &out, g_fast),
           es_dims_count(&out));
}

/* A random window along one axis: stride, pad before (0..k-1) and a valid output size. */
static void axis(int32_t n_in, int32_t k, int32_t *stride, int32_t *pad, int32_t *n_out)
{
    int32_t largest;
    *stride = rnd(1, 3);
    *pad = rnd(0, k - 1);
    largest = (n_in - 1 + *pad) / *stride + 1;
    *n_out = rnd(0, 1) ? largest : rnd(1, largest);
}

static void rows_case(tally *t, int extreme)
{
    es_conv2d_int8_params p;
    es_dims in = {rnd(1, 2), rnd(1, 10), rnd(1, 10), rnd(1, 9)};
    es_dims w = {rnd(1, 7), rnd(1, 4), rnd(1, 4), 0};
    es_dims out;
    const int with_bias = rnd(0, 3) != 0;
    w.c = in.c;
    p.w_tail = NULL; /* one whole weight array */
    p.w_head_channels = 0;
    out.n = in.n;
    out.c = w.n;
    p.dilation_h = rnd(1, 2);
    p.dilation_w = 1;
    axis(in.h, (w.h - 1) * p.dilation_h + 1, &p.stride_h, &p.pad_top, &out.h);
    axis(in.w, w.w, &p.stride_w, &p.pad_left, &out.w);
    common_conv(&p);
    channel_constants(w.n, extreme);
    fill(g_x, es_dims_count(&in), -128);
    fill(g_w, es_dims_count(&w), -127);
    prepare_outputs();
    record(t, es_conv2d_int8_fwd(&p, &in, g_x, &w, g_w, with_bias ? g_bias : NULL, &out, g_ref),
           es_conv2d_rows_int8_fwd(&p, &in, g_x, &w, g_w, with_bias ? g_bias : NULL, &out, g_fast),
           es_dims_count(&out));
}

static void depthwise_case(tally *t, int extreme)
{
    es_depthwise_conv2d_int8_params p;
    es_dims in = {rnd(1, 2), rnd(1, 12), rnd(1, 12), rnd(1, 20)};
    es_dims w = {1, 3, 3, 0};
    es_dims out;
    const int with_bias = rnd(0, 3) != 0;
    w.c = in.c;
    out.n = in.n;
    out.c = in.c;
    axis(in.h, 3, &p.stride_h, &p.pad_top, &out.h);
    axis(in.w, 3, &p.stride_w, &p.pad_left, &out.w);
    p.dilation_h = p.dilation_w = 1;
    p.depth_multiplier = 1;
    p.input_offset = rnd(0, 3) == 0 ? 128 : rnd(-127, 128);
    p.output_offset = rnd(-128, 127);
    p.act_min = rnd(0, 1) ? -128 : rnd(-128, 0);
    p.act_max = rnd(0, 1) ? 127 : rnd(p.act_min, 127);
    p.multiplier = g_mult;
    p.shift = g_shift;
    channel_constants(w.c, extreme);
    fill(g_x, es_dims_count(&in), -128);
    fill(g_w, es_dims_count(&w), -127);
    prepare_outputs();
    record(t, es_depthwise_conv2d_int8_fwd(&p, &in, g_x, &w, g_w, with_bias ? g_bias : NULL, &out, g_ref),
           es_depthwise_conv2d_3x3_int8_fwd(&p, &in, g_x, &w, g_w, with_bias ? g_bias : NULL, &out, g_fast),
           es_dims_count(&out));
}

/* The second layer's requantizations and biases (the first layer's stay in g_mult, ...). */
static void second_channel_constants(int32_t count, int extreme)
{
    channel_constants(count, extreme);
    memcpy(g_mult2, g_mult, (size_t)count * sizeof g_mult[0]);
    memcpy(g_shift2, g_shift, (size_t)count * sizeof g_shift[0]);
    memcpy(g_bias2, g_bias, (size_t)count * sizeof g_bias[0]);
}

/* The producer of a fused pair: a 1x1 convolution (the expansions: stride 1, no padding, depths
 * 8 and 16 often) or a KxK one (the stem: 3x3, stride 2, IC 3), any input depth. */
static void producer(es_conv2d_int8_params *p, es_dims *in, es_dims *w, es_dims *mid)
{
    const int pointwise = rnd(0, 1);
    in->n = rnd(1, 2);
    in->h = rnd(1, 10);
    in->w = rnd(1, 10);
    in->c = rnd(0, 2) == 0 ? 8 * rnd(1, 2) : rnd(1, 19);
    w->n = rnd(1, 12);
    w->h = pointwise ? 1 : rnd(1, 3);
    w->w = pointwise ? 1 : rnd(2, 3);
    w->c = in->c;
    p->w_tail = NULL;
    p->w_head_channels = 0;
    p->dilation_h = pointwise ? 1 : rnd(1, 2);
    p->dilation_w = pointwise || rnd(0, 3) != 0 ? 1 : 2;
    axis(in->h, (w->h - 1) * p->dilation_h + 1, &p->stride_h, &p->pad_top, &mid->h);
    axis(in->w, (w->w - 1) * p->dilation_w + 1, &p->stride_w, &p->pad_left, &mid->w);
    if (pointwise && rnd(0, 2) != 0) { /* the expansion geometry: the producer's fast path */
        p->stride_h = p->stride_w = 1;
        p->pad_top = p->pad_left = 0;
        mid->h = in->h;
        mid->w = in->w;
    }
    mid->n = in->n;
    mid->c = w->n;
    common_conv(p);
}

/* axis() with the depthwise strides MobileNetV2 has, 1 and 2. */
static void axis_stride12(int32_t n_in, int32_t k, int32_t *stride, int32_t *pad, int32_t *n_out)
{
    int32_t largest;
    axis(n_in, k, stride, pad, n_out);
    *stride = *stride > 2 ? 2 : *stride;
    largest = (n_in - 1 + *pad) / *stride + 1;
    *n_out = rnd(0, 2) != 0 ? largest : rnd(1, largest);
}

/* The depthwise of a fused pair: mostly 3x3 (the three-tap path, strides 1 and 2, any padding),
 * sometimes another kernel or a dilation (the general path). */
static void consumer(es_depthwise_conv2d_int8_params *p, const es_dims *mid, es_dims *w, es_dims *out)
{
    const int three = rnd(0, 3) != 0;
    w->n = 1;
    w->h = three ? 3 : rnd(1, 4);
    w->w = three ? 3 : rnd(1, 4);
    w->c = mid->c;
    p->dilation_h = rnd(0, 3) == 0 ? 2 : 1;
    p->dilation_w = three ? 1 : rnd(1, 2);
    axis_stride12(mid->h, (w->h - 1) * p->dilation_h + 1, &p->stride_h, &p->pad_top, &out->h);
    axis_stride12(mid->w, (w->w - 1) * p->dilation_w + 1, &p->stride_w, &p->pad_left, &out->w);
    out->n = mid->n;
    out->c = mid->c;
    p->depth_multiplier = 1;
    p->input_offset = rnd(0, 3) == 0 ? 128 : rnd(-127, 128);
    p->output_offset = rnd(-128, 127);
    p->act_min = rnd(0, 1) ? -128 : rnd(-128, 0);
    p->act_max = rnd(0, 1) ? 127 : rnd(p->act_min, 127);
    p->multiplier = g_mult2;
    p->shift = g_shift2;
}

/* The fused kernel against es_conv2d_int8_fwd then es_depthwise_conv2d_int8_fwd. */
static void fused_case(tally *t, int extreme)
{
    es_conv2d_int8_params conv;
    es_depthwise_conv2d_int8_params dw;
    es_dims in, conv_w, mid, dw_w, out;
    int8_t *const dw_weights = g_w + CAP / 2;
    const int with_bias = rnd(0, 3) != 0;
    es_status ref_status;
    size_t ring;
    producer(&conv, &in, &conv_w, &mid);
    consumer(&dw, &mid, &dw_w, &out);
    second_channel_constants(mid.c, extreme);
    channel_constants(mid.c, extreme);
    fill(g_x, es_dims_count(&in), -128);
    fill(g_w, es_dims_count(&conv_w), -127);
    fill(dw_weights, es_dims_count(&dw_w), -127);
    prepare_outputs();
    memset(g_ring, 0x5A, sizeof g_ring);
    ring = es_conv_depthwise_int8_scratch_size(&dw, &dw_w, &mid);
    ref_status = es_conv2d_int8_fwd(&conv, &in, g_x, &conv_w, g_w, with_bias ? g_bias : NULL, &mid, g_mid);
    if (ref_status == ES_OK) {
        ref_status = es_depthwise_conv2d_int8_fwd(&dw, &mid, g_mid, &dw_w, dw_weights, with_bias ? g_bias2 : NULL,
                                                  &out, g_ref);
    }
    record_scratch(t, ref_status,
                   es_conv_depthwise_int8_fwd(&conv, &dw, &in, g_x, &conv_w, g_w, with_bias ? g_bias : NULL, &mid,
                                              &dw_w, dw_weights, with_bias ? g_bias2 : NULL, &out, g_fast, g_ring,
                                              ring),
                   es_dims_count(&out), guard_intact(g_ring + ring));
}

/* FULLY_CONNECTED forward: rows x K inputs, OUT outputs, per-channel weights. */
static void fc_case(tally *t, int extreme)
{
    es_fully_connected_int8_params p;
    es_dims in = {rnd(1, 3), 1, 1, rnd(1, 300)};
    es_dims w = {rnd(1, 12), 1, 1, 0};
    es_dims out;
    const int with_bias = rnd(0, 3) != 0;
    w.c = in.c;
    out = in;
    out.c = w.n;
    p.input_offset = rnd(0, 3) == 0 ? 128 : rnd(-127, 128);
    p.weights_offset = 0;
    p.output_offset = rnd(-128, 127);
    p.act_min = rnd(0, 1) ? -128 : rnd(-128, 0);
    p.act_max = rnd(0, 1) ? 127 : rnd(p.act_min, 127);
    p.multiplier = g_mult;
    p.shift = g_shift;
    p.w_tail = NULL;
    p.w_head_channels = 0;
    channel_constants(w.n, extreme);
    fill(g_x, es_dims_count(&in), -128);
    fill(g_w, es_dims_count(&w), rnd(0, 1) ? -128 : -127);
    prepare_outputs();
    record(t, es_fully_connected_int8_fwd(&p, &in, g_x, &w, g_w, with_bias ? g_bias : NULL, &out, g_ref),
           es_fully_connected_fast_int8_fwd(&p, &in, g_x, &w, g_w, with_bias ? g_bias : NULL, &out, g_fast),
           es_dims_count(&out));
}

#define FC_MAX_OUT 6
static float g_dz[FC_MAX_OUT * 2], g_factor[FC_MAX_OUT], g_scratch[CAP];
static float g_master_ref[CAP], g_master_fast[CAP];

/* A float32 of random magnitude 2^-20 .. 2^12 and sign; NaN or +-infinity now and then. */
static float random_float(void)
{
    const int32_t pick = rnd(0, 199);
    float v = (float)rnd(1, 1 << 20) * (1.0f / 1048576.0f);
    for (int32_t e = rnd(0, 32); e > 0; --e) {
        v *= 2.0f;
    }
    if (pick == 0) {
        v = NAN;
    } else if (pick == 1) {
        v = INFINITY;
    }
    return rnd(0, 1) ? v : -v;
}

/* FULLY_CONNECTED weight gradient + QAS update, batch 1 (and sometimes 2: the reference path),
 * nearest rounding with and without a master copy (stochastic now and then: the reference). */
static void fc_qas_case(tally *t)
{
    es_affine_int8_params xq;
    es_qas_layer_params qas;
    const int32_t rows = rnd(0, 5) == 0 ? 2 : 1;
    const int32_t k_n = rnd(0, 2) == 0 ? rnd(500, 1300) : rnd(1, 600);
    const int32_t o_n = rnd(1, FC_MAX_OUT);
    const es_dims in = {rows, 1, 1, k_n}, out = {rows, 1, 1, o_n}, w = {o_n, 1, 1, k_n};
    const int with_master = rnd(0, 2) == 0;
    uint32_t rng_ref = 12345u, rng_fast = 12345u;
    int same = 1;
    xq.scale = (float)rnd(1, 1000) * 1e-4f;
    xq.zero_point = rnd(-128, 127);
    qas.lr = (float)rnd(1, 1000) * 1e-3f;
    qas.rounding = !with_master && rnd(0, 7) == 0 ? ES_ROUND_STOCHASTIC : ES_ROUND_NEAREST;
    qas.channels = rnd(1, o_n);
    qas.factor = g_factor;
    for (int32_t i = 0; i < o_n; ++i) {
        g_factor[i] = (float)rnd(1, 1000) * 0.5f;
    }
    for (int32_t i = 0; i < rows * o_n; ++i) {
        g_dz[i] = random_float() * 1e-3f;
    }
    fill(g_x, rows * k_n, -128);
    fill(g_ref, o_n * k_n, -128);
    memcpy(g_fast, g_ref, (size_t)(o_n * k_n));
    memset(g_fast + o_n * k_n, 0x5A, GUARD);
    memset(g_ref + o_n * k_n, 0x5A, GUARD);
    for (int32_t i = 0; i < qas.channels * k_n; ++i) {
        g_master_ref[i] = (float)g_ref[i] + (float)rnd(-499, 499) * 1e-3f;
    }
    memcpy(g_master_fast, g_master_ref, sizeof(float) * (size_t)(qas.channels * k_n));
    {
        const es_status ref_status =
            es_fully_connected_int8_bwd_w_qas(&xq, &qas, &out, g_dz, &in, g_x, &w, g_ref,
                                              with_master ? g_master_ref : NULL, &rng_ref, g_scratch);
        const es_status fast_status =
            es_fully_connected_fast_int8_bwd_w_qas(&xq, &qas, &out, g_dz, &in, g_x, &w, g_fast,
                                                   with_master ? g_master_fast : NULL, &rng_fast, g_scratch);
        if (with_master) {
            same = memcmp(g_master_ref, g_master_fast, sizeof(float) * (size_t)(qas.channels * k_n)) == 0;
        }
        record_scratch(t, ref_status, fast_status, o_n * k_n, same && rng_ref == rng_fast);
    }
}

/* es_out_requantize == es_mbqm for every multiplier >= 0 and shift -31..31. */
static void requantize_cases(tally *t)
{
    static const int32_t edges[] = {0, 1, -1, 2, -2, 3, INT32_MAX, INT32_MIN, INT32_MAX - 1, INT32_MIN + 1,
                                    1 << 30, -(1 << 30), (1 << 30) + 1, -(1 << 30) - 1, 65535, -65536};
    const int32_t n_edges = (int32_t)(sizeof edges / sizeof edges[0]);
    for (int32_t i = 0; i < 20000; ++i) {
        int32_t acc, multiplier, shift, expected, got;
        es_out_channel ch;
        g_seed = es_xorshift32(g_seed);
        acc = i % 4 == 0 ? edges[rnd(0, n_edges - 1)] : (int32_t)g_seed;
        g_seed = es_xorshift32(g_seed);
        multiplier = i % 5 == 0 ? (rnd(0, 1) ? INT32_MAX : (i % 3 == 0 ? 0 : 1 << 30)) : (int32_t)(g_seed >> 1);
        shift = rnd(-31, 31);
        ch = es_out_channel_of(NULL, &multiplier, &shift, 0, 0, 0);
        expected = es_mbqm(acc, multiplier, shift);
        got = es_out_requantize(acc, ch);
        t->hash = (t->hash ^ (uint32_t)got) * 1099511628211u;
        t->cases += 1;
        t->differ += got == expected ? 0 : 1;
    }
}

int main(void)
{
    tally pointwise, rows, depthwise, fused, requantize, fc, fc_qas;
    es_port_init();
    tally_init(&requantize, "requantize");
    requantize_cases(&requantize);
    report(&requantize);
    tally_init(&pointwise, "conv2d_1x1");
    tally_init(&rows, "conv2d_rows");
    tally_init(&depthwise, "depthwise_conv2d_3x3");
    tally_init(&fused, "conv_depthwise");
    tally_init(&fc, "fully_connected");
    tally_init(&fc_qas, "fully_connected_qas");
    for (int32_t i = 0; i < CASES; ++i) {
        const int extreme = i % 3 == 0;
        pointwise_case(&pointwise, extreme);
        rows_case(&rows, extreme);
        depthwise_case(&depthwise, extreme);
        fused_case(&fused, extreme);
        fused_case(&fused, !extreme);
        fc_case(&fc, extreme);
        fc_qas_case(&fc_qas);
    }
    report(&pointwise);
    report(&rows);
    report(&depthwise);
    report(&fused);
    report(&fc);
    report(&fc_qas);
#if defined(__ARM_FEATURE_DSP)
    es_report_u64("mac.dsp", 1);
#else
    es_report_u64("mac.dsp", 0);
#endif
    es_report_port();
    return 0;
}
