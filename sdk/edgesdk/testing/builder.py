"""Write int8 ``.tflite`` models from numpy: a small declarative builder for tests.

    b = ModelBuilder("tiny")
    x = b.input((1, 8, 8, 1), range=(0.0, 1.0))
    y = b.conv2d(x, w1, b1, stride=1, padding="same", activation="relu")
    y = b.mean(y, axes=(1, 2))
    y = b.fully_connected(y, w2, b2)
    b.output(b.softmax(y))
    blob = b.build()                      # bytes of a full-int8 model that runs in TFLite Micro

Weights are given as floats. ``build`` quantizes them the way the TFLite converter does: weights
symmetric int8 (per output channel by default: axis 0 for conv/FC, axis 3 for depthwise), biases
int32 with scale ``s_input * s_weight`` and zero point 0, activations asymmetric int8 per tensor.
Activation ranges come from a float forward pass over calibration inputs (random samples of each
input's declared range unless given), widened to include 0. Ops whose TFLite int8 kernels do not
requantize (pools, RESHAPE, PAD, CONCATENATION) share one quantization over all their inputs and
outputs; SOFTMAX and LOGISTIC outputs use TFLite's fixed 1/256, -128.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from edgesdk.testing import floatops
from edgesdk.testing.flatwriter import OpSpec, SubgraphSpec, TensorSpec, write_model

_ACTIVATION_CODES = {"none": 0, "relu": 1, "relu6": 3}
_PADDING_CODES = {"same": 0, "valid": 1}
_FIXED_UNIT_QUANT = (1.0 / 256.0, -128)  # TFLite's required int8 output quantization for softmax/logistic
_TIED_KINDS = frozenset({"max_pool2d", "avg_pool2d", "reshape", "pad", "concat"})


@dataclass(frozen=True)
class Value:
    """A handle to an activation tensor of the model being built."""

    id: int
    shape: tuple[int, ...]
    dtype: str  # "int8" or "float32"
    name: str


@dataclass(frozen=True)
class _Node:
    kind: str
    inputs: tuple[int, ...]  # value ids
    output: int  # value id
    params: Mapping[str, Any]
    range: tuple[float, float] | None


@dataclass(frozen=True)
class QuantParams:
    scale: float
    zero_point: int


@dataclass(frozen=True)
class BuiltModel:
    """The serialized model plus where each builder value ended up."""

    blob: bytes
    tensor_index: Mapping[int, int]  # value id -> TFLite tensor index
    quant: Mapping[int, QuantParams]  # value id -> quantization (int8 values only)
    float_ranges: Mapping[int, tuple[float, float]] = field(default_factory=dict)


def _pair(value: int | Sequence[int]) -> tuple[int, int]:
    if isinstance(value, int):
        return (value, value)
    first, second = value
    return (int(first), int(second))


def activation_quant(low: float, high: float) -> QuantParams:
    """Asymmetric int8 quantization covering [low, high] and 0 (the TFLite converter's rule)."""
    low, high = min(float(low), 0.0), max(float(high), 0.0)
    if high - low < 1e-6:
        high = low + 1e-6
    scale = (high - low) / 255.0
    zero_point = int(np.clip(round(-128.0 - low / scale), -128, 127))
    return QuantParams(scale, zero_point)


def symmetric_weight_scales(weights: np.ndarray, axis: int | None) -> np.ndarray:
    """Per-channel (``axis``) or per-tensor (``None``) symmetric int8 scales, max|w| / 127."""
    if axis is None:
        peak = np.array([np.abs(weights).max()])
    else:
        peak = np.abs(np.moveaxis(weights, axis, 0).reshape(weights.shape[axis], -1)).max(axis=1)
    return np.where(peak > 0, peak / 127.0, 1.0 / 127.0).astype(np.float64)


def _pool_params(filter_hw, stride, padding: str) -> dict[str, Any]:
    stride_hw = _pair(filter_hw if stride is None else stride)
    return dict(filter=_pair(filter_hw), stride=stride_hw, padding=padding)


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[int, int] = {}

    def find(self, item: int) -> int:
        self.parent.setdefault(item, item)
        while self.parent[item] != item:
            self.parent[item] = self.parent[self.parent[item]]
            item = self.parent[item]
        return item

    def union(self, a: int, b: int) -> None:
        self.parent[self.find(a)] = self.find(b)


class ModelBuilder:
    """Declare a model layer by layer with float weights; ``build()`` returns int8 ``.tflite`` bytes."""

    def __init__(self, name: str = "model", seed: int = 0) -> None:
        self.name = name
        self.seed = seed
        self._values: list[Value] = []
        self._nodes: list[_Node] = []
        self._inputs: list[tuple[int, tuple[float, float]]] = []
        self._outputs: list[int] = []

    # -- graph inputs and outputs ---------------------------------------------------------------
    def input(
        self,
        shape: Sequence[int],
        *,
        range: tuple[float, float] = (-1.0, 1.0),
        dtype: str = "int8",
        name: str | None = None,
    ) -> Value:
        """A graph input; ``dtype="float32"`` makes a float input (follow it with ``quantize``)."""
        if dtype not in ("int8", "float32"):
            raise ValueError("input dtype must be 'int8' or 'float32'")
        value = self._new_value(tuple(int(d) for d in shape), dtype, name or f"input_{len(self._inputs)}")
        self._inputs.append((value.id, (float(range[0]), float(range[1]))))
        return value

    def output(self, *values: Value) -> None:
        self._outputs.extend(v.id for v in values)

    @property
    def outputs(self) -> tuple[Value, ...]:
        """The declared graph outputs, in order."""
        return tuple(self._values[i] for i in self._outputs)

    # -- layers ---------------------------------------------------------------------------------
    def conv2d(
        self,
        x: Value,
        weights: np.ndarray,
        bias: np.ndarray | None = None,
        *,
        stride: int | Sequence[int] = 1,
        dilation: int | Sequence[int] = 1,
        padding: str = "same",
        activation: str = "none",
        per_channel: bool = True,
        name: str | None = None,
        range: tuple[float, float] | None = None,
    ) -> Value:
        """weights [out_c, kh, kw, in_c] (OHWI), bias [out_c]."""
        params = dict(
            weights=np.asarray(weights, np.float32),
            bias=None if bias is None else np.asarray(bias, np.float32),
            stride=_pair(stride),
            dilation=_pair(dilation),
            padding=padding,
            activation=activation,
            per_channel=per_channel,
        )
        return self._add("conv2d", (x,), params, name, range)

    def depthwise_conv2d(
        self,
        x: Value,
        weights: np.ndarray,
        bias: np.ndarray | None = None,
        *,
        depth_multiplier: int = 1,
        stride: int | Sequence[int] = 1,
        dilation: int | Sequence[int] = 1,
        padding: str = "same",
        activation: str = "none",
        per_channel: bool = True,
        name: str | None = None,
        range: tuple[float, float] | None = None,
    ) -> Value:
        """weights [1, kh, kw, in_c * depth_multiplier], bias [in_c * depth_multiplier]."""
        params = dict(
            weights=np.asarray(weights, np.float32),
            bias=None if bias is None else np.asarray(bias, np.float32),
            stride=_pair(stride),
            dilation=_pair(dilation),
            padding=padding,
            activation=activation,
            per_channel=per_channel,
            depth_multiplier=int(depth_multiplier),
        )
        return self._add("depthwise_conv2d", (x,), params, name, range)

    def fully_connected(
        self,
        x: Value,
        weights: np.ndarray,
        bias: np.ndarray | None = None,
        *,
        activation: str = "none",
        keep_num_dims: bool = False,
        per_channel: bool = True,
        name: str | None = None,
        range: tuple[float, float] | None = None,
    ) -> Value:
        """weights [out, in], bias [out]."""
        params = dict(
            weights=np.asarray(weights, np.float32),
            bias=None if bias is None else np.asarray(bias, np.float32),
            activation=activation,
            keep_num_dims=keep_num_dims,
            per_channel=per_channel,
        )
        return self._add("fully_connected", (x,), params, name, range)

    def add(self, a: Value, b: Value, *, activation: str = "none", name: str | None = None,
            range: tuple[float, float] | None = None) -> Value:
        return self._add("add", (a, b), dict(activation=activation), name, range)

    def max_pool2d(self, x: Value, filter: int | Sequence[int], stride: int | Sequence[int] | None = None,
                   *, padding: str = "valid", name: str | None = None) -> Value:
        """``stride`` defaults to ``filter`` (Keras' default)."""
        return self._add("max_pool2d", (x,), _pool_params(filter, stride, padding), name, None)

    def avg_pool2d(self, x: Value, filter: int | Sequence[int], stride: int | Sequence[int] | None = None,
                   *, padding: str = "valid", name: str | None = None) -> Value:
        """``stride`` defaults to ``filter``; padding is not counted in the average (TFLite's rule)."""
        return self._add("avg_pool2d", (x,), _pool_params(filter, stride, padding), name, None)

    def mean(self, x: Value, axes: Sequence[int] = (1, 2), *, keep_dims: bool = False,
             name: str | None = None, range: tuple[float, float] | None = None) -> Value:
        params = dict(axes=tuple(int(a) for a in axes), keep_dims=keep_dims)
        return self._add("mean", (x,), params, name, range)

    def reshape(self, x: Value, new_shape: Sequence[int], *, name: str | None = None) -> Value:
        """``new_shape`` may hold one -1; it is written as given (TFLite resolves it)."""
        return self._add("reshape", (x,), dict(new_shape=tuple(int(d) for d in new_shape)), name, None)

    def pad(self, x: Value, paddings: Sequence[Sequence[int]], *, name: str | None = None) -> Value:
        """``paddings`` is (before, after) per dimension of ``x``; padded with real 0."""
        pads = tuple((int(a), int(b)) for a, b in paddings)
        return self._add("pad", (x,), dict(paddings=pads), name, None)

    def concat(self, xs: Sequence[Value], axis: int = -1, *, name: str | None = None) -> Value:
        return self._add("concat", tuple(xs), dict(axis=int(axis)), name, None)

    def softmax(self, x: Value, *, beta: float = 1.0, name: str | None = None) -> Value:
        return self._add("softmax", (x,), dict(beta=float(beta)), name, None)

    def logistic(self, x: Value, *, name: str | None = None) -> Value:
        return self._add("logistic", (x,), {}, name, None)

    def quantize(self, x: Value, *, name: str | None = None,
                 range: tuple[float, float] | None = None) -> Value:
        """float32 -> int8, or int8 -> int8 with a new scale (TFLite's requantize)."""
        return self._add("quantize", (x,), {}, name, range)

    def dequantize(self, x: Value, *, name: str | None = None) -> Value:
        """int8 -> float32."""
        if x.dtype != "int8":
            raise ValueError("dequantize takes an int8 value")
        return self._add("dequantize", (x,), {}, name, None)

    # -- float forward ----------------------------------------------------------------------------
    def float_forward(self, inputs: Sequence[np.ndarray]) -> dict[int, np.ndarray]:
        """Float32 values of every value id for one sample per input (each shaped as declared)."""
        values: dict[int, np.ndarray] = {}
        for (value_id, _), array in zip(self._inputs, inputs, strict=True):
            values[value_id] = np.asarray(array, np.float32).reshape(self._values[value_id].shape)
        for node in self._nodes:
            args = [values[i] for i in node.inputs]
            values[node.output] = _evaluate(node.kind, args, node.params).astype(np.float32)
        return values

    # -- serialization --------------------------------------------------------------------------
    def build(self, calibration: Sequence[np.ndarray] | np.ndarray | None = None, *,
              samples: int = 32) -> bytes:
        return self.compile(calibration, samples=samples).blob

    def compile(self, calibration: Sequence[np.ndarray] | np.ndarray | None = None, *,
                samples: int = 32) -> BuiltModel:
        """Quantize and serialize. ``calibration``: one array [N, *input_shape[1:]] per input."""
        if not self._outputs:
            raise ValueError("declare the model's outputs with output() before building")
        ranges = self._calibrate(self._calibration_batches(calibration, samples))
        quant = self._assign_quant(ranges)
        tensors: list[TensorSpec] = []
        ops: list[OpSpec] = []
        index: dict[int, int] = {}

        def activation_tensor(value_id: int) -> int:
            value = self._values[value_id]
            q = quant.get(value_id)
            tensors.append(TensorSpec(
                name=value.name, shape=value.shape, dtype=value.dtype,
                scale=None if q is None else (q.scale,), zero_point=None if q is None else (q.zero_point,),
            ))
            index[value_id] = len(tensors) - 1
            return index[value_id]

        def constant(name: str, data: np.ndarray, dtype: str, scale=None, zero_point=None, axis=0) -> int:
            tensors.append(TensorSpec(name=name, shape=tuple(data.shape), dtype=dtype, data=data,
                                      scale=scale, zero_point=zero_point, quantized_dimension=axis))
            return len(tensors) - 1

        for value_id, _ in self._inputs:
            activation_tensor(value_id)
        for node in self._nodes:
            ins = [index[i] for i in node.inputs]
            in_quant = quant.get(node.inputs[0])
            extra, spec = _emit(node, self._values[node.output].name, in_quant, constant)
            out = activation_tensor(node.output)
            ops.append(OpSpec(spec[0], tuple(ins[: spec[2]]) + tuple(extra), (out,), spec[1]))
        graph = SubgraphSpec(
            tensors=tuple(tensors), ops=tuple(ops),
            inputs=tuple(index[v] for v, _ in self._inputs), outputs=tuple(index[v] for v in self._outputs),
            name=self.name,
        )
        blob = write_model([graph], description=f"edgesdk builder: {self.name}")
        return BuiltModel(blob=blob, tensor_index=index, quant=quant, float_ranges=ranges)

    # -- internals ------------------------------------------------------------------------------
    def _new_value(self, shape: tuple[int, ...], dtype: str, name: str) -> Value:
        value = Value(len(self._values), shape, dtype, name)
        self._values.append(value)
        return value

    def _add(self, kind: str, inputs: tuple[Value, ...], params: dict[str, Any], name: str | None,
             value_range: tuple[float, float] | None) -> Value:
        for value in inputs:
            if value.id >= len(self._values) or self._values[value.id] != value:
                raise ValueError(f"{value.name!r} does not belong to this builder")
        expects_float = kind == "quantize" and inputs[0].dtype == "float32"
        for value in inputs:
            if value.dtype != "int8" and not expects_float:
                raise ValueError(f"{kind} takes int8 values; quantize {value.name!r} first")
        if "activation" in params and params["activation"] not in _ACTIVATION_CODES:
            raise ValueError(f"activation must be one of {tuple(_ACTIVATION_CODES)}")
        if "padding" in params and params["padding"] not in _PADDING_CODES:
            raise ValueError("padding must be 'same' or 'valid'")
        probe = [np.zeros(v.shape, np.float32) for v in inputs]
        shape = _evaluate(kind, probe, params).shape
        dtype = "float32" if kind == "dequantize" else "int8"
        output = self._new_value(tuple(int(d) for d in shape), dtype, name or f"{kind}_{len(self._nodes)}")
        self._nodes.append(_Node(kind, tuple(v.id for v in inputs), output.id, params, value_range))
        return output

    def _calibration_batches(self, calibration, samples: int) -> list[np.ndarray]:
        if calibration is None:
            rng = np.random.default_rng(self.seed)
            return [
                rng.uniform(lo, hi, size=(samples, *self._values[v].shape[1:])).astype(np.float32)
                for v, (lo, hi) in self._inputs
            ]
        batches = [calibration] if isinstance(calibration, np.ndarray) else list(calibration)
        if len(batches) != len(self._inputs):
            raise ValueError(f"calibration needs one array per input ({len(self._inputs)})")
        return [np.asarray(b, np.float32) for b in batches]

    def _calibrate(self, batches: list[np.ndarray]) -> dict[int, tuple[float, float]]:
        low: dict[int, float] = {}
        high: dict[int, float] = {}
        for sample in range(len(batches[0])):
            values = self.float_forward([b[sample : sample + 1] for b in batches])
            for value_id, array in values.items():
                low[value_id] = min(low.get(value_id, np.inf), float(array.min()))
                high[value_id] = max(high.get(value_id, -np.inf), float(array.max()))
        for value_id, declared in self._inputs:
            low[value_id], high[value_id] = declared
        for node in self._nodes:
            if node.range is not None:
                low[node.output], high[node.output] = node.range
        return {v: (low[v], high[v]) for v in low}

    def _assign_quant(self, ranges: dict[int, tuple[float, float]]) -> dict[int, QuantParams]:
        groups = _UnionFind()
        fixed: dict[int, QuantParams] = {}
        for node in self._nodes:
            if node.kind in _TIED_KINDS:
                for i in node.inputs:
                    groups.union(i, node.output)
            if node.kind in ("softmax", "logistic"):
                fixed[node.output] = QuantParams(*_FIXED_UNIT_QUANT)
        int8_ids = [v.id for v in self._values if v.dtype == "int8"]
        group_range: dict[int, tuple[float, float]] = {}
        group_fixed: dict[int, QuantParams] = {}
        for value_id in int8_ids:
            root = groups.find(value_id)
            lo, hi = ranges[value_id]
            old = group_range.get(root, (lo, hi))
            group_range[root] = (min(old[0], lo), max(old[1], hi))
            if value_id in fixed:
                if root in group_fixed and group_fixed[root] != fixed[value_id]:
                    raise ValueError("two fixed quantizations are tied together")
                group_fixed[root] = fixed[value_id]
        quant: dict[int, QuantParams] = {}
        for value_id in int8_ids:
            root = groups.find(value_id)
            quant[value_id] = group_fixed.get(root) or activation_quant(*group_range[root])
        return quant


def _evaluate(kind: str, args: list[np.ndarray], p: Mapping[str, Any]) -> np.ndarray:
    x = args[0]
    if kind == "conv2d":
        if x.ndim != 4 or p["weights"].ndim != 4 or p["weights"].shape[3] != x.shape[3]:
            raise ValueError(f"conv2d weights {p['weights'].shape} do not match input {x.shape}")
        y = floatops.conv2d(x, p["weights"], p["bias"], p["stride"], p["dilation"], p["padding"])
        return floatops.apply_activation(y, p["activation"])
    if kind == "depthwise_conv2d":
        w = p["weights"]
        if x.ndim != 4 or w.ndim != 4 or w.shape[0] != 1 or w.shape[3] != x.shape[3] * p["depth_multiplier"]:
            raise ValueError(f"depthwise weights {w.shape} do not match input {x.shape}")
        y = floatops.depthwise_conv2d(x, w, p["bias"], p["stride"], p["dilation"], p["padding"],
                                      p["depth_multiplier"])
        return floatops.apply_activation(y, p["activation"])
    if kind == "fully_connected":
        y = floatops.fully_connected(x, p["weights"], p["bias"], p["keep_num_dims"])
        return floatops.apply_activation(y, p["activation"])
    if kind == "add":
        return floatops.apply_activation(x + args[1], p["activation"])
    if kind == "max_pool2d":
        return floatops.max_pool2d(x, p["filter"], p["stride"], p["padding"])
    if kind == "avg_pool2d":
        return floatops.avg_pool2d(x, p["filter"], p["stride"], p["padding"])
    if kind == "mean":
        return x.mean(axis=p["axes"], keepdims=p["keep_dims"])
    if kind == "reshape":
        return x.reshape(p["new_shape"])
    if kind == "pad":
        return np.pad(x, p["paddings"])
    if kind == "concat":
        return np.concatenate(args, axis=p["axis"])
    if kind == "softmax":
        return floatops.softmax(x, p["beta"])
    if kind == "logistic":
        return floatops.logistic(x)
    if kind in ("quantize", "dequantize"):
        return x
    raise ValueError(f"unknown layer kind {kind!r}")


def _emit(node: _Node, name: str, in_quant: QuantParams | None, constant) -> tuple[list[int], tuple]:
    """Constants an op needs and its (builtin name, options, how many activation inputs)."""
    p = node.params
    act = _ACTIVATION_CODES.get(p.get("activation", "none"), 0)
    pad = _PADDING_CODES.get(p.get("padding", "same"), 0)
    kind = node.kind
    if kind in ("conv2d", "depthwise_conv2d", "fully_connected"):
        axis = 3 if kind == "depthwise_conv2d" else 0
        extra = _weights_and_bias(name, p, in_quant, axis, constant)
        if kind == "conv2d":
            options = dict(padding=pad, strideH=p["stride"][0], strideW=p["stride"][1],
                           dilationHFactor=p["dilation"][0], dilationWFactor=p["dilation"][1],
                           fusedActivationFunction=act)
            return extra, ("CONV_2D", options, 1)
        if kind == "depthwise_conv2d":
            options = dict(padding=pad, strideH=p["stride"][0], strideW=p["stride"][1],
                           dilationHFactor=p["dilation"][0], dilationWFactor=p["dilation"][1],
                           depthMultiplier=p["depth_multiplier"], fusedActivationFunction=act)
            return extra, ("DEPTHWISE_CONV_2D", options, 1)
        options = dict(fusedActivationFunction=act, keepNumDims=p["keep_num_dims"])
        return extra, ("FULLY_CONNECTED", options, 1)
    if kind == "add":
        return [], ("ADD", dict(fusedActivationFunction=act), 2)
    if kind in ("max_pool2d", "avg_pool2d"):
        options = dict(padding=pad, strideH=p["stride"][0], strideW=p["stride"][1],
                       filterHeight=p["filter"][0], filterWidth=p["filter"][1], fusedActivationFunction=0)
        return [], ("MAX_POOL_2D" if kind == "max_pool2d" else "AVERAGE_POOL_2D", options, 1)
    if kind == "mean":
        axes = constant(f"{name}/axes", np.array(p["axes"], np.int32), "int32")
        return [axes], ("MEAN", dict(keepDims=p["keep_dims"]), 1)
    if kind == "reshape":
        shape = constant(f"{name}/shape", np.array(p["new_shape"], np.int32), "int32")
        return [shape], ("RESHAPE", dict(newShape=list(p["new_shape"])), 1)
    if kind == "pad":
        paddings = constant(f"{name}/paddings", np.array(p["paddings"], np.int32), "int32")
        return [paddings], ("PAD", {}, 1)
    if kind == "concat":
        return [], ("CONCATENATION", dict(axis=p["axis"], fusedActivationFunction=0), len(node.inputs))
    if kind == "softmax":
        return [], ("SOFTMAX", dict(beta=p["beta"]), 1)
    if kind == "logistic":
        return [], ("LOGISTIC", {}, 1)
    if kind == "quantize":
        return [], ("QUANTIZE", {}, 1)
    if kind == "dequantize":
        return [], ("DEQUANTIZE", {}, 1)
    raise ValueError(f"unknown layer kind {kind!r}")


def _weights_and_bias(name: str, p: Mapping[str, Any], in_quant: QuantParams | None, axis: int,
                      constant) -> list[int]:
    if in_quant is None:
        raise ValueError(f"{name}: input must be int8")
    weights = p["weights"]
    scales = symmetric_weight_scales(weights, axis if p["per_channel"] else None)
    shape = [1] * weights.ndim
    if p["per_channel"]:
        shape[axis] = -1
    q = np.clip(np.round(weights / scales.reshape(shape)), -127, 127).astype(np.int8)
    w_index = constant(f"{name}/weights", q, "int8", tuple(scales), (0,) * len(scales), axis)
    if p["bias"] is None:
        return [w_index, -1]
    bias_scales = in_quant.scale * scales  # one per channel, or one for per-tensor weights
    q_bias = np.clip(np.round(p["bias"] / bias_scales), -(2**31), 2**31 - 1).astype(np.int32)
    b_index = constant(f"{name}/bias", q_bias, "int32", tuple(bias_scales), (0,) * len(bias_scales), 0)
    return [w_index, b_index]
