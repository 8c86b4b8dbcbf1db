/*
 * edgesdk/qas_int8_train.h -- the parts of int8 training's QAS updates that edgesdk/qas_int8.h
 * does not have: the float32 master copy, and the bias gradient fused with its update.
 *
 * Master copy (edgesdk.train.Int8Training.master): a float32 copy of the trainable channels of a
 * parameter, in the parameter's integer units, laid out like the compact gradient (element (r, j)
 * of the span at master[r * grad_stride + j]). Per element, in span order:
 *
 *     d = (grad * factor[channel]) * lr        (float32, in this order; as es_qas_int8_update)
 *     m = m - d
 *     q = saturate(roundf(m))                  roundf: nearest, ties away from zero; NaN -> 0;
 *                                              int8 weights to [-127, 127], int32 biases to int32
 *
 * so steps smaller than one integer unit accumulate in m instead of being lost. Stochastic
 * rounding has no use with a master copy and is refused (ES_ERR_ARG).
 *
 * Fused updates (es_*_bwd_w_qas and es_bias_int32_bwd_qas): the parameter gradient is computed
 * one chunk at a time into a caller-owned float32 scratch and applied at once, so no gradient
 * buffer exists. A chunk is one row of the update span as stored: a CONV_2D (oc, kh, kw) row of IC
 * weights, a FULLY_CONNECTED output row of IN weights, a DEPTHWISE_CONV_2D tap of the k trainable
 * channels, the k biases. Every element's gradient is the same float32 sum as the unfused kernel's
 * and elements are updated in the same span order, so a fused update gives the unfused pair's
 * result bit for bit, stochastic draws included. Scratch: es_*_qas_scratch_size() bytes (the
 * training graph's workspace_bytes, edgesdk.train.costs.workspace_bytes).
 */
#ifndef EDGESDK_QAS_INT8_TRAIN_H
#define EDGESDK_QAS_INT8_TRAIN_H

#include "edgesdk/common.h"
#include "edgesdk/qas_int8.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The QAS update of one layer's weight or bias: the first `channels` output channels train. */
typedef struct {
    float lr;             /* learning rate */
    es_rounding rounding; /* ES_ROUND_NEAREST or ES_ROUND_STOCHASTIC (nearest with a master copy) */
    int32_t channels;     /* k, the trainable output channels, 1..OC */
    const float *factor;  /* [k] step factor per channel: 1/s_w (weights), 1/(s_w s_x) (biases) */
} es_qas_layer_params;

/*
 * Master-copy updates of int8 weights / int32 biases from a gradient buffer (the unfused
 * qas_update nodes with a master copy). params->rounding must be ES_ROUND_NEAREST.
 *   span, factor, grad as es_qas_int8_update; master laid out like grad.
 */
es_status es_qas_int8_master_update(const es_qas_params *params, const es_qas_span *span,
                                    const float *factor, const float *grad, float *master,
                                    int8_t *param);

es_status es_qas_int32_master_update(const es_qas_params *params, const es_qas_span *span,
                                     const float *factor, const float *grad, float *master,
                                     int32_t *param);

/* Start a master copy: master[r * grad_stride + j] = (float)param[r * param_stride + j]. */
es_status es_qas_int8_master_init(const es_qas_span *span, const int8_t *param, float *master);

es_status es_qas_int32_master_init(const es_qas_span *span, const int32_t *param, float *master);

/*
 * Bias gradient fused with its QAS update: the gradient of the first qas->channels biases,
 * db[c] = sum over n, h, w of dz[n, h, w, c] (es_bias_grad_f32's order), into scratch, then
 * applied to bias (es_qas_int32_update, or the master update when master != NULL).
 *   dz [N, H, W, C] (dz_dims)   bias [C] int32   master [k] or NULL   rng_state: the
 *   xorshift32 state for stochastic rounding (else may be NULL)
 *   scratch: es_bias_int32_bwd_qas_scratch_size(qas) bytes
 */
es_status es_bias_int32_bwd_qas(const es_qas_layer_params *qas,
                                const es_dims *dz_dims, const float *dz,
                                int32_t *bias, float *master, uint32_t *rng_state,
                                float *scratch);

/* Scratch bytes of es_bias_int32_bwd_qas: 4 * channels. */
size_t es_bias_int32_bwd_qas_scratch_size(const es_qas_layer_params *qas);

/* ---- helpers of the fused kernels --------------------------------------------------------- */

/*
 * 1 when a layer update can run: factor given, 1 <= channels <= out_channels, a known rounding,
 * nearest rounding with a master copy, a nonzero xorshift32 state for stochastic rounding.
 */
static inline int es_qas_layer_ok(const es_qas_layer_params *qas, int32_t out_channels,
                                  const float *master, const uint32_t *rng_state)
{
    if (qas == NULL || qas->factor == NULL || qas->channels < 1 || qas->channels > out_channels) {
        return 0;
    }
    if (qas->rounding == ES_ROUND_NEAREST) {
        return 1;
    }
    return qas->rounding == ES_ROUND_STOCHASTIC && master == NULL && rng_state != NULL &&
           *rng_state != 0u;
}

/*
 * Apply the gradient of one chunk: `count` consecutive elements of one span row, all of one
 * channel when per_channel == count (conv / FC rows) or one channel each when per_channel == 1
 * (depthwise taps, biases); factor points at the chunk's first channel. master (laid out like
 * the chunk) selects the master update.
 */
static inline es_status es_qas_int8_chunk(const es_qas_layer_params *qas, int32_t count,
                                          int32_t per_channel, const float *factor,
                                          const float *grad, float *master,
                                          uint32_t *rng_state, int8_t *param)
{
    const es_qas_params step = {qas->lr, qas->rounding};
    const es_qas_span span = {1, count, count, count, per_channel};
    if (master != NULL) {
        return es_qas_int8_master_update(&step, &span, factor, grad, master, param);
    }
    return es_qas_int8_update(&step, &span, factor, grad, rng_state, param);
}

#ifdef __cplusplus
}
#endif

#endif /* EDGESDK_QAS_INT8_TRAIN_H */
