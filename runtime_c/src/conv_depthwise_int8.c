/*
 * conv_depthwise_int8.c -- CONV_2D then DEPTHWISE_CONV_2D in int8 through a ring of producer rows
 * (edgesdk/conv_depthwise_int8.h).
 *
 * Channel by channel, row by row, with the fast kernels' primitives (mac_int8.h, fast_int8.h):
 * - a producer row is a run of dot products of the channel's weights with the input, starting
 *   from a base that holds the bias and the hoisted input offset (input_offset * the sum of the
 *   weights of the kernel rows inside the input). A 1x1 stride-1 unpadded producer (MobileNetV2's
 *   expansions) reads consecutive pixels, 8 bytes per pass with the weights in registers; others
 *   sum their interior columns the same way, one KW * IC run per kernel row, and their border
 *   columns with the reference's loop;
 * - a 3x3 depthwise row reads three planar ring rows: interior columns with one 32-bit load and a
 *   three-tap dot product per kernel row (stride 1: two outputs per load), border columns taking
 *   the input offset of their outside taps back out of the base; kernel rows outside the
 *   producer's output get zero weights. Other depthwise kernels use the reference's loop;
 * - each row is requantized in runs of RUN accumulators (es_out_run, es_mbqm's bits).
 * Integer sums modulo 2^32 do not depend on their order, so the bits are the two reference
 * kernels'. Stack: RUN int32 accumulators in each row function, no heap, no globals.
 */
#include "edgesdk/conv_depthwise_int8.h"

#include "fast_int8.h"
#include "mac_int8.h"

/* The row loops stay separate functions: inlined into the channel loop they leave the compiler
 * too few registers, and the innermost sum spills on the Cortex-M (measured: 10 instructions per
 * MAC instead of 7). Only a hint; any C99 compiler builds the file without it. */
#if defined(__GNUC__)
#define ROW_FUNCTION __attribute__((noinline)) static
#else
#define ROW_FUNCTION static
#endif

static es_status check(const es_conv2d_int8_params *conv, const es_depthwise_conv2d_int8_params *dw,
                       const es_dims *in_dims, const es_dims *conv_w_dims, const es_dims *mid_dims,
                       const es_dims *dw_w_dims, const es_dims *out_dims, size_t scratch_bytes)
{
    /* the fused node only runs frozen convolutions (one flash array, never a split weight) and
     * depthwise convolutions of depth multiplier 1 */
    ES_TRY(es_conv2d_int8_whole_check(conv, in_dims, conv_w_dims, mid_dims));
    if (dw != NULL && dw->depth_multiplier != 1) {
        return ES_ERR_ARG;
    }
    ES_TRY(es_depthwise_conv2d_int8_check(dw, mid_dims, dw_w_dims, out_dims));
    if (scratch_bytes < es_conv_depthwise_int8_scratch_size(dw, dw_w_dims, mid_dims)) {
        return ES_ERR_ARG;
    }
    return ES_OK;
}

size_t es_conv_depthwise_int8_scratch_size(const es_depthwise_conv2d_int8_params *dw,
                                           const es_dims *dw_w_dims, const es_dims *mid_dims)
{
    if (dw == NULL || dw->dilation_h < 1 || !es_dims_ok(dw_w_dims) || !es_dims_ok(mid_dims)) {
        return 0;
    }
    return ((size_t)(dw_w_dims->h - 1) * (size_t)dw->dilation_h + 1u) * (size_t)mid_dims->w;
}

/* Outputs of one row summed before they are requantized together (es_out_run): a stack array of
 * RUN int32 accumulators per row function. */
#define RUN 32

/* The three ring rows a 3x3 window reads (a kernel row outside the convolution's output points
 * at one that is there: its weights are zero, it adds nothing). */
typedef struct {
    const int8_t *row[3];
} rows3;

/* Everything one call reads, in one place: the per-channel loops take a single pointer to it
 * (fewer values live at once, so the inner loops keep theirs in registers). */
