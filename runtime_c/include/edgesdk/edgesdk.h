/*
 * edgesdk/edgesdk.h -- umbrella header of the edgesdk training runtime kernels.
 *
 * Naming: es_<op>[_variant]_f32_<pass> with pass fwd (forward), bwd_in (input gradient),
 * bwd_w (weight gradient), bwd (the gradient of a parameter-free op); the bias gradient of every
 * layer is es_bias_grad_f32; losses es_loss_*_f32; optimizers es_*_f32_update.
 * Conventions (layout, aliasing, '=' versus accumulate, no workspace): edgesdk/common.h.
 * Board support (timers, storage, output) is declared separately in edgesdk/port.h.
 */
#ifndef EDGESDK_EDGESDK_H
#define EDGESDK_EDGESDK_H

#include "edgesdk/common.h"

#include "edgesdk/bias_grad_f32.h"
#include "edgesdk/concat_f32.h"
#include "edgesdk/conv2d_f32.h"
#include "edgesdk/depthwise_conv2d_f32.h"
#include "edgesdk/elementwise_f32.h"
#include "edgesdk/fully_connected_f32.h"
#include "edgesdk/loss_f32.h"
#include "edgesdk/math_f32.h"
#include "edgesdk/mean_f32.h"
#include "edgesdk/optim_f32.h"
#include "edgesdk/pad_f32.h"
#include "edgesdk/pool_f32.h"
#include "edgesdk/softmax_f32.h"

#endif /* EDGESDK_EDGESDK_H */
