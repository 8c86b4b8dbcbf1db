"""The int8 lowering of a training graph: which kernel each node calls and the constants it needs.

Used by :mod:`edgesdk.train.build` when ``precision="int8"``; the node structure stays the one of
the fp32 graph, only kernels and attrs change (see docs/int8-training.md):

- forward: every kernel becomes its TFLite-Micro-exact int8 twin, ``attrs["params"]`` holding the
  op's :func:`edgesdk.quant.prepare_op` constants; QUANTIZE / DEQUANTIZE become nodes when they
  change the dtype or the quantization (they are aliases otherwise);
- backward: kernels that read an int8 forward buffer get an ``_int8`` variant that dequantizes
  each element as ``scale * (q - zero_point)`` in float32 (attrs ``<role>_scale``,
  ``<role>_zero_point``; weights: one scale per output channel); ``act_bwd_int8`` masks with the
  fused activation's clamp bounds in the quantized domain;
- updates: QAS steps into int8 weights / int32 biases (:mod:`edgesdk.quant.qas`), fused with the
  gradient computation by default.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import numpy as np

from edgesdk import ir
from edgesdk.errors import TrainingError, UnsupportedOpError
from edgesdk.quant import prepare_op
from edgesdk.quant.fixedpoint import to_f32
from edgesdk.quant.prepare import per_tensor
from edgesdk.quant.qas import bias_span, depthwise_span, output_channel_span, qas_factors
from edgesdk.train.graph import Compute, Value
from edgesdk.train.rules import PARAMETERS
from edgesdk.train.spec import Int8Training, OptimizerKind, OptimizerSpec

C = Compute

FORWARD: Mapping[Compute, Compute] = MappingProxyType(
    {
        C.CONV_2D_FWD: C.CONV_2D_INT8_FWD,
        C.DEPTHWISE_CONV_2D_FWD: C.DEPTHWISE_CONV_2D_INT8_FWD,
        C.FULLY_CONNECTED_FWD: C.FULLY_CONNECTED_INT8_FWD,
        C.ADD_FWD: C.ADD_INT8_FWD,
        C.LOGISTIC_FWD: C.LOGISTIC_INT8_FWD,
        C.SOFTMAX_FWD: C.SOFTMAX_INT8_FWD,
        C.AVERAGE_POOL_2D_FWD: C.AVERAGE_POOL_2D_INT8_FWD,
        C.MAX_POOL_2D_FWD: C.MAX_POOL_2D_INT8_FWD,
        C.MEAN_FWD: C.MEAN_INT8_FWD,
        C.PAD_FWD: C.PAD_INT8_FWD,
        C.CONCATENATION_FWD: C.CONCATENATION_INT8_FWD,
    }
)

# fp32 backward kernel -> (its int8 twin, the role of the int8 buffer it reads)
BACKWARD: Mapping[Compute, tuple[Compute, str]] = MappingProxyType(
    {
        C.CONV_2D_BWD_IN: (C.CONV_2D_BWD_IN_INT8, "w"),
        C.CONV_2D_BWD_W: (C.CONV_2D_BWD_W_INT8, "x"),
        C.DEPTHWISE_CONV_2D_BWD_IN: (C.DEPTHWISE_CONV_2D_BWD_IN_INT8, "w"),
        C.DEPTHWISE_CONV_2D_BWD_W: (C.DEPTHWISE_CONV_2D_BWD_W_INT8, "x"),
        C.FULLY_CONNECTED_BWD_IN: (C.FULLY_CONNECTED_BWD_IN_INT8, "w"),
        C.FULLY_CONNECTED_BWD_W: (C.FULLY_CONNECTED_BWD_W_INT8, "x"),
        C.LOGISTIC_BWD: (C.LOGISTIC_BWD_INT8, "y"),
        C.SOFTMAX_BWD: (C.SOFTMAX_BWD_INT8, "y"),
        C.MAX_POOL_2D_BWD: (C.MAX_POOL_2D_BWD_INT8, "x"),  # compares q directly: no scale needed
    }
)

# weight / bias gradient kernel -> the fused gradient + QAS update kernel
FUSED: Mapping[Compute, Compute] = MappingProxyType(
    {
        C.CONV_2D_BWD_W: C.CONV_2D_BWD_W_QAS,
        C.DEPTHWISE_CONV_2D_BWD_W: C.DEPTHWISE_CONV_2D_BWD_W_QAS,
        C.FULLY_CONNECTED_BWD_W: C.FULLY_CONNECTED_BWD_W_QAS,
        C.CONV_2D_BWD_B: C.BIAS_BWD_QAS,
        C.DEPTHWISE_CONV_2D_BWD_B: C.BIAS_BWD_QAS,
        C.FULLY_CONNECTED_BWD_B: C.BIAS_BWD_QAS,
    }
)

def check_optimizer(optimizer: OptimizerSpec) -> None:
    if optimizer.kind is not OptimizerKind.SGD or optimizer.weight_decay > 0:
        raise TrainingError(
            f"int8 training updates int8 weights with QAS steps of plain SGD; optimizer "
            f"{optimizer.kind.value} (weight_decay {optimizer.weight_decay}) is not available in int8. "
            "Use sgd without weight_decay, or precision fp32"
        )


def activation_quant(graph: ir.Graph, tensor_index: int, op: ir.Op, role: str) -> dict[str, Any]:
    """``{role}_scale`` (a float32 value) and ``{role}_zero_point`` of an int8 activation."""
    scale, zero_point = per_tensor(graph, tensor_index, op)
    return {f"{role}_scale": scale, f"{role}_zero_point": zero_point}


def weight_scales(graph: ir.Graph, op: ir.Op) -> tuple[tuple[float, ...], int]:
    """One float32 scale per output channel of ``op``'s weights, and their common zero point."""
    w = graph.tensor(op.inputs[1])
    axis = PARAMETERS[op.kind].channel_axis
    if w.dtype is not ir.DType.INT8 or w.quant is None:
        raise UnsupportedOpError(
            f"op {op.index} ({op.kind.value}): weights {w.name!r} are {w.dtype.value} without int8 "
            "quantization; int8 training needs an int8 model (use precision fp32)"
        )
    channels = w.shape[axis]
    scales = [to_f32(s) for s in w.quant.scale]
    scales = scales * channels if len(scales) == 1 else scales
    zero_points = set(int(z) for z in w.quant.zero_point)
    if len(scales) != channels or len(zero_points) != 1:
        raise UnsupportedOpError(
            f"op {op.index} ({op.kind.value}): weights {w.name!r} have {len(scales)} scales and zero "
            f"points {sorted(zero_points)} for {channels} output channels; int8 training needs one "
            "scale per output channel (or one per tensor) and a single zero point"
        )
    return tuple(scales), zero_points.pop()


