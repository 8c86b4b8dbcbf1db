/*
 * kernels_vs_cmsis.c -- instructions (QEMU, -icount) of edgesdk's int8 training kernels on five
 * layer shapes, the shapes whose CMSIS-NN forward figures kernels_vs_cmsis.py prints beside them
 * (driven by kernels_vs_cmsis.py). Reports, per shape i:
 *
 *   @es shape.<i> [kind, H, W, IC, OC, K, stride, pad]   kind: 0 conv, 1 depthwise, 2 FC
 *   @es macs.<i> <n>          multiply-accumulates of the forward pass (padded taps included)
 *   @es <col>.<i> <n>         counter of the kernel code generation picks, for the columns
 *                             fwd, dx (input gradient), dw (weight gradient), qas (weight
 *                             gradient fused with its QAS update)
 *   @es <col>_ref.<i> <n>     counter of the reference kernel of that column
 *   @es <col>_same.<i> <0|1>  the picked kernel's output equals the reference kernel's
 *   @es <col>_own.<i> <0|1>   the picked kernel is not the reference kernel itself
 *
 * Inputs, weights and output gradients are pseudo-random (xorshift32); the counts hardly depend
 * on the values. Per-channel requantization, as the TFLite converter emits for these layers.
 */
#include <stdint.h>
#include <string.h>

#include "edgesdk/train_int8.h"
#include "edgesdk/kernels_int8.h"
#include "edgesdk/port.h"


/* The kernels code generation calls for these layers where they differ from the reference. */
#define ES_FULLY_CONNECTED_INT8_FWD es_fully_connected_fast_int8_fwd
#define ES_CONV2D_INT8_BWD_IN es_conv2d_int8_bwd_in
#define ES_CONV2D_INT8_BWD_W es_conv2d_int8_bwd_w
#define ES_CONV2D_INT8_BWD_W_QAS es_conv2d_int8_bwd_w_qas
#define ES_DEPTHWISE_CONV2D_INT8_BWD_IN es_depthwise_conv2d_int8_bwd_in
#define ES_DEPTHWISE_CONV2D_INT8_BWD_W es_depthwise_conv2d_int8_bwd_w
#define ES_DEPTHWISE_CONV2D_INT8_BWD_W_QAS es_depthwise_conv2d_int8_bwd_w_qas
#define ES_FULLY_CONNECTED_INT8_BWD_IN es_fully_connected_int8_bwd_in
#define ES_FULLY_CONNECTED_INT8_BWD_W es_fully_connected_int8_bwd_w
#define ES_FULLY_CONNECTED_INT8_BWD_W_QAS es_fully_connected_fast_int8_bwd_w_qas

typedef enum { CONV, DEPTHWISE, FC } kind;

typedef struct {
    kind op;
    int32_t h, w, ic, oc; /* input H x W x IC, output channels (depthwise: IC) */
    int32_t k, stride, pad; /* square kernel, stride and pad before, both axes */
} layer;

static const layer LAYERS[] = {
    {CONV, 24, 24, 32, 96, 1, 1, 0},
    {CONV, 12, 12, 128, 128, 1, 1, 0},
    {DEPTHWISE, 24, 24, 96, 96, 3, 1, 1},
    {CONV, 48, 48, 3, 16, 3, 2, 1},
    {FC, 1, 1, 1280, 10, 1, 1, 0},
};

#define MAX_MAP (24 * 24 * 96) /* the largest input or output map, elements */
#define MAX_W (128 * 128)      /* the largest weight, elements */
#define MAX_CH 128
#define SCRATCH 8192

static int8_t g_x[MAX_MAP];
static int8_t g_w[MAX_W], g_w_ref[MAX_W], g_w_fast[MAX_W];
static int8_t g_y[MAX_MAP], g_y_ref[MAX_MAP];
static float g_dz[MAX_MAP];
static float g_dx[MAX_MAP], g_dx_ref[MAX_MAP];
static float g_dw[MAX_W], g_dw_ref[MAX_W];
static float g_scratch[SCRATCH / sizeof(float)];
static int32_t g_bias[MAX_CH], g_mult[MAX_CH], g_shift[MAX_CH];
static float g_w_scale[MAX_CH], g_factor[MAX_CH];

