/*
 * kernel_sanitize.c -- runs every runtime kernel over a spread of shapes and parameters with
 * exactly sized heap buffers, for AddressSanitizer + UndefinedBehaviorSanitizer builds. Values
 * are checked against PyTorch elsewhere (tests/test_kernels_*.py); this driver only proves that
 * no kernel reads or writes outside its tensors and that no call hits undefined behaviour.
 *
 *   kernel_sanitize            run everything; print "called <kernel>" once per kernel, exit 0
 *   kernel_sanitize overflow   pass a conv output one float too short: ASan must abort
 *
 * Every buffer is malloc'ed with its exact size so that one element past either end is a
 * redzone. Statuses are checked: a kernel refusing valid input is a failure too.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edgesdk/edgesdk.h"

/* ---- bookkeeping ------------------------------------------------------------------------ */

#define MAX_NAMES 64
static const char *g_called[MAX_NAMES];
static int g_called_count;
static int g_failures;

static void mark_called(const char *name)
{
    for (int i = 0; i < g_called_count; ++i) {
        if (strcmp(g_called[i], name) == 0) {
            return;
        }
    }
    if (g_called_count < MAX_NAMES) {
        g_called[g_called_count++] = name;
    }
}

static void expect(const char *name, es_status got, es_status want, int line)
{
    mark_called(name);
    if (got != want) {
        fprintf(stderr, "line %d: %s returned %s, expected %s\n", line, name,
                es_status_name(got), es_status_name(want));
        ++g_failures;
    }
}

/* Call fn(args...) and require status `want`. */
#define EXPECT(want, fn, ...) expect(#fn, fn(__VA_ARGS__), (want), __LINE__)
#define CALL(fn, ...) EXPECT(ES_OK, fn, __VA_ARGS__)

/* ---- buffers ---------------------------------------------------------------------------- */

static uint32_t g_seed = 12345u;

static float next_float(void)
{
    g_seed = g_seed * 1664525u + 1013904223u;
    return (float)(g_seed >> 8) / 16777216.0f * 8.0f - 3.0f; /* [-3, 5) */
}

/* An exactly sized float buffer of random values. */
static float *fbuf(int32_t count)
{
    float *p = (float *)malloc((size_t)count * sizeof(float));
    if (p == NULL) {
        abort();
    }
    for (int32_t i = 0; i < count; ++i) {
        p[i] = next_float();
    }
    return p;
}

static float *dbuf(const es_dims *d)
{
    return fbuf(es_dims_count(d));
}

/* TFLite SAME / VALID: output size and pad_before for one axis. */
static void window(int32_t in, int32_t k, int32_t stride, int32_t dilation, int same,
                   int32_t *out, int32_t *pad_before)
{
    const int32_t eff = (k - 1) * dilation + 1;
    if (!same) {
        *out = (in - eff) / stride + 1;
        *pad_before = 0;
        return;
    }
    *out = (in + stride - 1) / stride;
    int32_t total = (*out - 1) * stride + eff - in;
    *pad_before = total > 0 ? total / 2 : 0;
}

/* ---- layers ----------------------------------------------------------------------------- */