def forward(
    graph: ir.Graph, op: ir.Op, compute: Compute | None, attrs: dict[str, Any], output_shape: tuple[int, ...]
) -> tuple[Compute | None, dict[str, Any]]:
    """The int8 kernel and attrs of a forward node (None: an alias, no node); ``output_shape`` is
    the batched shape of the op's output (an elementwise node converts the whole batch)."""
    if compute is not None:
        return FORWARD[compute], attrs | {"params": prepare_op(graph, op)}
    if op.kind not in (ir.OpKind.QUANTIZE, ir.OpKind.DEQUANTIZE):
        return None, attrs  # RESHAPE: a view
    x, y = graph.tensor(op.inputs[0]), graph.tensor(op.outputs[0])
    if x.dtype is y.dtype and x.quant is not None and y.quant is not None and _same_quant(x, y):
        return None, attrs
    params = prepare_op(graph, op)
    size = int(np.prod(output_shape, dtype=np.int64))
    if op.kind is ir.OpKind.DEQUANTIZE:
        return C.DEQUANTIZE_INT8_FWD, {"size": size, "params": params}
    kernel = C.QUANTIZE_INT8_FWD if x.dtype is ir.DType.FLOAT32 else C.REQUANTIZE_INT8_FWD
    return kernel, {"size": size, "params": params}