static uint32_t g_rng = 2463534242u;

static uint32_t next(void)
{
    g_rng = es_xorshift32(g_rng);
    return g_rng;
}

static void fill_int8(int8_t *p, int32_t n, int symmetric)
{
    for (int32_t i = 0; i < n; ++i) {
        const int8_t v = (int8_t)(next() >> 24);
        p[i] = symmetric && v == -128 ? -127 : v;
    }
}

static void fill(const layer *l, int32_t x_n, int32_t w_n, int32_t y_n)
{
    fill_int8(g_x, x_n, 0);
    fill_int8(g_w, w_n, 1);
    for (int32_t i = 0; i < l->oc; ++i) {
        const uint32_t s = next();
        g_mult[i] = (int32_t)(1073741824u + (s >> 2));
        g_shift[i] = -(int32_t)(7 + s % 4);
        g_bias[i] = (int32_t)(s % 20001u) - 10000;
        g_w_scale[i] = 0.01f + (float)(s >> 24) * (1.0f / 16384.0f);
        g_factor[i] = 1.0f / g_w_scale[i];
    }
    for (int32_t i = 0; i < y_n; ++i) {
        g_dz[i] = ((float)(int32_t)(next() >> 16) - 32768.0f) * (1.0f / 1048576.0f);
    }
}

static int equal(const void *a, const void *b, size_t bytes)
{
    return memcmp(a, b, bytes) == 0;
}

static void report_indexed(const char *what, int32_t i, uint64_t value)
{
    char key[32];
    size_t n = strlen(what);
    memcpy(key, what, n);
    key[n] = '.';
    key[n + 1] = (char)('0' + i);
    key[n + 2] = '\0';
    es_report_u64(key, value);
}

/* Counter runs: T0 then the call, then the difference (0 when the kernel refused). */
#define TIMED(result, call)                                                                         \
    do {                                                                                            \
        const uint64_t t0_ = es_port_counter();                                                     \
        const es_status s_ = (call);                                                                \
        (result) = s_ == ES_OK ? es_port_counter() - t0_ : 0u;                                      \
    } while (0)

typedef struct {
    uint64_t fast, ref;
    int same;
    int own; /* the picked kernel is another function than the reference */
} column;

static void report_column(const char *name, int32_t i, column c)
{
    char key[16];
    const size_t n = strlen(name);
    report_indexed(name, i, c.fast);
    memcpy(key, name, n);
    memcpy(key + n, "_ref", 5);
    report_indexed(key, i, c.ref);
    memcpy(key + n, "_same", 6);
    report_indexed(key, i, (uint64_t)c.same);
    memcpy(key + n, "_own", 5);
    report_indexed(key, i, (uint64_t)c.own);
}

static const es_affine_int8_params X_Q = {0.02f, -5};

static es_qas_layer_params qas_params(int32_t channels)
{
    es_qas_layer_params q;
    q.lr = 0.5f;
    q.rounding = ES_ROUND_NEAREST;
    q.channels = channels;
    q.factor = g_factor;
    return q;
}

/* ---- CONV_2D (1x1 and general) */

