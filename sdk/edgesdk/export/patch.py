"""Write new constant data (and quantization scales) into a ``.tflite`` file.

Most parameters are written **in place**: the bytes of a constant tensor's buffer are overwritten
where they are (inside the flatbuffer, or at the buffer's file offset for models that keep data
after it), and a scale vector keeps its length, so operators, metadata, signatures and every other
tensor stay byte-identical and nothing is re-serialized.

A buffer **shared** by several tensors (converters de-duplicate identical constants, e.g. two
all-zero biases) cannot be overwritten for one of them. Such a tensor gets a buffer of its own,
without rebuilding the file: flatbuffer references are relative and point to higher addresses, so
new objects are *inserted before* the old content (which moves up as a block, every internal
reference still valid): a copy of the root Model table whose ``buffers`` field points to a new
buffers vector (the old Buffer tables plus the new ones, with their data), and the tensor's
``buffer`` index (a scalar in its own table) is rewritten in place. The block moves by a multiple
of 16 bytes, so every alignment is kept. A tensor without data of its own (a weight the model
computes when it loads) is refused.
"""

from __future__ import annotations

import struct
from collections import Counter
from dataclasses import dataclass

import numpy as np
import tflite

from edgesdk.errors import ExportError

_MODEL_OFFSET_SLOTS = range(1, 8)  # Model: operator_codes .. signature_defs (slot 0 is version)
_MODEL_SLOTS = 8  # the fields of the Model table this writer knows
_BUFFERS_SLOT = 4
_TENSOR_BUFFER_FIELD = 8  # vtable entry of Tensor.buffer (slot 2)
_IDENTIFIER = b"TFL3"


@dataclass(frozen=True)
class Patch:
    """New contents for TFLite tensor ``tensor`` of the main subgraph."""

    tensor: int
    data: bytes  # exactly the size of the tensor's buffer
    scale: np.ndarray | None = None  # new quantization scales (same count), float32


def _model(blob: bytes) -> tflite.Model:
    return tflite.Model.GetRootAsModel(blob, 0)


def _span(table, field: int) -> tuple[int, int] | None:  # type: ignore[no-untyped-def]
    """(start, element count) of a vector field of a flatbuffer table, None when absent."""
    offset = table._tab.Offset(field)
    if offset == 0:
        return None
    return table._tab.Vector(offset), table._tab.VectorLen(offset)


def _name(tensor: tflite.Tensor) -> str:
    return (tensor.Name() or b"").decode(errors="replace")


def buffer_span(blob: bytes, tensor_index: int) -> tuple[int, int]:
    """(file offset, byte length) of the data of TFLite tensor ``tensor_index`` (main subgraph)."""
    model = _model(blob)
    tensor = model.Subgraphs(0).Tensors(tensor_index)
    index = int(tensor.Buffer())
    if index == 0 or index >= model.BuffersLength():
        raise ExportError(
            f"tensor {_name(tensor)!r} has no data of its own in the .tflite (the model computes it when "
            "it loads); edgesdk can write back stored constants only"
        )
    buffer = model.Buffers(index)
    span = _span(buffer, 4)  # Buffer.data
    if span is not None and span[1] > 0:
        return span
    if int(buffer.Offset()) > 1:  # data kept after the flatbuffer
        return int(buffer.Offset()), int(buffer.Size())
    raise ExportError(
        f"tensor {_name(tensor)!r} has an empty buffer; edgesdk can write back stored constants only"
    )


def scale_span(blob: bytes, tensor_index: int) -> tuple[int, int] | None:
    """(file offset, count) of the float32 scale vector of a tensor's quantization, None if none."""
    quant = _model(blob).Subgraphs(0).Tensors(tensor_index).Quantization()
    return None if quant is None else _span(quant, 8)  # QuantizationParameters.scale


def _buffer_uses(model: tflite.Model) -> Counter[int]:
    uses: Counter[int] = Counter()
    for s in range(model.SubgraphsLength()):
        subgraph = model.Subgraphs(s)
        for t in range(subgraph.TensorsLength()):
            uses[int(subgraph.Tensors(t).Buffer())] += 1
    return uses


def apply_patches(blob: bytes, patches: list[Patch]) -> bytes:
    """A copy of ``blob`` with every patch written (see the module docstring)."""
    model = _model(blob)
    uses = _buffer_uses(model)
    out = bytearray(blob)
    own: list[Patch] = []
    for patch in patches:
        start, length = buffer_span(blob, patch.tensor)
        if length != len(patch.data):
            raise ExportError(
                f"TFLite tensor {patch.tensor}: {len(patch.data)} bytes for a buffer of {length}"
            )
        shared = uses[int(model.Subgraphs(0).Tensors(patch.tensor).Buffer())] > 1
        if shared and bytes(blob[start : start + length]) != patch.data:
            own.append(patch)
        else:
            out[start : start + length] = patch.data
        if patch.scale is not None:
            span = scale_span(blob, patch.tensor)
            if span is None or span[1] != patch.scale.size:
                raise ExportError(
                    f"TFLite tensor {patch.tensor}: its scale vector cannot take {patch.scale.size}"
                )
            out[span[0] : span[0] + 4 * span[1]] = np.asarray(patch.scale, "<f4").tobytes()
    return _own_buffers(bytes(out), own) if own else bytes(out)


