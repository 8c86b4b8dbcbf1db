/*
 * int8_sanitize.c -- calls every int8 kernel and QAS update over pseudo-random shapes and
 * parameters, extremes included (any multiplier, shifts -31..30, int32 biases at their ends,
 * full int8 inputs), for a build with -fsanitize=address,undefined. Buffers are heap-allocated at
 * their exact sizes so that AddressSanitizer sees any out-of-bounds access.
 *
 *   int8_sanitize            run everything, print "called <kernel>" per kernel, exit 0
 *   int8_sanitize overflow   control: a PAD output one byte short (ASan must report it)
 *   int8_sanitize signed     control: a signed int32 overflow (UBSan must report it)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edgesdk/kernels_int8.h"

static uint32_t rng_state = 2463534242u;

static int32_t rnd(int32_t lo, int32_t hi) /* uniform in [lo, hi] */
{
    rng_state = es_xorshift32(rng_state);
    return lo + (int32_t)(rng_state % (uint32_t)(hi - lo + 1));
}

static int8_t *int8s(int32_t count)
{
    int8_t *p = (int8_t *)malloc((size_t)count);
    int32_t i;
    for (i = 0; i < count; ++i) {
        p[i] = (int8_t)rnd(-128, 127);
    }
    return p;
}

static int32_t *int32s(int32_t count, int extreme)
{
    int32_t *p = (int32_t *)malloc((size_t)count * sizeof(int32_t));
    int32_t i;
    for (i = 0; i < count; ++i) {
        p[i] = extreme ? (int32_t)es_xorshift32(rng_state += 7u) : rnd(-5000, 5000);
    }
    if (extreme && count > 1) {
        p[0] = INT32_MAX;
        p[1] = INT32_MIN;
    }
    return p;
}

static void requant(int32_t count, int extreme, int32_t **multiplier, int32_t **shift)
{
    int32_t i;
    *multiplier = (int32_t *)malloc((size_t)count * sizeof(int32_t));
    *shift = (int32_t *)malloc((size_t)count * sizeof(int32_t));
    for (i = 0; i < count; ++i) {
        (*multiplier)[i] = extreme ? (int32_t)(es_xorshift32(rng_state += 3u) >> 1) : rnd(1 << 30, INT32_MAX);
        (*shift)[i] = extreme ? rnd(-31, 30) : rnd(-14, 0);
    }
}

static int failures = 0;

static void expect_ok(es_status status, const char *name)
{
    if (status != ES_OK) {
        printf("%s returned %d\n", name, (int)status);
        ++failures;
    }
}

/* out size along an axis for SAME padding with the given stride; pad before into *pad */
static int32_t same_out(int32_t size, int32_t k, int32_t stride, int32_t dilation, int32_t *pad)
{
    const int32_t out = (size + stride - 1) / stride;
    int32_t total = (out - 1) * stride + (k - 1) * dilation + 1 - size;
    *pad = total > 0 ? total / 2 : 0;
    return out;
}

