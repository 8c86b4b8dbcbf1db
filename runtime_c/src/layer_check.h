/*
 * layer_check.h -- argument checks that the float32 kernels and the int8-input backward kernels of
 * the same layer share (the int8 backward runs the float32 loops on dequantized reads, so it takes
 * the same parameters and shapes); not part of the public API.
 */
#ifndef EDGESDK_LAYER_CHECK_H
#define EDGESDK_LAYER_CHECK_H

#include "edgesdk/conv2d_f32.h"
#include "edgesdk/depthwise_conv2d_f32.h"
#include "edgesdk/fully_connected_f32.h"
#include "edgesdk/pool_f32.h"
#include "internal.h"

/* ---- CONV_2D */

/* Params in range and shapes consistent (forward, input and weight gradients). */
static inline es_status es_conv2d_check(const es_conv2d_params *p, const es_dims *in_dims,
                              const es_dims *out_dims, int32_t kh, int32_t kw, int32_t ic,
                              int32_t oc)
{
    if (p == NULL || !es_activation_ok(p->activation) ||
        !es_axis_params_ok(p->stride_h, p->dilation_h, p->pad_top) ||
        !es_axis_params_ok(p->stride_w, p->dilation_w, p->pad_left)) {
        return ES_ERR_ARG;
    }
    ES_TRY(es_check_dims(in_dims));
    ES_TRY(es_check_dims(out_dims));
    if (in_dims->c != ic || out_dims->c != oc || out_dims->n != in_dims->n) {
        return ES_ERR_SHAPE;
    }
    if (!es_window_ok(in_dims->h, out_dims->h, kh, p->stride_h, p->dilation_h, p->pad_top) ||
        !es_window_ok(in_dims->w, out_dims->w, kw, p->stride_w, p->dilation_w, p->pad_left)) {
        return ES_ERR_SHAPE;
    }
    return ES_OK;
}

/* ---- DEPTHWISE_CONV_2D */

/* Params and shapes of all passes; out_c is C*M, the full number of output channels. */
static inline es_status es_depthwise_check(const es_depthwise_conv2d_params *p, const es_dims *in_dims,
                                 const es_dims *out_dims, int32_t kh, int32_t kw)
{
    if (p == NULL || !es_activation_ok(p->activation) || p->depth_multiplier < 1 ||
        !es_axis_params_ok(p->stride_h, p->dilation_h, p->pad_top) ||
        !es_axis_params_ok(p->stride_w, p->dilation_w, p->pad_left)) {
        return ES_ERR_ARG;
    }
    ES_TRY(es_check_dims(in_dims));
    ES_TRY(es_check_dims(out_dims));
    if (out_dims->n != in_dims->n || out_dims->c != in_dims->c * p->depth_multiplier) {
        return ES_ERR_SHAPE;
    }
    if (!es_window_ok(in_dims->h, out_dims->h, kh, p->stride_h, p->dilation_h, p->pad_top) ||
        !es_window_ok(in_dims->w, out_dims->w, kw, p->stride_w, p->dilation_w, p->pad_left)) {
        return ES_ERR_SHAPE;
    }
    return ES_OK;
}

/* The weight tensor must be [1, KH, KW, C*M]. */
static inline es_status es_depthwise_weights_check(const es_dims *w_dims, const es_dims *out_dims)
{
    ES_TRY(es_check_dims(w_dims));
    return w_dims->n == 1 && w_dims->c == out_dims->c ? ES_OK : ES_ERR_SHAPE;
}

/* ---- FULLY_CONNECTED */

/*
 * Checks that x holds rows of `features` values and y holds the same number of rows of
 * `outputs` values; stores the row count.
 */
static inline es_status es_fc_rows_check(const es_dims *in_dims, const es_dims *out_dims, int32_t features,
                            int32_t outputs, int32_t *rows)
{
    ES_TRY(es_check_dims(in_dims));
    ES_TRY(es_check_dims(out_dims));
    const int32_t in_count = es_dims_count(in_dims);
    if (features < 1 || in_count % features != 0 || out_dims->c != outputs) {
        return ES_ERR_SHAPE;
    }
    *rows = in_count / features;
    return es_dims_count(out_dims) == *rows * outputs ? ES_OK : ES_ERR_SHAPE;
}

/* The weight tensor must be [O, 1, 1, K]. */
static inline es_status es_fc_weights_check(const es_dims *w_dims)
{
    ES_TRY(es_check_dims(w_dims));
    return w_dims->h == 1 && w_dims->w == 1 ? ES_OK : ES_ERR_SHAPE;
}

/* ---- AVERAGE_POOL_2D / MAX_POOL_2D */

/* ES_ERR_ARG for bad parameters, ES_ERR_SHAPE for dims that disagree with them, else ES_OK. */
static inline es_status es_pool2d_check(const es_pool2d_params *p, const es_dims *in_dims,
                                        const es_dims *out_dims)
{
    if (p == NULL || !es_activation_ok(p->activation) || p->filter_h < 1 || p->filter_w < 1 ||
        !es_axis_params_ok(p->stride_h, 1, p->pad_top) ||
        !es_axis_params_ok(p->stride_w, 1, p->pad_left)) {
        return ES_ERR_ARG;
    }
    ES_TRY(es_check_dims(in_dims));
    ES_TRY(es_check_dims(out_dims));
    if (out_dims->n != in_dims->n || out_dims->c != in_dims->c) {
        return ES_ERR_SHAPE;
    }
    if (!es_window_ok(in_dims->h, out_dims->h, p->filter_h, p->stride_h, 1, p->pad_top) ||
        !es_window_ok(in_dims->w, out_dims->w, p->filter_w, p->stride_w, 1, p->pad_left)) {
        return ES_ERR_SHAPE;
    }
    return ES_OK;
}

#endif /* EDGESDK_LAYER_CHECK_H */
