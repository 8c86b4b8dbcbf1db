/*
 * kernel_instructions.c -- instructions (QEMU, -icount) or cycles (board) per call of the fp32
 * layer kernels on one MobileNet-like block, reported as "@es kernel.<name> <count>" with the
 * MAC count of each call as "@es macs.<name> <macs>". Driven by kernel_instructions.py.
 */
#include <stdint.h>

#include "edgesdk/edgesdk.h"
#include "edgesdk/port.h"

/* x [1,16,16,16]; conv 3x3 16->16 SAME; depthwise 3x3 M=1 SAME; fc 256 -> 10 */
static float g_x[16 * 16 * 16], g_y[16 * 16 * 16], g_dy[16 * 16 * 16], g_dx[16 * 16 * 16];
static float g_w[16 * 3 * 3 * 16], g_dw[16 * 3 * 3 * 16], g_b[16];
static float g_fw[10 * 256], g_fdw[10 * 256], g_fy[10], g_fdy[10];

static void fill(float *p, int32_t n, float scale)
{
    uint32_t s = 12345u + (uint32_t)n;
    for (int32_t i = 0; i < n; ++i) {
        s = s * 1664525u + 1013904223u;
        p[i] = ((float)(s >> 8) / 16777216.0f - 0.5f) * scale;
    }
}

#define MEASURE(name, macs, call)                         \
    do {                                                  \
        const uint64_t t0 = es_port_counter();            \
        const es_status s = (call);                       \
        es_report_u64("kernel." name, es_port_counter() - t0); \
        es_report_u64("macs." name, (uint64_t)(macs));    \
        if (s != ES_OK) {                                 \
            return 1;                                     \
        }                                                 \
    } while (0)

int main(void)
{
    es_port_init();
    fill(g_x, 4096, 2.0f);
    fill(g_w, 2304, 1.0f);
    fill(g_dy, 4096, 1.0f);
    fill(g_b, 16, 1.0f);
    fill(g_fw, 2560, 1.0f);
    fill(g_fdy, 10, 1.0f);
    const es_dims xd = {1, 16, 16, 16}, wd = {16, 3, 3, 16}, dwd = {1, 3, 3, 16};
    const es_dims fxd = {1, 1, 1, 256}, fwd = {10, 1, 1, 256}, fyd = {1, 1, 1, 10};
    const es_conv2d_params cp = {1, 1, 1, 1, 1, 1, ES_ACT_RELU};
    const es_depthwise_conv2d_params dp = {1, 1, 1, 1, 1, 1, 1, ES_ACT_RELU};
    const es_fully_connected_params fp = {ES_ACT_NONE};
    const es_adam_params adam = {0.001f, 0.9f, 0.999f, 1e-8f, 0.0f};
    const es_optim_span span = {1, 2304, 2304, 2304};
    const int32_t conv_macs = 16 * 16 * 16 * 9 * 16, dw_macs = 16 * 16 * 16 * 9;

    MEASURE("conv2d_fwd", conv_macs, es_conv2d_f32_fwd(&cp, &xd, g_x, &wd, g_w, g_b, &xd, g_y));
    MEASURE("conv2d_bwd_in", conv_macs, es_conv2d_f32_bwd_in(&cp, &xd, g_dy, &wd, g_w, &xd, g_dx));
    MEASURE("conv2d_bwd_w", conv_macs, es_conv2d_f32_bwd_w(&cp, &xd, g_dy, &xd, g_x, &wd, g_dw));
    MEASURE("depthwise_fwd", dw_macs,
            es_depthwise_conv2d_f32_fwd(&dp, &xd, g_x, &dwd, g_w, g_b, &xd, g_y));
    MEASURE("depthwise_bwd_in", dw_macs,
            es_depthwise_conv2d_f32_bwd_in(&dp, &xd, g_dy, &dwd, g_w, &xd, g_dx));
    MEASURE("depthwise_bwd_w", dw_macs,
            es_depthwise_conv2d_f32_bwd_w(&dp, &xd, g_dy, &xd, g_x, &dwd, g_dw));
    MEASURE("fc_fwd", 2560, es_fully_connected_f32_fwd(&fp, &fxd, g_x, &fwd, g_fw, g_b, &fyd, g_fy));
    MEASURE("fc_bwd_in", 2560, es_fully_connected_f32_bwd_in(&fyd, g_fdy, &fwd, g_fw, &fxd, g_dx));
    MEASURE("fc_bwd_w", 2560, es_fully_connected_f32_bwd_w(&fyd, g_fdy, &fxd, g_x, &fwd, g_fdw));
    MEASURE("bias_grad", 4096, es_bias_grad_f32(&xd, g_dy, 16, g_b));
    MEASURE("act_bwd", 4096, es_act_f32_bwd(ES_ACT_RELU, &xd, g_y, g_dy, g_dx));
    MEASURE("adam_2304", 2304, es_adam_f32_update(&adam, 1, &span, g_dw, g_dx, g_dy, g_w));
    es_report_port();
    return 0;
}
