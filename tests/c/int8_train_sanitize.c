/*
 * int8_train_sanitize.c -- calls every int8 training kernel (edgesdk/train_int8.h) over
 * pseudo-random shapes, geometries and data, with exactly sized heap buffers, for a build with
 * -fsanitize=address,undefined: any out-of-bounds access or undefined behaviour is reported.
 * Gradients include huge values, infinities and NaN so the QAS steps saturate.
 *
 *   int8_train_sanitize            run everything, print "called <kernel>" per kernel, exit 0
 *   int8_train_sanitize overflow   control: a fused conv update with a scratch one float short
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edgesdk/train_int8.h"

#define DRIVER_SEED 2463534242u
#include "driver_util.h"

static float rndf(void)
{
    const int32_t pick = rnd(0, 99);
    if (pick == 0) {
        return INFINITY;
    }
    if (pick == 1) {
        return NAN;
    }
    if (pick == 2) {
        return -3.0e38f;
    }
    return (float)rnd(-100000, 100000) * 1e-4f;
}

static float *floats(int32_t count)
{
    float *p = (float *)malloc((size_t)count * sizeof(float));
    for (int32_t i = 0; i < count; ++i) {
        p[i] = rndf();
    }
    return p;
}

static int32_t *int32s(int32_t count)
{
    int32_t *p = (int32_t *)malloc((size_t)count * sizeof(int32_t));
    for (int32_t i = 0; i < count; ++i) {
        p[i] = rnd(-3, 3) == 0 ? (rnd(0, 1) ? INT32_MAX : INT32_MIN) : rnd(-100000, 100000);
    }
    return p;
}

/* A random layer: batch, sizes, geometry (windows always start inside the input). */
typedef struct {
    es_dims x, y, w;
    int32_t stride, dilation, kernel, pad;
} layer;

static layer random_layer(int32_t in_c, int32_t out_c, int depthwise)
{
    layer l;
    l.kernel = rnd(1, 3);
    l.stride = rnd(1, 2);
    l.dilation = rnd(1, 2);
    l.pad = rnd(0, (l.kernel - 1) * l.dilation);
    l.x = (es_dims){rnd(1, 2), rnd(3, 7), rnd(3, 7), in_c};
    const int32_t span = (l.kernel - 1) * l.dilation + 1;
    const int32_t oh = (l.x.h + 2 * l.pad - span) / l.stride + 1;
    const int32_t ow = (l.x.w + 2 * l.pad - span) / l.stride + 1;
    l.y = (es_dims){l.x.n, oh < 1 ? 1 : oh, ow < 1 ? 1 : ow, out_c};
    l.w = depthwise ? (es_dims){1, l.kernel, l.kernel, out_c} : (es_dims){out_c, l.kernel, l.kernel, in_c};
    return l;
}

