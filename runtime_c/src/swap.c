/*
 * swap.c -- names of the swap-device statuses (edgesdk/swap.h).
 */
#include "edgesdk/swap.h"

const char *es_swap_status_name(int32_t status)
{
    switch (status) {
    case ES_SWAP_OK:
        return "ES_SWAP_OK";
    case ES_SWAP_ERR_RANGE:
        return "ES_SWAP_ERR_RANGE";
    case ES_SWAP_ERR_ALIGN:
        return "ES_SWAP_ERR_ALIGN";
    case ES_SWAP_ERR_NOR:
        return "ES_SWAP_ERR_NOR";
    case ES_SWAP_ERR_TWICE:
        return "ES_SWAP_ERR_TWICE";
    case ES_SWAP_ERR_FAULT:
        return "ES_SWAP_ERR_FAULT";
    case ES_SWAP_ERR_WORN:
        return "ES_SWAP_ERR_WORN";
    case ES_SWAP_ERR_TIMEOUT:
        return "ES_SWAP_ERR_TIMEOUT";
    case ES_SWAP_ERR_HW:
        return "ES_SWAP_ERR_HW";
    case ES_SWAP_ERR_FILE:
        return "ES_SWAP_ERR_FILE";
    default:
        return "ES_SWAP_ERR_UNKNOWN";
    }
}