typedef struct {
    const es_conv2d_int8_params *conv;
    const es_depthwise_conv2d_int8_params *dw;
    const es_dims *in_dims;
    const int8_t *in;
    const es_dims *conv_w_dims;
    const int8_t *conv_w;
    const int32_t *conv_bias;
    const es_dims *mid_dims;
    const es_dims *dw_w_dims;
    const int8_t *dw_w;
    const int32_t *dw_bias;
    const es_dims *out_dims;
    int8_t *out;
    int8_t *ring;
    int32_t ring_rows;
    es_span conv_cols;      /* the producer's interior columns: every tap inside the input row */
    es_span dw_cols;        /* the depthwise's interior columns: every tap inside the ring row */
    es_out_range conv_range;
    es_out_range dw_range;
    es_span no_cols;        /* empty: every column of a kernel without the three-tap path */
    rows3 no_rows;          /* unused by a kernel without the three-tap path */
    int dw_fast;            /* 3x3 depthwise kernel with dilation_w 1: the three-tap path */
    int pointwise;          /* 1x1 producer, stride 1, no padding: every row a run of pixels */
} fused_call;

/* Taps [lo, hi) of a window of k taps, dilation apart, starting at first: those inside [0, n). */
static es_span valid_taps(int32_t first, int32_t k, int32_t dilation, int32_t n)
{
    es_span t;
    t.lo = first >= 0 ? 0 : (-first + dilation - 1) / dilation;
    t.hi = first >= n ? 0 : (n - first + dilation - 1) / dilation;
    t.hi = t.hi < k ? t.hi : k;
    t.lo = t.lo < t.hi ? t.lo : t.hi;
    return t;
}

/* acc + sum of w[i] * (x[i] + offset), i < count, wrapping like TFLite's int32 sums. */
static int32_t dot_offset(int32_t acc, const int8_t *w, const int8_t *x, int32_t count, int32_t offset)
{
    int32_t i;
    for (i = 0; i < count; ++i) {
        acc = es_wrap_add(acc, (int32_t)w[i] * ((int32_t)x[i] + offset));
    }
    return acc;
}

/* ---- the producer: one row of one channel of the convolution */

/*
 * acc[i] (+)= the dot product of 8 weights w with the 8 input bytes at x + i * x_step, i < count:
 * the weights stay in registers, each pixel costs two loads and four dual MACs. add = 0 starts
 * each sum from base. Inlined with constant add below.
 */
static inline void pixel_dots8_of(const int8_t *w, const int8_t *x, int32_t x_step, int32_t count, int32_t base,
                                  int32_t *acc, int add)
{
    const es_int8x4 w0 = es_load_int8x4(w);
    const es_int8x4 w1 = es_load_int8x4(w + 4);
    int32_t *const end = acc + count;
    for (; acc != end; ++acc, x += x_step) {
        *acc = es_mac_int8x4(es_mac_int8x4(add ? *acc : base, es_load_int8x4(x), w0), es_load_int8x4(x + 4), w1);
    }
}

/* The same for any len: two pixels per pass, so each loaded group of four weights serves both. */
static inline void pixel_dots_of(const int8_t *w, const int8_t *x, int32_t x_step, int32_t len, int32_t count,
                                 int32_t base, int32_t *acc, int add)
{
    int32_t i = 0;
    for (; i + 2 <= count; i += 2, x += 2 * x_step) {
        const es_dots1x2 d = es_dot_1x2(w, x, x_step, len);
        acc[i] = es_wrap_add(add ? acc[i] : base, d.w0);
        acc[i + 1] = es_wrap_add(add ? acc[i + 1] : base, d.w1);
    }
    if (i < count) {
        acc[i] = es_wrap_add(add ? acc[i] : base, es_dot_1x1(x, w, len));
    }
}

/* acc[i] (+)= the dot products of len weights w with the input at x + i * x_step: eight bytes
 * at a time with the weights in registers (MobileNetV2's expansion depths are multiples of 8),
 * the rest two pixels at a time. */