static void run_convs(int extreme)
{
    es_dims in = {2, rnd(1, 9), rnd(1, 9), rnd(1, 5)};
    es_dims w = {rnd(1, 5), rnd(1, 4), rnd(1, 4), 0};
    es_dims out, dw, dout;
    es_conv2d_int8_params p;
    es_depthwise_conv2d_int8_params d;
    int8_t *x, *k, *y, *dk, *dy;
    int32_t *bias, *dbias, *m, *s, *dm, *ds, mult = rnd(1, 3);
    w.c = in.c;
    p.stride_h = rnd(1, 3);
    p.stride_w = rnd(1, 3);
    p.dilation_h = rnd(1, 2);
    p.dilation_w = rnd(1, 2);
    out.n = in.n;
    out.h = same_out(in.h, w.h, p.stride_h, p.dilation_h, &p.pad_top);
    out.w = same_out(in.w, w.w, p.stride_w, p.dilation_w, &p.pad_left);
    out.c = w.n;
    p.input_offset = rnd(-127, 128);
    p.output_offset = rnd(-128, 127);
    p.act_min = rnd(-128, 0);
    p.act_max = rnd(0, 127);
    requant(w.n, extreme, &m, &s);
    p.multiplier = m;
    p.shift = s;
    p.w_tail = NULL; /* one whole weight array */
    p.w_head_channels = 0;
    x = int8s(es_dims_count(&in));
    k = int8s(es_dims_count(&w));
    y = (int8_t *)malloc((size_t)es_dims_count(&out));
    bias = int32s(w.n, extreme);
    expect_ok(es_conv2d_int8_fwd(&p, &in, x, &w, k, bias, &out, y), "es_conv2d_int8_fwd");

    dw.n = 1;
    dw.h = w.h;
    dw.w = w.w;
    dw.c = in.c * mult;
    d.stride_h = p.stride_h;
    d.stride_w = p.stride_w;
    d.dilation_h = p.dilation_h;
    d.dilation_w = p.dilation_w;
    d.pad_top = p.pad_top;
    d.pad_left = p.pad_left;
    d.depth_multiplier = mult;
    d.input_offset = p.input_offset;
    d.output_offset = p.output_offset;
    d.act_min = p.act_min;
    d.act_max = p.act_max;
    requant(dw.c, extreme, &dm, &ds);
    d.multiplier = dm;
    d.shift = ds;
    dout = out;
    dout.c = dw.c;
    dk = int8s(es_dims_count(&dw));
    dy = (int8_t *)malloc((size_t)es_dims_count(&dout));
    dbias = int32s(dw.c, extreme);
    expect_ok(es_depthwise_conv2d_int8_fwd(&d, &in, x, &dw, dk, dbias, &dout, dy), "es_depthwise_conv2d_int8_fwd");
    free(x), free(k), free(y), free(bias), free(m), free(s), free(dk), free(dy), free(dbias), free(dm), free(ds);
}

/* The fused convolution -> depthwise convolution over a ring of exactly its scratch size
 * (tests/c/conv_depthwise_sanitize.c compares it with the two kernels). */
static void run_conv_depthwise(int extreme)
{
    es_dims in = {2, rnd(1, 9), rnd(1, 9), rnd(1, 5)};
    es_dims w = {rnd(1, 5), 1, 1, 0};
    es_dims mid, dw = {1, rnd(1, 3), rnd(1, 3), 0}, out;
    es_conv2d_int8_params p = {1, 1, 1, 1, 0, 0, 0, 0, -128, 127, NULL, NULL, NULL, 0};
    es_depthwise_conv2d_int8_params d = {1, 1, 1, 1, 0, 0, 1, 0, 0, -128, 127, NULL, NULL};
    int8_t *x, *k, *dk, *y, *ring;
    int32_t *bias, *dbias, *m, *s, *dm, *ds;
    size_t ring_bytes;
    w.c = in.c;
    mid = in;
    mid.c = w.n;
    dw.c = w.n;
    d.stride_h = rnd(1, 2);
    d.stride_w = rnd(1, 2);
    d.dilation_h = rnd(1, 2);
    out = mid;
    out.h = same_out(mid.h, dw.h, d.stride_h, d.dilation_h, &d.pad_top);
    out.w = same_out(mid.w, dw.w, d.stride_w, d.dilation_w, &d.pad_left);
    p.input_offset = rnd(-127, 128);
    p.output_offset = rnd(-128, 127);
    d.input_offset = -p.output_offset;
    requant(w.n, extreme, &m, &s);
    requant(w.n, extreme, &dm, &ds);
    p.multiplier = m;
    p.shift = s;
    d.multiplier = dm;
    d.shift = ds;
    x = int8s(es_dims_count(&in));
    k = int8s(es_dims_count(&w));
    dk = int8s(es_dims_count(&dw));
    bias = int32s(w.n, extreme);
    dbias = int32s(w.n, extreme);
    y = (int8_t *)malloc((size_t)es_dims_count(&out));
    ring_bytes = es_conv_depthwise_int8_scratch_size(&d, &dw, &mid);
    ring = (int8_t *)malloc(ring_bytes);
    expect_ok(es_conv_depthwise_int8_fwd(&p, &d, &in, x, &w, k, bias, &mid, &dw, dk, dbias, &out, y, ring,
                                         ring_bytes),
              "es_conv_depthwise_int8_fwd");
    free(x), free(k), free(dk), free(bias), free(dbias), free(y), free(ring), free(m), free(s), free(dm), free(ds);
}

