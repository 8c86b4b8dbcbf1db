"""Flatbuffer -> plain Python: the only module of edgesdk that touches the TFLite schema.

``read_flatbuffer`` copies the main subgraph of a ``.tflite`` file into frozen dataclasses of
Python numbers and numpy arrays, checking every count, index and size against the file as it
goes. A flatbuffer gives no guarantees (a flipped byte can turn a vector length into two billion,
an offset into a pointer past the end, a name into invalid UTF-8), so everything read here is
validated and every failure, whatever Python raises, becomes :class:`edgesdk.errors.ModelError`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import flatbuffers
import numpy as np
import tflite
from tflite.utils import BUILTIN_OPCODE2NAME

from edgesdk.errors import ModelError

SCHEMA_VERSION = 3
MAX_RANK = 8
MAX_ELEMENTS = 1 << 31  # no tensor of a microcontroller model comes near this

# TFLite TensorType -> numpy dtype name (types numpy cannot hold are kept as None)
TENSOR_DTYPES: Mapping[int, str | None] = {
    tflite.TensorType.FLOAT32: "float32",
    tflite.TensorType.FLOAT16: "float16",
    tflite.TensorType.INT32: "int32",
    tflite.TensorType.UINT8: "uint8",
    tflite.TensorType.INT64: "int64",
    tflite.TensorType.STRING: None,
    tflite.TensorType.BOOL: "bool",
    tflite.TensorType.INT16: "int16",
    tflite.TensorType.COMPLEX64: "complex64",
    tflite.TensorType.INT8: "int8",
    tflite.TensorType.FLOAT64: "float64",
    tflite.TensorType.COMPLEX128: "complex128",
    tflite.TensorType.UINT64: "uint64",
    tflite.TensorType.UINT32: "uint32",
    tflite.TensorType.UINT16: "uint16",
}
TENSOR_TYPE_NAMES: Mapping[int, str] = {
    value: name for name, value in vars(tflite.TensorType).items() if not name.startswith("_")
}

# options table -> the fields (accessor names) worth reading; vectors end in "AsNumpy"
_OPTION_FIELDS: Mapping[str, tuple[str, ...]] = {
    "Conv2DOptions": ("Padding", "StrideW", "StrideH", "FusedActivationFunction", "DilationWFactor",
                      "DilationHFactor"),
    "DepthwiseConv2DOptions": ("Padding", "StrideW", "StrideH", "DepthMultiplier",
                               "FusedActivationFunction", "DilationWFactor", "DilationHFactor"),
    "FullyConnectedOptions": ("FusedActivationFunction", "WeightsFormat", "KeepNumDims"),
    "AddOptions": ("FusedActivationFunction",),
    "SubOptions": ("FusedActivationFunction",),
    "MulOptions": ("FusedActivationFunction",),
    "DivOptions": ("FusedActivationFunction",),
    "Pool2DOptions": ("Padding", "StrideW", "StrideH", "FilterWidth", "FilterHeight",
                      "FusedActivationFunction"),
    "ReducerOptions": ("KeepDims",),
    "ReshapeOptions": ("NewShapeAsNumpy",),
    "ConcatenationOptions": ("Axis", "FusedActivationFunction"),
    "SoftmaxOptions": ("Beta",),
    "SqueezeOptions": ("SqueezeDimsAsNumpy",),
    "StridedSliceOptions": ("BeginMask", "EndMask", "EllipsisMask", "NewAxisMask", "ShrinkAxisMask",
                            "Offset"),
    "PackOptions": ("ValuesCount", "Axis"),
    "UnpackOptions": ("Num", "Axis"),
    "GatherOptions": ("Axis", "BatchDims"),
    "ShapeOptions": ("OutType",),
    "CastOptions": ("InDataType", "OutDataType"),
    "VarHandleOptions": ("Container", "SharedName"),
    "CallOnceOptions": ("InitSubgraphIndex",),
    "SplitOptions": ("NumSplits",),
    "SplitVOptions": ("NumSplits",),
}
# builtin op -> its options table, for the ops whose options edgesdk reads
_OPTIONS_OF_OP: Mapping[str, str] = {
    "CONV_2D": "Conv2DOptions",
    "DEPTHWISE_CONV_2D": "DepthwiseConv2DOptions",
    "FULLY_CONNECTED": "FullyConnectedOptions",
    "ADD": "AddOptions",
    "SUB": "SubOptions",
    "MUL": "MulOptions",
    "DIV": "DivOptions",
    "AVERAGE_POOL_2D": "Pool2DOptions",
    "MAX_POOL_2D": "Pool2DOptions",
    "MEAN": "ReducerOptions",
    "SUM": "ReducerOptions",
    "REDUCE_PROD": "ReducerOptions",
    "RESHAPE": "ReshapeOptions",
    "CONCATENATION": "ConcatenationOptions",
    "SOFTMAX": "SoftmaxOptions",
    "SQUEEZE": "SqueezeOptions",
    "STRIDED_SLICE": "StridedSliceOptions",
    "PACK": "PackOptions",
    "UNPACK": "UnpackOptions",
    "GATHER": "GatherOptions",
    "SHAPE": "ShapeOptions",
    "CAST": "CastOptions",
    "VAR_HANDLE": "VarHandleOptions",
    "CALL_ONCE": "CallOnceOptions",
    "SPLIT": "SplitOptions",
    "SPLIT_V": "SplitVOptions",
}
_OPTIONS_BY_TYPE: Mapping[int, str] = {
    value: name for name, value in vars(tflite.BuiltinOptions).items() if not name.startswith("_")
}


@dataclass(frozen=True)
class RawQuant:
    scale: np.ndarray  # float64 [k]
    zero_point: np.ndarray  # int64 [k]
    axis: int


@dataclass(frozen=True)
class RawTensor:
    index: int
    name: str
    shape: tuple[int, ...]
    type_code: int
    dtype: str | None  # numpy dtype name, None for types numpy cannot represent
    quant: RawQuant | None
    data: np.ndarray | None  # constant contents shaped as ``shape``
    is_variable: bool
    sparse: bool

    @property
    def data_size(self) -> int:
        """Number of elements of the shape (1 for a scalar)."""
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def type_name(self) -> str:
        return TENSOR_TYPE_NAMES.get(self.type_code, f"type {self.type_code}")


@dataclass(frozen=True)
class RawOp:
    index: int
    code: int  # builtin operator number
    name: str  # builtin name, or "CUSTOM"
    custom_code: str | None
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    options_type: str | None  # name of the builtin options table, None when absent
    options: Mapping[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"CUSTOM({self.custom_code})" if self.name == "CUSTOM" else self.name


@dataclass(frozen=True)
class RawSubgraph:
    name: str
    tensors: tuple[RawTensor, ...]
    ops: tuple[RawOp, ...]
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]


@dataclass(frozen=True)
class RawModel:
    """The main subgraph (``tensors``, ``ops``, ...) and, in ``subgraphs``, every subgraph by index
    (``subgraphs[0]`` is the main one): CALL_ONCE's initialization subgraph lives there."""

    name: str
    description: str
    tensors: tuple[RawTensor, ...]
    ops: tuple[RawOp, ...]
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    subgraph_count: int
    subgraphs: tuple[RawSubgraph, ...] = ()


