/*
 * edgesdk/slice_int8.h -- SLICE in int8 (TFLite's STRIDED_SLICE, SLICE, SPLIT and SPLIT_V): a
 * strided window of the input copied as it is (input and output share one quantization, as in
 * TFLite Micro, whose int8 kernels copy the bytes). Streaming models cut their ring buffers with
 * it. Per es_dims axis a (n, h, w, c): out[i] = in[begin[a] + i * stride[a]], i < out_dims[a].
 */
#ifndef EDGESDK_SLICE_INT8_H
#define EDGESDK_SLICE_INT8_H

#include "edgesdk/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Parameters of the int8 SLICE. */
typedef struct {
    int32_t begin[4];  /* first element read on axes n, h, w, c, >= 0 */
    int32_t stride[4]; /* step on axes n, h, w, c, >= 1 */
} es_slice_int8_params;

/* Every element read must lie inside in_dims: begin + (out - 1) * stride < in on each axis. */
es_status es_slice_int8_fwd(const es_slice_int8_params *params,
                            const es_dims *in_dims, const int8_t *in,
                            const es_dims *out_dims, int8_t *out);

#ifdef __cplusplus
}
#endif

#endif /* EDGESDK_SLICE_INT8_H */
