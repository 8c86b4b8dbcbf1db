"""One converter per TFLite builtin: raw op -> IR op kind, inputs and attributes, validated.

Each converter checks what the IR promises downstream stages: arity, ranks, constant weights,
channel counts, the quantization axis of per-channel weights, and that the output shape stored
in the file is the one the op computes. Constant inputs that only parameterize an op (RESHAPE's
shape, PAD's paddings, MEAN's axes, EXPAND_DIMS' axis, PADV2's pad value) become attributes and
are dropped from the IR op's inputs. SQUEEZE and EXPAND_DIMS become RESHAPE; PADV2 whose pad
value is real zero becomes PAD.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from edgesdk.errors import ModelError, UnsupportedOpError
from edgesdk.frontend.reader import RawOp, RawTensor
from edgesdk.ir import NO_TENSOR, Activation, OpKind, Padding

_ACTIVATIONS = {0: Activation.NONE, 1: Activation.RELU, 3: Activation.RELU6}
_ACTIVATION_NAMES = {2: "RELU_N1_TO_1", 4: "TANH", 5: "SIGN_BIT"}
_PADDINGS = {0: Padding.SAME, 1: Padding.VALID}
_QUANTIZED_DTYPES = frozenset({"int8", "uint8", "int16"})


@dataclass(frozen=True)
class Converted:
    kind: OpKind
    inputs: tuple[int, ...]  # raw tensor indices, NO_TENSOR for an absent optional input
    attrs: Mapping[str, Any] = field(default_factory=dict)
    outputs: tuple[int, ...] | None = None  # raw output indices when not the op's (SPLIT's parts)


def conv_output_size(size: int, kernel: int, stride: int, dilation: int, padding: Padding) -> int:
    """Output length along one spatial axis, TFLite's rule."""
    if padding is Padding.SAME:
        return math.ceil(size / stride)
    return (size - ((kernel - 1) * dilation + 1)) // stride + 1


class OpContext:
    """An op being converted, with the graph's tensors and the constants known after folding."""

    def __init__(self, op: RawOp, tensors: tuple[RawTensor, ...], constants: Mapping[int, np.ndarray]):
        self.op = op
        self.tensors = tensors
        self.constants = constants

    # -- errors
    @property
    def label(self) -> str:
        return f"op {self.op.index} ({self.op.label})"

    def fail(self, message: str) -> ModelError:
        return ModelError(f"{self.label}: {message}")

    def unsupported(self, message: str) -> UnsupportedOpError:
        return UnsupportedOpError(f"{self.label}: {message}")

    # -- inputs and outputs
    def arity(self, low: int, high: int | None = None) -> None:
        count = len(self.op.inputs)
        high = low if high is None else high
        if not low <= count <= high:
            expected = str(low) if low == high else f"{low} to {high}"
            raise self.fail(f"has {count} inputs, expected {expected}")
        if len(self.op.outputs) != 1:
            raise self.fail(f"has {len(self.op.outputs)} outputs, expected 1")

    def index(self, k: int) -> int:
        """Index of required input ``k``."""
        if k >= len(self.op.inputs) or self.op.inputs[k] == NO_TENSOR:
            raise self.fail(f"input {k} is missing")
        return self.op.inputs[k]

    def optional(self, k: int) -> int:
        return self.op.inputs[k] if k < len(self.op.inputs) else NO_TENSOR

    def tensor(self, k: int) -> RawTensor:
        return self.tensors[self.index(k)]

    def constant(self, k: int, what: str) -> np.ndarray:
        index = self.index(k)
        if index not in self.constants:
            raise self.unsupported(f"{what} (input {k}) must be a constant known when the model is built")
        return self.constants[index]

    @property
    def output(self) -> RawTensor:
        return self.tensors[self.op.outputs[0]]

    def option(self, key: str) -> Any:
        return self.op.options.get(key, 0)

    # -- attributes
    def activation(self) -> Activation:
        code = int(self.option("FusedActivationFunction"))
        if code in _ACTIVATIONS:
            return _ACTIVATIONS[code]
        name = _ACTIVATION_NAMES.get(code, f"code {code}")
        raise self.unsupported(f"fused activation {name} is not supported (NONE, RELU and RELU6 are)")

    def padding(self) -> Padding:
        code = int(self.option("Padding"))
        if code not in _PADDINGS:
            raise self.fail(f"unknown padding {code}")
        return _PADDINGS[code]

    def positive_pair(self, first: str, second: str, what: str) -> tuple[int, int]:
        pair = (int(self.option(first)), int(self.option(second)))
        if min(pair) < 1:
            raise self.fail(f"{what} {pair} must be at least 1")
        return pair

    def rank(self, tensor: RawTensor, rank: int, what: str) -> None:
        if len(tensor.shape) != rank:
            raise self.fail(f"{what} {tensor.name!r} has shape {list(tensor.shape)}, expected rank {rank}")

    def expect_output(self, shape: tuple[int, ...]) -> None:
        if tuple(self.output.shape) != tuple(shape):
            raise self.fail(f"output {self.output.name!r} has shape {list(self.output.shape)}, "
                            f"the op computes {list(shape)}")

    def expect_same_shape(self) -> None:
        self.expect_output(self.tensor(0).shape)

    def weights(self, k: int, axis: int, input_tensor: RawTensor) -> RawTensor:
        """A constant weight tensor whose precision matches the input and whose channels are on ``axis``."""
        self.constant(k, "the weights")
        weights = self.tensor(k)
        quantized_input = input_tensor.dtype in _QUANTIZED_DTYPES
        if quantized_input != (weights.dtype in _QUANTIZED_DTYPES):
            raise self.unsupported(
                f"{input_tensor.dtype} input with {weights.dtype} weights (hybrid or dynamic-range "
                f"quantization) is not supported: use full-integer or float models"
            )
        if weights.quant is not None and weights.quant.scale.size > 1:
            channels = weights.shape[axis] if len(weights.shape) > axis else -1
            if weights.quant.axis != axis or weights.quant.scale.size != channels:
                raise self.unsupported(
                    f"weights {weights.name!r} are quantized along axis {weights.quant.axis} with "
                    f"{weights.quant.scale.size} scales; expected one scale per channel of axis {axis}"
                )
        return weights

    def bias(self, k: int, channels: int) -> int:
        index = self.optional(k)
        if index == NO_TENSOR:
            return NO_TENSOR
        self.constant(k, "the bias")
        if self.tensors[index].data_size != channels:
            raise self.fail(f"bias has shape {list(self.tensors[index].shape)}, expected [{channels}]")
        return index