/* The fast variants, on geometries each accepts: pointwise, dilation_w 1, 3x3 depthwise M = 1. */
static void run_fast_convs(int extreme)
{
    es_dims in = {2, rnd(1, 9), rnd(1, 9), rnd(1, 13)};
    es_dims w = {rnd(1, 7), 1, 1, 0};
    es_dims out, dw = {1, 3, 3, 0};
    es_conv2d_int8_params p;
    es_depthwise_conv2d_int8_params d;
    int8_t *x, *k, *y, *dk;
    int32_t *bias, *m, *s;
    w.c = in.c;
    dw.c = in.c;
    p.stride_h = p.stride_w = 1;
    p.dilation_h = p.dilation_w = 1;
    p.pad_top = p.pad_left = 0;
    p.w_tail = NULL; /* one whole weight array */
    p.w_head_channels = 0;
    p.input_offset = rnd(-127, 128);
    p.output_offset = rnd(-128, 127);
    p.act_min = rnd(-128, 0);
    p.act_max = rnd(0, 127);
    requant(in.c > w.n ? in.c : w.n, extreme, &m, &s);
    p.multiplier = m;
    p.shift = s;
    x = int8s(es_dims_count(&in));
    k = int8s(w.n * 3 * 3 * in.c);
    bias = int32s(in.c > w.n ? in.c : w.n, extreme);
    out = in;
    out.c = w.n;
    y = (int8_t *)malloc((size_t)es_dims_count(&out));
    expect_ok(es_conv2d_1x1_int8_fwd(&p, &in, x, &w, k, bias, &out, y), "es_conv2d_1x1_int8_fwd");
    free(y);

    w.h = rnd(1, 3);
    w.w = rnd(1, 3);
    p.stride_h = rnd(1, 3);
    p.stride_w = rnd(1, 3);
    p.dilation_h = rnd(1, 2);
    out.h = same_out(in.h, w.h, p.stride_h, p.dilation_h, &p.pad_top);
    out.w = same_out(in.w, w.w, p.stride_w, 1, &p.pad_left);
    y = (int8_t *)malloc((size_t)es_dims_count(&out));
    expect_ok(es_conv2d_rows_int8_fwd(&p, &in, x, &w, k, bias, &out, y), "es_conv2d_rows_int8_fwd");
    free(y);

    d.stride_h = rnd(1, 3);
    d.stride_w = rnd(1, 3);
    d.dilation_h = d.dilation_w = 1;
    d.depth_multiplier = 1;
    d.input_offset = p.input_offset;
    d.output_offset = p.output_offset;
    d.act_min = p.act_min;
    d.act_max = p.act_max;
    d.multiplier = m;
    d.shift = s;
    out = in;
    out.h = same_out(in.h, 3, d.stride_h, 1, &d.pad_top);
    out.w = same_out(in.w, 3, d.stride_w, 1, &d.pad_left);
    dk = int8s(es_dims_count(&dw));
    y = (int8_t *)malloc((size_t)es_dims_count(&out));
    expect_ok(es_depthwise_conv2d_3x3_int8_fwd(&d, &in, x, &dw, dk, bias, &out, y),
              "es_depthwise_conv2d_3x3_int8_fwd");
    free(x), free(k), free(y), free(dk), free(bias), free(m), free(s);
}

