/*
 * slice_int8.c -- SLICE in int8 (edgesdk/slice_int8.h).
 */
#include "edgesdk/slice_int8.h"

#include <string.h>

#include "internal.h"

es_status es_slice_int8_fwd(const es_slice_int8_params *params,
                            const es_dims *in_dims, const int8_t *in,
                            const es_dims *out_dims, int8_t *out)
{
    int32_t axis, n, h, w, c;
    const int32_t *begin, *stride;
    int32_t in_extent[4], out_extent[4];
    if (params == NULL || in == NULL || out == NULL) {
        return ES_ERR_ARG;
    }
    ES_TRY(es_check_dims(in_dims));
    ES_TRY(es_check_dims(out_dims));
    begin = params->begin;
    stride = params->stride;
    in_extent[0] = in_dims->n;
    in_extent[1] = in_dims->h;
    in_extent[2] = in_dims->w;
    in_extent[3] = in_dims->c;
    out_extent[0] = out_dims->n;
    out_extent[1] = out_dims->h;
    out_extent[2] = out_dims->w;
    out_extent[3] = out_dims->c;
    for (axis = 0; axis < 4; ++axis) {
        if (begin[axis] < 0 || stride[axis] < 1) {
            return ES_ERR_ARG;
        }
        /* the last element read, computed without overflow: begin + (out - 1) * stride < in */
        if (begin[axis] >= in_extent[axis] ||
            (out_extent[axis] - 1) > (in_extent[axis] - 1 - begin[axis]) / stride[axis]) {
            return ES_ERR_SHAPE;
        }
    }
    for (n = 0; n < out_dims->n; ++n) {
        for (h = 0; h < out_dims->h; ++h) {
            for (w = 0; w < out_dims->w; ++w) {
                const int32_t row = ((begin[0] + n * stride[0]) * in_dims->h + begin[1] + h * stride[1]) *
                                        in_dims->w + begin[2] + w * stride[2];
                const int8_t *from = in + row * in_dims->c + begin[3];
                int8_t *to = out + ((n * out_dims->h + h) * out_dims->w + w) * out_dims->c;
                if (stride[3] == 1) {
                    memcpy(to, from, (size_t)out_dims->c);
                } else {
                    for (c = 0; c < out_dims->c; ++c) {
                        to[c] = from[c * stride[3]];
                    }
                }
            }
        }
    }
    return ES_OK;
}
