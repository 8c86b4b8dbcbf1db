/*
 * edgesdk/pad_int8.h -- PAD in int8: the input copied as it is, surrounded by pad_value (the
 * output zero point, i.e. real 0), as TFLite Micro does (input and output share a quantization).
 * Padding amounts per es_dims axis (n, h, w, c), out = in + before + after on each axis.
 */
#ifndef EDGESDK_PAD_INT8_H
#define EDGESDK_PAD_INT8_H

#include "edgesdk/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Parameters of the int8 PAD. */
typedef struct {
    int32_t before[4]; /* elements added before the data on axes n, h, w, c, >= 0 */
    int32_t after[4];  /* elements added after the data on axes n, h, w, c, >= 0 */
    int32_t pad_value; /* the value written in the padding, -128..127 */
} es_pad_int8_params;

es_status es_pad_int8_fwd(const es_pad_int8_params *params,
                          const es_dims *in_dims, const int8_t *in,
                          const es_dims *out_dims, int8_t *out);

#ifdef __cplusplus
}
#endif

#endif /* EDGESDK_PAD_INT8_H */
