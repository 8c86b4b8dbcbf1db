"""Seeded mutations of real ``.tflite`` models, for fuzzing every stage, not only the importer.

Byte-level mutations (flips, nasty words, truncations, splices) mostly stop at the importer; the
field-level ones edit the parsed model (the TFLite schema's object API) and write it back, so they
produce models the importer accepts and later stages must judge: a zero or subnormal scale, an
output that is a constant, a stride of 0, a shape with a zero, an operator swapped for another.
``mutate(blob, rng)`` returns the mutated bytes and the name of the mutation.
"""

from __future__ import annotations

import random
import struct
from collections.abc import Callable

import numpy as np
from ai_edge_litert import schema_py_generated as schema
from ai_edge_litert.tools import flatbuffer_utils

# values that break flatbuffer offsets and lengths in interesting ways
NASTY_WORDS = (0, 1, 2, 3, 4, 0x7F, 0x80, 0xFF, 0xFFFF, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF)
NASTY_SCALES = (0.0, 1e-45, 1e-38, 1e-30, 1e30, 3.4e38, -1.0, float("nan"), float("inf"))
NASTY_ZERO_POINTS = (-129, -128, 127, 128, 1000, -(2**31))
NASTY_DIMS = (0, -1, 1, 2, 3, 1000, 2**20, 2**31 - 1)
NASTY_INTS = (0, -1, 1, 2, 7, 255, 2**31 - 1)

Mutation = Callable[[schema.ModelT, random.Random], None]


def _tensors(model: schema.ModelT) -> list[schema.TensorT]:
    return [t for g in model.subgraphs or () for t in g.tensors or ()]


def _quantized(model: schema.ModelT) -> list[schema.TensorT]:
    return [t for t in _tensors(model) if t.quantization is not None and t.quantization.scale is not None
            and len(t.quantization.scale)]


def _scale(model: schema.ModelT, rng: random.Random) -> None:
    tensor = rng.choice(_quantized(model) or _tensors(model))
    if tensor.quantization is None or tensor.quantization.scale is None or not len(tensor.quantization.scale):
        return
    scale = np.array(tensor.quantization.scale, dtype=np.float32)
    scale[rng.randrange(len(scale))] = rng.choice(NASTY_SCALES)
    tensor.quantization.scale = scale


def _zero_point(model: schema.ModelT, rng: random.Random) -> None:
    tensor = rng.choice(_quantized(model) or _tensors(model))
    q = tensor.quantization
    if q is None or q.zeroPoint is None or not len(q.zeroPoint):
        return
    zero = np.array(q.zeroPoint, dtype=np.int64)
    zero[rng.randrange(len(zero))] = rng.choice(NASTY_ZERO_POINTS)
    q.zeroPoint = zero


def _shape(model: schema.ModelT, rng: random.Random) -> None:
    tensor = rng.choice(_tensors(model))
    shape = list(tensor.shape if tensor.shape is not None else [])
    if shape and rng.random() < 0.8:
        shape[rng.randrange(len(shape))] = rng.choice(NASTY_DIMS)
    else:
        shape.insert(rng.randrange(len(shape) + 1), rng.choice(NASTY_DIMS))
    tensor.shape = np.array(shape, dtype=np.int32)


def _output(model: schema.ModelT, rng: random.Random) -> None:
    graph = model.subgraphs[0]
    count = len(graph.tensors or ())
    constants = [
        i for i, t in enumerate(graph.tensors or ())
        if t.buffer and model.buffers[t.buffer].data is not None and len(model.buffers[t.buffer].data)
    ]
    choice = rng.random()
    if constants and choice < 0.5:
        target = rng.choice(constants)  # the graph's output is a constant tensor
    elif choice < 0.7 and graph.inputs is not None and len(graph.inputs):
        target = int(graph.inputs[0])  # the output is the input
    else:
        target = rng.choice((-1, count, count + 5, rng.randrange(max(count, 1))))
    graph.outputs = np.array([target], dtype=np.int32)


def _operator_input(model: schema.ModelT, rng: random.Random) -> None:
    graph = model.subgraphs[0]
    op = rng.choice(graph.operators)
    if op.inputs is None or not len(op.inputs):
        return
    inputs = np.array(op.inputs, dtype=np.int32)
    count = len(graph.tensors or ())
    inputs[rng.randrange(len(inputs))] = rng.choice((-1, 0, count - 1, count, rng.randrange(max(count, 1))))
    op.inputs = inputs


