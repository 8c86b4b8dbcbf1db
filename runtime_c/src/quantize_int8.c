/*
 * quantize_int8.c -- QUANTIZE, int8 requantization and DEQUANTIZE (edgesdk/quantize_int8.h).
 */
#include "edgesdk/quantize_int8.h"

#include "edgesdk/requant.h"
#include "internal.h"

/* roundf without libm: nearest, ties away from zero (exact for every float). */
static float round_half_away(float x)
{
    float whole;
    float fraction;
    if (!(x > -8388608.0f && x < 8388608.0f)) { /* |x| >= 2^23 is integral (or inf / NaN) */
        return x;
    }
    whole = (float)(int32_t)x; /* truncation toward zero */
    fraction = x - whole;      /* exact */
    if (fraction >= 0.5f) {
        whole += 1.0f;
    } else if (fraction <= -0.5f) {
        whole -= 1.0f;
    }
    return whole;
}

es_status es_quantize_f32_int8_fwd(const es_affine_int8_params *params,
                                   const es_dims *dims, const float *in, int8_t *out)
{
    int32_t i, count;
    if (params == NULL || in == NULL || out == NULL) {
        return ES_ERR_ARG;
    }
    ES_TRY(es_check_dims(dims));
    if (!(params->scale > 0.0f) || !es_zero_point_ok(params->zero_point)) {
        return ES_ERR_ARG;
    }
    count = es_dims_count(dims);
    for (i = 0; i < count; ++i) {
        float t = round_half_away(in[i] / params->scale);
        if (t > 256.0f) {
            t = 256.0f;
        } else if (t < -256.0f) {
            t = -256.0f;
        } else if (t != t) { /* NaN */
            t = 0.0f;
        }
        out[i] = (int8_t)es_clamp((int32_t)t + params->zero_point, -128, 127);
    }
    return ES_OK;
}

es_status es_requantize_int8_fwd(const es_requant_int8_params *params,
                                 const es_dims *dims, const int8_t *in, int8_t *out)
{
    int32_t i, count;
    if (params == NULL || in == NULL || out == NULL) {
        return ES_ERR_ARG;
    }
    ES_TRY(es_check_dims(dims));
    if (!es_zero_point_ok(-params->input_offset) || !es_zero_point_ok(params->output_offset) ||
        !es_requant_ok(params->multiplier, params->shift)) {
        return ES_ERR_ARG;
    }
    count = es_dims_count(dims);
    for (i = 0; i < count; ++i) {
        const int32_t y = es_wrap_add(es_mbqm((int32_t)in[i] + params->input_offset, params->multiplier,
                                              params->shift), params->output_offset);
        out[i] = (int8_t)es_clamp(y, -128, 127);
    }
    return ES_OK;
}

es_status es_requantize_int8_uint8_fwd(const es_requant_int8_params *params,
                                       const es_dims *dims, const int8_t *in, uint8_t *out)
{
    int32_t i, count;
    if (params == NULL || in == NULL || out == NULL) {
        return ES_ERR_ARG;
    }
    ES_TRY(es_check_dims(dims));
    if (!es_zero_point_ok(-params->input_offset) || params->output_offset < 0 || params->output_offset > 255 ||
        !es_requant_ok(params->multiplier, params->shift)) {
        return ES_ERR_ARG;
    }
    count = es_dims_count(dims);
    for (i = 0; i < count; ++i) {
        const int32_t y = es_wrap_add(es_mbqm((int32_t)in[i] + params->input_offset, params->multiplier,
                                              params->shift), params->output_offset);
        out[i] = (uint8_t)es_clamp(y, 0, 255);
    }
    return ES_OK;
}

es_status es_dequantize_int8_f32_fwd(const es_affine_int8_params *params,
                                     const es_dims *dims, const int8_t *in, float *out)
{
    int32_t i, count;
    if (params == NULL || in == NULL || out == NULL) {
        return ES_ERR_ARG;
    }
    ES_TRY(es_check_dims(dims));
    if (!es_zero_point_ok(params->zero_point)) {
        return ES_ERR_ARG;
    }
    count = es_dims_count(dims);
    for (i = count - 1; i >= 0; --i) { /* backwards: out may alias in (4-byte vs 1-byte elements) */
        out[i] = params->scale * (float)((int32_t)in[i] - params->zero_point);
    }
    return ES_OK;
}
