/*
 * int8_split_sanitize.c -- the int8 kernels that read or update a split weight (the trainable
 * output-channel rows in one array, the frozen rows in another) over pseudo-random shapes, with
 * every array on the heap exactly sized, for a build with -fsanitize=address,undefined: a read or
 * write past the RAM rows or the frozen rows is reported.
 *
 * The updates (fused gradient + QAS, the unfused QAS step, master copies) get the RAM rows alone,
 * k rows of a weight of OC output channels: they must never index past them.
 *
 *   int8_split_sanitize            run everything, print "called <kernel>" per kernel, exit 0
 *   int8_split_sanitize overread   control: a forward conv whose RAM rows are one row short
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edgesdk/kernels_int8.h"
#include "edgesdk/train_int8.h"

#define DRIVER_SEED 88675123u
#include "driver_util.h"

static float *floats(int32_t count)
{
    float *p = (float *)malloc((size_t)count * sizeof(float));
    for (int32_t i = 0; i < count; ++i) {
        p[i] = (float)rnd(-100000, 100000) * 1e-4f;
    }
    return p;
}

static int32_t *requant(int32_t count, int shift)
{
    int32_t *p = (int32_t *)malloc((size_t)count * sizeof(int32_t));
    for (int32_t i = 0; i < count; ++i) {
        p[i] = shift ? rnd(-10, 0) : rnd(1 << 30, INT32_MAX);
    }
    return p;
}

/* A weight of oc rows of `row` elements, split after k rows: two exactly sized heap arrays. */
typedef struct {
    int8_t *head; /* rows 0..k-1 (RAM) */
    int8_t *tail; /* rows k..oc-1 (flash) */
    int32_t k;
} split_weight;

static split_weight random_split(int32_t oc, int32_t row, int32_t short_rows)
{
    split_weight s;
    s.k = rnd(1, oc - 1);
    s.head = int8s((s.k - short_rows) * row);
    s.tail = int8s((oc - s.k) * row);
    return s;
}

/* A conv layer (windows start inside the input) with oc >= 2 output channels. */
typedef struct {
    es_dims x, y, w;
    int32_t stride, dilation, pad;
} layer;

static layer random_layer(void)
{
    layer l;
    const int32_t kernel = rnd(1, 3);
    l.stride = rnd(1, 2);
    l.dilation = rnd(1, 2);
    l.pad = rnd(0, (kernel - 1) * l.dilation);
    l.x = (es_dims){rnd(1, 2), rnd(3, 7), rnd(3, 7), rnd(1, 5)};
    const int32_t span = (kernel - 1) * l.dilation + 1;
    const int32_t oh = (l.x.h + 2 * l.pad - span) / l.stride + 1;
    const int32_t ow = (l.x.w + 2 * l.pad - span) / l.stride + 1;
    const int32_t oc = rnd(2, 7);
    l.y = (es_dims){l.x.n, oh < 1 ? 1 : oh, ow < 1 ? 1 : ow, oc};
    l.w = (es_dims){oc, kernel, kernel, l.x.c};
    return l;
}

static void conv_kernels(int short_rows)
{
    const layer l = random_layer();
    const int32_t oc = l.w.n, row = l.w.h * l.w.w * l.w.c;
    const split_weight w = random_split(oc, row, short_rows);
    int32_t *multiplier = requant(oc, 0), *shift = requant(oc, 1);
    const es_conv2d_int8_params fwd = {l.stride, l.stride, l.dilation, l.dilation, l.pad, l.pad,
                                       rnd(-127, 128), rnd(-128, 127), -128, 127, multiplier, shift,
                                       w.tail, w.k};
    const es_conv2d_params geometry = {l.stride, l.stride, l.dilation, l.dilation, l.pad, l.pad,
                                       ES_ACT_NONE};
    const int32_t nx = es_dims_count(&l.x), ny = es_dims_count(&l.y);
    int8_t *x = int8s(nx), *y = int8s(ny);
    float *dz = floats(ny), *dx = floats(nx), *scale = positives(oc), *factor = positives(w.k);
    float *master = floats(w.k * row), *scratch = (float *)malloc(es_conv2d_int8_bwd_w_qas_scratch_size(&l.w));
    const es_weights_int8_quant wq = {scale, 0, w.tail, w.k};
    const es_affine_int8_params xq = {0.02f, rnd(-128, 127)};
    es_qas_layer_params qas = {1e-2f, ES_ROUND_STOCHASTIC, w.k, factor};
    uint32_t rng = 4242u;

    expect("es_conv2d_int8_fwd", es_conv2d_int8_fwd(&fwd, &l.x, x, &l.w, w.head, NULL, &l.y, y), ES_OK);
    if (short_rows) {
        return; /* the control stops at the read past the RAM rows */
    }
    expect("es_conv2d_int8_bwd_in",
           es_conv2d_int8_bwd_in(&geometry, &wq, &l.y, dz, &l.w, w.head, &l.x, dx), ES_OK);
    /* the updates get the k RAM rows alone (w_dims: the whole weight) */
    expect("es_conv2d_int8_bwd_w_qas",
           es_conv2d_int8_bwd_w_qas(&geometry, &xq, &qas, &l.y, dz, &l.x, x, &l.w, w.head, NULL, &rng,
                                    scratch), ES_OK);
    qas.rounding = ES_ROUND_NEAREST;
    expect("es_conv2d_int8_bwd_w_qas",
           es_conv2d_int8_bwd_w_qas(&geometry, &xq, &qas, &l.y, dz, &l.x, x, &l.w, w.head, master, NULL,
                                    scratch), ES_OK);
    free(x), free(y), free(dz), free(dx), free(scale), free(factor), free(master), free(scratch);
    free(multiplier), free(shift), free(w.head), free(w.tail);
}

