/*
 * concat_f32.c -- CONCATENATION in float32: forward and the gradient of one input.
 * Contracts: edgesdk/concat_f32.h.
 */
#include "edgesdk/concat_f32.h"

#include <string.h>

#include "internal.h"

/* The four extents of dims as an array indexed by axis. */
static void extents(const es_dims *dims, int32_t ext[4])
{
    ext[0] = dims->n;
    ext[1] = dims->h;
    ext[2] = dims->w;
    ext[3] = dims->c;
}

/* Product of the extents before axis (the number of contiguous blocks). */
static int32_t outer_count(const int32_t ext[4], int32_t axis)
{
    int32_t outer = 1;
    for (int32_t i = 0; i < axis; ++i) {
        outer *= ext[i];
    }
    return outer;
}

/* Product of the extents after axis (elements per step along axis). */
static int32_t inner_count(const int32_t ext[4], int32_t axis)
{
    int32_t inner = 1;
    for (int32_t i = axis + 1; i < 4; ++i) {
        inner *= ext[i];
    }
    return inner;
}

/* 1 when a and b agree on every axis but `axis`. */
static int same_except(const int32_t a[4], const int32_t b[4], int32_t axis)
{
    for (int32_t i = 0; i < 4; ++i) {
        if (i != axis && a[i] != b[i]) {
            return 0;
        }
    }
    return 1;
}

es_status es_concat_f32_fwd(const es_concat_params *params, int32_t count,
                            const es_dims *in_dims, const float *const *in,
                            const es_dims *out_dims, float *out)
{
    if (params == NULL || in_dims == NULL || in == NULL || out == NULL || count < 1 ||
        params->axis < 0 || params->axis > 3 || !es_activation_ok(params->activation)) {
        return ES_ERR_ARG;
    }
    ES_TRY(es_check_dims(out_dims));
    const int32_t axis = params->axis;
    int32_t out_ext[4];
    extents(out_dims, out_ext);
    int32_t total = 0;
    for (int32_t i = 0; i < count; ++i) {
        int32_t ext[4];
        if (in[i] == NULL) {
            return ES_ERR_ARG;
        }
        ES_TRY(es_check_dims(&in_dims[i]));
        extents(&in_dims[i], ext);
        if (!same_except(ext, out_ext, axis)) {
            return ES_ERR_SHAPE;
        }
        total += ext[axis];
    }
    if (total != out_ext[axis]) {
        return ES_ERR_SHAPE;
    }

    const int32_t outer = outer_count(out_ext, axis), inner = inner_count(out_ext, axis);
    const int32_t out_block = out_ext[axis] * inner;
    int32_t offset = 0;
    for (int32_t i = 0; i < count; ++i) {
        int32_t ext[4];
        extents(&in_dims[i], ext);
        const int32_t block = ext[axis] * inner;
        for (int32_t o = 0; o < outer; ++o) {
            const float *x = in[i] + o * block;
            float *y = out + o * out_block + offset;
            for (int32_t j = 0; j < block; ++j) {
                y[j] = es_activate(params->activation, x[j]);
            }
        }
        offset += block;
    }
    return ES_OK;
}

es_status es_concat_f32_bwd(const es_concat_slice_params *params,
                            const es_dims *out_dims, const float *dy,
                            const es_dims *in_dims, float *dx)
{
    if (params == NULL || dy == NULL || dx == NULL || params->axis < 0 || params->axis > 3 ||
        params->offset < 0) {
        return ES_ERR_ARG;
    }
    ES_TRY(es_check_dims(out_dims));
    ES_TRY(es_check_dims(in_dims));
    const int32_t axis = params->axis;
    int32_t out_ext[4], ext[4];
    extents(out_dims, out_ext);
    extents(in_dims, ext);
    if (!same_except(ext, out_ext, axis) || params->offset + ext[axis] > out_ext[axis]) {
        return ES_ERR_SHAPE;
    }

    const int32_t outer = outer_count(out_ext, axis), inner = inner_count(out_ext, axis);
    const int32_t block = ext[axis] * inner, out_block = out_ext[axis] * inner;
    for (int32_t o = 0; o < outer; ++o) {
        memcpy(dx + o * block, dy + o * out_block + params->offset * inner,
               (size_t)block * sizeof(float));
    }
    return ES_OK;
}