def _empty_table_bytes() -> bytes:
    builder = flatbuffers.Builder(16)
    builder.StartObject(0)
    builder.Finish(builder.EndObject())
    return bytes(builder.Output())


_EMPTY_TABLE = _empty_table_bytes()
_EMPTY_TABLE_ROOT = flatbuffers.encode.Get(flatbuffers.packer.uoffset, _EMPTY_TABLE, 0)


def _numpy_vector(value: Any, what: str) -> np.ndarray:
    """The tflite accessors return 0 for an absent vector; make that an empty array."""
    if isinstance(value, np.ndarray):
        return value
    if isinstance(value, int) and value == 0:
        return np.zeros(0, np.int64)
    raise ModelError(f"{what} is not a vector")


def _check_count(count: int, blob_size: int, what: str, min_bytes: int = 4) -> int:
    if count < 0 or count * min_bytes > blob_size:
        raise ModelError(f"{what}: count {count} does not fit in a file of {blob_size} bytes")
    return count


def _decode(raw: bytes | None) -> str:
    return "" if raw is None else raw.decode("utf-8", errors="replace")


def _read_options(op: tflite.Operator, name: str) -> tuple[str | None, dict[str, Any]]:
    """The options edgesdk reads for op ``name`` (schema defaults when the table is absent)."""
    expected = _OPTIONS_OF_OP.get(name)
    if expected is None:
        return None, {}
    options_type = op.BuiltinOptionsType()
    table = op.BuiltinOptions() if options_type else None
    if options_type and _OPTIONS_BY_TYPE.get(options_type) != expected:
        stored = _OPTIONS_BY_TYPE.get(options_type, f"type {options_type}")
        raise ModelError(f"op {name} carries {stored} where {expected} belongs")
    reader = getattr(tflite, expected)()
    if table is None:
        reader.Init(_EMPTY_TABLE, _EMPTY_TABLE_ROOT)  # absent options: every field at its default
    else:
        reader.Init(table.Bytes, table.Pos)
    values: dict[str, Any] = {}
    for accessor in _OPTION_FIELDS[expected]:
        value = getattr(reader, accessor)()
        if accessor.endswith("AsNumpy"):
            key = accessor[: -len("AsNumpy")]
            values[key] = tuple(int(v) for v in _numpy_vector(value, f"{name} option {key}"))
        elif isinstance(value, bytes):
            values[accessor] = _decode(value)
        else:
            values[accessor] = value
    return expected, values