ROW_FUNCTION void pixel_dots(const int8_t *w, const int8_t *x, int32_t x_step, int32_t len, int32_t count,
                             int32_t base, int32_t *acc, int add)
{
    int32_t done = 0;
    for (; done + 8 <= len; done += 8, add = 1) {
        if (add) {
            pixel_dots8_of(w + done, x + done, x_step, count, base, acc, 1);
        } else {
            pixel_dots8_of(w + done, x + done, x_step, count, base, acc, 0);
        }
    }
    if (done == len) {
        return;
    }
    if (add) {
        pixel_dots_of(w + done, x + done, x_step, len - done, count, base, acc, 1);
    } else {
        pixel_dots_of(w + done, x + done, x_step, len - done, count, base, acc, 0);
    }
}

/* Producer columns [lo, lo + count), all interior, into acc: base plus, per valid kernel row, the
 * dot products of its weights with the input (one run of KW * IC bytes when dilation_w is 1, else
 * one run of IC bytes per tap). */
static void conv_interior(const fused_call *f, const int8_t *x_n, const int8_t *w_c, int32_t ih0, es_span kh,
                          int32_t lo, int32_t count, int32_t base, int32_t *acc)
{
    const es_conv2d_int8_params *p = f->conv;
    const int32_t ic = f->in_dims->c;
    const int32_t kw_count = f->conv_w_dims->w;
    const int32_t seg_len = p->dilation_w == 1 ? kw_count * ic : ic;
    const int32_t segs = p->dilation_w == 1 ? 1 : kw_count;
    const int32_t x_step = p->stride_w * ic;
    int add = 0;
    int32_t r, s;
    for (r = kh.lo; r < kh.hi; ++r) {
        const int32_t ih = ih0 + r * p->dilation_h;
        const int8_t *x_row = x_n + (ih * f->in_dims->w + lo * p->stride_w - p->pad_left) * ic;
        for (s = 0; s < segs; ++s) {
            pixel_dots(w_c + (r * kw_count + s) * ic, x_row + s * p->dilation_w * ic, x_step, seg_len, count, base,
                       acc, add);
            add = 1;
        }
    }
    for (r = 0; !add && r < count; ++r) {
        acc[r] = base; /* no kernel row inside the input: the bias alone */
    }
}

/* One border column of the producer: the reference's loop, skipping taps outside the input. */
static int32_t conv_border(const fused_call *f, const int8_t *x_n, const int8_t *w_c, int32_t ih0, es_span kh,
                           int32_t ow, int32_t bias)
{
    const es_conv2d_int8_params *p = f->conv;
    const es_dims *in_dims = f->in_dims;
    const int32_t kw_count = f->conv_w_dims->w;
    const int32_t iw0 = ow * p->stride_w - p->pad_left;
    const es_span kw = valid_taps(iw0, kw_count, p->dilation_w, in_dims->w);
    int32_t acc = bias;
    int32_t r, t;
    for (r = kh.lo; r < kh.hi; ++r) {
        const int32_t ih = ih0 + r * p->dilation_h;
        for (t = kw.lo; t < kw.hi; ++t) {
            const int32_t iw = iw0 + t * p->dilation_w;
            acc = dot_offset(acc, w_c + (r * kw_count + t) * in_dims->c, x_n + (ih * in_dims->w + iw) * in_dims->c,
                             in_dims->c, p->input_offset);
        }
    }
    return acc;
}

/* Channel c's producer constants for the kernel rows kh (the hoisted input offset counts the
 * weights of those rows only). */
static es_out_channel conv_channel(const fused_call *f, int32_t c, es_span kh)
{
    const es_conv2d_int8_params *p = f->conv;
    const int32_t row_len = f->conv_w_dims->w * f->conv_w_dims->c;
    const int8_t *w_c = f->conv_w + c * f->conv_w_dims->h * row_len;
    int32_t r, weight_sum = 0;
    for (r = kh.lo; r < kh.hi; ++r) {
        weight_sum = es_wrap_add(weight_sum, es_sum_int8(w_c + r * row_len, row_len));
    }
    return es_out_channel_of(f->conv_bias, p->multiplier, p->shift, c, p->input_offset, weight_sum);
}