static void run_fc_add(int extreme)
{
    es_dims in = {rnd(1, 3), 1, 1, rnd(1, 40)};
    es_dims w = {rnd(1, 8), 1, 1, 0};
    es_dims out;
    es_fully_connected_int8_params p;
    es_add_int8_params a;
    es_dims ad = {rnd(1, 3), rnd(1, 4), rnd(1, 4), rnd(1, 4)};
    es_dims bd = {1, 1, ad.w, ad.c};
    int8_t *x, *k, *y, *xa, *xb, *ya;
    int32_t *bias, *m, *s;
    w.c = in.c;
    out.n = in.n;
    out.h = 1;
    out.w = 1;
    out.c = w.n;
    p.input_offset = rnd(-127, 128);
    p.weights_offset = rnd(-127, 128);
    p.output_offset = rnd(-128, 127);
    p.act_min = -128;
    p.act_max = 127;
    requant(w.n, extreme, &m, &s);
    p.multiplier = m;
    p.shift = s;
    p.w_tail = NULL; /* one whole weight array */
    p.w_head_channels = 0;
    x = int8s(es_dims_count(&in));
    k = int8s(es_dims_count(&w));
    y = (int8_t *)malloc((size_t)es_dims_count(&out));
    bias = int32s(w.n, extreme);
    expect_ok(es_fully_connected_int8_fwd(&p, &in, x, &w, k, bias, &out, y), "es_fully_connected_int8_fwd");
    p.weights_offset = 0; /* the fast kernel's condition */
    expect_ok(es_fully_connected_fast_int8_fwd(&p, &in, x, &w, k, bias, &out, y),
              "es_fully_connected_fast_int8_fwd");

    a.input1_offset = rnd(-127, 128);
    a.input2_offset = rnd(-127, 128);
    a.output_offset = rnd(-128, 127);
    a.left_shift = 20;
    a.input1_multiplier = extreme ? INT32_MAX : rnd(1 << 30, INT32_MAX);
    a.input1_shift = extreme ? 0 : rnd(-3, 0);
    a.input2_multiplier = rnd(1 << 30, INT32_MAX);
    a.input2_shift = rnd(-8, 0);
    a.output_multiplier = extreme ? INT32_MAX : rnd(1 << 30, INT32_MAX);
    a.output_shift = extreme ? 0 : rnd(-20, -10);
    a.act_min = -128;
    a.act_max = 127;
    xa = int8s(es_dims_count(&ad));
    xb = int8s(es_dims_count(&bd));
    ya = (int8_t *)malloc((size_t)es_dims_count(&ad));
    expect_ok(es_add_int8_fwd(&a, &ad, xa, &bd, xb, &ad, ya), "es_add_int8_fwd");
    free(x), free(k), free(y), free(bias), free(m), free(s), free(xa), free(xb), free(ya);
}

static void run_pools_mean_pad(int extreme)
{
    es_dims in = {rnd(1, 2), rnd(1, 8), rnd(1, 8), rnd(1, 4)};
    es_dims out, mo, po;
    es_pool2d_int8_params p;
    es_mean_int8_params mp;
    es_pad_int8_params pp;
    int8_t *x, *y, *ym, *yp;
    int32_t i;
    p.filter_h = rnd(1, 3);
    p.filter_w = rnd(1, 3);
    p.stride_h = rnd(1, 3);
    p.stride_w = rnd(1, 3);
    out.n = in.n;
    out.c = in.c;
    out.h = same_out(in.h, p.filter_h, p.stride_h, 1, &p.pad_top);
    out.w = same_out(in.w, p.filter_w, p.stride_w, 1, &p.pad_left);
    p.act_min = rnd(-128, 0);
    p.act_max = rnd(0, 127);
    x = int8s(es_dims_count(&in));
    y = (int8_t *)malloc((size_t)es_dims_count(&out));
    expect_ok(es_avg_pool2d_int8_fwd(&p, &in, x, &out, y), "es_avg_pool2d_int8_fwd");
    expect_ok(es_max_pool2d_int8_fwd(&p, &in, x, &out, y), "es_max_pool2d_int8_fwd");

    mo.n = in.n;
    mo.h = 1;
    mo.w = 1;
    mo.c = in.c;
    mp.input_zero_point = rnd(-128, 127);
    mp.output_zero_point = rnd(-128, 127);
    mp.multiplier = extreme ? INT32_MAX : rnd(1 << 30, INT32_MAX);
    mp.shift = extreme ? rnd(-31, 30) : rnd(-12, 0);
    ym = (int8_t *)malloc((size_t)es_dims_count(&mo));
    expect_ok(es_mean_hw_int8_fwd(&mp, &in, x, &mo, ym), "es_mean_hw_int8_fwd");

    for (i = 0; i < 4; ++i) {
        pp.before[i] = rnd(0, 2);
        pp.after[i] = rnd(0, 2);
    }
    pp.pad_value = rnd(-128, 127);
    po.n = in.n + pp.before[0] + pp.after[0];
    po.h = in.h + pp.before[1] + pp.after[1];
    po.w = in.w + pp.before[2] + pp.after[2];
    po.c = in.c + pp.before[3] + pp.after[3];
    yp = (int8_t *)malloc((size_t)es_dims_count(&po));
    expect_ok(es_pad_int8_fwd(&pp, &in, x, &po, yp), "es_pad_int8_fwd");
    { /* SLICE: a random strided window of the input */
        es_slice_int8_params sp;
        es_dims so;
        int8_t *ys;
        const int32_t extent[4] = {in.n, in.h, in.w, in.c};
        int32_t count[4];
        for (i = 0; i < 4; ++i) {
            sp.begin[i] = rnd(0, extent[i] - 1);
            sp.stride[i] = rnd(1, 3);
            count[i] = rnd(1, (extent[i] - 1 - sp.begin[i]) / sp.stride[i] + 1);
        }
        so.n = count[0];
        so.h = count[1];
        so.w = count[2];
        so.c = count[3];
        ys = (int8_t *)malloc((size_t)es_dims_count(&so));
        expect_ok(es_slice_int8_fwd(&sp, &in, x, &so, ys), "es_slice_int8_fwd");
        free(ys);
    }
    free(x), free(y), free(ym), free(yp);
}

