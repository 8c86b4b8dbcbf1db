/*
 * swap_file.c -- the file backend of the simulated NOR device (edgesdk/swap_sim.h), host port
 * only: the device image is a file, so a region may be larger than RAM and can be inspected
 * after the run. The NOR rules, checks and faults are the shared ones of port/common/swap_sim.c.
 */
#include "edgesdk/swap_sim.h"

#if defined(ES_PORT_HOST)

#include <stdio.h>
#include <string.h>

static int32_t file_seek(es_swap_sim *sim, uint32_t offset)
{
    return fseek((FILE *)sim->file, (long)offset, SEEK_SET) == 0 ? ES_SWAP_OK : ES_SWAP_ERR_FILE;
}

static int32_t file_load(es_swap_sim *sim, uint32_t offset, uint8_t *buf, uint32_t len)
{
    if (file_seek(sim, offset) != ES_SWAP_OK || fread(buf, 1, len, (FILE *)sim->file) != len) {
        return ES_SWAP_ERR_FILE;
    }
    return ES_SWAP_OK;
}

static int32_t file_store(es_swap_sim *sim, uint32_t offset, const uint8_t *buf, uint32_t len)
{
    if (file_seek(sim, offset) != ES_SWAP_OK || fwrite(buf, 1, len, (FILE *)sim->file) != len) {
        return ES_SWAP_ERR_FILE;
    }
    return ES_SWAP_OK;
}

int32_t es_swap_sim_init_file(es_swap_device *device, es_swap_sim *sim, const char *path,
                              uint8_t fill, uint32_t size_bytes, uint32_t sector_bytes,
                              uint32_t program_bytes, uint32_t *sector_erases, uint8_t *programmed)
{
    uint8_t block[256];
    uint32_t left = size_bytes;
    FILE *file;
    int32_t status;

    if (path == NULL) {
        return ES_SWAP_ERR_RANGE;
    }
    status = es_swap_sim_setup(device, sim, size_bytes, sector_bytes, program_bytes, sector_erases,
                               programmed);
    if (status != ES_SWAP_OK) {
        return status;
    }
    file = fopen(path, "w+b");
    if (file == NULL) {
        return ES_SWAP_ERR_FILE;
    }
    memset(block, fill, sizeof(block));
    while (left > 0u) {
        uint32_t run = left < sizeof(block) ? left : (uint32_t)sizeof(block);
        if (fwrite(block, 1, run, file) != run) {
            fclose(file);
            return ES_SWAP_ERR_FILE;
        }
        left -= run;
    }
    sim->file = file;
    sim->load = file_load;
    sim->store = file_store;
    return ES_SWAP_OK;
}

int32_t es_swap_sim_close_file(es_swap_sim *sim)
{
    int32_t status = ES_SWAP_OK;
    if (sim != NULL && sim->file != NULL) {
        status = fclose((FILE *)sim->file) == 0 ? ES_SWAP_OK : ES_SWAP_ERR_FILE;
        sim->file = NULL;
    }
    return status;
}

#endif /* ES_PORT_HOST */
