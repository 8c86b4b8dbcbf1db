/*
 * edgesdk/common.h -- types shared by every runtime kernel.
 *
 * Conventions that hold for every kernel unless its header says otherwise:
 *
 * - Tensors are passed as (dims, data) pairs, inputs first, outputs last. Data is float32,
 *   densely packed, row-major over es_dims in the order n, h, w, c (NHWC). A tensor of lower
 *   rank is mapped onto es_dims by the caller: [N, K] -> {N, 1, 1, K}; [N, W, C] -> {N, 1, W, C}.
 * - Every dimension is >= 1. Element counts must fit in int32_t.
 * - Kernels return ES_OK or an error status and write nothing before their checks pass.
 * - Outputs are written with '=' (never accumulated into) unless the kernel's name says
 *   "accumulate". A gradient with several contributions is summed with es_accumulate_f32.
 * - An output must not overlap an input, except where a header says "may alias": then the
 *   output may be the very same pointer as that input (in place); partial overlap is undefined.
 * - No kernel allocates memory, keeps state between calls, or touches globals. All fp32
 *   reference kernels need no workspace (scratch size 0).
 * - Floating point: plain float32 operations in the documented order. Compile with -std=c99
 *   (or any mode with -ffp-contract=off) so that no multiply-add is fused; then the host and
 *   the microcontroller compute the same bits for the same inputs.
 */
#ifndef EDGESDK_COMMON_H
#define EDGESDK_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Result of every kernel. */
typedef enum {
    ES_OK = 0,        /* success */
    ES_ERR_ARG = 1,   /* NULL pointer where data is needed, or a parameter outside its range */
    ES_ERR_SHAPE = 2, /* dims inconsistent with each other or with the parameters */
    ES_ERR_IO = 3,    /* storage or board I/O failed (pager and ports; no kernel returns it) */
    ES_ERR_DIVERGED = 4 /* a training step's loss or updated parameters were not finite: the
                           generated es_train_step undid it (no kernel returns it) */
} es_status;

/* Shape of a tensor of rank <= 4, NHWC. */
typedef struct {
    int32_t n; /* batch; output channels for CONV_2D / FULLY_CONNECTED weights */
    int32_t h; /* rows (kernel height for weights) */
    int32_t w; /* columns (kernel width for weights) */
    int32_t c; /* channels, innermost (input channels for CONV_2D weights) */
} es_dims;

/* Activation fused into a forward kernel: y = f(z). */
typedef enum {
    ES_ACT_NONE = 0,  /* f(z) = z */
    ES_ACT_RELU = 1,  /* f(z) = max(z, 0) */
    ES_ACT_RELU6 = 2  /* f(z) = min(max(z, 0), 6) */
} es_activation;

/* Number of elements of a tensor (n * h * w * c). */
static inline int32_t es_dims_count(const es_dims *dims)
{
    return dims->n * dims->h * dims->w * dims->c;
}

/* Human-readable name of a status ("ES_OK", "ES_ERR_SHAPE", ...). Never NULL. */
const char *es_status_name(es_status status);

/* Return from the calling function with the status of expr if it is not ES_OK. */
#define ES_TRY(expr)                                     \
    do {                                                 \
        es_status es_try_status_ = (expr);               \
        if (es_try_status_ != ES_OK) {                   \
            return es_try_status_;                       \
        }                                                \
    } while (0)

#ifdef __cplusplus
}
#endif

#endif /* EDGESDK_COMMON_H */
