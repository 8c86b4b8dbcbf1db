/*
 * bias_grad_f32.c -- bias gradient reduction shared by the parameterized layers.
 * Contract and summation order: edgesdk/bias_grad_f32.h.
 */
#include "edgesdk/bias_grad_f32.h"

#include "internal.h"

es_status es_bias_grad_f32(const es_dims *dz_dims, const float *dz, int32_t count, float *db)
{
    if (dz == NULL || db == NULL) {
        return ES_ERR_ARG;
    }
    ES_TRY(es_check_dims(dz_dims));
    if (count < 1 || count > dz_dims->c) {
        return ES_ERR_SHAPE;
    }
    const int32_t positions = dz_dims->n * dz_dims->h * dz_dims->w, c_n = dz_dims->c;

    for (int32_t c = 0; c < count; ++c) {
        db[c] = 0.0f;
    }
    for (int32_t p = 0; p < positions; ++p) {
        const float *d = dz + p * c_n;
        for (int32_t c = 0; c < count; ++c) {
            db[c] += d[c];
        }
    }
    return ES_OK;
}