static void conv_kernels(int overflow)
{
    const int32_t in_c = rnd(1, 5), out_c = rnd(1, 6), k = rnd(1, out_c);
    layer l = random_layer(in_c, out_c, 0);
    if (l.pad > (l.kernel - 1) * l.dilation) {
        l.pad = 0;
    }
    const es_conv2d_params p = {l.stride, l.stride, l.dilation, l.dilation, l.pad, l.pad, ES_ACT_RELU};
    const int32_t nx = es_dims_count(&l.x), ny = es_dims_count(&l.y), nw = es_dims_count(&l.w);
    int8_t *x = int8s(nx), *w = int8s(nw);
    float *dz = floats(ny), *dx = floats(nx), *scale = positives(out_c), *factor = positives(k);
    const es_weights_int8_quant wq = {scale, rnd(-3, 3), NULL, 0};
    const es_affine_int8_params xq = {0.02f, rnd(-128, 127)};
    const es_dims dw_dims = {k, l.kernel, l.kernel, in_c};
    float *dw = floats(es_dims_count(&dw_dims)), *master = floats(es_dims_count(&dw_dims));
    const size_t scratch_bytes = es_conv2d_int8_bwd_w_qas_scratch_size(&l.w) - (overflow ? 4u : 0u);
    float *scratch = (float *)malloc(scratch_bytes);
    uint32_t rng = 12345u;
    es_qas_layer_params qas = {1e-3f, ES_ROUND_STOCHASTIC, k, factor};

    expect("es_conv2d_int8_bwd_in", es_conv2d_int8_bwd_in(&p, &wq, &l.y, dz, &l.w, w, &l.x, dx), ES_OK);
    expect("es_conv2d_int8_bwd_w", es_conv2d_int8_bwd_w(&p, &xq, &l.y, dz, &l.x, x, &dw_dims, dw), ES_OK);
    expect("es_conv2d_int8_bwd_w_qas",
           es_conv2d_int8_bwd_w_qas(&p, &xq, &qas, &l.y, dz, &l.x, x, &l.w, w, NULL, &rng, scratch), ES_OK);
    qas.rounding = ES_ROUND_NEAREST;
    expect("es_conv2d_int8_bwd_w_qas",
           es_conv2d_int8_bwd_w_qas(&p, &xq, &qas, &l.y, dz, &l.x, x, &l.w, w, master, NULL, scratch), ES_OK);
    expect("es_conv2d_int8_bwd_w_qas",
           es_conv2d_int8_bwd_w_qas(&p, &xq, &qas, &l.y, dz, &l.x, x, &l.w, w, NULL, NULL, scratch), ES_OK);
    qas.rounding = ES_ROUND_STOCHASTIC; /* with a master copy: refused */
    expect("es_conv2d_int8_bwd_w_qas",
           es_conv2d_int8_bwd_w_qas(&p, &xq, &qas, &l.y, dz, &l.x, x, &l.w, w, master, &rng, scratch),
           ES_ERR_ARG);
    qas.channels = out_c + 1;
    expect("es_conv2d_int8_bwd_w_qas",
           es_conv2d_int8_bwd_w_qas(&p, &xq, &qas, &l.y, dz, &l.x, x, &l.w, w, NULL, &rng, scratch),
           ES_ERR_ARG);
    free(x), free(w), free(dz), free(dx), free(scale), free(factor), free(dw), free(master), free(scratch);
}

static void depthwise_kernels(void)
{
    const int32_t c = rnd(1, 4), m = rnd(1, 2), out_c = c * m, k = rnd(1, out_c);
    const layer l = random_layer(c, out_c, 1);
    const es_depthwise_conv2d_params p = {l.stride, l.stride, l.dilation, l.dilation, l.pad, l.pad,
                                          m, ES_ACT_RELU6};
    const int32_t nx = es_dims_count(&l.x), ny = es_dims_count(&l.y), nw = es_dims_count(&l.w);
    int8_t *x = int8s(nx), *w = int8s(nw);
    float *dz = floats(ny), *dx = floats(nx), *scale = positives(out_c), *factor = positives(k);
    const es_weights_int8_quant wq = {scale, 0, NULL, 0};
    const es_affine_int8_params xq = {0.05f, rnd(-128, 127)};
    const es_dims dw_dims = {1, l.kernel, l.kernel, k};
    float *dw = floats(es_dims_count(&dw_dims)), *master = floats(es_dims_count(&dw_dims));
    es_qas_layer_params qas = {1e-2f, ES_ROUND_NEAREST, k, factor};
    float *scratch = (float *)malloc(es_depthwise_conv2d_int8_bwd_w_qas_scratch_size(&qas));
    uint32_t rng = 99u;

    expect("es_depthwise_conv2d_int8_bwd_in",
           es_depthwise_conv2d_int8_bwd_in(&p, &wq, &l.y, dz, &l.w, w, &l.x, dx), ES_OK);
    expect("es_depthwise_conv2d_int8_bwd_w",
           es_depthwise_conv2d_int8_bwd_w(&p, &xq, &l.y, dz, &l.x, x, &dw_dims, dw), ES_OK);
    expect("es_depthwise_conv2d_int8_bwd_w_qas",
           es_depthwise_conv2d_int8_bwd_w_qas(&p, &xq, &qas, &l.y, dz, &l.x, x, &l.w, w, master, NULL,
                                              scratch), ES_OK);
    qas.rounding = ES_ROUND_STOCHASTIC;
    expect("es_depthwise_conv2d_int8_bwd_w_qas",
           es_depthwise_conv2d_int8_bwd_w_qas(&p, &xq, &qas, &l.y, dz, &l.x, x, &l.w, w, NULL, &rng,
                                              scratch), ES_OK);
    free(x), free(w), free(dz), free(dx), free(scale), free(factor), free(dw), free(master), free(scratch);
}