def _read_quant(tensor: tflite.Tensor, name: str, rank: int) -> RawQuant | None:
    quant = tensor.Quantization()
    if quant is None:
        return None
    scale = _numpy_vector(quant.ScaleAsNumpy(), f"tensor {name!r} scale").astype(np.float64)
    zero_point = _numpy_vector(quant.ZeroPointAsNumpy(), f"tensor {name!r} zero point").astype(np.int64)
    if scale.size == 0:
        return None
    if zero_point.size == 0:
        zero_point = np.zeros_like(scale, dtype=np.int64)
    if zero_point.size != scale.size:
        raise ModelError(f"tensor {name!r} has {scale.size} scales but {zero_point.size} zero points")
    if not np.all(np.isfinite(scale)) or np.any(scale < 0):
        raise ModelError(f"tensor {name!r} has a negative or non-finite quantization scale")
    f32 = np.finfo(np.float32)
    if np.any(scale < f32.tiny) or np.any(scale > f32.max):
        bad = scale[(scale < f32.tiny) | (scale > f32.max)][0]
        raise ModelError(
            f"tensor {name!r} has a quantization scale of {bad:g}: a quantized tensor needs a positive "
            f"float32 scale between {f32.tiny:.4g} and {f32.max:.4g}; re-export the model"
        )
    axis = int(quant.QuantizedDimension())
    if scale.size > 1 and not 0 <= axis < rank:
        raise ModelError(f"tensor {name!r} is quantized along axis {axis} but has rank {rank}")
    return RawQuant(scale.copy(), zero_point.copy(), axis)


def _buffer_bytes(model: tflite.Model, index: int, blob: bytes) -> bytes:
    buffer = model.Buffers(index)
    if buffer is None:
        return b""
    offset, size = int(buffer.Offset()), int(buffer.Size())
    if offset > 1:  # data stored after the flatbuffer (models over 2 GB use this)
        if size < 0 or offset + size > len(blob):
            raise ModelError(f"buffer {index} points past the end of the file")
        return blob[offset : offset + size]
    data = _numpy_vector(buffer.DataAsNumpy(), f"buffer {index}")
    return data.astype(np.uint8, copy=False).tobytes()


def _read_tensor(model: tflite.Model, tensor: tflite.Tensor, index: int, blob: bytes,
                 buffer_count: int) -> RawTensor:
    name = _decode(tensor.Name()) or f"tensor_{index}"
    shape = tuple(int(d) for d in _numpy_vector(tensor.ShapeAsNumpy(), f"tensor {name!r} shape"))
    if len(shape) > MAX_RANK or any(d < 0 for d in shape):
        raise ModelError(f"tensor {name!r} has an invalid shape {list(shape)}")
    elements = int(np.prod(shape, dtype=object)) if shape else 1
    if elements > MAX_ELEMENTS:
        raise ModelError(f"tensor {name!r} has an implausible shape {list(shape)}")
    type_code = int(tensor.Type())
    if type_code not in TENSOR_TYPE_NAMES:
        raise ModelError(f"tensor {name!r} has unknown type {type_code}")
    dtype = TENSOR_DTYPES.get(type_code)
    buffer_index = int(tensor.Buffer())
    if not 0 <= buffer_index < buffer_count:
        raise ModelError(f"tensor {name!r} refers to buffer {buffer_index} of {buffer_count}")
    raw = _buffer_bytes(model, buffer_index, blob) if buffer_index else b""
    data = None
    if raw:
        if dtype is None:
            raise ModelError(f"tensor {name!r} is a {TENSOR_TYPE_NAMES[type_code]} constant")
        itemsize = np.dtype(dtype).itemsize
        if len(raw) != elements * itemsize:
            raise ModelError(
                f"tensor {name!r} of shape {list(shape)} needs {elements * itemsize} bytes, "
                f"its buffer has {len(raw)}"
            )
        data = np.frombuffer(raw, dtype=np.dtype(dtype).newbyteorder("<")).astype(dtype).reshape(shape)
    return RawTensor(
        index=index, name=name, shape=shape, type_code=type_code, dtype=dtype,
        quant=_read_quant(tensor, name, len(shape)), data=data,
        is_variable=bool(tensor.IsVariable()), sparse=tensor.Sparsity() is not None,
    )


