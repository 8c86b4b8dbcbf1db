/*
 * edgesdk/optim_f32.h -- optimizer updates in float32, PyTorch's conventions (torch.optim.SGD
 * with dampening 0 and no Nesterov; torch.optim.Adam without amsgrad; weight decay added to
 * the gradient, not decoupled).
 *
 * Region updated (es_optim_span): `rows` rows of `cols` elements. The parameter's rows are
 * param_stride elements apart, the gradient's grad_stride apart; optimizer state (velocity,
 * Adam moments) is compact [rows * cols]. Only those elements are read or written: a sparse
 * update touches the first k output channels and nothing else; a frozen parameter is simply
 * never passed to an optimizer.
 *   whole tensor of count elements:   {1, count, count, count}
 *   CONV_2D / FC first k channels:    {1, k * per_channel, .., ..}   (OHWI / [out, in]: a prefix)
 *   DEPTHWISE first k channels:       {KH * KW, k, C * M, k}   (dw from es_depthwise_conv2d_f32_bwd_w
 *                                                              with dw_dims->c = k)
 *   bias first k:                     {1, k, k, k}
 * State buffers start as zeros (before step 1) and persist between steps. The gradient is
 * read only; the parameter is updated in place.
 */
#ifndef EDGESDK_OPTIM_F32_H
#define EDGESDK_OPTIM_F32_H

#include "edgesdk/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The part of a parameter an update touches. */
typedef struct {
    int32_t rows;         /* number of rows, >= 1 */
    int32_t cols;         /* elements updated per row, >= 1 */
    int32_t param_stride; /* elements between row starts in the parameter, >= cols */
    int32_t grad_stride;  /* elements between row starts in the gradient, >= cols */
} es_optim_span;

/* Plain SGD. */
typedef struct {
    float lr;           /* learning rate */
    float weight_decay; /* L2 coefficient added to the gradient; 0 for none */
} es_sgd_params;

/* SGD with momentum (dampening 0, not Nesterov). */
typedef struct {
    float lr;           /* learning rate */
    float momentum;     /* mu, 0 <= mu < 1 typically */
    float weight_decay; /* L2 coefficient added to the gradient; 0 for none */
} es_sgd_momentum_params;

/* Adam. */
typedef struct {
    float lr;           /* learning rate */
    float beta1;        /* first-moment decay, e.g. 0.9f */
    float beta2;        /* second-moment decay, e.g. 0.999f */
    float eps;          /* denominator epsilon, e.g. 1e-8f */
    float weight_decay; /* L2 coefficient added to the gradient; 0 for none */
} es_adam_params;

/*
 * SGD: g' = g + wd * w (only when wd != 0);  w = w - lr * g'.
 */
es_status es_sgd_f32_update(const es_sgd_params *params, const es_optim_span *span,
                            const float *grad, float *param);

/*
 * Momentum: g' = g + wd * w (only when wd != 0);  v = mu * v + g';  w = w - lr * v.
 * velocity [rows * cols] starts at zero, so step 1 gives v = g' (as PyTorch).
 */
es_status es_sgd_momentum_f32_update(const es_sgd_momentum_params *params,
                                     const es_optim_span *span, const float *grad,
                                     float *velocity, float *param);

/*
 * Adam, step t = 1, 2, ... (the number of this update, counted by the caller):
 *   g' = g + wd * w (only when wd != 0)
 *   m  = beta1 * m + (1 - beta1) * g'
 *   v  = beta2 * v + (1 - beta2) * (g' * g')
 *   m_hat = m / (1 - es_powif(beta1, t)),  v_hat = v / (1 - es_powif(beta2, t))
 *   w  = w - (lr * m_hat) / (sqrtf(v_hat) + eps)
 * The bias corrections are computed once per call in float32 exactly as written (es_powif:
 * math_f32.h; sqrtf is IEEE-exact everywhere).
 * m and v [rows * cols] start at zero.
 */
es_status es_adam_f32_update(const es_adam_params *params, int32_t step,
                             const es_optim_span *span, const float *grad,
                             float *m, float *v, float *param);

#ifdef __cplusplus
}
#endif

#endif /* EDGESDK_OPTIM_F32_H */
