/*
 * mean_int8.c -- MEAN over H, W in int8 (edgesdk/mean_int8.h).
 */
#include "edgesdk/mean_int8.h"

#include "edgesdk/requant.h"
#include "internal.h"

es_status es_mean_hw_int8_fwd(const es_mean_int8_params *params,
                              const es_dims *in_dims, const int8_t *in,
                              const es_dims *out_dims, int8_t *out)
{
    int32_t n, c, i, count;
    if (params == NULL || in == NULL || out == NULL) {
        return ES_ERR_ARG;
    }
    ES_TRY(es_check_dims(in_dims));
    ES_TRY(es_check_dims(out_dims));
    if (!es_zero_point_ok(params->input_zero_point) || !es_zero_point_ok(params->output_zero_point) ||
        !es_requant_ok(params->multiplier, params->shift)) {
        return ES_ERR_ARG;
    }
    if (out_dims->n != in_dims->n || out_dims->h != 1 || out_dims->w != 1 || out_dims->c != in_dims->c) {
        return ES_ERR_SHAPE;
    }
    count = in_dims->h * in_dims->w;
    for (n = 0; n < in_dims->n; ++n) {
        const int8_t *x = in + n * count * in_dims->c;
        for (c = 0; c < in_dims->c; ++c) {
            int32_t sum = 0;
            int32_t y;
            for (i = 0; i < count; ++i) {
                sum = es_wrap_add(sum, x[i * in_dims->c + c]);
            }
            sum = es_wrap_sub(sum, es_wrap_mul(params->input_zero_point, count));
            y = es_wrap_add(es_mbqm(sum, params->multiplier, params->shift), params->output_zero_point);
            out[n * in_dims->c + c] = (int8_t)es_clamp(y, -128, 127);
        }
    }
    return ES_OK;
}
