/*
 * pad_f32.c -- PAD in float32: forward (zero padding) and input gradient (crop).
 * Contracts: edgesdk/pad_f32.h.
 */
#include "edgesdk/pad_f32.h"

#include <string.h>

#include "internal.h"

/* out = in + before + after on every axis, amounts >= 0. */
static es_status check_pad(const es_pad_params *p, const es_dims *in_dims,
                           const es_dims *out_dims)
{
    if (p == NULL) {
        return ES_ERR_ARG;
    }
    for (int i = 0; i < 4; ++i) {
        if (p->before[i] < 0 || p->after[i] < 0) {
            return ES_ERR_ARG;
        }
    }
    ES_TRY(es_check_dims(in_dims));
    ES_TRY(es_check_dims(out_dims));
    if (out_dims->n != in_dims->n + p->before[0] + p->after[0] ||
        out_dims->h != in_dims->h + p->before[1] + p->after[1] ||
        out_dims->w != in_dims->w + p->before[2] + p->after[2] ||
        out_dims->c != in_dims->c + p->before[3] + p->after[3]) {
        return ES_ERR_SHAPE;
    }
    return ES_OK;
}

/* Offset in the padded tensor of the first channel of input pixel (n, h, w). */
static int32_t padded_offset(const es_pad_params *p, const es_dims *out_dims, int32_t n,
                             int32_t h, int32_t w)
{
    return (((n + p->before[0]) * out_dims->h + h + p->before[1]) * out_dims->w + w +
            p->before[2]) * out_dims->c + p->before[3];
}

es_status es_pad_f32_fwd(const es_pad_params *params,
                         const es_dims *in_dims, const float *in,
                         const es_dims *out_dims, float *out)
{
    if (in == NULL || out == NULL) {
        return ES_ERR_ARG;
    }
    ES_TRY(check_pad(params, in_dims, out_dims));
    const int32_t out_count = es_dims_count(out_dims);
    for (int32_t i = 0; i < out_count; ++i) {
        out[i] = 0.0f;
    }
    const size_t row_bytes = (size_t)in_dims->c * sizeof(float);
    for (int32_t n = 0; n < in_dims->n; ++n) {
        for (int32_t h = 0; h < in_dims->h; ++h) {
            for (int32_t w = 0; w < in_dims->w; ++w) {
                const float *x = in + ((n * in_dims->h + h) * in_dims->w + w) * in_dims->c;
                memcpy(out + padded_offset(params, out_dims, n, h, w), x, row_bytes);
            }
        }
    }
    return ES_OK;
}

es_status es_pad_f32_bwd(const es_pad_params *params,
                         const es_dims *out_dims, const float *dy,
                         const es_dims *in_dims, float *dx)
{
    if (dy == NULL || dx == NULL) {
        return ES_ERR_ARG;
    }
    ES_TRY(check_pad(params, in_dims, out_dims));
    const size_t row_bytes = (size_t)in_dims->c * sizeof(float);
    for (int32_t n = 0; n < in_dims->n; ++n) {
        for (int32_t h = 0; h < in_dims->h; ++h) {
            for (int32_t w = 0; w < in_dims->w; ++w) {
                float *g = dx + ((n * in_dims->h + h) * in_dims->w + w) * in_dims->c;
                memcpy(g, dy + padded_offset(params, out_dims, n, h, w), row_bytes);
            }
        }
    }
    return ES_OK;
}
