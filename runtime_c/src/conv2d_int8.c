/*
 * conv2d_int8.c -- CONV_2D in int8 (edgesdk/conv2d_int8.h).
 */
#include "edgesdk/conv2d_int8.h"

#include "edgesdk/requant.h"
#include "int8_layer_check.h"
#include "internal.h"
#include "weight_rows.h"

/*
 * The outputs of output channels first..end-1, whose weight rows start at rows: row oc at
 * rows + (oc - first)*KH*KW*IC. Arguments already checked.
 */
static void conv_channels(const es_conv2d_int8_params *params, const es_dims *in_dims,
                          const int8_t *in, const es_dims *w_dims, const int8_t *rows,
                          const int32_t *bias, const es_dims *out_dims, int8_t *out,
                          int32_t first, int32_t end)
{
    int32_t n, oh, ow, oc, kh, kw, ic;
    for (n = 0; n < out_dims->n; ++n) {
        for (oh = 0; oh < out_dims->h; ++oh) {
            const int32_t ih0 = oh * params->stride_h - params->pad_top;
            for (ow = 0; ow < out_dims->w; ++ow) {
                const int32_t iw0 = ow * params->stride_w - params->pad_left;
                int8_t *y = out + ((n * out_dims->h + oh) * out_dims->w + ow) * out_dims->c;
                for (oc = first; oc < end; ++oc) {
                    int32_t acc = 0;
                    for (kh = 0; kh < w_dims->h; ++kh) {
                        const int32_t ih = ih0 + kh * params->dilation_h;
                        if (ih < 0 || ih >= in_dims->h) {
                            continue;
                        }
                        for (kw = 0; kw < w_dims->w; ++kw) {
                            const int32_t iw = iw0 + kw * params->dilation_w;
                            const int8_t *x;
                            const int8_t *wk;
                            if (iw < 0 || iw >= in_dims->w) {
                                continue;
                            }
                            x = in + ((n * in_dims->h + ih) * in_dims->w + iw) * in_dims->c;
                            wk = rows + (((oc - first) * w_dims->h + kh) * w_dims->w + kw) * w_dims->c;
                            for (ic = 0; ic < in_dims->c; ++ic) {
                                acc = es_wrap_add(acc, (int32_t)wk[ic] * ((int32_t)x[ic] + params->input_offset));
                            }
                        }
                    }
                    if (bias != NULL) {
                        acc = es_wrap_add(acc, bias[oc]);
                    }
                    acc = es_wrap_add(es_mbqm(acc, params->multiplier[oc], params->shift[oc]), params->output_offset);
                    y[oc] = (int8_t)es_clamp(acc, params->act_min, params->act_max);
                }
            }
        }
    }
}

es_status es_conv2d_int8_fwd(const es_conv2d_int8_params *params,
                             const es_dims *in_dims, const int8_t *in,
                             const es_dims *w_dims, const int8_t *w,
                             const int32_t *bias,
                             const es_dims *out_dims, int8_t *out)
{
    if (in == NULL || w == NULL || out == NULL) {
        return ES_ERR_ARG;
    }
    ES_TRY(es_conv2d_int8_check(params, in_dims, w_dims, out_dims));
    /* split weights: the channels in w, then those in the tail (each output is its own integer
     * sum, so the two ranges may run one after the other) */
    const int32_t head = params->w_tail != NULL ? params->w_head_channels : out_dims->c;
    conv_channels(params, in_dims, in, w_dims, w, bias, out_dims, out, 0, head);
    if (head < out_dims->c) {
        conv_channels(params, in_dims, in, w_dims, params->w_tail, bias, out_dims, out, head, out_dims->c);
    }
    return ES_OK;
}
