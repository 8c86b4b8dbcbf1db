/*
 * pool_check.h -- the argument checks every float-gradient pooling kernel shares (float32 forward
 * and backward, and the int8-input max-pool backward); not part of the public API.
 */
#ifndef EDGESDK_POOL_CHECK_H
#define EDGESDK_POOL_CHECK_H

#include "edgesdk/pool_f32.h"
#include "internal.h"

/* ES_ERR_ARG for bad parameters, ES_ERR_SHAPE for dims that disagree with them, else ES_OK. */
static inline es_status es_pool2d_check(const es_pool2d_params *p, const es_dims *in_dims,
                                        const es_dims *out_dims)
{
    if (p == NULL || !es_activation_ok(p->activation) || p->filter_h < 1 || p->filter_w < 1 ||
        !es_axis_params_ok(p->stride_h, 1, p->pad_top) ||
        !es_axis_params_ok(p->stride_w, 1, p->pad_left)) {
        return ES_ERR_ARG;
    }
    ES_TRY(es_check_dims(in_dims));
    ES_TRY(es_check_dims(out_dims));
    if (out_dims->n != in_dims->n || out_dims->c != in_dims->c) {
        return ES_ERR_SHAPE;
    }
    if (!es_window_ok(in_dims->h, out_dims->h, p->filter_h, p->stride_h, 1, p->pad_top) ||
        !es_window_ok(in_dims->w, out_dims->w, p->filter_w, p->stride_w, 1, p->pad_left)) {
        return ES_ERR_SHAPE;
    }
    return ES_OK;
}

#endif /* EDGESDK_POOL_CHECK_H */