static void run_elementwise(int extreme)
{
    es_dims d = {rnd(1, 3), 1, rnd(1, 4), rnd(1, 30)};
    es_dims parts[3];
    const int8_t *inputs[3];
    int8_t *owned[3];
    es_requant_int8_params q[3];
    es_concat_int8_params cp;
    es_dims cd;
    es_softmax_int8_params sp;
    es_logistic_int8_params lp;
    es_affine_int8_params ap;
    int8_t *x = int8s(es_dims_count(&d));
    int8_t *y = (int8_t *)malloc((size_t)es_dims_count(&d));
    int8_t *yc;
    float *f = (float *)malloc((size_t)es_dims_count(&d) * sizeof(float));
    int32_t i, count = rnd(1, 3);

    sp.input_multiplier = rnd(1 << 30, INT32_MAX);
    sp.input_left_shift = extreme ? 31 : rnd(14, 26);
    sp.diff_min = extreme ? -255 : -rnd(0, 255);
    expect_ok(es_softmax_int8_fwd(&sp, &d, x, y), "es_softmax_int8_fwd");
    lp.input_zero_point = rnd(-128, 127);
    lp.input_range_radius = extreme ? 300 : rnd(0, 255);
    lp.input_multiplier = rnd(1 << 30, INT32_MAX);
    lp.input_left_shift = extreme ? 31 : rnd(18, 26);
    expect_ok(es_logistic_int8_fwd(&lp, &d, x, y), "es_logistic_int8_fwd");

    q[0].input_offset = rnd(-127, 128);
    q[0].output_offset = rnd(-128, 127);
    q[0].multiplier = extreme ? INT32_MAX : rnd(1 << 30, INT32_MAX);
    q[0].shift = extreme ? 30 : rnd(-3, 2);
    expect_ok(es_requantize_int8_fwd(&q[0], &d, x, y), "es_requantize_int8_fwd");
    {
        uint8_t *u = (uint8_t *)malloc((size_t)es_dims_count(&d));
        es_requant_int8_params qu = q[0];
        qu.output_offset = rnd(0, 255);
        expect_ok(es_requantize_int8_uint8_fwd(&qu, &d, x, u), "es_requantize_int8_uint8_fwd");
        free(u);
    }
    ap.scale = extreme ? 1e-30f : 0.05f;
    ap.zero_point = rnd(-128, 127);
    expect_ok(es_dequantize_int8_f32_fwd(&ap, &d, x, f), "es_dequantize_int8_f32_fwd");
    f[0] = 3.0e38f;
    expect_ok(es_quantize_f32_int8_fwd(&ap, &d, f, y), "es_quantize_f32_int8_fwd");

    cd = d;
    cd.c = 0;
    for (i = 0; i < count; ++i) {
        parts[i] = d;
        parts[i].c = rnd(1, 5);
        cd.c += parts[i].c;
        owned[i] = int8s(es_dims_count(&parts[i]));
        inputs[i] = owned[i];
        q[i].input_offset = rnd(-127, 128);
        q[i].output_offset = rnd(-128, 127);
        q[i].multiplier = extreme ? (int32_t)(es_xorshift32(rng_state += 5u) >> 1) : (1 << 30);
        q[i].shift = extreme ? rnd(-31, 30) : 1;
    }
    cp.axis = 3;
    cp.act_min = -128;
    cp.act_max = 127;
    yc = (int8_t *)malloc((size_t)es_dims_count(&cd));
    expect_ok(es_concat_int8_fwd(&cp, count, parts, inputs, q, &cd, yc), "es_concat_int8_fwd");
    for (i = 0; i < count; ++i) {
        free(owned[i]);
    }
    free(x), free(y), free(yc), free(f);
}

