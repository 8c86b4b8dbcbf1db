/*
 * internal.h -- helpers shared by the kernel sources; not part of the public API.
 */
#ifndef EDGESDK_INTERNAL_H
#define EDGESDK_INTERNAL_H

#include "edgesdk/common.h"

/* 1 when every dimension is >= 1. */
static inline int es_dims_ok(const es_dims *dims)
{
    return dims != NULL && dims->n >= 1 && dims->h >= 1 && dims->w >= 1 && dims->c >= 1;
}

/* ES_ERR_ARG for a NULL dims pointer, ES_ERR_SHAPE for a dimension < 1, else ES_OK. */
static inline es_status es_check_dims(const es_dims *dims)
{
    if (dims == NULL) {
        return ES_ERR_ARG;
    }
    return es_dims_ok(dims) ? ES_OK : ES_ERR_SHAPE;
}

/* 1 when both shapes are the same. */
static inline int es_dims_equal(const es_dims *a, const es_dims *b)
{
    return a->n == b->n && a->h == b->h && a->w == b->w && a->c == b->c;
}

/* 1 for a known es_activation value. */
static inline int es_activation_ok(es_activation act)
{
    return act == ES_ACT_NONE || act == ES_ACT_RELU || act == ES_ACT_RELU6;
}

/*
 * 1 when the gradient passes a fused activation at its saved float32 output y = f(z), i.e.
 * f'(z) = 1: relu y > 0, relu6 0 < y < 6, none always (NaN never passes relu / relu6).
 * es_act_f32_bwd and es_mean_hw_act_f32_bwd test with it, so their masks are the same.
 */
static inline int es_act_f32_passes(es_activation act, float y)
{
    if (act == ES_ACT_RELU) {
        return y > 0.0f;
    }
    if (act == ES_ACT_RELU6) {
        return y > 0.0f && y < 6.0f;
    }
    return 1;
}

/* 1 for clamp bounds of an int8 fused activation: -128 <= act_min < act_max <= 127. */
static inline int es_act_int8_bounds_ok(int32_t act_min, int32_t act_max)
{
    return act_min >= -128 && act_max <= 127 && act_min < act_max;
}

/*
 * 1 when the gradient passes an int8 fused activation at its saved output q: q lies strictly
 * inside the clamp bounds (the forward did not clamp it). es_act_int8_bwd and
 * es_mean_hw_act_int8_bwd test with it.
 */
static inline int es_act_int8_passes(int32_t act_min, int32_t act_max, int32_t q)
{
    return q > act_min && q < act_max;
}

/* MEAN over H and W: ES_OK when out_dims is {N, 1, 1, C} for in_dims {N, H, W, C}. */
static inline es_status es_mean_hw_check(const es_dims *in_dims, const es_dims *out_dims)
{
    ES_TRY(es_check_dims(in_dims));
    ES_TRY(es_check_dims(out_dims));
    if (out_dims->n != in_dims->n || out_dims->h != 1 || out_dims->w != 1 ||
        out_dims->c != in_dims->c) {
        return ES_ERR_SHAPE;
    }
    return ES_OK;
}

/* y = f(z) for a fused activation. */
static inline float es_activate(es_activation act, float z)
{
    if (act == ES_ACT_NONE) {
        return z;
    }
    if (z < 0.0f) {
        return 0.0f;
    }
    if (act == ES_ACT_RELU6 && z > 6.0f) {
        return 6.0f;
    }
    return z;
}

/* 1 when one axis' stride, dilation and pad_before are in their ranges (>= 1, >= 1, >= 0). */
static inline int es_axis_params_ok(int32_t stride, int32_t dilation, int32_t pad_before)
{
    return stride >= 1 && dilation >= 1 && pad_before >= 0;
}

/*
 * 1 when a sliding window along one axis is well formed: kernel size k, stride, dilation and
 * pad_before are in range, and each of the n_out windows starts inside the input of length
 * n_in (the first one may start up to (k-1)*dilation before it).
 */
static inline int es_window_ok(int32_t n_in, int32_t n_out, int32_t k, int32_t stride,
                               int32_t dilation, int32_t pad_before)
{
    if (k < 1 || stride < 1 || dilation < 1 || pad_before < 0 || n_in < 1 || n_out < 1) {
        return 0;
    }
    if (pad_before > (k - 1) * dilation) {
        return 0;
    }
    return (n_out - 1) * stride - pad_before <= n_in - 1;
}

/* The in-bounds part [*lo, *hi) of a window of `filter` taps starting at `start` on an axis of
 * length n_in (pooling: out-of-bounds taps are skipped, not read as zero). */
static inline void es_clip_window(int32_t start, int32_t filter, int32_t n_in, int32_t *lo,
                                  int32_t *hi)
{
    *lo = start < 0 ? 0 : start;
    *hi = start + filter > n_in ? n_in : start + filter;
}

/*
 * The output index o whose window places tap t at input index i, i.e.
 * i = o*stride - pad_before + t*dilation; -1 when there is none in [0, n_out).
 */
static inline int32_t es_window_source(int32_t i, int32_t t, int32_t stride, int32_t dilation,
                                       int32_t pad_before, int32_t n_out)
{
    const int32_t num = i + pad_before - t * dilation;
    if (num < 0 || num % stride != 0) {
        return -1;
    }
    return num / stride < n_out ? num / stride : -1;
}

/*
 * Inner loops, unrolled by 4 to cut loop overhead on the microcontroller. The unrolling keeps
 * the order: each element's arithmetic is exactly that of the plain loop, so results are the
 * same bits.
 */

/* acc + a[0]*b[0] + a[1]*b[1] + ... added one product at a time, in index order. */
static inline float es_dot_f32(float acc, const float *a, const float *b, int32_t n)
{
    int32_t i = 0;
    for (; i + 4 <= n; i += 4) {
        acc += a[i] * b[i];
        acc += a[i + 1] * b[i + 1];
        acc += a[i + 2] * b[i + 2];
        acc += a[i + 3] * b[i + 3];
    }
    for (; i < n; ++i) {
        acc += a[i] * b[i];
    }
    return acc;
}

/* y[i] += s * x[i] for i < n. */
static inline void es_axpy_f32(float *y, float s, const float *x, int32_t n)
{
    int32_t i = 0;
    for (; i + 4 <= n; i += 4) {
        y[i] += s * x[i];
        y[i + 1] += s * x[i + 1];
        y[i + 2] += s * x[i + 2];
        y[i + 3] += s * x[i + 3];
    }
    for (; i < n; ++i) {
        y[i] += s * x[i];
    }
}

/* y[i] += a[i] * b[i] for i < n. */
static inline void es_vmac_f32(float *y, const float *a, const float *b, int32_t n)
{
    int32_t i = 0;
    for (; i + 4 <= n; i += 4) {
        y[i] += a[i] * b[i];
        y[i + 1] += a[i + 1] * b[i + 1];
        y[i + 2] += a[i + 2] * b[i + 2];
        y[i + 3] += a[i + 3] * b[i + 3];
    }
    for (; i < n; ++i) {
        y[i] += a[i] * b[i];
    }
}

#endif /* EDGESDK_INTERNAL_H */