/* conv_row for a 1x1 convolution with stride 1 and no padding (MobileNetV2's expansions): the
 * row is W consecutive input pixels, all interior, in runs of dot products. */
static void pointwise_row(const fused_call *f, int32_t n, int32_t row, int32_t c, const es_out_channel *full)
{
    const int32_t ic = f->in_dims->c;
    const int32_t width = f->mid_dims->w;
    const int8_t *x = f->in + (n * f->in_dims->h + row) * width * ic;
    const int8_t *w_c = f->conv_w + c * ic;
    int8_t *dst = f->ring + (row % f->ring_rows) * width;
    int32_t acc[RUN];
    int32_t lo, count;
    for (lo = 0; lo < width; lo += count) {
        count = width - lo < RUN ? width - lo : RUN;
        pixel_dots(w_c, x + lo * ic, ic, ic, count, full->base, acc, 0);
        es_out_run(acc, count, *full, f->conv_range, dst + lo, 1);
    }
}

/* Row `row` of channel c of batch item n of the convolution's output, into its ring row: each
 * element as es_conv2d_int8_fwd computes it. full: the channel's constants when every kernel
 * row is inside the input. */
ROW_FUNCTION void conv_row(const fused_call *f, int32_t n, int32_t row, int32_t c, const es_out_channel *full)
{
    const es_conv2d_int8_params *p = f->conv;
    const es_dims *in_dims = f->in_dims;
    const es_dims *w_dims = f->conv_w_dims;
    const int8_t *x_n = f->in + n * in_dims->h * in_dims->w * in_dims->c;
    const int8_t *w_c = f->conv_w + c * w_dims->h * w_dims->w * w_dims->c;
    const int32_t ih0 = row * p->stride_h - p->pad_top;
    const es_span kh = valid_taps(ih0, w_dims->h, p->dilation_h, in_dims->h);
    const es_out_channel ch = kh.lo == 0 && kh.hi == w_dims->h ? *full : conv_channel(f, c, kh);
    const int32_t bias = f->conv_bias != NULL ? f->conv_bias[c] : 0;
    int8_t *dst = f->ring + (row % f->ring_rows) * f->mid_dims->w;
    int32_t acc[RUN];
    int32_t lo, count, ow;
    for (lo = 0; lo < f->mid_dims->w; lo += count) {
        int32_t a = lo > f->conv_cols.lo ? lo : f->conv_cols.lo;
        int32_t b;
        count = f->mid_dims->w - lo < RUN ? f->mid_dims->w - lo : RUN;
        b = lo + count < f->conv_cols.hi ? lo + count : f->conv_cols.hi;
        if (a < b) {
            conv_interior(f, x_n, w_c, ih0, kh, a, b - a, ch.base, acc + (a - lo));
        } else {
            a = b = lo + count; /* no interior column here: all border */
        }
        for (ow = lo; ow < a; ++ow) {
            acc[ow - lo] = conv_border(f, x_n, w_c, ih0, kh, ow, bias);
        }
        for (ow = b; ow < lo + count; ++ow) {
            acc[ow - lo] = conv_border(f, x_n, w_c, ih0, kh, ow, bias);
        }
        es_out_run(acc, count, ch, f->conv_range, dst + lo, 1);
    }
}

/* ---- the consumer: one row of one channel of the depthwise convolution, from the ring */

/* One channel's 3x3 depthwise weights: row-major bytes, the same as three-tap rows, and the sum
 * of each kernel row. A kernel row outside the convolution's output is zeroed in a row's copy. */
typedef struct {
    es_taps3 taps[3];
    int8_t wt[9];
    int32_t row_sum[3];
} taps3x3;

/* acc + the three taps of one kernel row on x[0..2], reading exactly those three bytes. */
static int32_t dot3_exact(int32_t acc, const int8_t *x, const int8_t *w)
{
    return es_mac_int8(es_mac_int8(es_mac_int8(acc, x[0], w[0]), x[1], w[1]), x[2], w[2]);
}

