/*
 * add_int8.c -- ADD in int8 with broadcasting (edgesdk/add_int8.h).
 */
#include "edgesdk/add_int8.h"

#include "edgesdk/requant.h"
#include "internal.h"

/* 1 when `part` broadcasts to `whole` axis by axis (equal or 1). */
static int broadcasts(const es_dims *part, const es_dims *whole)
{
    return (part->n == whole->n || part->n == 1) && (part->h == whole->h || part->h == 1) &&
           (part->w == whole->w || part->w == 1) && (part->c == whole->c || part->c == 1);
}

/* Element offset of output position (n, h, w, c) in a tensor broadcast from `dims`. */
static int32_t source(const es_dims *dims, int32_t n, int32_t h, int32_t w, int32_t c)
{
    n = dims->n == 1 ? 0 : n;
    h = dims->h == 1 ? 0 : h;
    w = dims->w == 1 ? 0 : w;
    c = dims->c == 1 ? 0 : c;
    return ((n * dims->h + h) * dims->w + w) * dims->c + c;
}

es_status es_add_int8_fwd(const es_add_int8_params *params,
                          const es_dims *a_dims, const int8_t *a,
                          const es_dims *b_dims, const int8_t *b,
                          const es_dims *out_dims, int8_t *out)
{
    const es_add_int8_params *p = params;
    int32_t n, h, w, c, i = 0;
    if (p == NULL || a == NULL || b == NULL || out == NULL) {
        return ES_ERR_ARG;
    }
    ES_TRY(es_check_dims(a_dims));
    ES_TRY(es_check_dims(b_dims));
    ES_TRY(es_check_dims(out_dims));
    if (!es_zero_point_ok(-p->input1_offset) || !es_zero_point_ok(-p->input2_offset) ||
        !es_zero_point_ok(p->output_offset) || p->left_shift < 0 || p->left_shift > 22 ||
        !es_requant_ok(p->input1_multiplier, p->input1_shift) ||
        !es_requant_ok(p->input2_multiplier, p->input2_shift) ||
        !es_requant_ok(p->output_multiplier, p->output_shift) ||
        !es_int8_range_ok(p->act_min, p->act_max)) {
        return ES_ERR_ARG;
    }
    if (!broadcasts(a_dims, out_dims) || !broadcasts(b_dims, out_dims)) {
        return ES_ERR_SHAPE;
    }
    for (n = 0; n < out_dims->n; ++n) {
        for (h = 0; h < out_dims->h; ++h) {
            for (w = 0; w < out_dims->w; ++w) {
                for (c = 0; c < out_dims->c; ++c, ++i) {
                    /* (x + offset) * 2^20 fits int32: |x + offset| <= 255 */
                    const int32_t xa = ((int32_t)a[source(a_dims, n, h, w, c)] + p->input1_offset) * (1 << p->left_shift);
                    const int32_t xb = ((int32_t)b[source(b_dims, n, h, w, c)] + p->input2_offset) * (1 << p->left_shift);
                    const int32_t sum = es_wrap_add(es_mbqm(xa, p->input1_multiplier, p->input1_shift),
                                                    es_mbqm(xb, p->input2_multiplier, p->input2_shift));
                    const int32_t y = es_wrap_add(es_mbqm(sum, p->output_multiplier, p->output_shift), p->output_offset);
                    out[i] = (int8_t)es_clamp(y, p->act_min, p->act_max);
                }
            }
        }
    }
    return ES_OK;
}