def _conv2d(ctx: OpContext) -> Converted:
    ctx.arity(2, 3)
    x = ctx.tensor(0)
    ctx.rank(x, 4, "input")
    w = ctx.weights(1, 0, x)
    ctx.rank(w, 4, "weights")
    if w.shape[3] != x.shape[3]:
        if w.shape[3] and x.shape[3] % w.shape[3] == 0:
            raise ctx.unsupported("grouped convolution (input channels a multiple of the filter's) "
                                  "is not supported")
        raise ctx.fail(f"weights {list(w.shape)} do not match input channels {x.shape[3]}")
    stride = ctx.positive_pair("StrideH", "StrideW", "stride")
    dilation = ctx.positive_pair("DilationHFactor", "DilationWFactor", "dilation")
    padding = ctx.padding()
    out_h = conv_output_size(x.shape[1], w.shape[1], stride[0], dilation[0], padding)
    out_w = conv_output_size(x.shape[2], w.shape[2], stride[1], dilation[1], padding)
    ctx.expect_output((x.shape[0], out_h, out_w, w.shape[0]))
    bias = ctx.bias(2, w.shape[0])
    attrs = dict(stride=stride, dilation=dilation, padding=padding, activation=ctx.activation())
    return Converted(OpKind.CONV_2D, (ctx.index(0), ctx.index(1), bias), attrs)


def _depthwise_conv2d(ctx: OpContext) -> Converted:
    ctx.arity(2, 3)
    x = ctx.tensor(0)
    ctx.rank(x, 4, "input")
    w = ctx.weights(1, 3, x)
    ctx.rank(w, 4, "weights")
    if w.shape[0] != 1 or x.shape[3] == 0 or w.shape[3] % x.shape[3]:
        raise ctx.fail(f"weights {list(w.shape)} do not fit input channels {x.shape[3]}")
    multiplier = w.shape[3] // x.shape[3]  # TFLite derives it from the shapes too
    stride = ctx.positive_pair("StrideH", "StrideW", "stride")
    dilation = ctx.positive_pair("DilationHFactor", "DilationWFactor", "dilation")
    padding = ctx.padding()
    out_h = conv_output_size(x.shape[1], w.shape[1], stride[0], dilation[0], padding)
    out_w = conv_output_size(x.shape[2], w.shape[2], stride[1], dilation[1], padding)
    ctx.expect_output((x.shape[0], out_h, out_w, w.shape[3]))
    bias = ctx.bias(2, w.shape[3])
    attrs = dict(stride=stride, dilation=dilation, padding=padding, activation=ctx.activation(),
                 depth_multiplier=multiplier)
    return Converted(OpKind.DEPTHWISE_CONV_2D, (ctx.index(0), ctx.index(1), bias), attrs)