static void fully_connected_kernels(void)
{
    const int32_t rows = rnd(1, 3), in_c = rnd(1, 20), oc = rnd(2, 9);
    const es_dims x_dims = {rows, 1, 1, in_c}, y_dims = {rows, 1, 1, oc}, w_dims = {oc, 1, 1, in_c};
    const split_weight w = random_split(oc, in_c, 0);
    int32_t *multiplier = requant(oc, 0), *shift = requant(oc, 1);
    const es_fully_connected_int8_params fwd = {rnd(-127, 128), rnd(-127, 128), rnd(-128, 127), -128, 127,
                                                multiplier, shift, w.tail, w.k};
    int8_t *x = int8s(rows * in_c), *y = int8s(rows * oc);
    float *dz = floats(rows * oc), *dx = floats(rows * in_c), *scale = positives(oc);
    float *factor = positives(w.k), *grad = floats(w.k * in_c), *master = floats(w.k * in_c);
    float *scratch = (float *)malloc(es_fully_connected_int8_bwd_w_qas_scratch_size(&w_dims));
    const es_weights_int8_quant wq = {scale, rnd(-5, 5), w.tail, w.k};
    const es_affine_int8_params xq = {0.1f, rnd(-128, 127)};
    const es_qas_layer_params qas = {5e-2f, ES_ROUND_STOCHASTIC, w.k, factor};
    /* the unfused update's span over the k rows: {1, k*IN, OUT*IN, k*IN, IN} */
    const es_qas_span span = {1, w.k * in_c, oc * in_c, w.k * in_c, in_c};
    const es_qas_params step = {5e-2f, ES_ROUND_NEAREST};
    uint32_t rng = 17u;

    expect("es_fully_connected_int8_fwd",
           es_fully_connected_int8_fwd(&fwd, &x_dims, x, &w_dims, w.head, NULL, &y_dims, y), ES_OK);
    expect("es_fully_connected_int8_bwd_in",
           es_fully_connected_int8_bwd_in(&wq, &y_dims, dz, &w_dims, w.head, &x_dims, dx), ES_OK);
    expect("es_fully_connected_int8_bwd_w_qas",
           es_fully_connected_int8_bwd_w_qas(&xq, &qas, &y_dims, dz, &x_dims, x, &w_dims, w.head, NULL, &rng,
                                             scratch), ES_OK);
    expect("es_qas_int8_update", es_qas_int8_update(&step, &span, factor, grad, NULL, w.head), ES_OK);
    expect("es_qas_int8_master_init", es_qas_int8_master_init(&span, w.head, master), ES_OK);
    expect("es_qas_int8_master_update",
           es_qas_int8_master_update(&step, &span, factor, grad, master, w.head), ES_OK);
    free(x), free(y), free(dz), free(dx), free(scale), free(factor), free(grad), free(master);
    free(scratch), free(multiplier), free(shift), free(w.head), free(w.tail);
}

static void image_kernels(void)
{
    const int32_t oc = rnd(2, 6), row = rnd(1, 7), n32 = rnd(2, 6);
    const split_weight w = random_split(oc, row, 0);
    const int32_t k32 = rnd(1, n32 - 1);
    int32_t *b_head = (int32_t *)malloc((size_t)k32 * sizeof(int32_t));
    int32_t *b_tail = (int32_t *)malloc((size_t)(n32 - k32) * sizeof(int32_t));
    for (int32_t i = 0; i < n32; ++i) {
        (i < k32 ? b_head : b_tail)[i < k32 ? i : i - k32] = rnd(-100000, 100000);
    }
    es_param_record records[2] = {
        {5u, ES_PARAM_INT8, (uint32_t)(oc * row), w.head, w.tail, (uint32_t)(w.k * row)},
        {6u, ES_PARAM_INT32, (uint32_t)n32, b_head, b_tail, (uint32_t)k32}};
    const size_t size = es_params_image_size(records, 2);
    unsigned char *image = (unsigned char *)malloc(size);
    expect("es_params_image_write", es_params_image_write(records, 2, image, size), ES_OK);
    expect("es_params_image_read", es_params_image_read(records, 2, image, size), ES_OK);
    image[size - 1] ^= 0x01u; /* the last frozen int32, its CRC made right again */
    const uint32_t crc = es_crc32(0u, image + 16, size - 16);
    image[12] = (unsigned char)crc, image[13] = (unsigned char)(crc >> 8);
    image[14] = (unsigned char)(crc >> 16), image[15] = (unsigned char)(crc >> 24);
    expect("es_params_image_read", es_params_image_read(records, 2, image, size), ES_ERR_SHAPE);
    records[0].head_count = records[0].count + 1u;
    expect("es_params_image_write", es_params_image_write(records, 2, image, size), ES_ERR_ARG);
    free(image), free(w.head), free(w.tail), free(b_head), free(b_tail);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "overread") == 0) {
        conv_kernels(1);
        return 0;
    }
    for (int round = 0; round < 300; ++round) {
        conv_kernels(0);
        fully_connected_kernels();
        image_kernels();
    }
    printf("failures %d\n", failures);
    return failures == 0 ? 0 : 1;
}
