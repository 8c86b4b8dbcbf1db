/*
 * edgesdk/quantize_int8.h -- QUANTIZE (float32 -> int8, and int8 -> int8 requantization) and
 * DEQUANTIZE (int8 -> float32), bit-exact with TFLite Micro. Elementwise over es_dims_count.
 *
 *   quantize:   t = roundf(x / scale) in float32 (ties away from zero), clamped to [-256, 256]
 *               (NaN -> 0), y = clamp(t + zero_point, -128, 127)
 *   requantize: y = clamp(es_mbqm(x + input_offset, multiplier, shift) + output_offset, -128, 127)
 *               (TFLite's int8 -> int8 QUANTIZE; also the per-input step of CONCATENATION)
 *   dequantize: y = scale * (float)(x - zero_point)   (one float32 rounding of the exact
 *               product, the same bits as TFLite's double product cast to float)
 * requantize and the quantize/dequantize pairs of equal element size may alias (in == out).
 */
#ifndef EDGESDK_QUANTIZE_INT8_H
#define EDGESDK_QUANTIZE_INT8_H

#include "edgesdk/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Affine quantization of one tensor (float32 scale, int8 zero point). */
typedef struct {
    float scale;        /* > 0 */
    int32_t zero_point; /* -128..127 */
} es_affine_int8_params;

/* int8 -> int8 with a new scale / zero point. */
typedef struct {
    int32_t input_offset;  /* -(input zero point), -127..128 */
    int32_t output_offset; /* output zero point, -128..127 */
    int32_t multiplier;    /* requantization multiplier (s_in / s_out), >= 0 */
    int32_t shift;         /* its shift, -31..30 */
} es_requant_int8_params;

es_status es_quantize_f32_int8_fwd(const es_affine_int8_params *params,
                                   const es_dims *dims, const float *in, int8_t *out);

es_status es_requantize_int8_fwd(const es_requant_int8_params *params,
                                 const es_dims *dims, const int8_t *in, int8_t *out);

/* int8 -> uint8 QUANTIZE (a streaming model's probability output): the same requantization, the
 * output zero point 0..255 and the result clamped to [0, 255], as TFLite Micro's Requantize. */
es_status es_requantize_int8_uint8_fwd(const es_requant_int8_params *params,
                                       const es_dims *dims, const int8_t *in, uint8_t *out);

es_status es_dequantize_int8_f32_fwd(const es_affine_int8_params *params,
                                     const es_dims *dims, const int8_t *in, float *out);

#ifdef __cplusplus
}
#endif

#endif /* EDGESDK_QUANTIZE_INT8_H */