static void run_conv(int32_t n, int32_t ih, int32_t iw, int32_t ic, int32_t oc, int32_t kh,
                     int32_t kw, int32_t stride, int32_t dil, int same, es_activation act,
                     int with_bias)
{
    es_conv2d_params p = {stride, stride, dil, dil, 0, 0, act};
    int32_t oh, ow;
    window(ih, kh, stride, dil, same, &oh, &p.pad_top);
    window(iw, kw, stride, dil, same, &ow, &p.pad_left);
    const es_dims xd = {n, ih, iw, ic}, wd = {oc, kh, kw, ic}, yd = {n, oh, ow, oc};
    const int32_t k = (oc + 1) / 2;
    const es_dims wkd = {k, kh, kw, ic};
    float *x = dbuf(&xd), *w = dbuf(&wd), *b = with_bias ? fbuf(oc) : NULL, *y = dbuf(&yd);
    float *dz = dbuf(&yd), *dx = dbuf(&xd), *dw = dbuf(&wd), *dwk = dbuf(&wkd);
    float *db = fbuf(oc), *dbk = fbuf(k);

    CALL(es_conv2d_f32_fwd, &p, &xd, x, &wd, w, b, &yd, y);
    CALL(es_act_f32_bwd, act, &yd, y, dz, dz);
    CALL(es_conv2d_f32_bwd_in, &p, &yd, dz, &wd, w, &xd, dx);
    CALL(es_conv2d_f32_bwd_w, &p, &yd, dz, &xd, x, &wd, dw);
    CALL(es_conv2d_f32_bwd_w, &p, &yd, dz, &xd, x, &wkd, dwk);
    CALL(es_bias_grad_f32, &yd, dz, oc, db);
    CALL(es_bias_grad_f32, &yd, dz, k, dbk);

    /* refused inputs */
    const es_dims bad_w = {oc, kh, kw, ic + 1}, big_k = {oc + 1, kh, kw, ic};
    es_conv2d_params bad_p = p;
    bad_p.stride_h = 0;
    EXPECT(ES_ERR_SHAPE, es_conv2d_f32_fwd, &p, &xd, x, &bad_w, w, b, &yd, y);
    EXPECT(ES_ERR_ARG, es_conv2d_f32_fwd, &bad_p, &xd, x, &wd, w, b, &yd, y);
    EXPECT(ES_ERR_ARG, es_conv2d_f32_bwd_in, &p, &yd, NULL, &wd, w, &xd, dx);
    EXPECT(ES_ERR_SHAPE, es_conv2d_f32_bwd_w, &p, &yd, dz, &xd, x, &big_k, dw);

    free(x), free(w), free(b), free(y), free(dz), free(dx), free(dw), free(dwk), free(db),
        free(dbk);
}

static void run_depthwise(int32_t n, int32_t ih, int32_t iw, int32_t c, int32_t m, int32_t kh,
                          int32_t kw, int32_t stride, int32_t dil, int same, es_activation act,
                          int with_bias)
{
    es_depthwise_conv2d_params p = {stride, stride, dil, dil, 0, 0, m, act};
    int32_t oh, ow;
    window(ih, kh, stride, dil, same, &oh, &p.pad_top);
    window(iw, kw, stride, dil, same, &ow, &p.pad_left);
    const int32_t oc = c * m, k = (oc + 1) / 2;
    const es_dims xd = {n, ih, iw, c}, wd = {1, kh, kw, oc}, yd = {n, oh, ow, oc};
    const es_dims wkd = {1, kh, kw, k};
    float *x = dbuf(&xd), *w = dbuf(&wd), *b = with_bias ? fbuf(oc) : NULL, *y = dbuf(&yd);
    float *dz = dbuf(&yd), *dx = dbuf(&xd), *dw = dbuf(&wd), *dwk = dbuf(&wkd);

    CALL(es_depthwise_conv2d_f32_fwd, &p, &xd, x, &wd, w, b, &yd, y);
    CALL(es_depthwise_conv2d_f32_bwd_in, &p, &yd, dz, &wd, w, &xd, dx);
    CALL(es_depthwise_conv2d_f32_bwd_w, &p, &yd, dz, &xd, x, &wd, dw);
    CALL(es_depthwise_conv2d_f32_bwd_w, &p, &yd, dz, &xd, x, &wkd, dwk);

    es_depthwise_conv2d_params bad_p = p;
    bad_p.depth_multiplier = m + 1;
    EXPECT(ES_ERR_SHAPE, es_depthwise_conv2d_f32_fwd, &bad_p, &xd, x, &wd, w, b, &yd, y);

    /* sparse Adam on the first k channels: KH*KW rows of k, parameter stride C*M */
    const es_optim_span span = {kh * kw, k, oc, k};
    const es_adam_params adam = {0.01f, 0.9f, 0.999f, 1e-8f, 0.01f};
    float *mom = fbuf(kh * kw * k), *vel = fbuf(kh * kw * k);
    for (int32_t i = 0; i < kh * kw * k; ++i) {
        mom[i] = 0.0f;
        vel[i] = 0.0f;
    }
    CALL(es_adam_f32_update, &adam, 1, &span, dwk, mom, vel, w);
    CALL(es_adam_f32_update, &adam, 2, &span, dwk, mom, vel, w);

    free(x), free(w), free(b), free(y), free(dz), free(dx), free(dw), free(dwk), free(mom),
        free(vel);
}

