/*
 * mean_int8_bwd.c -- MEAN backward fused with the int8 activation backward that reads its
 * gradient (edgesdk/mean_int8_bwd.h): es_mean_hw_f32_bwd's share per element, es_act_int8_bwd's
 * mask, and no broadcast gradient in between.
 */
#include "edgesdk/mean_int8_bwd.h"

#include "internal.h"

es_status es_mean_hw_act_int8_bwd(int32_t act_min, int32_t act_max,
                                  const es_dims *in_dims, const int8_t *y,
                                  const es_dims *out_dims, const float *dy,
                                  float *dz)
{
    if (y == NULL || dy == NULL || dz == NULL || !es_act_int8_bounds_ok(act_min, act_max)) {
        return ES_ERR_ARG;
    }
    ES_TRY(es_mean_hw_check(in_dims, out_dims));
    const int32_t n_batch = in_dims->n, hw = in_dims->h * in_dims->w, c_n = in_dims->c;
    const float count = (float)hw;

    for (int32_t n = 0; n < n_batch; ++n) {
        const float *d = dy + n * c_n;
        for (int32_t p = 0; p < hw; ++p) {
            const int32_t row = (n * hw + p) * c_n;
            for (int32_t c = 0; c < c_n; ++c) {
                /* es_mean_hw_f32_bwd's d[c] / count, then es_act_int8_bwd's mask */
                dz[row + c] = es_act_int8_passes(act_min, act_max, y[row + c]) ? d[c] / count : 0.0f;
            }
        }
    }
    return ES_OK;
}