static void measure_conv(int32_t i, const layer *l, const es_dims *in, const es_dims *wd, const es_dims *out)
{
    const int32_t x_n = in->h * in->w * in->c, w_n = wd->n * wd->h * wd->w * wd->c;
    const int32_t y_n = out->h * out->w * out->c;
    const int pointwise = l->k == 1 && l->stride == 1 && l->pad == 0;
    es_conv2d_int8_params p;
    es_conv2d_params g = {l->stride, l->stride, 1, 1, l->pad, l->pad, ES_ACT_NONE};
    es_weights_int8_quant wq = {g_w_scale, 0, NULL, 0};
    es_qas_layer_params qas = qas_params(l->oc);
    column fwd, dx, dw, qs;
    memset(&p, 0, sizeof p);
    p.stride_h = p.stride_w = l->stride;
    p.dilation_h = p.dilation_w = 1;
    p.pad_top = p.pad_left = l->pad;
    p.input_offset = 5;
    p.output_offset = -3;
    p.act_min = -128;
    p.act_max = 127;
    p.multiplier = g_mult;
    p.shift = g_shift;

    TIMED(fwd.ref, es_conv2d_int8_fwd(&p, in, g_x, wd, g_w, g_bias, out, g_y_ref));
    if (pointwise) {
        TIMED(fwd.fast, es_conv2d_1x1_int8_fwd(&p, in, g_x, wd, g_w, g_bias, out, g_y));
    } else {
        TIMED(fwd.fast, es_conv2d_rows_int8_fwd(&p, in, g_x, wd, g_w, g_bias, out, g_y));
    }
    fwd.same = equal(g_y, g_y_ref, (size_t)y_n);
    fwd.own = 1;

    TIMED(dx.ref, es_conv2d_int8_bwd_in(&g, &wq, out, g_dz, wd, g_w, in, g_dx_ref));
    TIMED(dx.fast, ES_CONV2D_INT8_BWD_IN(&g, &wq, out, g_dz, wd, g_w, in, g_dx));
    dx.same = equal(g_dx, g_dx_ref, (size_t)x_n * sizeof(float));
    dx.own = ES_CONV2D_INT8_BWD_IN != es_conv2d_int8_bwd_in;

    TIMED(dw.ref, es_conv2d_int8_bwd_w(&g, &X_Q, out, g_dz, in, g_x, wd, g_dw_ref));
    TIMED(dw.fast, ES_CONV2D_INT8_BWD_W(&g, &X_Q, out, g_dz, in, g_x, wd, g_dw));
    dw.same = equal(g_dw, g_dw_ref, (size_t)w_n * sizeof(float));
    dw.own = ES_CONV2D_INT8_BWD_W != es_conv2d_int8_bwd_w;

    memcpy(g_w_ref, g_w, (size_t)w_n);
    memcpy(g_w_fast, g_w, (size_t)w_n);
    TIMED(qs.ref, es_conv2d_int8_bwd_w_qas(&g, &X_Q, &qas, out, g_dz, in, g_x, wd, g_w_ref, NULL, NULL,
                                           g_scratch));
    TIMED(qs.fast, ES_CONV2D_INT8_BWD_W_QAS(&g, &X_Q, &qas, out, g_dz, in, g_x, wd, g_w_fast, NULL, NULL,
                                            g_scratch));
    qs.same = equal(g_w_fast, g_w_ref, (size_t)w_n);
    qs.own = ES_CONV2D_INT8_BWD_W_QAS != es_conv2d_int8_bwd_w_qas;

    report_column("fwd", i, fwd);
    report_column("dx", i, dx);
    report_column("dw", i, dw);
    report_column("qas", i, qs);
}

/* ---- DEPTHWISE_CONV_2D */