static void run_fc(int32_t rows_n, int32_t rows_t, int32_t features, int32_t outputs,
                   es_activation act, int with_bias)
{
    const es_fully_connected_params p = {act};
    const es_dims xd = {rows_n, 1, rows_t, features}, wd = {outputs, 1, 1, features};
    const es_dims yd = {rows_n, 1, rows_t, outputs};
    const int32_t k = (outputs + 1) / 2;
    const es_dims wkd = {k, 1, 1, features};
    float *x = dbuf(&xd), *w = dbuf(&wd), *b = with_bias ? fbuf(outputs) : NULL, *y = dbuf(&yd);
    float *dz = dbuf(&yd), *dx = dbuf(&xd), *dw = dbuf(&wd), *dwk = dbuf(&wkd);
    float *db = fbuf(outputs), *vel = fbuf(k * features);

    CALL(es_fully_connected_f32_fwd, &p, &xd, x, &wd, w, b, &yd, y);
    CALL(es_fully_connected_f32_bwd_in, &yd, dz, &wd, w, &xd, dx);
    CALL(es_fully_connected_f32_bwd_w, &yd, dz, &xd, x, &wd, dw);
    CALL(es_fully_connected_f32_bwd_w, &yd, dz, &xd, x, &wkd, dwk);
    CALL(es_bias_grad_f32, &yd, dz, outputs, db);

    const es_optim_span whole = {1, outputs * features, outputs * features, outputs * features};
    const es_optim_span part = {1, k * features, outputs * features, k * features};
    const es_sgd_params sgd = {0.1f, 0.0f};
    const es_sgd_momentum_params mom = {0.1f, 0.9f, 0.001f};
    for (int32_t i = 0; i < k * features; ++i) {
        vel[i] = 0.0f;
    }
    CALL(es_sgd_f32_update, &sgd, &whole, dw, w);
    CALL(es_sgd_momentum_f32_update, &mom, &part, dwk, vel, w);
    const es_optim_span bad = {1, 4, 3, 4};
    EXPECT(ES_ERR_SHAPE, es_sgd_f32_update, &sgd, &bad, dw, w);

    free(x), free(w), free(b), free(y), free(dz), free(dx), free(dw), free(dwk), free(db),
        free(vel);
}

/* ---- parameter-free ops ----------------------------------------------------------------- */

static void run_pools(int32_t n, int32_t ih, int32_t iw, int32_t c, int32_t fh, int32_t fw,
                      int32_t sh, int32_t sw, int same, es_activation act)
{
    es_pool2d_params p = {fh, fw, sh, sw, 0, 0, act};
    int32_t oh, ow;
    window(ih, fh, sh, 1, same, &oh, &p.pad_top);
    window(iw, fw, sw, 1, same, &ow, &p.pad_left);
    const es_dims xd = {n, ih, iw, c}, yd = {n, oh, ow, c};
    float *x = dbuf(&xd), *y = dbuf(&yd), *dz = dbuf(&yd), *dx = dbuf(&xd);

    CALL(es_avg_pool2d_f32_fwd, &p, &xd, x, &yd, y);
    CALL(es_avg_pool2d_f32_bwd, &p, &yd, dz, &xd, dx);
    CALL(es_max_pool2d_f32_fwd, &p, &xd, x, &yd, y);
    CALL(es_max_pool2d_f32_bwd, &p, &xd, x, &yd, dz, dx);

    const es_dims too_many = {n, oh + 2, ow, c};
    float *y2 = dbuf(&too_many);
    EXPECT(ES_ERR_SHAPE, es_avg_pool2d_f32_fwd, &p, &xd, x, &too_many, y2);

    free(x), free(y), free(dz), free(dx), free(y2);
}

