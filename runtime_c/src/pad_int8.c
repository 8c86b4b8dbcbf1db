/*
 * pad_int8.c -- PAD in int8 (edgesdk/pad_int8.h).
 */
#include "edgesdk/pad_int8.h"

#include <string.h>

#include "internal.h"

es_status es_pad_int8_fwd(const es_pad_int8_params *params,
                          const es_dims *in_dims, const int8_t *in,
                          const es_dims *out_dims, int8_t *out)
{
    int32_t axis, n, h, w;
    const int32_t *before;
    if (params == NULL || in == NULL || out == NULL) {
        return ES_ERR_ARG;
    }
    ES_TRY(es_check_dims(in_dims));
    ES_TRY(es_check_dims(out_dims));
    for (axis = 0; axis < 4; ++axis) {
        if (params->before[axis] < 0 || params->after[axis] < 0) {
            return ES_ERR_ARG;
        }
    }
    if (params->pad_value < -128 || params->pad_value > 127) {
        return ES_ERR_ARG;
    }
    before = params->before;
    if (out_dims->n != in_dims->n + before[0] + params->after[0] ||
        out_dims->h != in_dims->h + before[1] + params->after[1] ||
        out_dims->w != in_dims->w + before[2] + params->after[2] ||
        out_dims->c != in_dims->c + before[3] + params->after[3]) {
        return ES_ERR_SHAPE;
    }
    memset(out, params->pad_value, (size_t)es_dims_count(out_dims));
    for (n = 0; n < in_dims->n; ++n) {
        for (h = 0; h < in_dims->h; ++h) {
            for (w = 0; w < in_dims->w; ++w) {
                const int32_t o = (((n + before[0]) * out_dims->h + h + before[1]) * out_dims->w + w + before[2]) *
                                      out_dims->c + before[3];
                memcpy(out + o, in + ((n * in_dims->h + h) * in_dims->w + w) * in_dims->c, (size_t)in_dims->c);
            }
        }
    }
    return ES_OK;
}
