/*
 * edgesdk/train_int8.h -- umbrella header of the int8 training kernels: the float32 backward
 * kernels that read int8 forward buffers (dequantizing inside), the losses on an int8 output,
 * the master-copy and fused QAS updates, and the parameter image.
 *
 * The int8 forward kernels and the plain QAS updates are in edgesdk/kernels_int8.h, the float32
 * kernels an int8 graph also calls (gradient sums, pad / mean / avg-pool backward, bias gradient)
 * in edgesdk/edgesdk.h. A MEAN backward whose gradient only an int8 activation backward reads
 * runs fused with it (es_mean_hw_act_int8_bwd). Contracts: docs/int8-training.md; code
 * generation: docs/int8-codegen.md.
 * Naming: es_<op>_int8_<pass> for kernels reading int8 tensors, _qas for a gradient fused with
 * its update; scratch-using kernels have a _scratch_size() companion (caller-owned scratch).
 */
#ifndef EDGESDK_TRAIN_INT8_H
#define EDGESDK_TRAIN_INT8_H

#include "edgesdk/common.h"

#include "edgesdk/act_int8_bwd.h"
#include "edgesdk/conv2d_int8_bwd.h"
#include "edgesdk/depthwise_conv2d_int8_bwd.h"
#include "edgesdk/dequant_int8.h"
#include "edgesdk/fully_connected_fast_int8_bwd.h"
#include "edgesdk/fully_connected_int8_bwd.h"
#include "edgesdk/loss_int8_logits.h"
#include "edgesdk/mean_int8_bwd.h"
#include "edgesdk/params_image.h"
#include "edgesdk/pool_int8_bwd.h"
#include "edgesdk/qas_int8_train.h"

#endif /* EDGESDK_TRAIN_INT8_H */