def _same_quant(a: ir.Tensor, b: ir.Tensor) -> bool:
    assert a.quant is not None and b.quant is not None
    return (
        a.quant.scale.size == 1
        and b.quant.scale.size == 1
        and np.float32(a.quant.scale[0]) == np.float32(b.quant.scale[0])
        and int(a.quant.zero_point[0]) == int(b.quant.zero_point[0])
    )


def backward(
    graph: ir.Graph, op: ir.Op, values: Mapping[str, Value], compute: Compute, reads: tuple[str, ...]
) -> tuple[Compute, dict[str, Any]]:
    """The kernel of a backward node in an int8 graph and the quantization attrs it needs: the
    int8 twin when it reads an int8 forward buffer, else ``compute`` unchanged."""
    entry = BACKWARD.get(compute)
    int8_reads = [name for name in reads if values[name].dtype is ir.DType.INT8]
    if entry is None or not int8_reads:
        return compute, {}
    twin, role = entry
    if twin is C.MAX_POOL_2D_BWD_INT8:
        return twin, {}
    if role == "w":
        scales, zero_point = weight_scales(graph, op)
        return twin, {"w_scale": scales, "w_zero_point": zero_point}
    tensor = values[int8_reads[0]].tensor
    assert tensor is not None
    return twin, activation_quant(graph, tensor, op, role)


def loss(graph: ir.Graph, compute: Compute, logits: Value) -> tuple[Compute, dict[str, Any]]:
    """The loss kernel reading int8 logits (dequantized inside), or ``compute`` for float ones."""
    if logits.dtype is not ir.DType.INT8:
        return compute, {}
    assert logits.tensor is not None
    tensor = graph.tensor(logits.tensor)
    assert tensor.quant is not None
    twin = C.LOSS_SOFTMAX_XENT_INT8 if compute is C.LOSS_SOFTMAX_XENT else C.LOSS_MSE_INT8
    return twin, {"scale": to_f32(tensor.quant.scale[0]), "zero_point": int(tensor.quant.zero_point[0])}


def act_bounds(forward_attrs: Mapping[str, Any]) -> dict[str, int]:
    """The clamp bounds of the fused activation in the quantized domain (from the forward params)."""
    params = forward_attrs["params"]
    return {"act_min": int(params.act_min), "act_max": int(params.act_max)}


def splits(op: ir.Op, channels: int, out_channels: int) -> bool:
    """Is ``op``'s weight stored split (the first ``channels`` output rows in RAM, the frozen rest
    in flash)? For CONV_2D and FULLY_CONNECTED, whose layouts (OHWI, [OUT, IN]) keep each output
    channel's weights contiguous, when some rows stay frozen. Depthwise weights keep their channels
    innermost (the trainable ones are no prefix of the storage): they stay whole in RAM."""
    return op.kind in (ir.OpKind.CONV_2D, ir.OpKind.FULLY_CONNECTED) and channels < out_channels


def qas_attrs(
    graph: ir.Graph, op: ir.Op, is_weight: bool, channels: int, options: Int8Training, lr: float
) -> dict[str, Any]:
    """Everything a QAS update of ``op``'s weight (or bias) needs: the per-channel factors of the
    first ``channels`` output channels, the span of updated elements, lr and the options."""
    scales, _ = weight_scales(graph, op)
    s_x, _ = per_tensor(graph, op.inputs[0], op)
    weight_factors, bias_factors = qas_factors(scales, s_x, qas=options.qas)
    w_shape = graph.tensor(op.inputs[1]).shape
    if not is_weight:
        span = bias_span(len(scales), channels)
    elif op.kind is ir.OpKind.DEPTHWISE_CONV_2D:
        span = depthwise_span(w_shape, channels)
    else:
        span = output_channel_span(w_shape, channels)
    factors = (weight_factors if is_weight else bias_factors)[:channels]
    return {
        "lr": float(lr),
        "qas": options.qas,
        "rounding": options.rounding,
        "master": options.master,
        "factor": tuple(float(f) for f in factors),
        "span": span,
    }

