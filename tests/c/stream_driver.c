/*
 * stream_driver.c -- runs a generated streaming model (edgesdk.codegen.stream, prefix "stream")
 * over frames read from stdin and writes, after every inference, every activation buffer to
 * stdout in the order of stream_tensors (raw bytes).
 *
 *   stream_driver < frames.bin > tensors.bin     exit status 0, or the failing step's es_status
 */
#include <stdio.h>

#include "stream.h"

int main(void)
{
    static int8_t frame[STREAM_INPUT_BYTES];
    static uint8_t output[STREAM_OUTPUT_BYTES];
    int32_t k;
    stream_reset();
    while (fread(frame, 1, sizeof frame, stdin) == sizeof frame) {
        const es_status status = stream_step((const void *)frame, (void *)output);
        if (status != ES_OK) {
            fprintf(stderr, "step failed: %s\n", es_status_name(status));
            return (int)status;
        }
        for (k = 0; k < STREAM_TENSOR_COUNT; ++k) {
            fwrite(stream_tensors[k].data, 1, (size_t)stream_tensors[k].bytes, stdout);
        }
    }
    return 0;
}