/* The window's sum at ring column iw reading exactly its nine bytes. */
static int32_t window_exact(const rows3 *k, const taps3x3 *t, int32_t iw, int32_t base)
{
    return dot3_exact(dot3_exact(dot3_exact(base, k->row[0] + iw, t->wt), k->row[1] + iw, t->wt + 3),
                      k->row[2] + iw, t->wt + 6);
}

/* Stride 1, interior columns starting at ring column iw (count of them): two neighbouring
 * outputs from one 32-bit load per kernel row (the pair reads bytes iw..iw+3, all inside its
 * two windows); a last odd one reads exactly its nine bytes. */
static void dw_stride1(const rows3 *k, const taps3x3 *t, int32_t iw, int32_t count, int32_t base, int32_t *acc)
{
    const int8_t *r0 = k->row[0] + iw;
    const int8_t *r1 = k->row[1] + iw;
    const int8_t *r2 = k->row[2] + iw;
    const es_taps3 t0 = t->taps[0], t1 = t->taps[1], t2 = t->taps[2];
    int32_t i = 0;
    for (; i + 2 <= count; i += 2, r0 += 2, r1 += 2, r2 += 2) {
        const es_int8x4 a = es_load_int8x4(r0);
        const es_int8x4 b = es_load_int8x4(r1);
        const es_int8x4 d = es_load_int8x4(r2);
        acc[i] = es_dot3(es_dot3(es_dot3(base, a, t0), b, t1), d, t2);
        acc[i + 1] = es_dot3_next(es_dot3_next(es_dot3_next(base, a, t0), b, t1), d, t2);
    }
    if (i < count) {
        acc[i] = window_exact(k, t, iw + i, base);
    }
}

/* Any stride: one 32-bit load per kernel row and output while the fourth byte is still inside
 * the ring row (row_w), the exact nine-byte sums after that. */
static void dw_strided(const rows3 *k, const taps3x3 *t, int32_t iw, int32_t count, int32_t stride, int32_t row_w,
                       int32_t base, int32_t *acc)
{
    const es_taps3 t0 = t->taps[0], t1 = t->taps[1], t2 = t->taps[2];
    const int8_t *r0 = k->row[0] + iw;
    const int8_t *r1 = k->row[1] + iw;
    const int8_t *r2 = k->row[2] + iw;
    int32_t i;
    for (i = 0; i < count && iw + 4 <= row_w; ++i, iw += stride, r0 += stride, r1 += stride, r2 += stride) {
        acc[i] = es_dot3(es_dot3(es_dot3(base, es_load_int8x4(r0), t0), es_load_int8x4(r1), t1),
                         es_load_int8x4(r2), t2);
    }
    for (; i < count; ++i, iw += stride) {
        acc[i] = window_exact(k, t, iw, base);
    }
}

/* A border column of the three-tap path (first tap at ring column iw0): base counts the input
 * offset for all nine taps, so the taps outside the row take theirs back out. */
static int32_t dw_edge(const rows3 *k, const taps3x3 *w, int32_t iw0, int32_t row_w, int32_t base,
                       int32_t input_offset)
{
    int32_t acc = base;
    int32_t t;
    for (t = 0; t < 3; ++t) {
        const int32_t iw = iw0 + t;
        if (iw < 0 || iw >= row_w) {
            const int32_t column_sum = w->wt[t] + w->wt[3 + t] + w->wt[6 + t];
            acc = es_wrap_add(acc, -column_sum * input_offset); /* |.| <= 3 * 128 * 128 */
        } else {
            acc = es_mac_int8(es_mac_int8(es_mac_int8(acc, k->row[0][iw], w->wt[t]), k->row[1][iw], w->wt[3 + t]),
                              k->row[2][iw], w->wt[6 + t]);
        }
    }
    return acc;
}

/* One column of a kernel without the three-tap path: the reference's loop, skipping taps
 * outside the convolution's output. */