def _fully_connected(ctx: OpContext) -> Converted:
    ctx.arity(2, 3)
    x = ctx.tensor(0)
    w = ctx.weights(1, 0, x)
    ctx.rank(w, 2, "weights")
    if int(ctx.option("WeightsFormat")) != 0:
        raise ctx.unsupported("shuffled weight formats are not supported (only DEFAULT)")
    out_features, in_features = w.shape
    if in_features == 0 or x.data_size % in_features:
        raise ctx.fail(f"input {list(x.shape)} does not split into rows of {in_features} features")
    keep_num_dims = bool(ctx.option("KeepNumDims"))
    if keep_num_dims:
        if not x.shape or x.shape[-1] != in_features:
            raise ctx.fail(f"keep_num_dims needs the input's last dimension to be {in_features}")
        ctx.expect_output((*x.shape[:-1], out_features))
    else:
        ctx.expect_output((x.data_size // in_features, out_features))
    bias = ctx.bias(2, out_features)
    attrs = dict(activation=ctx.activation(), keep_num_dims=keep_num_dims)
    return Converted(OpKind.FULLY_CONNECTED, (ctx.index(0), ctx.index(1), bias), attrs)


def _add(ctx: OpContext) -> Converted:
    ctx.arity(2)
    a, b = ctx.tensor(0), ctx.tensor(1)
    try:
        shape = np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        raise ctx.fail(f"shapes {list(a.shape)} and {list(b.shape)} do not broadcast") from None
    ctx.expect_output(tuple(shape))
    return Converted(OpKind.ADD, (ctx.index(0), ctx.index(1)), dict(activation=ctx.activation()))


def _pool(kind: OpKind) -> Callable[[OpContext], Converted]:
    def convert(ctx: OpContext) -> Converted:
        ctx.arity(1)
        x = ctx.tensor(0)
        ctx.rank(x, 4, "input")
        window = ctx.positive_pair("FilterHeight", "FilterWidth", "filter")
        stride = ctx.positive_pair("StrideH", "StrideW", "stride")
        padding = ctx.padding()
        out_h = conv_output_size(x.shape[1], window[0], stride[0], 1, padding)
        out_w = conv_output_size(x.shape[2], window[1], stride[1], 1, padding)
        ctx.expect_output((x.shape[0], out_h, out_w, x.shape[3]))
        attrs = dict(filter=window, stride=stride, padding=padding, activation=ctx.activation())
        return Converted(kind, (ctx.index(0),), attrs)

    return convert


def _normalized_axes(ctx: OpContext, values: np.ndarray, rank: int) -> tuple[int, ...]:
    axes = []
    for value in np.asarray(values).reshape(-1):
        axis = int(value)
        if not -rank <= axis < rank:
            raise ctx.fail(f"axis {axis} is out of range for rank {rank}")
        axes.append(axis % rank)
    return tuple(sorted(set(axes)))


def _mean(ctx: OpContext) -> Converted:
    ctx.arity(2)
    x = ctx.tensor(0)
    axes = _normalized_axes(ctx, ctx.constant(1, "the axes"), len(x.shape))
    keep_dims = bool(ctx.option("KeepDims"))
    if keep_dims:
        shape = tuple(1 if d in axes else n for d, n in enumerate(x.shape))
    else:
        shape = tuple(n for d, n in enumerate(x.shape) if d not in axes)
    ctx.expect_output(shape)
    return Converted(OpKind.MEAN, (ctx.index(0),), dict(axes=axes, keep_dims=keep_dims))


def _reshape(ctx: OpContext) -> Converted:
    """RESHAPE, SQUEEZE and EXPAND_DIMS: the output tensor's stored shape is the new shape."""
    ctx.arity(1, 2)
    x, out = ctx.tensor(0), ctx.output
    if x.data_size != out.data_size:
        raise ctx.fail(f"cannot reshape {list(x.shape)} into {list(out.shape)}")
    if ctx.op.name == "RESHAPE" and ctx.optional(1) in ctx.constants:
        requested = [int(d) for d in ctx.constants[ctx.optional(1)].reshape(-1)]
        known = [d for d in requested if d != -1]
        if requested.count(-1) == 1 and all(d > 0 for d in known):
            requested[requested.index(-1)] = x.data_size // int(np.prod(known, dtype=np.int64))
        if requested and requested != list(out.shape):
            raise ctx.fail(f"shape input {requested} disagrees with the output shape {list(out.shape)}")
    return Converted(OpKind.RESHAPE, (ctx.index(0),), dict(new_shape=tuple(out.shape)))


def _pad(ctx: OpContext) -> Converted:
    ctx.arity(2, 3 if ctx.op.name == "PADV2" else 2)
    x = ctx.tensor(0)
    pads = np.asarray(ctx.constant(1, "the paddings"))
    if pads.size != 2 * len(x.shape):
        raise ctx.fail(f"paddings {pads.tolist()} do not match rank {len(x.shape)}")
    pairs = tuple((int(a), int(b)) for a, b in pads.reshape(-1, 2))
    if any(a < 0 or b < 0 for a, b in pairs):
        raise ctx.unsupported(f"negative paddings {pairs} (cropping) are not supported")
    if ctx.optional(2) != NO_TENSOR:
        value = np.asarray(ctx.constant(2, "the pad value")).reshape(-1)
        out = ctx.output
        zero = int(out.quant.zero_point[0]) if out.quant is not None else 0
        if value.size != 1 or value[0] != zero:
            raise ctx.unsupported(f"padding with {value.tolist()} instead of real zero is not supported")
    ctx.expect_output(tuple(n + a + b for n, (a, b) in zip(x.shape, pairs, strict=True)))
    return Converted(OpKind.PAD, (ctx.index(0),), dict(paddings=pairs))


def _concatenation(ctx: OpContext) -> Converted:
    ctx.arity(1, max(1, len(ctx.op.inputs)))
    parts = [ctx.tensor(k) for k in range(len(ctx.op.inputs))]
    rank = len(parts[0].shape)
    axis = int(ctx.option("Axis"))
    if not -rank <= axis < rank:
        raise ctx.fail(f"axis {axis} is out of range for rank {rank}")
    axis %= rank
    for part in parts:
        others = [n for d, n in enumerate(part.shape) if d != axis]
        if len(part.shape) != rank or others != [n for d, n in enumerate(parts[0].shape) if d != axis]:
            raise ctx.fail(f"input shapes {[list(p.shape) for p in parts]} do not concatenate on axis {axis}")
    shape = list(parts[0].shape)
    shape[axis] = sum(p.shape[axis] for p in parts)
    ctx.expect_output(tuple(shape))
    inputs = tuple(ctx.index(k) for k in range(len(parts)))
    return Converted(OpKind.CONCATENATION, inputs, dict(axis=axis, activation=ctx.activation()))


def _softmax(ctx: OpContext) -> Converted:
    ctx.arity(1)
    ctx.expect_same_shape()
    beta = float(ctx.option("Beta"))
    if not math.isfinite(beta) or beta <= 0:
        raise ctx.fail(f"beta {beta} must be a positive number")
    return Converted(OpKind.SOFTMAX, (ctx.index(0),), dict(beta=beta))


def _logistic(ctx: OpContext) -> Converted:
    ctx.arity(1)
    ctx.expect_same_shape()
    return Converted(OpKind.LOGISTIC, (ctx.index(0),))


def _quantize(ctx: OpContext) -> Converted:
    ctx.arity(1)
    ctx.expect_same_shape()
    if ctx.output.dtype not in _QUANTIZED_DTYPES or ctx.output.quant is None:
        raise ctx.fail(f"output {ctx.output.name!r} must be a quantized integer tensor")
    return Converted(OpKind.QUANTIZE, (ctx.index(0),))


def _dequantize(ctx: OpContext) -> Converted:
    ctx.arity(1)
    ctx.expect_same_shape()
    x = ctx.tensor(0)
    if x.dtype not in _QUANTIZED_DTYPES or x.quant is None:
        raise ctx.unsupported(f"dequantizing a {x.type_name} activation is not supported")
    if ctx.output.dtype != "float32":
        raise ctx.fail("output must be float32")
    return Converted(OpKind.DEQUANTIZE, (ctx.index(0),))


CONVERTERS: Mapping[str, Callable[[OpContext], Converted]] = {
    "CONV_2D": _conv2d,
    "DEPTHWISE_CONV_2D": _depthwise_conv2d,
    "FULLY_CONNECTED": _fully_connected,
    "ADD": _add,
    "AVERAGE_POOL_2D": _pool(OpKind.AVERAGE_POOL_2D),
    "MAX_POOL_2D": _pool(OpKind.MAX_POOL_2D),
    "MEAN": _mean,
    "RESHAPE": _reshape,
    "SQUEEZE": _reshape,
    "EXPAND_DIMS": _reshape,
    "PAD": _pad,
    "PADV2": _pad,
    "CONCATENATION": _concatenation,
    "SOFTMAX": _softmax,
    "LOGISTIC": _logistic,
    "QUANTIZE": _quantize,
    "DEQUANTIZE": _dequantize,
}