static void fully_connected_kernels(void)
{
    const int32_t rows = rnd(1, 3), in_c = rnd(1, 9), out_c = rnd(1, 6), k = rnd(1, out_c);
    const es_dims x_dims = {rows, 1, 1, in_c}, y_dims = {rows, 1, 1, out_c}, w_dims = {out_c, 1, 1, in_c};
    const es_dims dw_dims = {k, 1, 1, in_c};
    int8_t *x = int8s(rows * in_c), *w = int8s(out_c * in_c);
    float *dz = floats(rows * out_c), *dx = floats(rows * in_c), *scale = positives(out_c);
    float *factor = positives(k), *dw = floats(k * in_c), *master = floats(k * in_c);
    const es_weights_int8_quant wq = {scale, rnd(-5, 5), NULL, 0};
    const es_affine_int8_params xq = {0.1f, rnd(-128, 127)};
    es_qas_layer_params qas = {5e-2f, ES_ROUND_STOCHASTIC, k, factor};
    float *scratch = (float *)malloc(es_fully_connected_int8_bwd_w_qas_scratch_size(&w_dims));
    uint32_t rng = 7u;
    int32_t *bias = int32s(out_c);
    float *bias_master = floats(k);
    float *bias_scratch = (float *)malloc(es_bias_int32_bwd_qas_scratch_size(&qas));

    expect("es_fully_connected_int8_bwd_in",
           es_fully_connected_int8_bwd_in(&wq, &y_dims, dz, &w_dims, w, &x_dims, dx), ES_OK);
    expect("es_fully_connected_int8_bwd_w",
           es_fully_connected_int8_bwd_w(&xq, &y_dims, dz, &x_dims, x, &dw_dims, dw), ES_OK);
    expect("es_fully_connected_int8_bwd_w_qas",
           es_fully_connected_int8_bwd_w_qas(&xq, &qas, &y_dims, dz, &x_dims, x, &w_dims, w, NULL, &rng,
                                             scratch), ES_OK);
    expect("es_bias_int32_bwd_qas",
           es_bias_int32_bwd_qas(&qas, &y_dims, dz, bias, NULL, &rng, bias_scratch), ES_OK);
    qas.rounding = ES_ROUND_NEAREST;
    expect("es_fully_connected_int8_bwd_w_qas",
           es_fully_connected_int8_bwd_w_qas(&xq, &qas, &y_dims, dz, &x_dims, x, &w_dims, w, master, NULL,
                                             scratch), ES_OK);
    expect("es_fully_connected_fast_int8_bwd_w_qas",
           es_fully_connected_fast_int8_bwd_w_qas(&xq, &qas, &y_dims, dz, &x_dims, x, &w_dims, w, master, NULL,
                                                  scratch), ES_OK);
    expect("es_fully_connected_fast_int8_bwd_w_qas",
           es_fully_connected_fast_int8_bwd_w_qas(&xq, &qas, &y_dims, dz, &x_dims, x, &w_dims, w, NULL, NULL,
                                                  scratch), ES_OK);
    expect("es_bias_int32_bwd_qas",
           es_bias_int32_bwd_qas(&qas, &y_dims, dz, bias, bias_master, NULL, bias_scratch), ES_OK);
    rng = 0u; /* stochastic rounding needs a nonzero state */
    qas.rounding = ES_ROUND_STOCHASTIC;
    expect("es_bias_int32_bwd_qas",
           es_bias_int32_bwd_qas(&qas, &y_dims, dz, bias, NULL, &rng, bias_scratch), ES_ERR_ARG);
    free(x), free(w), free(dz), free(dx), free(scale), free(factor), free(dw), free(master);
    free(scratch), free(bias), free(bias_master), free(bias_scratch);
}

