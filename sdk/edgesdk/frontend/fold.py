"""Build-time constant folding of what the TFLite converter leaves in a graph.

Keras models converted by TFLite carry small computations on constants and on static shapes:
``SHAPE -> STRIDED_SLICE -> PACK -> RESHAPE`` for a Flatten with an unknown batch,
``DEQUANTIZE`` of float16 or int8 weights, ``QUANTIZE`` of float constants, ``TRANSPOSE`` or
``RESHAPE`` of weights, integer arithmetic on shape vectors. Every op listed in ``FOLDERS`` whose
inputs are all known at build time (for ``SHAPE``: whose input has a static shape) is evaluated
here with numpy and its outputs become constants; the op disappears from the graph.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from edgesdk.errors import ModelError
from edgesdk.frontend.reader import TENSOR_DTYPES, RawModel, RawOp, RawQuant, RawTensor


@dataclass(frozen=True)
class _Args:
    op: RawOp
    values: tuple[np.ndarray | None, ...]  # input data, None for an absent optional input
    inputs: tuple[RawTensor | None, ...]
    outputs: tuple[RawTensor, ...]


Folder = Callable[[_Args], list[np.ndarray]]


class _KeepOp(Exception):
    """Raised by a folder when the op, though on constants, must stay an op (not an error)."""


def _activation(values: np.ndarray, code: int) -> np.ndarray:
    if code == 0:
        return values
    if code == 1:
        return np.maximum(values, 0)
    if code == 3:
        return np.clip(values, 0, 6)
    raise ValueError(f"fused activation {code}")


def _plain(args: _Args) -> None:
    """Arithmetic folding is only exact for tensors that carry no quantization."""
    tensors = [t for t in (*args.inputs, *args.outputs) if t is not None]
    if any(t.quant is not None for t in tensors):
        raise _KeepOp


def _elementwise(function: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> Folder:
    def fold(args: _Args) -> list[np.ndarray]:
        _plain(args)
        a, b = args.values[0], args.values[1]
        assert a is not None and b is not None
        result = function(a, b)
        return [_activation(result, int(args.op.options.get("FusedActivationFunction", 0)))]

    return fold


def _same_data(args: _Args) -> list[np.ndarray]:
    """RESHAPE, SQUEEZE, EXPAND_DIMS: the data as it is, in the declared output shape."""
    value = args.values[0]
    assert value is not None
    return [value.reshape(args.outputs[0].shape)]


def _quantize(values: np.ndarray, quant: RawQuant | None, dtype: str, shape_rank: int) -> np.ndarray:
    if quant is None:
        raise ValueError("QUANTIZE output has no quantization")
    view = [1] * shape_rank
    if quant.scale.size > 1:
        view[quant.axis] = -1
    info = np.iinfo(np.dtype(dtype))
    q = np.round(values / quant.scale.reshape(view)) + quant.zero_point.reshape(view)
    return np.clip(q, info.min, info.max)


def _dequantized(value: np.ndarray, tensor: RawTensor) -> np.ndarray:
    if tensor.quant is None:
        return value.astype(np.float64)
    view = [1] * value.ndim
    if tensor.quant.scale.size > 1:
        view[tensor.quant.axis] = -1
    zero_point = tensor.quant.zero_point.reshape(view)
    return (value.astype(np.float64) - zero_point) * tensor.quant.scale.reshape(view)


def _fold_dequantize(args: _Args) -> list[np.ndarray]:
    value, tensor = args.values[0], args.inputs[0]
    assert value is not None and tensor is not None
    return [_dequantized(value, tensor).astype(np.float32)]


def _fold_quantize(args: _Args) -> list[np.ndarray]:
    value, tensor, out = args.values[0], args.inputs[0], args.outputs[0]
    assert value is not None and tensor is not None and out.dtype is not None
    real = value.astype(np.float64) if tensor.quant is None else _dequantized(value, tensor)
    return [_quantize(real, out.quant, out.dtype, len(out.shape))]


def _fold_shape(args: _Args) -> list[np.ndarray]:
    tensor = args.inputs[0]
    assert tensor is not None
    return [np.array(tensor.shape, dtype=np.int64)]


def _ints(value: np.ndarray | None) -> list[int]:
    assert value is not None
    return [int(v) for v in np.asarray(value).reshape(-1)]


def strided_slices(shape: Sequence[int], begin: Sequence[int], end: Sequence[int], strides: Sequence[int],
                   options: Mapping[str, Any]) -> tuple[slice | int, ...]:
    """TFLite's STRIDED_SLICE as a numpy index (an int for a shrunk axis); ValueError when invalid."""
    if options.get("EllipsisMask", 0) or options.get("NewAxisMask", 0):
        raise NotImplementedError("ellipsis and new-axis masks")
    if not len(begin) == len(end) == len(strides) <= len(shape):
        raise ValueError("begin/end/strides do not match the input rank")
    index: list[slice | int] = []
    for axis, (b, e, s) in enumerate(zip(begin, end, strides, strict=True)):
        if s == 0:
            raise ValueError("stride 0")
        if options.get("Offset", False):
            e = b + e
        if options.get("ShrinkAxisMask", 0) >> axis & 1:
            position = b + shape[axis] if b < 0 else b
            if not 0 <= position < shape[axis]:
                raise ValueError("shrink index out of range")
            index.append(position)
            continue
        start = None if options.get("BeginMask", 0) >> axis & 1 else b
        stop = None if options.get("EndMask", 0) >> axis & 1 else e
        index.append(slice(start, stop, s))
    return tuple(index)