static int32_t dw_general(const fused_call *f, int32_t ih0, es_span kh, int32_t ow, int32_t c)
{
    const es_depthwise_conv2d_int8_params *p = f->dw;
    const es_dims *w_dims = f->dw_w_dims;
    const int32_t mid_w = f->mid_dims->w;
    const int32_t iw0 = ow * p->stride_w - p->pad_left;
    const es_span kw = valid_taps(iw0, w_dims->w, p->dilation_w, mid_w);
    int32_t acc = f->dw_bias != NULL ? f->dw_bias[c] : 0;
    int32_t r, t;
    for (r = kh.lo; r < kh.hi; ++r) {
        const int8_t *row = f->ring + ((ih0 + r * p->dilation_h) % f->ring_rows) * mid_w;
        for (t = kw.lo; t < kw.hi; ++t) {
            acc = es_wrap_add(acc, (int32_t)f->dw_w[(r * w_dims->w + t) * w_dims->c + c] *
                                       ((int32_t)row[iw0 + t * p->dilation_w] + p->input_offset));
        }
    }
    return acc;
}

/* The sum of channel c's depthwise weights in kernel rows kh (all columns). */
static int32_t dw_weight_sum(const fused_call *f, es_span kh, int32_t c)
{
    const es_dims *w_dims = f->dw_w_dims;
    int32_t r, t, sum = 0;
    for (r = kh.lo; r < kh.hi; ++r) {
        for (t = 0; t < w_dims->w; ++t) {
            sum += f->dw_w[(r * w_dims->w + t) * w_dims->c + c];
        }
    }
    return sum;
}

/* Channel c's 3x3 weights. */
static void taps_of(const fused_call *f, int32_t c, taps3x3 *t)
{
    const int32_t channels = f->dw_w_dims->c;
    int32_t r, i;
    for (r = 0; r < 3; ++r) {
        for (i = 0; i < 3; ++i) {
            t->wt[3 * r + i] = f->dw_w[(3 * r + i) * channels + c];
        }
        t->row_sum[r] = t->wt[3 * r] + t->wt[3 * r + 1] + t->wt[3 * r + 2];
        t->taps[r] = es_taps3_of(t->wt[3 * r], t->wt[3 * r + 1], t->wt[3 * r + 2]);
    }
}

/* full's weights with the kernel rows outside kh zeroed, into part; returns the sum of the rest. */
static int32_t taps_inside(const taps3x3 *full, es_span kh, taps3x3 *part)
{
    const es_taps3 none = es_taps3_of(0, 0, 0);
    int32_t r, sum = 0;
    *part = *full;
    for (r = 0; r < 3; ++r) {
        if (r >= kh.lo && r < kh.hi) {
            sum += full->row_sum[r];
        } else {
            part->taps[r] = none;
            part->wt[3 * r] = part->wt[3 * r + 1] = part->wt[3 * r + 2] = 0;
        }
    }
    return sum;
}

/* The ring rows of output row oh's window (first input row ih0). */
static rows3 rows_of(const fused_call *f, int32_t ih0, es_span kh)
{
    const int32_t valid_row = kh.lo < kh.hi ? ih0 + kh.lo * f->dw->dilation_h : 0;
    rows3 k;
    int32_t r;
    for (r = 0; r < 3; ++r) {
        const int32_t ih = r >= kh.lo && r < kh.hi ? ih0 + r * f->dw->dilation_h : valid_row;
        k.row[r] = f->ring + (ih % f->ring_rows) * f->mid_dims->w;
    }
    return k;
}

/* A border column ow of the depthwise row: the three-tap edge sum, or the reference's loop. */
static int32_t dw_border(const fused_call *f, const rows3 *k, const taps3x3 *t, int32_t ih0, es_span kh, int32_t ow,
                         int32_t c, int32_t base)
{
    if (f->dw_fast) {
        return dw_edge(k, t, ow * f->dw->stride_w - f->dw->pad_left, f->mid_dims->w, base, f->dw->input_offset);
    }
    return dw_general(f, ih0, kh, ow, c);
}

/* What one channel's rows share: the producer's and the depthwise's constants when every kernel
 * row is inside, and the depthwise's 3x3 weights (three-tap path). */
