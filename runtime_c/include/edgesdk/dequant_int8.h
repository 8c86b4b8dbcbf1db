/*
 * edgesdk/dequant_int8.h -- how the float32 training kernels read int8 tensors.
 *
 * A backward kernel that reads an int8 forward buffer (an activation or a layer's weights)
 * dequantizes it inside, one element at a time, as
 *
 *     real = scale * (float)(q - zero_point)
 *
 * in float32: the difference is exact, the product rounds once (the same bits as TFLite's double
 * product rounded to float). No float copy of the tensor is ever made: a float32 copy of an
 * activation costs four times its int8 buffer, the RAM int8 training exists to save.
 *
 * Activations are per tensor (es_affine_int8_params, edgesdk/quantize_int8.h); weights have one
 * scale per output channel (a per-tensor scale repeated) and one common zero point.
 *
 * The weights of CONV_2D and FULLY_CONNECTED may be split (a weight trained only on its first k
 * output channels keeps those rows in RAM, the frozen rest in flash): with tail != NULL the input-
 * gradient kernels read output channel oc at w + oc*row for oc < k = head_channels and at
 * tail + (oc - k)*row otherwise (row = KH*KW*IC, resp. IN), in the same order as for one array,
 * so the float32 sums are the same. tail NULL and head_channels 0 (or OC): w holds every row.
 * Depthwise weights are never split (their channels are innermost): their kernel refuses a tail.
 */
#ifndef EDGESDK_DEQUANT_INT8_H
#define EDGESDK_DEQUANT_INT8_H

#include "edgesdk/common.h"
#include "edgesdk/quantize_int8.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Quantization of int8 weights as the backward kernels read them. */
typedef struct {
    const float *scale; /* [OC] float32 scale of each output channel (depthwise: of c*M + m), > 0 */
    int32_t zero_point; /* the weights' zero point, -128..127 (0 for TFLite's symmetric weights) */
    const int8_t *tail; /* split weights: rows head_channels..OC-1 (flash), else NULL */
    int32_t head_channels; /* split weights: k, the rows in w, 0..OC; 0 when tail is NULL */
} es_weights_int8_quant;

/* scale * (float)(q - zero_point), one float32 rounding. */
static inline float es_dequantize_int8(float scale, int32_t zero_point, int8_t q)
{
    return scale * (float)((int32_t)q - zero_point);
}

#ifdef __cplusplus
}
#endif

#endif /* EDGESDK_DEQUANT_INT8_H */
