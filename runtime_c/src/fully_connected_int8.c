/*
 * fully_connected_int8.c -- FULLY_CONNECTED in int8 (edgesdk/fully_connected_int8.h).
 */
#include "edgesdk/fully_connected_int8.h"

#include "edgesdk/requant.h"
#include "int8_layer_check.h"
#include "internal.h"
#include "weight_rows.h"

/*
 * The outputs o = first..end-1 of input row x (K values), whose weight rows start at rows (row o
 * at rows + (o - first)*K), into y. Arguments already checked.
 */
static void fc_outputs(const es_fully_connected_int8_params *p, int32_t k_n, const int8_t *x,
                       const int8_t *rows, const int32_t *bias, int32_t first, int32_t end, int8_t *y)
{
    for (int32_t o = first; o < end; ++o) {
        const int8_t *wo = rows + (o - first) * k_n;
        int32_t acc = 0;
        for (int32_t k = 0; k < k_n; ++k) {
            acc = es_wrap_add(acc, ((int32_t)wo[k] + p->weights_offset) * ((int32_t)x[k] + p->input_offset));
        }
        if (bias != NULL) {
            acc = es_wrap_add(acc, bias[o]);
        }
        acc = es_wrap_add(es_mbqm(acc, p->multiplier[o], p->shift[o]), p->output_offset);
        y[o] = (int8_t)es_clamp(acc, p->act_min, p->act_max);
    }
}

es_status es_fully_connected_int8_fwd(const es_fully_connected_int8_params *params,
                                      const es_dims *in_dims, const int8_t *in,
                                      const es_dims *w_dims, const int8_t *w,
                                      const int32_t *bias,
                                      const es_dims *out_dims, int8_t *out)
{
    int32_t rows = 0, r;
    const es_fully_connected_int8_params *p = params;
    if (in == NULL || w == NULL || out == NULL) {
        return ES_ERR_ARG;
    }
    ES_TRY(es_fully_connected_int8_check(p, in_dims, w_dims, out_dims, &rows));
    /* split weights: the rows in w, then those in the tail (each output is its own sum) */
    const int32_t head = p->w_tail != NULL ? p->w_head_channels : w_dims->n;
    for (r = 0; r < rows; ++r) {
        const int8_t *x = in + r * in_dims->c;
        int8_t *y = out + r * out_dims->c;
        fc_outputs(p, in_dims->c, x, w, bias, 0, head, y);
        if (head < w_dims->n) {
            fc_outputs(p, in_dims->c, x, p->w_tail, bias, head, w_dims->n, y);
        }
    }
    return ES_OK;
}
