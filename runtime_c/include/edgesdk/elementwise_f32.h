/*
 * edgesdk/elementwise_f32.h -- elementwise kernels in float32: ADD, LOGISTIC, the backward of
 * fused activations, copies (RESHAPE / QUANTIZE / DEQUANTIZE in fp32) and gradient accumulation.
 *
 * All tensors of one call have the same element count (and, where stated, the same dims).
 * Outputs may alias an input (exactly the same pointer).
 *
 * Backward of ADD: each input's gradient is dz itself (alias it, or es_copy_f32 it). A value
 * with several consumers gets its gradient as the sum of their contributions: write the first
 * contribution, then es_accumulate_f32 each further one into it.
 */
#ifndef EDGESDK_ELEMENTWISE_F32_H
#define EDGESDK_ELEMENTWISE_F32_H

#include "edgesdk/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * ADD forward: y = f(a + b). a, b and y have the same dims (no broadcasting).
 * y may alias a or b.
 */
es_status es_add_f32_fwd(es_activation activation,
                         const es_dims *a_dims, const float *a,
                         const es_dims *b_dims, const float *b,
                         const es_dims *out_dims, float *out);

/*
 * Backward of a fused activation from the saved forward output y = f(z):
 * dz = dy where f'(z) = 1 (relu: y > 0; relu6: 0 < y < 6; none: always), else 0.
 * y, dy and dz have the same dims; dz may alias dy.
 */
es_status es_act_f32_bwd(es_activation activation,
                         const es_dims *dims, const float *y, const float *dy,
                         float *dz);

/*
 * LOGISTIC forward: y = 1 / (1 + es_expf(-x)) (math_f32.h). y may alias x.
 */
es_status es_logistic_f32_fwd(const es_dims *dims, const float *in, float *out);

/*
 * LOGISTIC backward from the saved output y: dx = (dy * y) * (1 - y), in that order.
 * dx may alias dy or y.
 */
es_status es_logistic_f32_bwd(const es_dims *dims, const float *y, const float *dy,
                              float *dx);

/*
 * dst = src for count(dims) elements (memmove: any overlap is fine). RESHAPE, QUANTIZE and
 * DEQUANTIZE in fp32 are aliases; this is for when the planner gives them separate buffers.
 */
es_status es_copy_f32(const es_dims *dims, const float *src, float *dst);

/*
 * dst += src elementwise (dst[i] = dst[i] + src[i]) for count(dims) elements: sums gradient
 * contributions of a value that has several consumers. src must not partially overlap dst.
 */
es_status es_accumulate_f32(const es_dims *dims, const float *src, float *dst);

#ifdef __cplusplus
}
#endif

#endif /* EDGESDK_ELEMENTWISE_F32_H */
