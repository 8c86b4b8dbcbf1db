/*
 * edgesdk/pad_f32.h -- PAD with zeros in float32: forward and input gradient (a crop).
 *
 * Padding amounts are per es_dims axis in the order n, h, w, c; every amount >= 0 and
 * out = in + before + after on each axis. (Quantized PAD fills with the zero point, which is
 * 0.0 in real values, so fp32 always pads with 0.0f.)
 */
#ifndef EDGESDK_PAD_F32_H
#define EDGESDK_PAD_F32_H

#include "edgesdk/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Parameters of PAD. */
typedef struct {
    int32_t before[4]; /* elements added before the data on axes n, h, w, c, >= 0 */
    int32_t after[4];  /* elements added after the data on axes n, h, w, c, >= 0 */
} es_pad_params;

/* Forward: y = x surrounded by zeros. */
es_status es_pad_f32_fwd(const es_pad_params *params,
                         const es_dims *in_dims, const float *in,
                         const es_dims *out_dims, float *out);

/*
 * Input gradient: dx = dy cropped to the unpadded region.
 *   dy (out_dims)   dx (in_dims)
 */
es_status es_pad_f32_bwd(const es_pad_params *params,
                         const es_dims *out_dims, const float *dy,
                         const es_dims *in_dims, float *dx);

#ifdef __cplusplus
}
#endif

#endif /* EDGESDK_PAD_F32_H */
