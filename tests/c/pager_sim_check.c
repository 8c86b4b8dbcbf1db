/*
 * pager_sim_check.c -- drives the simulated NOR device (edgesdk/swap_sim.h) directly, so that
 * tests/test_pager_sim.py can check that it enforces what the pager tests rely on: erase to
 * 0xFF, program = AND, a 0 -> 1 request detected, double programs and programs before an erase
 * detected, range and alignment refused, endurance, and each injected fault doing what it says.
 * Reports "@es <check> <value>" lines; the expectations live in the Python test.
 *
 *   pager_sim_check [IMAGE]   IMAGE given: the file backend, else the memory backend
 */
#include <string.h>

#include "edgesdk/port.h"
#include "edgesdk/swap_sim.h"

#define SIZE 1024u
#define SECTOR 256u
#define UNIT 4u

static uint8_t memory[SIZE];
static uint32_t wear[SIZE / SECTOR];
static uint8_t programmed[SIZE / UNIT / 8u];

static int open_device(es_swap_device *device, es_swap_sim *sim, const char *image)
{
#if defined(ES_PORT_HOST)
    if (image != NULL) {
        return es_swap_sim_init_file(device, sim, image, 0x00u, SIZE, SECTOR, UNIT, wear, programmed);
    }
#else
    (void)image;
#endif
    memset(memory, 0x00, sizeof(memory));
    return es_swap_sim_init_memory(device, sim, memory, SIZE, SECTOR, UNIT, wear, programmed);
}

static void report_bytes(const char *key, const es_swap_device *device, uint32_t offset, uint32_t len)
{
    uint8_t buf[16];
    int32_t values[16];
    uint32_t i;
    device->read(device->ctx, offset, buf, len);
    for (i = 0u; i < len; ++i) {
        values[i] = buf[i];
    }
    es_report_i32_array(key, values, len);
}

static int check(const char *image)
{
    es_swap_device d;
    es_swap_sim sim;
    uint8_t ones[8] = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};
    uint8_t a[8] = {0xF0, 0x0F, 0xAA, 0x55, 0x12, 0x34, 0x56, 0x78};
    uint8_t b[4] = {0xE0, 0x0F, 0xA0, 0x05}; /* a's first word with more bits cleared only */
    uint8_t buf[8];
    es_swap_device bad;
    es_swap_sim bad_sim;

    es_report_i64("init", open_device(&d, &sim, image));
    es_report_i64("bad_geometry", es_swap_sim_init_memory(&bad, &bad_sim, memory, 1000u, SECTOR,
                                                           UNIT, wear, NULL));
    es_report_i64("bad_unit", es_swap_sim_init_memory(&bad, &bad_sim, memory, SIZE, SECTOR, 3u,
                                                       wear, NULL));
    es_report_u64("geometry", (uint64_t)d.size_bytes * 1000000u + d.sector_bytes * 1000u + d.program_bytes);

    /* a never-erased device: programming it is a double program (and a NOR violation here) */
    es_report_i64("program_before_erase", d.program(d.ctx, 0u, ones, 4u));
    es_report_i64("erase", d.erase(d.ctx, 0u));
    report_bytes("after_erase", &d, 0u, 8u);
    es_report_i64("program", d.program(d.ctx, 0u, a, 8u));
    report_bytes("after_program", &d, 0u, 8u);
    es_report_i64("program_twice", d.program(d.ctx, 0u, b, 4u)); /* only 1 -> 0, but twice */
    report_bytes("after_twice", &d, 0u, 4u);
    es_report_i64("erase_again", d.erase(d.ctx, 0u));
    es_report_i64("program_b", d.program(d.ctx, 0u, b, 4u)); /* fine after an erase */
    {
        /* 0 -> 1: program 0x00, then ask for 0xFF in the same word */
        uint8_t zero_word[4] = {0x00, 0x00, 0x00, 0x00};
        uint32_t before = sim.nor_violations;
        es_report_i64("erase_1", d.erase(d.ctx, 1u));
        es_report_i64("program_zero", d.program(d.ctx, SECTOR, zero_word, 4u));
        es_report_i64("zero_to_one", d.program(d.ctx, SECTOR, ones, 4u));
        es_report_u64("nor_violations_added", sim.nor_violations - before);
        report_bytes("after_zero_to_one", &d, SECTOR, 4u);
    }
    es_report_i64("misaligned_offset", d.program(d.ctx, 2u, a, 4u));
    es_report_i64("misaligned_length", d.program(d.ctx, 16u, a, 6u));
    es_report_i64("out_of_range_read", d.read(d.ctx, SIZE - 4u, buf, 8u));
    es_report_i64("out_of_range_program", d.program(d.ctx, SIZE - 4u, a, 8u));
    es_report_i64("out_of_range_erase", d.erase(d.ctx, SIZE / SECTOR));

    /* endurance */
    sim.endurance = 3u;
    es_report_i64("erase_3", d.erase(d.ctx, 2u));
    es_report_i64("erase_4", d.erase(d.ctx, 2u));
    es_report_i64("erase_5", d.erase(d.ctx, 2u));
    es_report_i64("erase_worn", d.erase(d.ctx, 2u));
    es_report_u64("wear_2", wear[2]);
    sim.endurance = 0u;

    /* faults: the next read / program / erase calls */
    es_report_i64("erase_3_again", d.erase(d.ctx, 3u));
    sim.faults.fail_read_at = sim.reads + 1u;
    memset(buf, 0x77, sizeof(buf));
    es_report_i64("fault_read", d.read(d.ctx, 0u, buf, 8u));
    es_report_u64("fault_read_untouched", buf[0] == 0x77 && buf[7] == 0x77);
    sim.faults.flip_read_at = sim.reads + 1u;
    sim.faults.flip_bit = 9u;
    es_report_i64("flip_read", d.read(d.ctx, 0u, buf, 4u));
    es_report_i64("flipped_byte1", buf[1]);
    sim.faults.fail_program_at = sim.programs + 1u;
    es_report_i64("torn_program", d.program(d.ctx, 3u * SECTOR, a, 8u));
    report_bytes("after_torn", &d, 3u * SECTOR, 8u);
    es_report_i64("program_high", d.program(d.ctx, 3u * SECTOR + SECTOR / 2u, a, 4u));
    sim.faults.fail_erase_at = sim.erases + 1u;
    es_report_i64("torn_erase", d.erase(d.ctx, 3u));
    report_bytes("torn_erase_low", &d, 3u * SECTOR, 4u);
    report_bytes("torn_erase_high", &d, 3u * SECTOR + SECTOR / 2u, 4u);
    es_report_u64("faults_injected", sim.faults_injected);
    es_report_u64("double_programs", sim.double_programs);
#if defined(ES_PORT_HOST)
    if (image != NULL) {
        es_report_i64("close", es_swap_sim_close_file(&sim));
    }
#endif
    es_report_str("name_nor", es_swap_status_name(ES_SWAP_ERR_NOR));
    return 0;
}

#if defined(ES_PORT_HOST)
int main(int argc, char **argv)
{
    es_port_init();
    return check(argc > 1 ? argv[1] : NULL);
}
#else
int main(void)
{
    es_port_init();
    return check(NULL);
}
#endif