typedef struct {
    es_out_channel conv;
    es_out_channel dw;
    taps3x3 taps;
} channel_consts;

/* The depthwise's constants of channel c for the kernel rows kh; t: the three-tap weights. */
static es_out_channel dw_channel(const fused_call *f, const channel_consts *cc, int32_t c, es_span kh, taps3x3 *t)
{
    const es_depthwise_conv2d_int8_params *p = f->dw;
    es_out_channel ch = cc->dw;
    int32_t weight_sum;
    if (kh.lo == 0 && kh.hi == f->dw_w_dims->h) {
        if (f->dw_fast) {
            *t = cc->taps;
        }
        return ch;
    }
    weight_sum = f->dw_fast ? taps_inside(&cc->taps, kh, t) : dw_weight_sum(f, kh, c);
    ch.base = es_wrap_add(f->dw_bias != NULL ? f->dw_bias[c] : 0, es_wrap_mul(p->input_offset, weight_sum));
    return ch;
}

/* Depthwise output row oh of channel c of batch item n, reading the convolution's rows from the
 * ring: each element as es_depthwise_conv2d_int8_fwd computes it. */
ROW_FUNCTION void depthwise_row(const fused_call *f, int32_t n, int32_t oh, int32_t c, const channel_consts *cc)
{
    const es_depthwise_conv2d_int8_params *p = f->dw;
    const es_dims *out_dims = f->out_dims;
    const int32_t ih0 = oh * p->stride_h - p->pad_top;
    const es_span kh = valid_taps(ih0, f->dw_w_dims->h, p->dilation_h, f->mid_dims->h);
    const es_span cols = f->dw_fast ? f->dw_cols : f->no_cols;
    int8_t *y = f->out + (n * out_dims->h + oh) * out_dims->w * out_dims->c + c;
    int32_t acc[RUN];
    taps3x3 t;
    const es_out_channel ch = dw_channel(f, cc, c, kh, &t);
    const rows3 k = f->dw_fast ? rows_of(f, ih0, kh) : f->no_rows;
    int32_t lo, count, ow;
    for (lo = 0; lo < out_dims->w; lo += count) {
        int32_t a = lo > cols.lo ? lo : cols.lo;
        int32_t b;
        count = out_dims->w - lo < RUN ? out_dims->w - lo : RUN;
        b = lo + count < cols.hi ? lo + count : cols.hi;
        if (a >= b) {
            a = b = lo + count; /* no interior column here: all border */
        } else if (p->stride_w == 1) {
            dw_stride1(&k, &t, a - p->pad_left, b - a, ch.base, acc + (a - lo));
        } else {
            dw_strided(&k, &t, a * p->stride_w - p->pad_left, b - a, p->stride_w, f->mid_dims->w, ch.base,
                       acc + (a - lo));
        }
        for (ow = lo; ow < a; ++ow) {
            acc[ow - lo] = dw_border(f, &k, &t, ih0, kh, ow, c, ch.base);
        }
        for (ow = b; ow < lo + count; ++ow) {
            acc[ow - lo] = dw_border(f, &k, &t, ih0, kh, ow, c, ch.base);
        }
        es_out_run(acc, count, ch, f->dw_range, y + lo * out_dims->c, out_dims->c);
    }
}

/* Channel c's constants for the rows whose kernel rows are all inside. */
static void channel_consts_of(const fused_call *f, int32_t c, channel_consts *cc)
{
    const es_depthwise_conv2d_int8_params *dw = f->dw;
    es_span all;
    all.lo = 0;
    all.hi = f->conv_w_dims->h;
    cc->conv = conv_channel(f, c, all);
    all.hi = f->dw_w_dims->h;
    cc->dw = es_out_channel_of(f->dw_bias, dw->multiplier, dw->shift, c, dw->input_offset, dw_weight_sum(f, all, c));
    if (f->dw_fast) {
        taps_of(f, c, &cc->taps);
    }
}

/* Channel c of batch item n: the depthwise output rows in order, each after the convolution rows
 * it reads that are not in the ring yet (rows below a window that were never computed are read by
 * no later output row). */