def _fold_strided_slice(args: _Args) -> list[np.ndarray]:
    data = args.values[0]
    assert data is not None
    begin, end, strides = _ints(args.values[1]), _ints(args.values[2]), _ints(args.values[3])
    try:
        index = strided_slices(data.shape, begin, end, strides, args.op.options)
    except NotImplementedError:
        raise _KeepOp from None
    return [np.asarray(data[index])]


def _fold_slice(args: _Args) -> list[np.ndarray]:
    data = args.values[0]
    assert data is not None
    begin, size = _ints(args.values[1]), _ints(args.values[2])
    if not len(begin) == len(size) == data.ndim:
        raise ValueError("begin/size do not match the input rank")
    slices = []
    for axis, (b, n) in enumerate(zip(begin, size, strict=True)):
        stop = data.shape[axis] if n == -1 else b + n
        if not 0 <= b <= stop <= data.shape[axis]:
            raise ValueError("slice out of range")
        slices.append(slice(b, stop))
    return [data[tuple(slices)]]


def _fold_pack(args: _Args) -> list[np.ndarray]:
    values = [v for v in args.values if v is not None]
    return [np.stack(values, axis=int(args.op.options.get("Axis", 0)))]


def _fold_unpack(args: _Args) -> list[np.ndarray]:
    value = args.values[0]
    assert value is not None
    axis = int(args.op.options.get("Axis", 0))
    return [np.take(value, i, axis=axis) for i in range(value.shape[axis])]


def _fold_concatenation(args: _Args) -> list[np.ndarray]:
    tensors = [t for t in (*args.inputs, *args.outputs) if t is not None]
    quants = {None if t.quant is None else (tuple(t.quant.scale), tuple(t.quant.zero_point)) for t in tensors}
    if len(quants) > 1:
        raise _KeepOp
    values = [v for v in args.values if v is not None]
    result = np.concatenate(values, axis=int(args.op.options.get("Axis", 0)))
    return [_activation(result, int(args.op.options.get("FusedActivationFunction", 0)))]


def _fold_gather(args: _Args) -> list[np.ndarray]:
    if int(args.op.options.get("BatchDims", 0)):
        raise _KeepOp
    params, indices = args.values[0], args.values[1]
    assert params is not None and indices is not None
    return [np.take(params, indices.astype(np.int64), axis=int(args.op.options.get("Axis", 0)))]


def _fold_transpose(args: _Args) -> list[np.ndarray]:
    value = args.values[0]
    assert value is not None
    return [np.transpose(value, _ints(args.values[1]))]


def _fold_cast(args: _Args) -> list[np.ndarray]:
    value = args.values[0]
    assert value is not None
    return [value]  # the cast to the output dtype happens for every folded op


def _fold_fill(args: _Args) -> list[np.ndarray]:
    dims, value = _ints(args.values[0]), args.values[1]
    assert value is not None
    if int(np.prod(dims, dtype=object)) != args.outputs[0].data_size:
        raise ValueError("FILL dims disagree with its output")
    return [np.full(dims, value.reshape(-1)[0])]


