"""Where ``es_params_save`` puts each trainable parameter in its image (ESPI v1).

The generated ``es_params_save`` writes the parameter image of :mod:`edgesdk.export.image` through
the runtime's ``es_params_image_write`` (``edgesdk/params_image.h``): a 16-byte header, then per
parameter a 12-byte record header and its elements padded to 4 bytes. This module gives the
byte offset of each parameter's elements in that image, the image size and the C names of the
element types, so that model.h can document the layout and tests can read a saved image back.
"""

from __future__ import annotations

from collections.abc import Sequence

from edgesdk.export.image import HEADER, RECORD

# C element type of a parameter array -> (es_param_dtype enumerator, bytes per element)
DTYPES: dict[str, tuple[str, int]] = {
    "int8_t": ("ES_PARAM_INT8", 1),
    "int32_t": ("ES_PARAM_INT32", 4),
    "float": ("ES_PARAM_FLOAT32", 4),
}


def image_offsets(arrays: Sequence[tuple[str, int]]) -> tuple[list[int], int]:
    """For parameter arrays given as (C element type, element count), in image order: the byte
    offset of each one's elements in the image, and the image size."""
    offsets, at = [], HEADER.size
    for ctype, count in arrays:
        at += RECORD.size
        offsets.append(at)
        at += -(-count * DTYPES[ctype][1] // 4) * 4
    return offsets, at