# ---------------------------------------------------------------- giving tensors their own buffer


def _u16(blob: bytes, at: int) -> int:
    return int(struct.unpack_from("<H", blob, at)[0])


def _u32(blob: bytes, at: int) -> int:
    return int(struct.unpack_from("<I", blob, at)[0])


def _s32(blob: bytes, at: int) -> int:
    return int(struct.unpack_from("<i", blob, at)[0])


class _Region:
    """The bytes inserted after the 8-byte header, with absolute addresses (header included)."""

    def __init__(self) -> None:
        self.data = bytearray()

    @property
    def here(self) -> int:
        return 8 + len(self.data)

    def align(self, boundary: int, remainder: int = 0) -> None:
        while (self.here - remainder) % boundary:
            self.data += b"\0"

    def put(self, raw: bytes) -> int:
        at = self.here
        self.data += raw
        return at

    def set_u32(self, at: int, value: int) -> None:
        struct.pack_into("<I", self.data, at - 8, value)

    def set_s32(self, at: int, value: int) -> None:
        struct.pack_into("<i", self.data, at - 8, value)


def _own_buffers(blob: bytes, patches: list[Patch]) -> bytes:
    model = _model(blob)
    if blob[4:8] != _IDENTIFIER:
        raise ExportError(
            "the .tflite has no TFL3 file identifier; cannot give shared tensors their own buffers"
        )
    for b in range(model.BuffersLength()):
        if int(model.Buffers(b).Offset()) > 1:
            raise ExportError(
                "the .tflite keeps buffer data after the flatbuffer and shares a buffer between a trained "
                "tensor and another; re-convert the model without buffer de-duplication"
            )
    table = model._tab.Pos
    vtable = table - _s32(blob, table)
    vtable_size, table_size = _u16(blob, vtable), _u16(blob, vtable + 2)
    slots = [_u16(blob, vtable + 4 + 2 * i) for i in range((vtable_size - 4) // 2)]
    if any(slots[_MODEL_SLOTS:]) or len(slots) <= _BUFFERS_SLOT or not slots[_BUFFERS_SLOT]:
        raise ExportError("the .tflite uses Model fields this edgesdk does not know; update edgesdk")
    buffers_field = table + slots[_BUFFERS_SLOT]
    old_vector = buffers_field + _u32(blob, buffers_field)
    count = _u32(blob, old_vector)
    old_tables = [old_vector + 4 + 4 * i + _u32(blob, old_vector + 4 + 4 * i) for i in range(count)]

    region = _Region()
    region.align(16)
    new_model = region.put(blob[table : table + table_size])
    region.align(4)
    new_vector = region.put(struct.pack("<I", count + len(patches)) + b"\0" * 4 * (count + len(patches)))
    new_tables = []
    for _ in patches:
        region.align(4)
        vt = region.put(struct.pack("<HHH", 6, 8, 4) + b"\0\0")  # one field (data) at offset 4
        new_tables.append(region.put(struct.pack("<iI", 0, 0)))
        region.set_s32(new_tables[-1], new_tables[-1] - vt)
    data_at = []
    for patch in patches:
        region.align(16, remainder=12)  # the payload after the u32 length is 16-byte aligned
        data_at.append(region.put(struct.pack("<I", len(patch.data)) + patch.data))
    region.align(16)
    shift = len(region.data)  # the old content (from byte 8 on) moves up by this much

    region.set_s32(new_model, new_model - (vtable + shift))
    for slot in _MODEL_OFFSET_SLOTS:
        if slot < len(slots) and slots[slot]:
            field = table + slots[slot]
            target = new_vector if slot == _BUFFERS_SLOT else field + _u32(blob, field) + shift
            region.set_u32(new_model + slots[slot], target - (new_model + slots[slot]))
    for i in range(count):
        element = new_vector + 4 + 4 * i
        region.set_u32(element, old_tables[i] + shift - element)
    for j, (tbl, data) in enumerate(zip(new_tables, data_at, strict=True)):
        element = new_vector + 4 + 4 * (count + j)
        region.set_u32(element, tbl - element)
        region.set_u32(tbl + 4, data - (tbl + 4))

    out = bytearray(struct.pack("<I", new_model) + _IDENTIFIER + bytes(region.data) + blob[8:])
    subgraph = model.Subgraphs(0)
    for j, patch in enumerate(patches):
        tensor = subgraph.Tensors(patch.tensor)
        field = tensor._tab.Offset(_TENSOR_BUFFER_FIELD)
        assert field != 0  # a shared buffer has a nonzero index, so the field is present
        struct.pack_into("<I", out, tensor._tab.Pos + field + shift, count + j)
    return bytes(out)
