/*
 * edgesdk/kernels_int8.h -- umbrella header of the int8 forward kernels and the QAS updates.
 *
 * Naming: es_<op>[_variant]_int8_fwd; constants in flat parameter structs computed at
 * code-generation time by edgesdk.quant.prepare (one field per constant, per-channel arrays by
 * pointer). Tensors are int8 (biases int32), laid out and passed as in edgesdk/common.h. No
 * kernel needs workspace (scratch size 0) except the fused convolution -> depthwise convolution
 * (a ring of producer rows, es_conv_depthwise_int8_scratch_size). Arithmetic helpers:
 * edgesdk/requant.h.
 *
 * Fast variants (es_conv2d_1x1_int8_fwd, es_depthwise_conv2d_3x3_int8_fwd, ...) compute the same
 * integers as their reference kernel for the geometries their header names, take the same
 * arguments, and refuse the others; code generation calls them where the geometry fits.
 */
#ifndef EDGESDK_KERNELS_INT8_H
#define EDGESDK_KERNELS_INT8_H

#include "edgesdk/common.h"

#include "edgesdk/add_int8.h"
#include "edgesdk/concat_int8.h"
#include "edgesdk/conv2d_1x1_int8.h"
#include "edgesdk/conv2d_int8.h"
#include "edgesdk/conv_depthwise_int8.h"
#include "edgesdk/conv2d_rows_int8.h"
#include "edgesdk/depthwise_conv2d_3x3_int8.h"
#include "edgesdk/depthwise_conv2d_int8.h"
#include "edgesdk/fully_connected_fast_int8.h"
#include "edgesdk/fully_connected_int8.h"
#include "edgesdk/logistic_int8.h"
#include "edgesdk/mean_int8.h"
#include "edgesdk/pad_int8.h"
#include "edgesdk/pool_int8.h"
#include "edgesdk/qas_int8.h"
#include "edgesdk/quantize_int8.h"
#include "edgesdk/slice_int8.h"
#include "edgesdk/softmax_int8.h"

#endif /* EDGESDK_KERNELS_INT8_H */