def _tensor_list(vector: Any, tensor_count: int, what: str, allow_absent: bool) -> tuple[int, ...]:
    indices = tuple(int(i) for i in _numpy_vector(vector, what))
    low = -1 if allow_absent else 0
    for i in indices:
        if not low <= i < tensor_count:
            raise ModelError(f"{what} refers to tensor {i}, but the subgraph has {tensor_count}")
    return indices


def _read_opcodes(model: tflite.Model, blob_size: int) -> list[tuple[int, str, str | None]]:
    codes = []
    for j in range(_check_count(model.OperatorCodesLength(), blob_size, "operator codes")):
        opcode = model.OperatorCodes(j)
        code = max(int(opcode.BuiltinCode()), int(opcode.DeprecatedBuiltinCode()))
        name = BUILTIN_OPCODE2NAME.get(code, f"BUILTIN_OPERATOR_{code}")
        custom = _decode(opcode.CustomCode()) if name == "CUSTOM" else None
        codes.append((code, name, custom))
    return codes


def _read_model(blob: bytes) -> RawModel:
    if len(blob) < 8:
        raise ModelError(f"the file is only {len(blob)} bytes long: not a TFLite model")
    if not tflite.Model.ModelBufferHasIdentifier(blob, 0):
        raise ModelError("not a TFLite model: the file lacks the 'TFL3' flatbuffer identifier; "
                         "pass a .tflite file written by the TensorFlow Lite converter")
    model = tflite.Model.GetRootAs(blob, 0)
    if model.Version() != SCHEMA_VERSION:
        raise ModelError(f"TFLite schema version {model.Version()} is not supported (expected 3)")
    subgraph_count = _check_count(model.SubgraphsLength(), len(blob), "subgraphs")
    if subgraph_count == 0:
        raise ModelError("the model has no subgraph")
    buffer_count = _check_count(model.BuffersLength(), len(blob), "buffers")
    opcodes = _read_opcodes(model, len(blob))
    subgraphs = tuple(_read_subgraph(model, s, blob, buffer_count, opcodes) for s in range(subgraph_count))
    main = subgraphs[0]
    return RawModel(
        name=main.name,
        description=_decode(model.Description()),
        tensors=main.tensors,
        ops=main.ops,
        inputs=main.inputs,
        outputs=main.outputs,
        subgraph_count=subgraph_count,
        subgraphs=subgraphs,
    )


def _read_subgraph(model: tflite.Model, s: int, blob: bytes, buffer_count: int,
                   opcodes: list[tuple[int, str, str | None]]) -> RawSubgraph:
    graph = model.Subgraphs(s)
    where = "" if s == 0 else f"subgraph {s} "
    tensor_count = _check_count(graph.TensorsLength(), len(blob), f"{where}tensors")
    tensors = tuple(
        _read_tensor(model, graph.Tensors(i), i, blob, buffer_count) for i in range(tensor_count)
    )
    ops = []
    for i in range(_check_count(graph.OperatorsLength(), len(blob), f"{where}operators")):
        op = graph.Operators(i)
        opcode_index = int(op.OpcodeIndex())
        if not 0 <= opcode_index < len(opcodes):
            raise ModelError(f"{where}op {i} refers to operator code {opcode_index} of {len(opcodes)}")
        code, name, custom = opcodes[opcode_index]
        options_type, options = _read_options(op, name)
        ops.append(RawOp(
            index=i, code=code, name=name, custom_code=custom,
            inputs=_tensor_list(op.InputsAsNumpy(), tensor_count, f"{where}op {i} ({name}) inputs", True),
            outputs=_tensor_list(op.OutputsAsNumpy(), tensor_count, f"{where}op {i} ({name}) outputs", False),
            options_type=options_type, options=options,
        ))
    return RawSubgraph(
        name=_decode(graph.Name()),
        tensors=tensors,
        ops=tuple(ops),
        inputs=_tensor_list(graph.InputsAsNumpy(), tensor_count, f"{where or 'subgraph '}inputs", False),
        outputs=_tensor_list(graph.OutputsAsNumpy(), tensor_count, f"{where or 'subgraph '}outputs", False),
    )


def read_flatbuffer(blob: bytes) -> RawModel:
    """Parse and validate ``blob``; any defect of the file raises :class:`ModelError`."""
    try:
        with np.errstate(all="ignore"):  # garbage numbers are validated, not warned about
            return _read_model(bytes(blob))
    except ModelError:
        raise
    except Exception as error:  # noqa: BLE001 - a corrupt flatbuffer can raise anything
        raise ModelError(
            f"not a valid TFLite model: the flatbuffer is corrupt or truncated "
            f"({type(error).__name__}: {error}); re-export or re-copy the file"
        ) from None
