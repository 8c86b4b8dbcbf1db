/*
 * edgesdk/fully_connected_int8_bwd.h -- FULLY_CONNECTED backward of an int8 layer: input
 * gradient, weight gradient and the weight gradient fused with its QAS update.
 *
 * The float32 backward of es_fully_connected_f32_* (fully_connected_f32.h: x viewed as rows of
 * K = w_dims->c values, summation orders) reading the int8 forward tensors and dequantizing each
 * element inside (edgesdk/dequant_int8.h); weights [OUT, K] have one scale per output row.
 */
#ifndef EDGESDK_FULLY_CONNECTED_INT8_BWD_H
#define EDGESDK_FULLY_CONNECTED_INT8_BWD_H

#include "edgesdk/common.h"
#include "edgesdk/dequant_int8.h"
#include "edgesdk/qas_int8_train.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Input gradient (order o).
 *   dz rows x OUT (out_dims)   w [OUT, K] -> {OUT, 1, 1, K} int8   dx rows x K (in_dims)
 * Split weights (wq->tail, wq->head_channels; edgesdk/dequant_int8.h): w holds the first
 * head_channels rows, wq->tail the rest; the same bits as one whole array.
 */
es_status es_fully_connected_int8_bwd_in(const es_weights_int8_quant *wq,
                                         const es_dims *out_dims, const float *dz,
                                         const es_dims *w_dims, const int8_t *w,
                                         const es_dims *in_dims, float *dx);

/*
 * Weight gradient (order: rows) of the first dw_dims->n outputs, compact [k, K].
 *   dz rows x OUT (out_dims)   x rows x K int8 (in_dims)   dw {k, 1, 1, K}
 */
es_status es_fully_connected_int8_bwd_w(const es_affine_int8_params *xq,
                                        const es_dims *out_dims, const float *dz,
                                        const es_dims *in_dims, const int8_t *in,
                                        const es_dims *dw_dims, float *dw);

/*
 * Weight gradient fused with the QAS update of the first qas->channels rows of w (in place):
 * per output row, its K gradients into scratch, then the update of that row. Equal, bit for bit,
 * to es_fully_connected_int8_bwd_w followed by the update with the span {1, k*K, OUT*K, k*K, K}.
 *   w {OUT, 1, 1, K} int8 (w_dims)   master [k, K] or NULL   rng_state as conv2d
 *   Only the first k rows of w are read or written (w may be a split weight's RAM head alone).
 *   scratch: es_fully_connected_int8_bwd_w_qas_scratch_size(w_dims) bytes
 */
es_status es_fully_connected_int8_bwd_w_qas(const es_affine_int8_params *xq,
                                            const es_qas_layer_params *qas,
                                            const es_dims *out_dims, const float *dz,
                                            const es_dims *in_dims, const int8_t *in,
                                            const es_dims *w_dims, int8_t *w,
                                            float *master, uint32_t *rng_state, float *scratch);

/* Scratch bytes of es_fully_connected_int8_bwd_w_qas: one output row, 4 * K. */
size_t es_fully_connected_int8_bwd_w_qas_scratch_size(const es_dims *w_dims);

#ifdef __cplusplus
}
#endif

#endif /* EDGESDK_FULLY_CONNECTED_INT8_BWD_H */
