/*
 * weight_rows.h -- the output-channel rows of an int8 CONV_2D / FULLY_CONNECTED weight whose
 * storage may be split; not part of the public API.
 *
 * Both layouts are output-channel-major (OHWI, [OUT, IN]), so output channel oc is one row of
 * `row` = KH*KW*IC (resp. IN) consecutive weights. A weight trained only on its first k output
 * channels keeps those rows in RAM (the parameter, `head`) and the frozen rows k..OC-1 in flash
 * (`tail`): row oc is head + oc*row for oc < k, tail + (oc - k)*row otherwise. tail == NULL means
 * one array holds every row (k is then 0, or OC). The kernels run their output-channel loop over
 * the rows of head, then over those of tail: the same channels in the same order as one array.
 */
#ifndef EDGESDK_WEIGHT_ROWS_H
#define EDGESDK_WEIGHT_ROWS_H

#include <stdint.h>

/*
 * 1 when (tail, head_channels) describe a weight of `channels` output channels: 0 <= head_channels
 * <= channels, and a tail is given unless head holds every row (head_channels 0 or channels).
 */
static inline int es_weight_split_ok(const int8_t *tail, int32_t head_channels, int32_t channels)
{
    if (head_channels < 0 || head_channels > channels) {
        return 0;
    }
    return tail != NULL || head_channels == 0 || head_channels == channels;
}

#endif /* EDGESDK_WEIGHT_ROWS_H */