static void run_qas(int extreme)
{
    es_qas_span span = {rnd(1, 4), rnd(1, 20), 0, 0, rnd(1, 5)};
    es_qas_params p;
    int32_t channels, count, i;
    float *grad, *factor;
    int8_t *w;
    int32_t *b;
    uint32_t state = 99u;
    span.param_stride = span.cols + rnd(0, 3);
    span.grad_stride = span.cols;
    channels = (span.cols + span.per_channel - 1) / span.per_channel;
    count = span.rows * span.param_stride;
    grad = (float *)malloc((size_t)(span.rows * span.grad_stride) * sizeof(float));
    factor = (float *)malloc((size_t)channels * sizeof(float));
    for (i = 0; i < span.rows * span.grad_stride; ++i) {
        grad[i] = (float)rnd(-1000, 1000) * (extreme ? 1e30f : 0.01f);
    }
    for (i = 0; i < channels; ++i) {
        factor[i] = (float)rnd(1, 1000);
    }
    w = int8s(count);
    b = int32s(count, 1);
    p.lr = 0.1f;
    p.rounding = extreme ? ES_ROUND_STOCHASTIC : ES_ROUND_NEAREST;
    expect_ok(es_qas_int8_update(&p, &span, factor, grad, &state, w), "es_qas_int8_update");
    expect_ok(es_qas_int32_update(&p, &span, factor, grad, &state, b), "es_qas_int32_update");
    free(grad), free(factor), free(w), free(b);
}

int main(int argc, char **argv)
{
    int round;
    if (argc > 1 && strcmp(argv[1], "overflow") == 0) { /* a PAD output one byte short */
        es_dims in = {1, 2, 2, 2};
        es_dims out = {1, 3, 3, 2};
        es_pad_int8_params pp = {{0, 1, 1, 0}, {0, 0, 0, 0}, 0};
        int8_t *x = int8s(8);
        int8_t *y = (int8_t *)malloc(17);
        es_status status = es_pad_int8_fwd(&pp, &in, x, &out, y);
        free(x), free(y);
        return (int)status;
    }
    if (argc > 1 && strcmp(argv[1], "signed") == 0) {
        volatile int32_t big = INT32_MAX;
        volatile int32_t sum = big + (int32_t)argc;
        return (int)(sum & 1);
    }
    for (round = 0; round < 300; ++round) {
        const int extreme = round % 3 == 0;
        run_convs(extreme);
        run_conv_depthwise(extreme);
        run_fast_convs(extreme);
        run_fc_add(extreme);
        run_pools_mean_pad(extreme);
        run_elementwise(extreme);
        run_qas(extreme);
    }
    puts("called es_conv2d_int8_fwd\ncalled es_depthwise_conv2d_int8_fwd\ncalled es_fully_connected_int8_fwd");
    puts("called es_conv2d_1x1_int8_fwd\ncalled es_conv2d_rows_int8_fwd\ncalled es_depthwise_conv2d_3x3_int8_fwd");
    puts("called es_fully_connected_fast_int8_fwd");
    puts("called es_add_int8_fwd\ncalled es_avg_pool2d_int8_fwd\ncalled es_max_pool2d_int8_fwd");
    puts("called es_mean_hw_int8_fwd\ncalled es_pad_int8_fwd\ncalled es_concat_int8_fwd");
    puts("called es_softmax_int8_fwd\ncalled es_logistic_int8_fwd\ncalled es_quantize_f32_int8_fwd");
    puts("called es_requantize_int8_fwd\ncalled es_dequantize_int8_f32_fwd");
    puts("called es_slice_int8_fwd\ncalled es_requantize_int8_uint8_fwd");
    puts("called es_qas_int8_update\ncalled es_qas_int32_update");
    puts("called es_conv_depthwise_int8_fwd");
    return failures == 0 ? 0 : 1;
}