def _fold_reduce(function: Callable[..., np.ndarray]) -> Folder:
    def fold(args: _Args) -> list[np.ndarray]:
        _plain(args)
        value = args.values[0]
        assert value is not None
        axes = tuple(a % value.ndim for a in _ints(args.values[1])) if value.ndim else ()
        return [function(value, axis=axes, keepdims=bool(args.op.options.get("KeepDims", False)))]

    return fold


def _fold_floor_div(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if np.any(b == 0):
        raise ValueError("division by zero")
    return np.floor_divide(a, b)


def _fold_div(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if np.any(b == 0):
        raise ValueError("division by zero")
    if np.issubdtype(a.dtype, np.integer):
        return np.trunc(a / b).astype(a.dtype)
    return a / b


FOLDERS: Mapping[str, Folder] = {
    "SHAPE": _fold_shape,
    "RESHAPE": _same_data,
    "SQUEEZE": _same_data,
    "EXPAND_DIMS": _same_data,
    "TRANSPOSE": _fold_transpose,
    "STRIDED_SLICE": _fold_strided_slice,
    "SLICE": _fold_slice,
    "PACK": _fold_pack,
    "UNPACK": _fold_unpack,
    "CONCATENATION": _fold_concatenation,
    "GATHER": _fold_gather,
    "CAST": _fold_cast,
    "FILL": _fold_fill,
    "DEQUANTIZE": _fold_dequantize,
    "QUANTIZE": _fold_quantize,
    "ADD": _elementwise(np.add),
    "SUB": _elementwise(np.subtract),
    "MUL": _elementwise(np.multiply),
    "DIV": _elementwise(_fold_div),
    "FLOOR_DIV": _elementwise(_fold_floor_div),
    "MAXIMUM": _elementwise(np.maximum),
    "MINIMUM": _elementwise(np.minimum),
    "SUM": _fold_reduce(np.sum),
    "REDUCE_PROD": _fold_reduce(np.prod),
    "REDUCE_MAX": _fold_reduce(np.max),
    "REDUCE_MIN": _fold_reduce(np.min),
}

# ops whose outputs depend only on their input's static shape, not on its data
_SHAPE_ONLY = frozenset({"SHAPE"})


def _is_foldable(op: RawOp, constants: Mapping[int, np.ndarray], tensors: tuple[RawTensor, ...]) -> bool:
    if op.name not in FOLDERS or not op.outputs:
        return False
    if any(tensors[i].is_variable for i in op.outputs):
        return False
    present = [i for i in op.inputs if i >= 0]
    if not present:
        return False
    if op.name in _SHAPE_ONLY:
        return True
    return all(i in constants for i in present)


def _evaluate(
    op: RawOp, constants: Mapping[int, np.ndarray], tensors: tuple[RawTensor, ...]
) -> list[np.ndarray]:
    args = _Args(
        op=op,
        values=tuple(constants.get(i) if i >= 0 else None for i in op.inputs),
        inputs=tuple(tensors[i] if i >= 0 else None for i in op.inputs),
        outputs=tuple(tensors[i] for i in op.outputs),
    )
    results = FOLDERS[op.name](args)
    if len(results) != len(op.outputs):
        raise ValueError(f"{len(results)} results for {len(op.outputs)} outputs")
    folded = []
    for result, out in zip(results, args.outputs, strict=True):
        if out.dtype is None or out.dtype not in TENSOR_DTYPES.values():
            raise ValueError(f"output {out.name!r} has type {out.type_name}")
        result = np.asarray(result)
        if result.size != out.data_size:
            raise ValueError(f"result of shape {list(result.shape)} does not fit output {list(out.shape)}")
        folded.append(result.astype(out.dtype).reshape(out.shape))
    return folded


def fold_constants(model: RawModel) -> tuple[dict[int, np.ndarray], tuple[RawOp, ...]]:
    """Evaluate every foldable op; return all constant tensors' data and the ops that remain."""
    constants: dict[int, np.ndarray] = {t.index: t.data for t in model.tensors if t.data is not None}
    remaining: list[RawOp] = []
    for op in model.ops:
        if not _is_foldable(op, constants, model.tensors):
            remaining.append(op)
            continue
        try:
            results = _evaluate(op, constants, model.tensors)
        except _KeepOp:
            remaining.append(op)
            continue
        except Exception as error:  # noqa: BLE001 - numpy on arbitrary constants
            raise ModelError(f"op {op.index} ({op.name}) on constants cannot be evaluated: {error}") from None
        for index, value in zip(op.outputs, results, strict=True):
            constants[index] = value
    return constants, tuple(remaining)