static void run_elementwise(void)
{
    const es_dims d = {2, 3, 4, 5};
    const int32_t count = es_dims_count(&d);
    float *a = dbuf(&d), *b = dbuf(&d), *y = dbuf(&d), *dy = dbuf(&d), *dx = dbuf(&d);

    CALL(es_add_f32_fwd, ES_ACT_RELU6, &d, a, &d, b, &d, y);
    CALL(es_add_f32_fwd, ES_ACT_NONE, &d, a, &d, b, &d, a); /* in place */
    CALL(es_act_f32_bwd, ES_ACT_RELU, &d, y, dy, dx);
    CALL(es_act_f32_bwd, ES_ACT_RELU6, &d, y, dy, dy); /* in place */
    CALL(es_logistic_f32_fwd, &d, a, y);
    CALL(es_logistic_f32_bwd, &d, y, dy, dx);
    CALL(es_logistic_f32_bwd, &d, y, dy, dy);
    CALL(es_copy_f32, &d, a, dx);
    const es_dims shorter = {1, 1, 1, count - 3};
    CALL(es_copy_f32, &shorter, a + 3, a); /* overlapping: memmove */
    CALL(es_accumulate_f32, &d, b, dx);
    EXPECT(ES_ERR_ARG, es_add_f32_fwd, (es_activation)7, &d, a, &d, b, &d, y);
    const es_dims other = {2, 3, 5, 4};
    EXPECT(ES_ERR_SHAPE, es_add_f32_fwd, ES_ACT_NONE, &d, a, &other, b, &d, y);

    free(a), free(b), free(y), free(dy), free(dx);
}

static void run_mean_pad_concat(void)
{
    const es_dims xd = {3, 5, 4, 6}, md = {3, 1, 1, 6};
    float *x = dbuf(&xd), *m = dbuf(&md), *dm = dbuf(&md), *dx = dbuf(&xd);
    CALL(es_mean_hw_f32_fwd, &xd, x, &md, m);
    CALL(es_mean_hw_f32_bwd, &md, dm, &xd, dx);
    for (int act = 0; act < 3; ++act) {
        CALL(es_mean_hw_act_f32_bwd, (es_activation)act, &xd, x, &md, dm, dx);
    }
    EXPECT(ES_ERR_ARG, es_mean_hw_act_f32_bwd, (es_activation)7, &xd, x, &md, dm, dx);
    EXPECT(ES_ERR_SHAPE, es_mean_hw_act_f32_bwd, ES_ACT_RELU, &xd, x, &xd, dm, dx);
    free(m), free(dm);

    const es_pad_params pad = {{1, 0, 2, 1}, {0, 3, 1, 2}};
    const es_dims pd = {4, 8, 7, 9};
    float *y = dbuf(&pd), *dy = dbuf(&pd);
    CALL(es_pad_f32_fwd, &pad, &xd, x, &pd, y);
    CALL(es_pad_f32_bwd, &pad, &pd, dy, &xd, dx);
    const es_dims wrong = {4, 8, 7, 8};
    EXPECT(ES_ERR_SHAPE, es_pad_f32_fwd, &pad, &xd, x, &wrong, y);
    free(y), free(dy);

    for (int32_t axis = 0; axis < 4; ++axis) {
        es_dims parts[3] = {xd, xd, xd};
        int32_t *ext[3];
        for (int i = 0; i < 3; ++i) {
            ext[i] = axis == 0 ? &parts[i].n : axis == 1 ? &parts[i].h
                   : axis == 2 ? &parts[i].w : &parts[i].c;
            *ext[i] = i + 1;
        }
        es_dims od = xd;
        int32_t *out_ext = axis == 0 ? &od.n : axis == 1 ? &od.h : axis == 2 ? &od.w : &od.c;
        *out_ext = 6;
        const float *ins[3];
        float *owned[3];
        for (int i = 0; i < 3; ++i) {
            owned[i] = dbuf(&parts[i]);
            ins[i] = owned[i];
        }
        float *o = dbuf(&od), *g = dbuf(&parts[2]);
        const es_concat_params cp = {axis, ES_ACT_RELU};
        const es_concat_slice_params sp = {axis, 3};
        CALL(es_concat_f32_fwd, &cp, 3, parts, ins, &od, o);
        CALL(es_concat_f32_bwd, &sp, &od, o, &parts[2], g);
        const es_concat_slice_params past = {axis, 4};
        EXPECT(ES_ERR_SHAPE, es_concat_f32_bwd, &past, &od, o, &parts[2], g);
        for (int i = 0; i < 3; ++i) {
            free(owned[i]);
        }
        free(o), free(g);
    }
    free(x), free(dx);
}

