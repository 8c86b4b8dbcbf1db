/*
 * fully_connected_fast_int8_bwd.c -- FULLY_CONNECTED weight gradient of an int8 layer fused with
 * its QAS update, fast (edgesdk/fully_connected_fast_int8_bwd.h).
 */
#include "edgesdk/fully_connected_fast_int8_bwd.h"

#include <string.h>

#include "internal.h"
#include "layer_check.h"
#include "mac_int8.h"

/* |t| <= 1024 and not NaN, from t's bits: the range where round_small holds and no saturation
 * of the reference applies (|step| <= 1024 < 2^31). */
static inline int is_small(uint32_t bits)
{
    return (bits << 1) <= (0x44800000u << 1); /* 1024.0f */
}

/* roundf(t) (ties away from zero) for is_small(bits of t): see the header. */
static inline int32_t round_small(float t, uint32_t bits)
{
    const uint32_t half_bits = 0x3EFFFFFFu | (bits & 0x80000000u); /* +-(0.5 - 2^-25) */
    float half;
    memcpy(&half, &half_bits, sizeof half);
    return (int32_t)(t + half);
}

static inline uint32_t bits_of(float t)
{
    uint32_t bits;
    memcpy(&bits, &t, sizeof bits);
    return bits;
}

static inline int8_t clamp_weight(int32_t v)
{
    return (int8_t)(v < -127 ? -127 : (v > 127 ? 127 : v));
}

/* The new weight q - roundf(t) when t is not small: the reference's saturations (NaN: no step;
 * |t| > 1024: the step leaves [-127, 127] on the side opposite to t). */
static int8_t large_step(int8_t q, float t)
{
    if (t != t) {
        return clamp_weight(q);
    }
    return t > 0.0f ? -127 : 127;
}

/* The value of a master copy m when it is not small (roundf saturated, NaN 0, then clamped). */
static int8_t large_master(float m)
{
    if (m != m) {
        return 0;
    }
    return m > 0.0f ? 127 : -127;
}

/* The step t of weight k of a row, whose input is q: ((0 + d * x) * f) * lr, the reference's
 * float32 operations in its order (x dequantized as the reference does). */
static inline float step_of(int32_t q, float xs, int32_t xzp, float d, float f, float lr)
{
    const float g = 0.0f + d * (xs * (float)(q - xzp));
    return (g * f) * lr;
}

/* The integer step of t as the table holds it: roundf(t), NaN 0, saturated to [-255, 255] (a
 * step beyond that leaves every int8 weight outside [-127, 127] on the same side as the
 * reference's int32 step does, so the clamped result is the same). */
static int32_t table_step(float t)
{
    const uint32_t bits = bits_of(t);
    if (is_small(bits)) {
        const int32_t k = round_small(t, bits);
        return k < -255 ? -255 : (k > 255 ? 255 : k);
    }
    if (t != t) {
        return 0;
    }
    return t > 0.0f ? 255 : -255;
}

/* Rows at least this long read their steps from a table of the row's 256 possible inputs. */
#define TABLE_ROW 512

/*
 * One output row, batch 1, nearest rounding: w[k] = clamp(w[k] - roundf(t(x[k]))). The step
 * depends on the input value alone, so a long row first tabulates it for the inputs lo..hi that
 * occur, then each weight costs a table look-up.
 */
static void row_nearest(const int8_t *x, int32_t k_n, int32_t lo, int32_t hi, float xs, int32_t xzp,
                        float d, float f, float lr, int8_t *w)
{
    if (k_n >= TABLE_ROW) {
        int16_t table[256];
        const int16_t *at = table + 128; /* at[q] for q = lo..hi */
        for (int32_t q = lo; q <= hi; ++q) {
            table[q + 128] = (int16_t)table_step(step_of(q, xs, xzp, d, f, lr));
        }
        for (int32_t k = 0; k < k_n; ++k) {
            const int32_t v = es_sat_int8((int32_t)w[k] - at[x[k]]);
            w[k] = (int8_t)(v < -127 ? -127 : v);
        }
        return;
    }
    for (int32_t k = 0; k < k_n; ++k) {
        const float t = step_of(x[k], xs, xzp, d, f, lr);
        const uint32_t bits = bits_of(t);
        w[k] = is_small(bits) ? clamp_weight((int32_t)w[k] - round_small(t, bits)) : large_step(w[k], t);
    }
}

/* The same with a master copy: m[k] -= t, w[k] = clamp(roundf(m[k])). */
static void row_master(const int8_t *x, int32_t k_n, float xs, int32_t xzp, float d, float f, float lr,
                       float *m, int8_t *w)
{
    for (int32_t k = 0; k < k_n; ++k) {
        const float v = m[k] - step_of(x[k], xs, xzp, d, f, lr);
        const uint32_t bits = bits_of(v);
        m[k] = v;
        w[k] = is_small(bits) ? clamp_weight(round_small(v, bits)) : large_master(v);
    }
}

es_status es_fully_connected_fast_int8_bwd_w_qas(const es_affine_int8_params *xq,
                                                 const es_qas_layer_params *qas,
                                                 const es_dims *out_dims, const float *dz,
                                                 const es_dims *in_dims, const int8_t *in,
                                                 const es_dims *w_dims, int8_t *w,
                                                 float *master, uint32_t *rng_state, float *scratch)
{
    int32_t rows = 0;
    if (qas == NULL || qas->rounding != ES_ROUND_NEAREST) {
        return es_fully_connected_int8_bwd_w_qas(xq, qas, out_dims, dz, in_dims, in, w_dims, w, master,
                                                 rng_state, scratch);
    }
    if (dz == NULL || in == NULL || w == NULL || scratch == NULL || xq == NULL ||
        !es_zero_point_ok(xq->zero_point)) {
        return ES_ERR_ARG;
    }
    ES_TRY(es_fc_weights_check(w_dims));
    ES_TRY(es_fc_rows_check(in_dims, out_dims, w_dims->c, w_dims->n, &rows));
    if (rows != 1) {
        return es_fully_connected_int8_bwd_w_qas(xq, qas, out_dims, dz, in_dims, in, w_dims, w, master,
                                                 rng_state, scratch);
    }
    if (!es_qas_layer_ok(qas, w_dims->n, master, rng_state)) {
        return ES_ERR_ARG;
    }
    const int32_t k_n = w_dims->c;
    int32_t lo = 127, hi = -128;
    for (int32_t k = 0; k < k_n; ++k) {
        lo = in[k] < lo ? in[k] : lo;
        hi = in[k] > hi ? in[k] : hi;
    }
    for (int32_t o = 0; o < qas->channels; ++o) {
        if (master != NULL) {
            row_master(in, k_n, xq->scale, xq->zero_point, dz[o], qas->factor[o], qas->lr, master + o * k_n,
                       w + o * k_n);
        } else {
            row_nearest(in, k_n, lo, hi, xq->scale, xq->zero_point, dz[o], qas->factor[o], qas->lr,
                        w + o * k_n);
        }
    }
    return ES_OK;
}
