"""Low-level ``.tflite`` writer: tensors and operators in, flatbuffer bytes out.

This is the layer under :mod:`edgesdk.testing.builder`. It does no quantization and no shape
checking: it writes exactly what it is given, which is what tests need to produce odd models
(constant-folding chains, unsupported ops, custom ops, extra subgraphs). It uses the object API of
``ai_edge_litert.schema_py_generated`` (the TFLite schema) and the ``flatbuffers`` runtime.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import flatbuffers
import numpy as np
from ai_edge_litert import schema_py_generated as schema

FILE_IDENTIFIER = b"TFL3"
SCHEMA_VERSION = 3
BUFFER_ALIGNMENT = 16

# numpy dtype name -> TFLite TensorType
TENSOR_TYPES: Mapping[str, int] = {
    "float32": schema.TensorType.FLOAT32,
    "float16": schema.TensorType.FLOAT16,
    "int32": schema.TensorType.INT32,
    "uint8": schema.TensorType.UINT8,
    "int64": schema.TensorType.INT64,
    "bool": schema.TensorType.BOOL,
    "int16": schema.TensorType.INT16,
    "int8": schema.TensorType.INT8,
    "float64": schema.TensorType.FLOAT64,
    "resource": schema.TensorType.RESOURCE,  # a resource variable handle (no data)
}

# builtin operator name -> name of its options table where it is not simply CamelCase + "Options"
_OPTIONS_NAMES: Mapping[str, str] = {
    "CONV_2D": "Conv2DOptions",
    "DEPTHWISE_CONV_2D": "DepthwiseConv2DOptions",
    "AVERAGE_POOL_2D": "Pool2DOptions",
    "MAX_POOL_2D": "Pool2DOptions",
    "L2_POOL_2D": "Pool2DOptions",
    "MEAN": "ReducerOptions",
    "SUM": "ReducerOptions",
    "REDUCE_MAX": "ReducerOptions",
    "REDUCE_MIN": "ReducerOptions",
    "REDUCE_PROD": "ReducerOptions",
    "PADV2": "PadV2Options",
    "LOGISTIC": "",
    "RELU": "",
    "RELU6": "",
    "TANH": "",
}


@dataclass(frozen=True)
class TensorSpec:
    """One tensor. ``data`` (any array of ``dtype``) makes it a constant with its own buffer."""

    name: str
    shape: tuple[int, ...]
    dtype: str = "int8"
    data: np.ndarray | None = None
    scale: tuple[float, ...] | None = None
    zero_point: tuple[int, ...] | None = None
    quantized_dimension: int = 0
    shape_signature: tuple[int, ...] | None = None


@dataclass(frozen=True)
class OpSpec:
    """One operator: a builtin name (``"CONV_2D"``) or ``"CUSTOM"`` with ``custom_code``.

    ``options`` are the fields of the builtin options table in the schema's object-API spelling
    (``{"strideW": 2, "fusedActivationFunction": 1}``); ``options_type`` overrides the table name.
    """

    op: str
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    options: Mapping[str, Any] = field(default_factory=dict)
    options_type: str | None = None
    custom_code: str | None = None


@dataclass(frozen=True)
class SubgraphSpec:
    tensors: tuple[TensorSpec, ...]
    ops: tuple[OpSpec, ...]
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    name: str = "main"


def builtin_code(name: str) -> int:
    """The TFLite BuiltinOperator number of ``name`` (``KeyError`` if there is none)."""
    return int(getattr(schema.BuiltinOperator, name))


def _options_name(op: str) -> str:
    if op in _OPTIONS_NAMES:
        return _OPTIONS_NAMES[op]
    return "".join(part.capitalize() for part in op.split("_")) + "Options"


class _AlignedBufferT(schema.BufferT):
    """A BufferT whose payload starts on a 16-byte boundary, as the TFLite converter writes it."""

    def Pack(self, builder: flatbuffers.Builder) -> int:  # noqa: N802 (schema spelling)
        data_offset = None
        if self.data is not None:
            payload = np.ascontiguousarray(self.data, dtype=np.uint8).tobytes()
            builder.StartVector(1, len(payload), BUFFER_ALIGNMENT)
            builder.head = builder.head - len(payload)
            builder.Bytes[builder.head : builder.head + len(payload)] = payload
            builder.vectorNumElems = len(payload)
            data_offset = builder.EndVector()
        schema.BufferStart(builder)
        if data_offset is not None:
            schema.BufferAddData(builder, data_offset)
        return schema.BufferEnd(builder)


def _tensor_object(spec: TensorSpec, buffer_index: int) -> schema.TensorT:
    tensor = schema.TensorT()
    tensor.shape = [int(d) for d in spec.shape]
    tensor.type = TENSOR_TYPES[spec.dtype]
    tensor.buffer = buffer_index
    tensor.name = spec.name
    if spec.shape_signature is not None:
        tensor.shapeSignature = [int(d) for d in spec.shape_signature]
    if spec.scale is not None:
        quant = schema.QuantizationParametersT()
        quant.scale = [float(s) for s in spec.scale]
        quant.zeroPoint = [int(z) for z in (spec.zero_point or (0,) * len(spec.scale))]
        quant.quantizedDimension = int(spec.quantized_dimension)
        tensor.quantization = quant
    return tensor


def _operator_object(spec: OpSpec, opcode_index: int) -> schema.OperatorT:
    op = schema.OperatorT()
    op.opcodeIndex = opcode_index
    op.inputs = [int(i) for i in spec.inputs]
    op.outputs = [int(i) for i in spec.outputs]
    name = spec.options_type if spec.options_type is not None else _options_name(spec.op)
    if spec.op != "CUSTOM" and name and hasattr(schema.BuiltinOptions, name):
        options = getattr(schema, name + "T")()
        for key, value in spec.options.items():
            if not hasattr(options, key):
                raise ValueError(f"{name} has no field {key!r}")
            setattr(options, key, value)
        op.builtinOptionsType = getattr(schema.BuiltinOptions, name)
        op.builtinOptions = options
    elif spec.options:
        raise ValueError(f"operator {spec.op} takes no builtin options")
    return op


def _opcode_key(spec: OpSpec) -> tuple[str, str | None]:
    return (spec.op, spec.custom_code if spec.op == "CUSTOM" else None)


def write_model(
    subgraphs: Sequence[SubgraphSpec], *, description: str = "edgesdk test model"
) -> bytes:
    """Serialize subgraphs (the first is the main one) into ``.tflite`` bytes."""
    model = schema.ModelT()
    model.version = SCHEMA_VERSION
    model.description = description
    model.buffers = [_AlignedBufferT()]
    model.operatorCodes = []
    model.subgraphs = []
    opcode_index: dict[tuple[str, str | None], int] = {}
    for graph in subgraphs:
        sub = schema.SubGraphT()
        sub.name = graph.name
        sub.inputs = [int(i) for i in graph.inputs]
        sub.outputs = [int(i) for i in graph.outputs]
        sub.tensors = []
        for spec in graph.tensors:
            buffer_index = 0
            if spec.data is not None:
                buffer = _AlignedBufferT()
                raw = np.ascontiguousarray(np.asarray(spec.data, dtype=np.dtype(spec.dtype)))
                buffer.data = np.frombuffer(raw.astype(raw.dtype.newbyteorder("<")).tobytes(), np.uint8)
                buffer_index = len(model.buffers)
                model.buffers.append(buffer)
            sub.tensors.append(_tensor_object(spec, buffer_index))
        sub.operators = []
        for spec in graph.ops:
            key = _opcode_key(spec)
            if key not in opcode_index:
                code = schema.OperatorCodeT()
                if spec.op == "CUSTOM":
                    code.builtinCode = schema.BuiltinOperator.CUSTOM
                    code.customCode = spec.custom_code
                else:
                    code.builtinCode = builtin_code(spec.op)
                code.deprecatedBuiltinCode = min(code.builtinCode, 127)
                code.version = 1
                opcode_index[key] = len(model.operatorCodes)
                model.operatorCodes.append(code)
            sub.operators.append(_operator_object(spec, opcode_index[key]))
        model.subgraphs.append(sub)
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=FILE_IDENTIFIER)
    return bytes(builder.Output())
