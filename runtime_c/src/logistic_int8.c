/*
 * logistic_int8.c -- LOGISTIC in int8 (edgesdk/logistic_int8.h).
 */
#include "edgesdk/logistic_int8.h"

#include "edgesdk/requant.h"
#include "internal.h"

enum { INPUT_INTEGER_BITS = 4, OUTPUT_BITS = 8 };

es_status es_logistic_int8_fwd(const es_logistic_int8_params *params,
                               const es_dims *dims, const int8_t *in, int8_t *out)
{
    int32_t i, count;
    if (params == NULL || in == NULL || out == NULL) {
        return ES_ERR_ARG;
    }
    ES_TRY(es_check_dims(dims));
    if (!es_zero_point_ok(params->input_zero_point) || params->input_range_radius < 0 ||
        params->input_left_shift < 0 || params->input_left_shift > 31) {
        return ES_ERR_ARG;
    }
    count = es_dims_count(dims);
    for (i = 0; i < count; ++i) {
        const int32_t v = (int32_t)in[i] - params->input_zero_point;
        int32_t y;
        if (v <= -params->input_range_radius) {
            y = -128;
        } else if (v >= params->input_range_radius) {
            y = 127;
        } else {
            const int32_t q4 = es_mbqm(v, params->input_multiplier, params->input_left_shift);
            y = es_clamp(es_rdbpot(es_logistic_fixed(q4, INPUT_INTEGER_BITS), 31 - OUTPUT_BITS) - 128, -128, 127);
        }
        out[i] = (int8_t)y;
    }
    return ES_OK;
}