static void elementwise_kernels(void)
{
    const int32_t rows = rnd(1, 3), classes = rnd(1, 12), count = rows * classes;
    const es_dims d = {rows, 1, 1, classes};
    int8_t *y = int8s(count);
    float *dy = floats(count), *out = floats(count), *target = floats(count);
    int32_t *labels = (int32_t *)malloc((size_t)rows * sizeof(int32_t));
    float loss = 0.0f;
    const es_affine_int8_params yq = {1.0f / 256.0f, -128};
    const es_softmax_params beta = {rnd(0, 1) ? 1.0f : 0.5f};
    const es_loss_int8_params lq = {0.1f, rnd(-128, 127), beta.beta};
    for (int32_t r = 0; r < rows; ++r) {
        labels[r] = rnd(0, classes - 1);
    }
    expect("es_act_int8_bwd", es_act_int8_bwd(rnd(-128, 0), 127, &d, y, dy, out), ES_OK);
    expect("es_act_int8_bwd", es_act_int8_bwd(5, 5, &d, y, dy, out), ES_ERR_ARG);
    expect("es_logistic_int8_bwd", es_logistic_int8_bwd(&yq, &d, y, dy, out), ES_OK);
    expect("es_softmax_int8_bwd", es_softmax_int8_bwd(&beta, &yq, &d, y, dy, out), ES_OK);
    expect("es_loss_softmax_xent_int8", es_loss_softmax_xent_int8(&lq, &d, y, labels, &loss, out), ES_OK);
    labels[0] = classes;
    expect("es_loss_softmax_xent_int8", es_loss_softmax_xent_int8(&lq, &d, y, labels, &loss, out),
           ES_ERR_ARG);
    expect("es_loss_mse_int8", es_loss_mse_int8(&lq, &d, y, target, &loss, out), ES_OK);
    free(y), free(dy), free(out), free(target), free(labels);
}

static void mean_kernels(void)
{
    const es_dims in = {rnd(1, 3), rnd(1, 5), rnd(1, 5), rnd(1, 24)}, out = {in.n, 1, 1, in.c};
    int8_t *y = int8s(es_dims_count(&in));
    float *dy = floats(es_dims_count(&out)), *dz = floats(es_dims_count(&in));
    const int32_t act_min = rnd(-128, 0);
    expect("es_mean_hw_act_int8_bwd", es_mean_hw_act_int8_bwd(act_min, 127, &in, y, &out, dy, dz), ES_OK);
    expect("es_mean_hw_act_int8_bwd", es_mean_hw_act_int8_bwd(act_min, act_min, &in, y, &out, dy, dz),
           ES_ERR_ARG);
    expect("es_mean_hw_act_int8_bwd", es_mean_hw_act_int8_bwd(act_min, 127, &in, y, &in, dy, dz),
           in.h == 1 && in.w == 1 ? ES_OK : ES_ERR_SHAPE);
    free(y), free(dy), free(dz);
}

