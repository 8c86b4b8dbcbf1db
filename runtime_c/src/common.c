/*
 * common.c -- status names (edgesdk/common.h).
 */
#include "edgesdk/common.h"

const char *es_status_name(es_status status)
{
    switch (status) {
    case ES_OK:
        return "ES_OK";
    case ES_ERR_ARG:
        return "ES_ERR_ARG";
    case ES_ERR_SHAPE:
        return "ES_ERR_SHAPE";
    case ES_ERR_IO:
        return "ES_ERR_IO";
    case ES_ERR_DIVERGED:
        return "ES_ERR_DIVERGED";
    }
    return "ES_ERR_UNKNOWN";
}