def _options(model: schema.ModelT, rng: random.Random) -> None:
    op = rng.choice(model.subgraphs[0].operators)
    options = op.builtinOptions
    if options is None:
        return
    fields = [name for name, value in vars(options).items() if isinstance(value, (int, float))]
    if fields:
        setattr(options, rng.choice(fields), rng.choice(NASTY_INTS))


def _opcode(model: schema.ModelT, rng: random.Random) -> None:
    code = rng.choice(model.operatorCodes)
    builtin = rng.choice((
        schema.BuiltinOperator.CONV_2D, schema.BuiltinOperator.DEPTHWISE_CONV_2D,
        schema.BuiltinOperator.FULLY_CONNECTED, schema.BuiltinOperator.ADD, schema.BuiltinOperator.MEAN,
        schema.BuiltinOperator.SOFTMAX, schema.BuiltinOperator.RESHAPE, schema.BuiltinOperator.MAX_POOL_2D,
        schema.BuiltinOperator.VAR_HANDLE, schema.BuiltinOperator.CUSTOM, 9999,
    ))
    code.builtinCode = builtin
    code.deprecatedBuiltinCode = min(builtin, 127)


def _drop_operator(model: schema.ModelT, rng: random.Random) -> None:
    graph = model.subgraphs[0]
    if len(graph.operators) > 1:
        del graph.operators[rng.randrange(len(graph.operators))]


def _tensor_type(model: schema.ModelT, rng: random.Random) -> None:
    tensor = rng.choice(_tensors(model))
    tensor.type = rng.choice((schema.TensorType.FLOAT32, schema.TensorType.INT8, schema.TensorType.INT32,
                              schema.TensorType.UINT8, schema.TensorType.INT16, schema.TensorType.BOOL))


def _buffer_data(model: schema.ModelT, rng: random.Random) -> None:
    buffers = [b for b in model.buffers if b.data is not None and len(b.data)]
    if not buffers:
        return
    buffer = rng.choice(buffers)
    data = np.array(buffer.data, dtype=np.uint8)
    if rng.random() < 0.5:
        buffer.data = data[: rng.randrange(len(data))]
    else:  # extreme values: biases and weights at the ends of their ranges
        data[:] = rng.choice((0x00, 0x7F, 0x80, 0xFF))
        buffer.data = data


FIELD_MUTATIONS: dict[str, Mutation] = {
    "scale": _scale,
    "zero_point": _zero_point,
    "shape": _shape,
    "output": _output,
    "operator_input": _operator_input,
    "options": _options,
    "opcode": _opcode,
    "drop_operator": _drop_operator,
    "tensor_type": _tensor_type,
    "buffer_data": _buffer_data,
}


def _bytes(blob: bytes, rng: random.Random) -> tuple[bytes, str]:
    data = bytearray(blob)
    kind = rng.choice(("truncate", "flip", "word", "splice"))
    if kind == "truncate":
        data = data[: rng.randrange(len(data))]
    elif kind == "flip":
        for _ in range(rng.randint(1, 8)):
            data[rng.randrange(len(data))] = rng.randrange(256)
    elif kind == "word" and len(data) >= 4:
        for _ in range(rng.randint(1, 3)):
            at = rng.randrange(len(data) - 3)
            data[at : at + 4] = struct.pack("<I", rng.choice(NASTY_WORDS + (len(data),)) & 0xFFFFFFFF)
    elif kind == "splice" and len(data) > 8:
        start = rng.randrange(len(data))
        stop = min(len(data), start + rng.randrange(256))
        data = data[:start] + bytes(rng.randrange(256) for _ in range(rng.randrange(64))) + data[stop:]
    return bytes(data), f"bytes:{kind}"


def mutate(blob: bytes, rng: random.Random, field_share: float = 0.85) -> tuple[bytes, str]:
    """One mutation of ``blob``: field-level with probability ``field_share``, else byte-level."""
    if rng.random() >= field_share:
        return _bytes(blob, rng)
    model = flatbuffer_utils.convert_bytearray_to_object(blob)
    names = rng.sample(sorted(FIELD_MUTATIONS), k=rng.choice((1, 1, 1, 2)))
    for name in names:
        FIELD_MUTATIONS[name](model, rng)
    try:
        out = bytes(flatbuffer_utils.convert_object_to_bytearray(model))
    except (struct.error, TypeError, ValueError, OverflowError):  # a value the schema cannot hold
        return _bytes(blob, rng)
    return out, "+".join(names)
