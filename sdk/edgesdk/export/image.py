"""The parameter image: the bytes a device writes when it saves its trained parameters.

The generated runtime's ``es_params_save`` writes, and ``edgesdk export`` reads, this layout
(version 1; every integer little-endian)::

    offset  size  field
    0       4     magic "ESPI"
    4       2     version, 1
    6       2     record count N
    8       4     payload bytes: everything after this 16-byte header
    12      4     CRC-32 of the payload (IEEE 802.3 polynomial, as zlib.crc32 / PNG / Ethernet)
    16      ...   N records, one per trainable parameter in training-graph order
                  (TrainingGraph.parameters), each:
                    u32  IR tensor index of the parameter (ir.Value.tensor)
                    u8   dtype: 1 int8, 2 int32, 3 float32
                    u8   reserved, 0 (x3)
                    u32  element count (the whole tensor, also when only some channels train)
                    ...  the elements, little-endian, in the tensor's row-major order
                    ...  zero bytes up to the next multiple of 4

An int8 training graph saves int8 weights and int32 biases, an fp32 one float32 values (export then
requantizes them). Master copies and optimizer state are not part of the image.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from edgesdk.errors import ExportError

MAGIC = b"ESPI"
VERSION = 1
HEADER = struct.Struct("<4sHHII")  # magic, version, count, payload bytes, crc32
RECORD = struct.Struct("<IB3xI")  # tensor index, dtype code, reserved, element count
DTYPE_CODES: Mapping[int, np.dtype] = {
    1: np.dtype("<i1"),
    2: np.dtype("<i4"),
    3: np.dtype("<f4"),
}
_CODE_OF = {dtype.kind + str(dtype.itemsize): code for code, dtype in DTYPE_CODES.items()}


@dataclass(frozen=True)
class ImageRecord:
    tensor: int  # IR tensor index
    data: np.ndarray  # flat, int8 / int32 / float32


def _code(array: np.ndarray) -> int:
    key = array.dtype.kind + str(array.dtype.itemsize)
    if key not in _CODE_OF:
        raise ExportError(f"a parameter image holds int8, int32 or float32 values, not {array.dtype}")
    return _CODE_OF[key]


def write_image(records: list[ImageRecord] | list[tuple[int, np.ndarray]]) -> bytes:
    """The image of ``records`` (IR tensor index, array), in the given order: the Python twin of
    the device's ``es_params_save``."""
    payload = bytearray()
    for record in records:
        tensor, array = (record.tensor, record.data) if isinstance(record, ImageRecord) else record
        flat = np.ascontiguousarray(np.asarray(array).reshape(-1))
        code = _code(flat)
        payload += RECORD.pack(int(tensor), code, flat.size)
        payload += flat.astype(DTYPE_CODES[code], copy=False).tobytes()
        payload += b"\0" * (-len(payload) % 4)
    if len(records) > 0xFFFF:
        raise ExportError(f"a parameter image holds at most 65535 parameters, not {len(records)}")
    header = HEADER.pack(MAGIC, VERSION, len(records), len(payload), zlib.crc32(bytes(payload)))
    return header + bytes(payload)


def read_image(blob: bytes, source: str = "the parameter image") -> list[ImageRecord]:
    """The records of an image, checked (magic, version, sizes, CRC); ExportError otherwise."""
    if len(blob) < HEADER.size:
        raise ExportError(f"{source} is {len(blob)} bytes, shorter than the {HEADER.size}-byte header")
    magic, version, count, size, crc = HEADER.unpack_from(blob, 0)
    if magic != MAGIC:
        raise ExportError(
            f"{source} does not start with {MAGIC.decode()} (found {magic!r}); pass a .npz saved by "
            "ReferenceTrainer.save_parameters or the bytes a device saved with es_params_save"
        )
    if version != VERSION:
        raise ExportError(f"{source} has format version {version}; this edgesdk reads version {VERSION}")
    payload = blob[HEADER.size :]
    if len(payload) != size:
        raise ExportError(
            f"{source} should hold {size} bytes after its header but holds {len(payload)}: "
            "it was cut short or has trailing bytes; read the whole image back"
        )
    if zlib.crc32(payload) != crc:
        raise ExportError(f"{source} fails its CRC-32 check: the bytes read back are corrupted")
    records, at = [], 0
    for position in range(count):
        if at + RECORD.size > size:
            raise ExportError(f"{source}: record {position} starts past the end of the image")
        tensor, code, elements = RECORD.unpack_from(payload, at)
        at += RECORD.size
        if code not in DTYPE_CODES:
            raise ExportError(f"{source}: record {position} has an unknown dtype code {code}")
        dtype = DTYPE_CODES[code]
        end = at + elements * dtype.itemsize
        if end > size:
            raise ExportError(f"{source}: record {position} ({elements} elements) runs past the end")
        data = np.frombuffer(payload[at:end], dtype=dtype).astype(dtype.newbyteorder("="))
        records.append(ImageRecord(int(tensor), data))
        at = end + (-end % 4)
    if at != size:
        raise ExportError(f"{source} has {size - at} bytes after its last record")
    return records
