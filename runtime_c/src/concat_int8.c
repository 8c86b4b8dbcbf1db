/*
 * concat_int8.c -- CONCATENATION in int8 with per-input requantization (edgesdk/concat_int8.h).
 */
#include "edgesdk/concat_int8.h"

#include "edgesdk/requant.h"
#include "internal.h"

/* dims as an array n, h, w, c. */
static void axes_of(const es_dims *d, int32_t out[4])
{
    out[0] = d->n;
    out[1] = d->h;
    out[2] = d->w;
    out[3] = d->c;
}

es_status es_concat_int8_fwd(const es_concat_int8_params *params, int32_t count,
                             const es_dims *in_dims, const int8_t *const *in,
                             const es_requant_int8_params *requant,
                             const es_dims *out_dims, int8_t *out)
{
    int32_t i, d, outer, o, inner_out, offset = 0, total = 0;
    int32_t oshape[4];
    if (params == NULL || in_dims == NULL || in == NULL || requant == NULL || out == NULL || count < 1 ||
        params->axis < 0 || params->axis > 3 || !es_int8_range_ok(params->act_min, params->act_max)) {
        return ES_ERR_ARG;
    }
    ES_TRY(es_check_dims(out_dims));
    axes_of(out_dims, oshape);
    for (i = 0; i < count; ++i) {
        int32_t shape[4];
        ES_TRY(es_check_dims(&in_dims[i]));
        if (in[i] == NULL || !es_zero_point_ok(-requant[i].input_offset) ||
            !es_zero_point_ok(requant[i].output_offset) || !es_requant_ok(requant[i].multiplier, requant[i].shift)) {
            return ES_ERR_ARG;
        }
        axes_of(&in_dims[i], shape);
        for (d = 0; d < 4; ++d) {
            if (d != params->axis && shape[d] != oshape[d]) {
                return ES_ERR_SHAPE;
            }
        }
        total += shape[params->axis];
    }
    if (total != oshape[params->axis]) {
        return ES_ERR_SHAPE;
    }
    outer = 1;
    for (d = 0; d < params->axis; ++d) {
        outer *= oshape[d];
    }
    inner_out = es_dims_count(out_dims) / outer; /* elements per outer index in the output */
    for (i = 0; i < count; ++i) {
        const es_requant_int8_params *q = &requant[i];
        const int32_t chunk = es_dims_count(&in_dims[i]) / outer; /* this input's run per outer index */
        for (o = 0; o < outer; ++o) {
            const int8_t *src = in[i] + o * chunk;
            int8_t *dst = out + o * inner_out + offset;
            for (d = 0; d < chunk; ++d) {
                const int32_t y = es_wrap_add(es_mbqm((int32_t)src[d] + q->input_offset, q->multiplier, q->shift),
                                              q->output_offset);
                dst[d] = (int8_t)es_clamp(y, params->act_min, params->act_max);
            }
        }
        offset += chunk;
    }
    return ES_OK;
}