static void measure_depthwise(int32_t i, const layer *l, const es_dims *in, const es_dims *wd,
                              const es_dims *out)
{
    const int32_t x_n = in->h * in->w * in->c, w_n = wd->h * wd->w * wd->c;
    const int32_t y_n = out->h * out->w * out->c;
    es_depthwise_conv2d_int8_params p;
    es_depthwise_conv2d_params g = {l->stride, l->stride, 1, 1, l->pad, l->pad, 1, ES_ACT_NONE};
    es_weights_int8_quant wq = {g_w_scale, 0, NULL, 0};
    es_qas_layer_params qas = qas_params(l->oc);
    column fwd, dx, dw, qs;
    memset(&p, 0, sizeof p);
    p.stride_h = p.stride_w = l->stride;
    p.dilation_h = p.dilation_w = 1;
    p.pad_top = p.pad_left = l->pad;
    p.depth_multiplier = 1;
    p.input_offset = 5;
    p.output_offset = -3;
    p.act_min = -128;
    p.act_max = 127;
    p.multiplier = g_mult;
    p.shift = g_shift;

    TIMED(fwd.ref, es_depthwise_conv2d_int8_fwd(&p, in, g_x, wd, g_w, g_bias, out, g_y_ref));
    TIMED(fwd.fast, es_depthwise_conv2d_3x3_int8_fwd(&p, in, g_x, wd, g_w, g_bias, out, g_y));
    fwd.same = equal(g_y, g_y_ref, (size_t)y_n);
    fwd.own = 1;

    TIMED(dx.ref, es_depthwise_conv2d_int8_bwd_in(&g, &wq, out, g_dz, wd, g_w, in, g_dx_ref));
    TIMED(dx.fast, ES_DEPTHWISE_CONV2D_INT8_BWD_IN(&g, &wq, out, g_dz, wd, g_w, in, g_dx));
    dx.same = equal(g_dx, g_dx_ref, (size_t)x_n * sizeof(float));
    dx.own = ES_DEPTHWISE_CONV2D_INT8_BWD_IN != es_depthwise_conv2d_int8_bwd_in;

    TIMED(dw.ref, es_depthwise_conv2d_int8_bwd_w(&g, &X_Q, out, g_dz, in, g_x, wd, g_dw_ref));
    TIMED(dw.fast, ES_DEPTHWISE_CONV2D_INT8_BWD_W(&g, &X_Q, out, g_dz, in, g_x, wd, g_dw));
    dw.same = equal(g_dw, g_dw_ref, (size_t)w_n * sizeof(float));
    dw.own = ES_DEPTHWISE_CONV2D_INT8_BWD_W != es_depthwise_conv2d_int8_bwd_w;

    memcpy(g_w_ref, g_w, (size_t)w_n);
    memcpy(g_w_fast, g_w, (size_t)w_n);
    TIMED(qs.ref, es_depthwise_conv2d_int8_bwd_w_qas(&g, &X_Q, &qas, out, g_dz, in, g_x, wd, g_w_ref, NULL,
                                                     NULL, g_scratch));
    TIMED(qs.fast, ES_DEPTHWISE_CONV2D_INT8_BWD_W_QAS(&g, &X_Q, &qas, out, g_dz, in, g_x, wd, g_w_fast,
                                                      NULL, NULL, g_scratch));
    qs.same = equal(g_w_fast, g_w_ref, (size_t)w_n);
    qs.own = ES_DEPTHWISE_CONV2D_INT8_BWD_W_QAS != es_depthwise_conv2d_int8_bwd_w_qas;

    report_column("fwd", i, fwd);
    report_column("dx", i, dx);
    report_column("dw", i, dw);
    report_column("qas", i, qs);
}

/* ---- FULLY_CONNECTED (batch 1) */

