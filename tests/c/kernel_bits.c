/*
 * kernel_bits.c -- runs a fixed battery of runtime kernels on deterministic inputs and reports
 * an FNV-1a hash of the bits of every output ("@es bits.<kernel> <hash>"). Built for the host and
 * for the Cortex-M stand-ins in QEMU, the hashes must be identical: the kernels compute the same
 * float32 bits on every target. No heap (static buffers), so it runs as bare-metal firmware.
 */
#include <stdint.h>
#include <string.h>

#include "edgesdk/edgesdk.h"
#include "edgesdk/port.h"

#define BIG 2048

static float g_a[BIG], g_b[BIG], g_c[BIG], g_d[BIG], g_e[BIG], g_f[BIG];
static uint32_t g_seed = 2463534242u;
static int g_errors;

static float next_float(void)
{
    g_seed = g_seed * 1664525u + 1013904223u;
    return (float)(g_seed >> 8) / 16777216.0f * 6.0f - 2.5f; /* [-2.5, 3.5) */
}

static void fill(float *p, int32_t n)
{
    for (int32_t i = 0; i < n; ++i) {
        p[i] = next_float();
    }
}

static void report_bits(const char *key, const float *p, int32_t n)
{
    uint64_t h = 14695981039346656037u;
    for (int32_t i = 0; i < n; ++i) {
        uint32_t u;
        memcpy(&u, &p[i], sizeof u);
        for (int b = 0; b < 4; ++b) {
            h = (h ^ ((u >> (8 * b)) & 0xffu)) * 1099511628211u;
        }
    }
    es_report_u64(key, h);
}

static void check(es_status s)
{
    if (s != ES_OK) {
        ++g_errors;
    }
}

static void layers(void)
{
    /* CONV_2D: x [2,9,8,5], w [6,3,3,5], SAME stride 2 -> y [2,5,4,6] */
    const es_conv2d_params cp = {2, 2, 1, 1, 1, 1, ES_ACT_RELU6};
    const es_dims xd = {2, 9, 8, 5}, wd = {6, 3, 3, 5}, yd = {2, 5, 4, 6};
    fill(g_a, es_dims_count(&xd));
    fill(g_b, es_dims_count(&wd));
    fill(g_c, 6);
    fill(g_e, es_dims_count(&yd));
    check(es_conv2d_f32_fwd(&cp, &xd, g_a, &wd, g_b, g_c, &yd, g_d));
    report_bits("bits.conv2d_fwd", g_d, es_dims_count(&yd));
    check(es_conv2d_f32_bwd_in(&cp, &yd, g_e, &wd, g_b, &xd, g_f));
    report_bits("bits.conv2d_bwd_in", g_f, es_dims_count(&xd));
    check(es_conv2d_f32_bwd_w(&cp, &yd, g_e, &xd, g_a, &wd, g_f));
    report_bits("bits.conv2d_bwd_w", g_f, es_dims_count(&wd));
    check(es_bias_grad_f32(&yd, g_e, 6, g_f));
    report_bits("bits.bias_grad", g_f, 6);

    /* DEPTHWISE_CONV_2D: x [1,7,7,4], M 2, dilation 2, VALID -> y [1,3,3,8] */
    const es_depthwise_conv2d_params dp = {1, 1, 2, 2, 0, 0, 2, ES_ACT_RELU};
    const es_dims dxd = {1, 7, 7, 4}, dwd = {1, 3, 3, 8}, dyd = {1, 3, 3, 8};
    fill(g_a, es_dims_count(&dxd));
    fill(g_b, es_dims_count(&dwd));
    fill(g_e, es_dims_count(&dyd));
    check(es_depthwise_conv2d_f32_fwd(&dp, &dxd, g_a, &dwd, g_b, NULL, &dyd, g_d));
    report_bits("bits.depthwise_fwd", g_d, es_dims_count(&dyd));
    check(es_depthwise_conv2d_f32_bwd_in(&dp, &dyd, g_e, &dwd, g_b, &dxd, g_f));
    report_bits("bits.depthwise_bwd_in", g_f, es_dims_count(&dxd));
    check(es_depthwise_conv2d_f32_bwd_w(&dp, &dyd, g_e, &dxd, g_a, &dwd, g_f));
    report_bits("bits.depthwise_bwd_w", g_f, es_dims_count(&dwd));

    /* FULLY_CONNECTED: x [3,40] -> y [3,10] */
    const es_fully_connected_params fp = {ES_ACT_NONE};
    const es_dims fxd = {3, 1, 1, 40}, fwd = {10, 1, 1, 40}, fyd = {3, 1, 1, 10};
    fill(g_a, 120);
    fill(g_b, 400);
    fill(g_c, 10);
    fill(g_e, 30);
    check(es_fully_connected_f32_fwd(&fp, &fxd, g_a, &fwd, g_b, g_c, &fyd, g_d));
    report_bits("bits.fc_fwd", g_d, 30);
    check(es_fully_connected_f32_bwd_in(&fyd, g_e, &fwd, g_b, &fxd, g_f));
    report_bits("bits.fc_bwd_in", g_f, 120);
    check(es_fully_connected_f32_bwd_w(&fyd, g_e, &fxd, g_a, &fwd, g_f));
    report_bits("bits.fc_bwd_w", g_f, 400);
}