static void run_softmax_losses(void)
{
    const es_dims d = {4, 1, 1, 10};
    float *z = dbuf(&d), *y = dbuf(&d), *dy = dbuf(&d), *dx = dbuf(&d), *t = dbuf(&d);
    const es_softmax_params sp = {1.0f};
    CALL(es_softmax_f32_fwd, &sp, &d, z, y);
    CALL(es_softmax_f32_bwd, &sp, &d, y, dy, dx);
    CALL(es_softmax_f32_fwd, &sp, &d, z, z); /* in place */

    int32_t *labels = (int32_t *)malloc(4 * sizeof(int32_t));
    int32_t *pred = (int32_t *)malloc(4 * sizeof(int32_t));
    float *loss = fbuf(1);
    for (int i = 0; i < 4; ++i) {
        labels[i] = (i * 3) % 10;
    }
    CALL(es_loss_softmax_xent_f32, &d, y, labels, loss, dx);
    CALL(es_loss_softmax_xent_f32, &d, y, labels, NULL, y); /* dlogits in place */
    CALL(es_loss_softmax_xent_f32, &d, dx, labels, loss, NULL);
    labels[2] = 10;
    EXPECT(ES_ERR_ARG, es_loss_softmax_xent_f32, &d, y, labels, loss, dx);
    CALL(es_loss_mse_f32, &d, y, t, loss, dx);
    CALL(es_loss_mse_f32, &d, y, t, NULL, y);
    CALL(es_argmax_f32, &d, dx, pred);

    const es_sgd_params sgd = {0.1f, 0.01f};
    const es_optim_span span = {1, 10, 10, 10};
    CALL(es_sgd_f32_update, &sgd, &span, dy, t);

    free(z), free(y), free(dy), free(dx), free(t), free(labels), free(pred), free(loss);
}

/* ---- main ------------------------------------------------------------------------------- */

static int overflow_selftest(void)
{
    const es_conv2d_params p = {1, 1, 1, 1, 1, 1, ES_ACT_NONE};
    const es_dims xd = {1, 4, 4, 2}, wd = {3, 3, 3, 2}, yd = {1, 4, 4, 3};
    float *x = dbuf(&xd), *w = dbuf(&wd);
    float *y = fbuf(es_dims_count(&yd) - 1); /* one float short */
    es_status s = es_conv2d_f32_fwd(&p, &xd, x, &wd, w, NULL, &yd, y);
    printf("overflow self-test not caught (status %s)\n", es_status_name(s));
    free(x), free(w), free(y);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "overflow") == 0) {
        return overflow_selftest();
    }
    int variant = 0;
    for (int32_t n = 1; n <= 3; n += 2) {
        for (int32_t stride = 1; stride <= 2; ++stride) {
            for (int32_t dil = 1; dil <= 2; ++dil) {
                for (int same = 0; same <= 1; ++same) {
                    const es_activation act = (es_activation)(variant % 3);
                    run_conv(n, 7, 6, 3, 4, 3, 2, stride, dil, same, act, variant % 2);
                    run_conv(n, 1 + 2 * dil, 5, 1, 1, 2, 1, stride, dil, same, act, 1);
                    run_depthwise(n, 6, 7, 3, 1 + variant % 2, 3, 3, stride, dil, same, act,
                                  variant % 2);
                    ++variant;
                }
            }
        }
    }
    run_fc(1, 1, 7, 5, ES_ACT_NONE, 1);
    run_fc(3, 1, 10, 4, ES_ACT_RELU, 0);
    run_fc(2, 3, 6, 5, ES_ACT_RELU6, 1);
    run_pools(1, 7, 7, 3, 3, 3, 2, 2, 1, ES_ACT_NONE);
    run_pools(3, 6, 5, 2, 2, 2, 2, 2, 1, ES_ACT_RELU);
    run_pools(2, 5, 6, 4, 3, 2, 2, 1, 0, ES_ACT_RELU6);
    run_pools(1, 1, 1, 2, 3, 3, 1, 1, 1, ES_ACT_NONE);
    run_pools(1, 9, 4, 1, 4, 4, 3, 1, 1, ES_ACT_NONE);
    run_elementwise();
    run_mean_pad_concat();
    run_softmax_losses();

    for (int i = 0; i < g_called_count; ++i) {
        printf("called %s\n", g_called[i]);
    }
    if (g_failures != 0) {
        fprintf(stderr, "%d unexpected statuses\n", g_failures);
        return 1;
    }
    return 0;
}
