/*
 * stream_board.c -- a generated streaming model (prefix "stream") on a board or its QEMU
 * stand-in: streams the frames of stream_frames.h (STREAM_FRAME_COUNT x STREAM_INPUT_BYTES
 * int8, written by the test) and reports, through edgesdk/port.h's result lines:
 *   outputs        the output byte of every inference
 *   checksum       FNV-1a over every activation buffer after the last inference
 *   step_total     counter units over all inferences (instructions in QEMU -icount)
 *   step_worst     the largest of one inference
 */
#include "edgesdk/port.h"
#include "stream.h"
#include "stream_frames.h"

int main(void)
{
    static int32_t outputs[STREAM_FRAME_COUNT];
    static uint8_t output[STREAM_OUTPUT_BYTES];
    uint64_t total = 0u, worst = 0u;
    uint32_t hash = 2166136261u;
    int32_t f, k, i;
    es_port_init();
    stream_reset();
    for (f = 0; f < STREAM_FRAME_COUNT; ++f) {
        const uint64_t start = es_port_counter();
        const es_status status = stream_step(stream_frames[f], output);
        const uint64_t spent = es_port_counter() - start;
        if (status != ES_OK) {
            es_report_str("error", es_status_name(status));
            es_port_exit(1);
        }
        outputs[f] = (int32_t)output[0];
        total += spent;
        worst = spent > worst ? spent : worst;
    }
    for (k = 0; k < STREAM_TENSOR_COUNT; ++k) {
        const uint8_t *bytes = (const uint8_t *)stream_tensors[k].data;
        for (i = 0; i < stream_tensors[k].bytes; ++i) {
            hash = (hash ^ bytes[i]) * 16777619u;
        }
    }
    es_report_i32_array("outputs", outputs, (size_t)STREAM_FRAME_COUNT);
    es_report_u64("checksum", (uint64_t)hash);
    es_report_u64("step_total", total);
    es_report_u64("step_worst", worst);
    es_report_str("counter_unit", es_port_counter_unit());
    es_port_exit(0);
}