static void other_ops(void)
{
    /* pools: x [2,7,6,3], 3x3 stride 2 SAME -> [2,4,3,3] */
    const es_pool2d_params pp = {3, 3, 2, 2, 1, 0, ES_ACT_NONE};
    const es_dims xd = {2, 7, 6, 3}, yd = {2, 4, 3, 3};
    fill(g_a, es_dims_count(&xd));
    fill(g_e, es_dims_count(&yd));
    check(es_avg_pool2d_f32_fwd(&pp, &xd, g_a, &yd, g_d));
    report_bits("bits.avg_pool_fwd", g_d, es_dims_count(&yd));
    check(es_avg_pool2d_f32_bwd(&pp, &yd, g_e, &xd, g_f));
    report_bits("bits.avg_pool_bwd", g_f, es_dims_count(&xd));
    check(es_max_pool2d_f32_fwd(&pp, &xd, g_a, &yd, g_d));
    report_bits("bits.max_pool_fwd", g_d, es_dims_count(&yd));
    check(es_max_pool2d_f32_bwd(&pp, &xd, g_a, &yd, g_e, g_f));
    report_bits("bits.max_pool_bwd", g_f, es_dims_count(&xd));

    const es_dims md = {2, 1, 1, 3};
    check(es_mean_hw_f32_fwd(&xd, g_a, &md, g_d));
    report_bits("bits.mean_fwd", g_d, 6);
    check(es_mean_hw_f32_bwd(&md, g_e, &xd, g_f));
    report_bits("bits.mean_bwd", g_f, es_dims_count(&xd));

    const es_dims ed = {1, 1, 1, BIG};
    fill(g_a, BIG);
    fill(g_b, BIG);
    check(es_add_f32_fwd(ES_ACT_RELU, &ed, g_a, &ed, g_b, &ed, g_d));
    report_bits("bits.add_fwd", g_d, BIG);
    check(es_act_f32_bwd(ES_ACT_RELU6, &ed, g_a, g_b, g_f));
    report_bits("bits.act_bwd", g_f, BIG);
    check(es_logistic_f32_fwd(&ed, g_a, g_d));
    report_bits("bits.logistic_fwd", g_d, BIG);
    check(es_logistic_f32_bwd(&ed, g_d, g_b, g_f));
    report_bits("bits.logistic_bwd", g_f, BIG);

    /* softmax over rows of 16, scaled so exp sees a wide range */
    const es_dims sd = {8, 4, 4, 16};
    const es_softmax_params sp = {1.5f};
    for (int32_t i = 0; i < BIG; ++i) {
        g_a[i] *= 8.0f;
    }
    check(es_softmax_f32_fwd(&sp, &sd, g_a, g_d));
    report_bits("bits.softmax_fwd", g_d, BIG);
    check(es_softmax_f32_bwd(&sp, &sd, g_d, g_b, g_f));
    report_bits("bits.softmax_bwd", g_f, BIG);
}

static void losses_and_optimizers(void)
{
    const es_dims ld = {16, 1, 1, 10};
    int32_t labels[16];
    float loss = 0.0f;
    fill(g_a, 160);
    for (int32_t i = 0; i < 160; ++i) {
        g_a[i] *= 6.0f;
    }
    for (int32_t i = 0; i < 16; ++i) {
        labels[i] = (i * 7) % 10;
    }
    check(es_loss_softmax_xent_f32(&ld, g_a, labels, &loss, g_d));
    report_bits("bits.xent_loss", &loss, 1);
    report_bits("bits.xent_grad", g_d, 160);
    fill(g_b, 160);
    check(es_loss_mse_f32(&ld, g_a, g_b, &loss, g_f));
    report_bits("bits.mse_loss", &loss, 1);
    report_bits("bits.mse_grad", g_f, 160);

    /* three optimizers, five steps each, on 300 weights */
    const es_optim_span span = {1, 300, 300, 300};
    const es_sgd_params sgd = {0.1f, 0.01f};
    const es_sgd_momentum_params mom = {0.05f, 0.9f, 0.0f};
    const es_adam_params adam = {0.01f, 0.9f, 0.999f, 1e-8f, 0.001f};
    float *w_sgd = g_a, *w_mom = g_a + 300, *w_adam = g_a + 600;
    float *vel = g_b, *m = g_b + 300, *v = g_b + 600;
    fill(g_a, 900);
    for (int32_t i = 0; i < 900; ++i) {
        g_b[i] = 0.0f;
    }
    for (int32_t step = 1; step <= 5; ++step) {
        fill(g_c, 300);
        check(es_sgd_f32_update(&sgd, &span, g_c, w_sgd));
        check(es_sgd_momentum_f32_update(&mom, &span, g_c, vel, w_mom));
        check(es_adam_f32_update(&adam, step, &span, g_c, m, v, w_adam));
    }
    report_bits("bits.sgd", w_sgd, 300);
    report_bits("bits.momentum", w_mom, 300);
    report_bits("bits.adam", w_adam, 300);
    report_bits("bits.adam_state", g_b + 300, 600);

    /* the math functions over wide sweeps */
    for (int32_t i = 0; i < BIG; ++i) {
        const float x = -100.0f + 190.0f * (float)i / (float)BIG;
        g_d[i] = es_expf(x);
        g_f[i] = es_logf(1e-30f + 3e3f * (float)i / (float)BIG);
    }
    report_bits("bits.expf", g_d, BIG);
    report_bits("bits.logf", g_f, BIG);
    for (int32_t i = 0; i < 64; ++i) {
        g_d[i] = es_powif(0.999f, i * 97 + 1);
    }
    report_bits("bits.powif", g_d, 64);
}

int main(void)
{
    es_port_init();
    layers();
    other_ops();
    losses_and_optimizers();
    es_report_u64("errors", (uint64_t)g_errors);
    return g_errors == 0 ? 0 : 1;
}