static void fused_channel(const fused_call *f, int32_t n, int32_t c)
{
    const es_depthwise_conv2d_int8_params *dw = f->dw;
    const int32_t span = (f->dw_w_dims->h - 1) * dw->dilation_h;
    const int32_t mid_rows = f->mid_dims->h;
    channel_consts cc;
    int32_t next = 0; /* the lowest row of the convolution's output not computed yet */
    int32_t oh;
    channel_consts_of(f, c, &cc);
    for (oh = 0; oh < f->out_dims->h; ++oh) {
        const int32_t first = oh * dw->stride_h - dw->pad_top;
        const int32_t high = first + span < mid_rows - 1 ? first + span : mid_rows - 1;
        int32_t row;
        for (row = first > next ? first : next; row <= high; ++row) {
            if (f->pointwise) {
                pointwise_row(f, n, row, c, &cc.conv);
            } else {
                conv_row(f, n, row, c, &cc.conv);
            }
        }
        next = high + 1 > next ? high + 1 : next;
        depthwise_row(f, n, oh, c, &cc);
    }
}

static es_out_range range_of(int32_t output_offset, int32_t act_min, int32_t act_max)
{
    es_out_range r;
    r.output_offset = output_offset;
    r.act_min = act_min;
    r.act_max = act_max;
    return r;
}

es_status es_conv_depthwise_int8_fwd(const es_conv2d_int8_params *conv,
                                     const es_depthwise_conv2d_int8_params *dw,
                                     const es_dims *in_dims, const int8_t *in,
                                     const es_dims *conv_w_dims, const int8_t *conv_w,
                                     const int32_t *conv_bias,
                                     const es_dims *mid_dims,
                                     const es_dims *dw_w_dims, const int8_t *dw_w,
                                     const int32_t *dw_bias,
                                     const es_dims *out_dims, int8_t *out,
                                     int8_t *scratch, size_t scratch_bytes)
{
    fused_call f;
    int32_t n, c;
    if (in == NULL || conv_w == NULL || dw_w == NULL || out == NULL || scratch == NULL) {
        return ES_ERR_ARG;
    }
    ES_TRY(check(conv, dw, in_dims, conv_w_dims, mid_dims, dw_w_dims, out_dims, scratch_bytes));
    f.conv = conv;
    f.dw = dw;
    f.in_dims = in_dims;
    f.in = in;
    f.conv_w_dims = conv_w_dims;
    f.conv_w = conv_w;
    f.conv_bias = conv_bias;
    f.mid_dims = mid_dims;
    f.dw_w_dims = dw_w_dims;
    f.dw_w = dw_w;
    f.dw_bias = dw_bias;
    f.out_dims = out_dims;
    f.out = out;
    f.ring = scratch;
    f.ring_rows = (dw_w_dims->h - 1) * dw->dilation_h + 1;
    f.conv_cols = es_interior(in_dims->w, mid_dims->w, conv_w_dims->w, conv->stride_w, conv->dilation_w,
                              conv->pad_left);
    f.dw_cols = es_interior(mid_dims->w, out_dims->w, dw_w_dims->w, dw->stride_w, dw->dilation_w, dw->pad_left);
    f.conv_range = range_of(conv->output_offset, conv->act_min, conv->act_max);
    f.dw_range = range_of(dw->output_offset, dw->act_min, dw->act_max);
    f.pointwise = conv_w_dims->h == 1 && conv_w_dims->w == 1 && conv->stride_h == 1 && conv->stride_w == 1 &&
                  conv->pad_top == 0 && conv->pad_left == 0;
    f.no_cols.lo = f.no_cols.hi = 0;
    f.no_rows.row[0] = f.no_rows.row[1] = f.no_rows.row[2] = scratch;
    f.dw_fast = dw_w_dims->h == 3 && dw_w_dims->w == 3 && dw->dilation_w == 1;
    for (n = 0; n < out_dims->n; ++n) {
        for (c = 0; c < mid_dims->c; ++c) {
            fused_channel(&f, n, c);
        }
    }
    return ES_OK;
}
