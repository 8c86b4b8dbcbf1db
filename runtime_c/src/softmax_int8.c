/*
 * softmax_int8.c -- SOFTMAX in int8 (edgesdk/softmax_int8.h).
 */
#include "edgesdk/softmax_int8.h"

#include "edgesdk/requant.h"
#include "internal.h"

enum { DIFF_INTEGER_BITS = 5, ACCUMULATION_INTEGER_BITS = 12 };

/* exp(x - max) in Q0 for a difference that counts. */
static int32_t exp_of_difference(const es_softmax_int8_params *p, int32_t diff)
{
    const int32_t rescaled = es_srdhm(es_wrap_shl(diff, p->input_left_shift), p->input_multiplier);
    return es_exp_on_negative_values(rescaled, DIFF_INTEGER_BITS);
}

es_status es_softmax_int8_fwd(const es_softmax_int8_params *params,
                              const es_dims *dims, const int8_t *in, int8_t *out)
{
    int32_t rows, r, c;
    if (params == NULL || in == NULL || out == NULL) {
        return ES_ERR_ARG;
    }
    ES_TRY(es_check_dims(dims));
    if (params->input_multiplier < 0 || params->input_left_shift < 0 || params->input_left_shift > 31 ||
        params->diff_min > 0) {
        return ES_ERR_ARG;
    }
    rows = dims->n * dims->h * dims->w;
    for (r = 0; r < rows; ++r) {
        const int8_t *x = in + r * dims->c;
        int8_t *y = out + r * dims->c;
        int32_t max = -128;
        int32_t sum = 0;
        int32_t headroom, bits_over_unit, exponent, scale;
        for (c = 0; c < dims->c; ++c) {
            max = x[c] > max ? x[c] : max;
        }
        for (c = 0; c < dims->c; ++c) {
            const int32_t diff = (int32_t)x[c] - max;
            if (diff >= params->diff_min) {
                /* Q0 -> Q12: a rounding division by 2^12 */
                sum = es_wrap_add(sum, es_rdbpot(exp_of_difference(params, diff), ACCUMULATION_INTEGER_BITS));
            }
        }
        /* 1 / sum (TFLite's GetReciprocal): normalize sum to 1 + a with a in [0, 1) */
        headroom = es_clz32((uint32_t)sum);
        bits_over_unit = ACCUMULATION_INTEGER_BITS - headroom;
        scale = es_one_over_one_plus_x((int32_t)(((uint32_t)sum << headroom) - ((uint32_t)1 << 31)));
        exponent = bits_over_unit + 31 - 8;
        for (c = 0; c < dims->c; ++c) {
            const int32_t diff = (int32_t)x[c] - max;
            int32_t v = -128;
            if (diff >= params->diff_min) {
                v = es_rdbpot(es_srdhm(scale, exp_of_difference(params, diff)), exponent) - 128;
            }
            y[c] = (int8_t)es_clamp(v, -128, 127);
        }
    }
    return ES_OK;
}
