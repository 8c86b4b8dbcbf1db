"""The model IR: an immutable graph of tensors and ops that every later stage reads.

Nothing downstream of :mod:`edgesdk.frontend` reads flatbuffers. Conventions (TFLite's own):

- Activations are NHWC. Conv weights are OHWI ``[out_c, kh, kw, in_c]``; depthwise weights are
  ``[1, kh, kw, in_c * depth_multiplier]``; fully-connected weights are ``[out, in]``.
- Quantized tensors carry ``real = scale * (q - zero_point)``; per-channel quantization gives
  ``scale``/``zero_point`` one entry per index of ``quant.axis``.
- An op's optional input that is absent (a conv without bias) is ``NO_TENSOR`` (-1), as in TFLite.
- Constants (weights, biases) carry their stored data in ``Tensor.data`` (the quantized integers
  for int8/int32 tensors, floats for float32 ones); activations have ``data is None``.
- Everything is frozen; numpy arrays inside are made read-only by the constructors.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np

NO_TENSOR = -1


class DType(enum.Enum):
    INT8 = "int8"
    UINT8 = "uint8"
    INT16 = "int16"
    INT32 = "int32"
    INT64 = "int64"
    FLOAT32 = "float32"

    @property
    def numpy(self) -> np.dtype:
        return np.dtype(self.value)

    @property
    def itemsize(self) -> int:
        return self.numpy.itemsize


class Activation(enum.Enum):
    """Fused activation applied to an op's output (TFLite's fused_activation_function)."""

    NONE = "none"
    RELU = "relu"
    RELU6 = "relu6"


class Padding(enum.Enum):
    SAME = "same"
    VALID = "valid"


class OpKind(enum.Enum):
    """The closed set of operators edgesdk understands. Adding one touches one row per stage."""

    # -- layers with parameters
    CONV_2D = "CONV_2D"
    DEPTHWISE_CONV_2D = "DEPTHWISE_CONV_2D"
    FULLY_CONNECTED = "FULLY_CONNECTED"
    # -- elementwise / activations
    ADD = "ADD"
    LOGISTIC = "LOGISTIC"
    SOFTMAX = "SOFTMAX"
    # -- pooling and reductions
    AVERAGE_POOL_2D = "AVERAGE_POOL_2D"
    MAX_POOL_2D = "MAX_POOL_2D"
    MEAN = "MEAN"
    # -- data movement
    RESHAPE = "RESHAPE"
    PAD = "PAD"
    CONCATENATION = "CONCATENATION"
    SLICE = "SLICE"
    # -- precision changes
    QUANTIZE = "QUANTIZE"
    DEQUANTIZE = "DEQUANTIZE"


@dataclass(frozen=True)
class Quant:
    """Affine quantization: ``real = scale * (q - zero_point)``; per-tensor when ``axis is None``."""

    scale: np.ndarray  # float64 [1] or [channels]
    zero_point: np.ndarray  # int64 [1] or [channels]
    axis: int | None = None

    def __post_init__(self) -> None:
        scale = np.asarray(self.scale, dtype=np.float64).reshape(-1)
        zero_point = np.asarray(self.zero_point, dtype=np.int64).reshape(-1)
        scale.setflags(write=False)
        zero_point.setflags(write=False)
        object.__setattr__(self, "scale", scale)
        object.__setattr__(self, "zero_point", zero_point)

    @property
    def per_channel(self) -> bool:
        return self.axis is not None and self.scale.size > 1

    def broadcast_shape(self, ndim: int) -> tuple[int, ...]:
        """Shape that makes ``scale``/``zero_point`` broadcast against a tensor of rank ``ndim``."""
        if not self.per_channel:
            return (1,) * ndim
        assert self.axis is not None
        return tuple(self.scale.size if d == self.axis else 1 for d in range(ndim))


@dataclass(frozen=True)
class Tensor:
    index: int
    name: str
    shape: tuple[int, ...]
    dtype: DType
    quant: Quant | None = None
    data: np.ndarray | None = None  # constant contents (stored dtype), None for activations

    def __post_init__(self) -> None:
        object.__setattr__(self, "shape", tuple(int(d) for d in self.shape))
        if self.data is not None:
            data = np.array(self.data, dtype=self.dtype.numpy).reshape(self.shape)
            data.setflags(write=False)
            object.__setattr__(self, "data", data)

    @property
    def is_constant(self) -> bool:
        return self.data is not None

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def nbytes(self) -> int:
        return self.size * self.dtype.itemsize

    def dequantized(self) -> np.ndarray:
        """Constant data as float32 real values (float constants are returned as they are)."""
        if self.data is None:
            raise ValueError(f"tensor {self.name!r} is not a constant")
        if self.quant is None or self.dtype is DType.FLOAT32:
            return self.data.astype(np.float32)
        shape = self.quant.broadcast_shape(len(self.shape))
        scale = self.quant.scale.reshape(shape)
        zero_point = self.quant.zero_point.reshape(shape)
        return ((self.data.astype(np.float64) - zero_point) * scale).astype(np.float32)


def _freeze_attrs(attrs: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(attrs))


@dataclass(frozen=True)
class Op:
    """One operator.

    ``attrs`` by kind (all keys always present for that kind):

    - CONV_2D: stride (h, w), dilation (h, w), padding Padding, activation Activation
    - DEPTHWISE_CONV_2D: the same plus depth_multiplier int
    - FULLY_CONNECTED: activation, keep_num_dims bool
    - ADD: activation
    - AVERAGE_POOL_2D / MAX_POOL_2D: filter (h, w), stride (h, w), padding, activation
    - MEAN: axes tuple[int, ...] (normalized non-negative), keep_dims bool
    - RESHAPE: new_shape tuple[int, ...] (the output shape, fully resolved)
    - PAD: paddings tuple[tuple[int, int], ...] (before, after) per dimension
    - CONCATENATION: axis int (non-negative), activation
    - SLICE: begin, end, strides tuple[int, ...] (one per input dimension, ``0 <= begin < end <=
      dim``, strides >= 1): ``output = input[begin:end:strides]`` reshaped to the output's shape
      (STRIDED_SLICE, SLICE and each part of SPLIT / SPLIT_V)
    - SOFTMAX: beta float
    - LOGISTIC, QUANTIZE, DEQUANTIZE: none
    """

    index: int
    kind: OpKind
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    attrs: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "inputs", tuple(int(i) for i in self.inputs))
        object.__setattr__(self, "outputs", tuple(int(i) for i in self.outputs))
        object.__setattr__(self, "attrs", _freeze_attrs(self.attrs))

    @property
    def activation(self) -> Activation:
        return self.attrs.get("activation", Activation.NONE)


@dataclass(frozen=True)
class State:
    """A streaming model's memory between two inferences (a TFLite resource variable), made explicit.

    ``read`` is an activation tensor that no op writes: at each inference it holds the state left
    by the previous one (``initial`` before the first). ``write`` is the tensor whose value becomes
    the state for the next inference. Both have the same shape and dtype; the state is a copy of
    the bytes, so an inference is a pure function ``(inputs, states) -> (outputs, new states)``.
    """

    name: str
    read: int
    write: int
    initial: np.ndarray  # the value before the first inference, stored dtype, the read tensor's shape

    def __post_init__(self) -> None:
        initial = np.array(self.initial)
        initial.setflags(write=False)
        object.__setattr__(self, "initial", initial)
        object.__setattr__(self, "read", int(self.read))
        object.__setattr__(self, "write", int(self.write))


@dataclass(frozen=True)
class Graph:
    """A whole model: tensors indexed by ``Tensor.index``, ops in a valid execution order.

    ``states`` is empty for an ordinary model; a streaming model lists its states (see
    :class:`State`): their ``read`` tensors are sources like the inputs, their ``write`` tensors
    results like the outputs.
    """

    name: str
    tensors: tuple[Tensor, ...]
    ops: tuple[Op, ...]
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    states: tuple[State, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "states", tuple(self.states))
        for position, tensor in enumerate(self.tensors):
            if tensor.index != position:
                raise ValueError(f"tensor {tensor.name!r} has index {tensor.index}, expected {position}")
        for position, op in enumerate(self.ops):
            if op.index != position:
                raise ValueError(f"op {op.kind.value} has index {op.index}, expected {position}")

    def tensor(self, index: int) -> Tensor:
        return self.tensors[index]

    def producer(self, tensor_index: int) -> Op | None:
        """The op that writes ``tensor_index``, or None for graph inputs and constants."""
        for op in self.ops:
            if tensor_index in op.outputs:
                return op
        return None

    def consumers(self, tensor_index: int) -> tuple[Op, ...]:
        return tuple(op for op in self.ops if tensor_index in op.inputs)

    @property
    def is_streaming(self) -> bool:
        return bool(self.states)

    @property
    def parameter_bytes(self) -> int:
        return sum(t.nbytes for t in self.tensors if t.is_constant)