static void measure_fc(int32_t i, const layer *l, const es_dims *in, const es_dims *wd, const es_dims *out)
{
    const int32_t w_n = wd->n * wd->c;
    es_fully_connected_int8_params p;
    es_weights_int8_quant wq = {g_w_scale, 0, NULL, 0};
    es_qas_layer_params qas = qas_params(l->oc);
    column fwd, dx, dw, qs;
    memset(&p, 0, sizeof p);
    p.input_offset = 5;
    p.weights_offset = 0;
    p.output_offset = -3;
    p.act_min = -128;
    p.act_max = 127;
    p.multiplier = g_mult;
    p.shift = g_shift;

    TIMED(fwd.ref, es_fully_connected_int8_fwd(&p, in, g_x, wd, g_w, g_bias, out, g_y_ref));
    TIMED(fwd.fast, ES_FULLY_CONNECTED_INT8_FWD(&p, in, g_x, wd, g_w, g_bias, out, g_y));
    fwd.same = equal(g_y, g_y_ref, (size_t)l->oc);
    fwd.own = ES_FULLY_CONNECTED_INT8_FWD != es_fully_connected_int8_fwd;

    TIMED(dx.ref, es_fully_connected_int8_bwd_in(&wq, out, g_dz, wd, g_w, in, g_dx_ref));
    TIMED(dx.fast, ES_FULLY_CONNECTED_INT8_BWD_IN(&wq, out, g_dz, wd, g_w, in, g_dx));
    dx.same = equal(g_dx, g_dx_ref, (size_t)l->ic * sizeof(float));
    dx.own = ES_FULLY_CONNECTED_INT8_BWD_IN != es_fully_connected_int8_bwd_in;

    TIMED(dw.ref, es_fully_connected_int8_bwd_w(&X_Q, out, g_dz, in, g_x, wd, g_dw_ref));
    TIMED(dw.fast, ES_FULLY_CONNECTED_INT8_BWD_W(&X_Q, out, g_dz, in, g_x, wd, g_dw));
    dw.same = equal(g_dw, g_dw_ref, (size_t)w_n * sizeof(float));
    dw.own = ES_FULLY_CONNECTED_INT8_BWD_W != es_fully_connected_int8_bwd_w;

    memcpy(g_w_ref, g_w, (size_t)w_n);
    memcpy(g_w_fast, g_w, (size_t)w_n);
    TIMED(qs.ref, es_fully_connected_int8_bwd_w_qas(&X_Q, &qas, out, g_dz, in, g_x, wd, g_w_ref, NULL, NULL,
                                                    g_scratch));
    TIMED(qs.fast, ES_FULLY_CONNECTED_INT8_BWD_W_QAS(&X_Q, &qas, out, g_dz, in, g_x, wd, g_w_fast, NULL,
                                                     NULL, g_scratch));
    qs.same = equal(g_w_fast, g_w_ref, (size_t)w_n);
    qs.own = ES_FULLY_CONNECTED_INT8_BWD_W_QAS != es_fully_connected_int8_bwd_w_qas;

    report_column("fwd", i, fwd);
    report_column("dx", i, dx);
    report_column("dw", i, dw);
    report_column("qas", i, qs);
}

static void measure(int32_t i, const layer *l)
{
    const int32_t oh = (l->h + 2 * l->pad - l->k) / l->stride + 1;
    const int32_t ow = (l->w + 2 * l->pad - l->k) / l->stride + 1;
    const es_dims in = {1, l->h, l->w, l->ic};
    const es_dims out = {1, oh, ow, l->oc};
    const int32_t shape[8] = {(int32_t)l->op, l->h, l->w, l->ic, l->oc, l->k, l->stride, l->pad};
    char key[16] = "shape.0";
    key[6] = (char)('0' + i);
    es_report_i32_array(key, shape, 8);
    if (l->op == DEPTHWISE) {
        const es_dims wd = {1, l->k, l->k, l->oc};
        fill(l, l->h * l->w * l->ic, l->k * l->k * l->oc, oh * ow * l->oc);
        report_indexed("macs", i, (uint64_t)oh * (uint64_t)ow * (uint64_t)(l->oc * l->k * l->k));
        measure_depthwise(i, l, &in, &wd, &out);
    } else if (l->op == FC) {
        const es_dims wd = {l->oc, 1, 1, l->ic};
        fill(l, l->ic, l->oc * l->ic, l->oc);
        report_indexed("macs", i, (uint64_t)(l->oc * l->ic));
        measure_fc(i, l, &in, &wd, &out);
    } else {
        const es_dims wd = {l->oc, l->k, l->k, l->ic};
        fill(l, l->h * l->w * l->ic, l->oc * l->k * l->k * l->ic, oh * ow * l->oc);
        report_indexed("macs", i, (uint64_t)oh * (uint64_t)ow * (uint64_t)(l->oc * l->k * l->k * l->ic));
        measure_conv(i, l, &in, &wd, &out);
    }
}

int main(void)
{
    es_port_init();
    for (int32_t i = 0; i < (int32_t)(sizeof LAYERS / sizeof LAYERS[0]); ++i) {
        measure(i, &LAYERS[i]);
    }
    es_report_port();
    return 0;
}