static void pool_kernels(void)
{
    const int32_t filter = rnd(1, 3), stride = rnd(1, 2), pad = rnd(0, filter - 1);
    const es_dims x_dims = {rnd(1, 2), rnd(2, 6), rnd(2, 6), rnd(1, 4)};
    const int32_t oh = (x_dims.h + 2 * pad - filter) / stride + 1, ow = (x_dims.w + 2 * pad - filter) / stride + 1;
    const es_dims y_dims = {x_dims.n, oh < 1 ? 1 : oh, ow < 1 ? 1 : ow, x_dims.c};
    const es_pool2d_params p = {filter, filter, stride, stride, pad, pad, ES_ACT_NONE};
    int8_t *x = int8s(es_dims_count(&x_dims));
    float *dz = floats(es_dims_count(&y_dims)), *dx = floats(es_dims_count(&x_dims));
    const es_status status = es_max_pool2d_int8_bwd(&p, &x_dims, x, &y_dims, dz, dx);
    expect("es_max_pool2d_int8_bwd", status == ES_ERR_SHAPE ? ES_OK : status, ES_OK);
    free(x), free(dz), free(dx);
}

static void update_kernels(void)
{
    const int32_t rows = rnd(1, 3), cols = rnd(1, 8), per = rnd(1, cols);
    const int32_t channels = (cols + per - 1) / per;
    const es_qas_span span = {rows, cols, cols + rnd(0, 3), cols, per};
    const int32_t n_param = rows * span.param_stride, n_grad = rows * cols;
    int8_t *w = int8s(n_param);
    int32_t *b = int32s(n_param);
    float *grad = floats(n_grad), *factor = positives(channels), *master = floats(n_grad);
    es_qas_params params = {1e-3f, ES_ROUND_NEAREST};
    expect("es_qas_int8_master_init", es_qas_int8_master_init(&span, w, master), ES_OK);
    expect("es_qas_int8_master_update", es_qas_int8_master_update(&params, &span, factor, grad, master, w),
           ES_OK);
    expect("es_qas_int32_master_init", es_qas_int32_master_init(&span, b, master), ES_OK);
    expect("es_qas_int32_master_update",
           es_qas_int32_master_update(&params, &span, factor, grad, master, b), ES_OK);
    params.rounding = ES_ROUND_STOCHASTIC;
    expect("es_qas_int8_master_update", es_qas_int8_master_update(&params, &span, factor, grad, master, w),
           ES_ERR_ARG);
    free(w), free(b), free(grad), free(factor), free(master);
}

static void image_kernels(void)
{
    const int32_t n8 = rnd(1, 9), n32 = rnd(1, 5), nf = rnd(1, 3);
    int8_t *w = int8s(n8);
    int32_t *b = int32s(n32);
    float *f = floats(nf);
    const es_param_record records[3] = {
        {7u, ES_PARAM_INT8, (uint32_t)n8, w, NULL, 0u},
        {3u, ES_PARAM_INT32, (uint32_t)n32, b, NULL, 0u},
        {9u, ES_PARAM_FLOAT32, (uint32_t)nf, f, NULL, 0u}};
    const size_t size = es_params_image_size(records, 3);
    unsigned char *image = (unsigned char *)malloc(size);
    expect("es_params_image_write", es_params_image_write(records, 3, image, size), ES_OK);
    expect("es_params_image_write", es_params_image_write(records, 3, image, size - 1), ES_ERR_ARG);
    expect("es_params_image_read", es_params_image_read(records, 3, image, size), ES_OK);
    expect("es_params_image_read", es_params_image_read(records, 2, image, size), ES_ERR_SHAPE);
    image[size - 1] ^= 0x40u;
    expect("es_params_image_read", es_params_image_read(records, 3, image, size), ES_ERR_ARG);
    expect("es_params_image_read", es_params_image_read(records, 3, image, 15), ES_ERR_ARG);
    free(w), free(b), free(f), free(image);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "overflow") == 0) {
        conv_kernels(1);
        return 0;
    }
    for (int round = 0; round < 300; ++round) {
        conv_kernels(0);
        depthwise_kernels();
        fully_connected_kernels();
        elementwise_kernels();
        mean_kernels();
        pool_kernels();
        update_kernels();
        image_kernels();
    }
    printf("failures %d\n", failures);
    return failures == 0 ? 0 : 1;
}
