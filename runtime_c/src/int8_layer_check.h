/*
 * int8_layer_check.h -- the argument checks of the int8 CONV_2D, DEPTHWISE_CONV_2D and
 * FULLY_CONNECTED forward kernels, shared by the reference kernels (conv2d_int8.c,
 * depthwise_conv2d_int8.c, fully_connected_int8.c), their fast variants (fast_int8.h,
 * fully_connected_fast_int8.c) and the fused convolution -> depthwise kernel; not part of the
 * public API.
 * One copy, so every kernel that takes these structs refuses the same arguments with the same status.
 */
#ifndef EDGESDK_INT8_LAYER_CHECK_H
#define EDGESDK_INT8_LAYER_CHECK_H

#include "edgesdk/conv2d_int8.h"
#include "edgesdk/depthwise_conv2d_int8.h"
#include "edgesdk/fully_connected_int8.h"
#include "edgesdk/requant.h"
#include "internal.h"
#include "weight_rows.h"

/* The requantization of each of count output channels is in range. */
static inline int es_requant_all_ok(const int32_t *multiplier, const int32_t *shift, int32_t count)
{
    int32_t i;
    for (i = 0; i < count; ++i) {
        if (!es_requant_ok(multiplier[i], shift[i])) {
            return 0;
        }
    }
    return 1;
}

/* es_conv2d_int8_fwd's checks (a split weight is allowed: w_tail / w_head_channels). */
static inline es_status es_conv2d_int8_check(const es_conv2d_int8_params *p, const es_dims *in_dims,
                                             const es_dims *w_dims, const es_dims *out_dims)
{
    if (p == NULL || p->multiplier == NULL || p->shift == NULL) {
        return ES_ERR_ARG;
    }
    ES_TRY(es_check_dims(in_dims));
    ES_TRY(es_check_dims(w_dims));
    ES_TRY(es_check_dims(out_dims));
    if (!es_axis_params_ok(p->stride_h, p->dilation_h, p->pad_top) ||
        !es_axis_params_ok(p->stride_w, p->dilation_w, p->pad_left) ||
        !es_zero_point_ok(-p->input_offset) || !es_zero_point_ok(p->output_offset) ||
        !es_int8_range_ok(p->act_min, p->act_max) ||
        !es_weight_split_ok(p->w_tail, p->w_head_channels, w_dims->n)) {
        return ES_ERR_ARG;
    }
    if (in_dims->n != out_dims->n || w_dims->c != in_dims->c || w_dims->n != out_dims->c ||
        !es_window_ok(in_dims->h, out_dims->h, w_dims->h, p->stride_h, p->dilation_h, p->pad_top) ||
        !es_window_ok(in_dims->w, out_dims->w, w_dims->w, p->stride_w, p->dilation_w, p->pad_left)) {
        return ES_ERR_SHAPE;
    }
    return es_requant_all_ok(p->multiplier, p->shift, out_dims->c) ? ES_OK : ES_ERR_ARG;
}

/* es_conv2d_int8_check for kernels that read one whole weight array: a split weight is refused. */
static inline es_status es_conv2d_int8_whole_check(const es_conv2d_int8_params *p, const es_dims *in_dims,
                                                   const es_dims *w_dims, const es_dims *out_dims)
{
    if (p != NULL && (p->w_tail != NULL || p->w_head_channels != 0)) {
        return ES_ERR_ARG;
    }
    return es_conv2d_int8_check(p, in_dims, w_dims, out_dims);
}

/* es_depthwise_conv2d_int8_fwd's checks. */
static inline es_status es_depthwise_conv2d_int8_check(const es_depthwise_conv2d_int8_params *p,
                                                       const es_dims *in_dims, const es_dims *w_dims,
                                                       const es_dims *out_dims)
{
    if (p == NULL || p->multiplier == NULL || p->shift == NULL) {
        return ES_ERR_ARG;
    }
    ES_TRY(es_check_dims(in_dims));
    ES_TRY(es_check_dims(w_dims));
    ES_TRY(es_check_dims(out_dims));
    if (!es_axis_params_ok(p->stride_h, p->dilation_h, p->pad_top) ||
        !es_axis_params_ok(p->stride_w, p->dilation_w, p->pad_left) || p->depth_multiplier < 1 ||
        !es_zero_point_ok(-p->input_offset) || !es_zero_point_ok(p->output_offset) ||
        !es_int8_range_ok(p->act_min, p->act_max)) {
        return ES_ERR_ARG;
    }
    if (in_dims->n != out_dims->n || w_dims->n != 1 ||
        w_dims->c != in_dims->c * p->depth_multiplier || out_dims->c != w_dims->c ||
        !es_window_ok(in_dims->h, out_dims->h, w_dims->h, p->stride_h, p->dilation_h, p->pad_top) ||
        !es_window_ok(in_dims->w, out_dims->w, w_dims->w, p->stride_w, p->dilation_w, p->pad_left)) {
        return ES_ERR_SHAPE;
    }
    return es_requant_all_ok(p->multiplier, p->shift, out_dims->c) ? ES_OK : ES_ERR_ARG;
}

/* es_fully_connected_int8_fwd's checks; *rows gets the number of input rows. */
static inline es_status es_fully_connected_int8_check(const es_fully_connected_int8_params *p,
                                                      const es_dims *in_dims, const es_dims *w_dims,
                                                      const es_dims *out_dims, int32_t *rows)
{
    if (p == NULL || p->multiplier == NULL || p->shift == NULL) {
        return ES_ERR_ARG;
    }
    ES_TRY(es_check_dims(in_dims));
    ES_TRY(es_check_dims(w_dims));
    ES_TRY(es_check_dims(out_dims));
    if (!es_zero_point_ok(-p->input_offset) || !es_zero_point_ok(-p->weights_offset) ||
        !es_zero_point_ok(p->output_offset) || !es_int8_range_ok(p->act_min, p->act_max) ||
        !es_weight_split_ok(p->w_tail, p->w_head_channels, w_dims->n)) {
        return ES_ERR_ARG;
    }
    *rows = in_dims->n * in_dims->h * in_dims->w;
    if (w_dims->h != 1 || w_dims->w != 1 || w_dims->c != in_dims->c || out_dims->c != w_dims->n ||
        out_dims->n * out_dims->h * out_dims->w != *rows) {
        return ES_ERR_SHAPE;
    }
    return es_requant_all_ok(p->multiplier, p->shift, w_dims->n) ? ES_OK : ES_ERR_ARG;
}

#endif /* EDGESDK_INT8_LAYER_CHECK_H */
