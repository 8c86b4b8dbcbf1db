"""Per-op rules: one forward row and one gradient row per :class:`ir.OpKind`.

``FORWARD[kind](op, shapes)`` says which kernel computes the op, which of its inputs that kernel
reads and the kernel attributes, resolved to numbers. ``GRADIENTS[kind](op, shapes)`` returns one
entry per op input: the kernel that computes the gradient of that input and what it reads (``DZ``,
the gradient of the op's pre-activation output; ``Y``, the op's saved output; an int, one of the
op's inputs), or None where the input has no gradient. An entry with ``compute=None`` means the
input's gradient *is* dz (an alias: no kernel, no buffer). Fused activations are not in the table:
every op whose ``activation`` is not NONE gets one ``act_bwd`` node (dz from y and dy).

Adding an op: one row in each table, one kernel in :mod:`edgesdk.reference.kernels`, one cost row
in :mod:`edgesdk.train.costs`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from edgesdk import ir
from edgesdk.errors import ModelError, UnsupportedOpError
from edgesdk.train.geometry import size_of, window
from edgesdk.train.graph import Compute

C = Compute
DZ = "dz"  # gradient of the op's output before its fused activation
Y = "y"  # the op's saved forward output
Operand = str | int  # DZ, Y, or the position of one of the op's inputs

Shape = tuple[int, ...]


@dataclass(frozen=True)
class OpShapes:
    """Shapes of an op's inputs (None where absent) and output, activations already batched."""

    inputs: tuple[Shape | None, ...]
    output: Shape


@dataclass(frozen=True)
class ForwardRule:
    compute: Compute | None  # None: the op is an alias (its output is its input 0's buffer)
    reads: tuple[int, ...]  # op input positions the kernel reads, in kernel argument order
    attrs: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "attrs", MappingProxyType(dict(self.attrs)))


@dataclass(frozen=True)
class GradRule:
    compute: Compute | None  # None: the gradient is dz itself
    reads: tuple[Operand, ...]
    attrs: Mapping[str, Any] = field(default_factory=dict)
    unsupported: str | None = None  # why this gradient cannot be computed (raised only if needed)

    def __post_init__(self) -> None:
        object.__setattr__(self, "attrs", MappingProxyType(dict(self.attrs)))


@dataclass(frozen=True)
class ParamLayout:
    """Where a parameterized op keeps its weight and bias, and the weight's output-channel axis."""

    channel_axis: int
    weight_slot: int = 1
    bias_slot: int = 2


PARAMETERS: Mapping[ir.OpKind, ParamLayout] = MappingProxyType(
    {
        ir.OpKind.CONV_2D: ParamLayout(channel_axis=0),
        ir.OpKind.DEPTHWISE_CONV_2D: ParamLayout(channel_axis=3),
        ir.OpKind.FULLY_CONNECTED: ParamLayout(channel_axis=0),
    }
)

ALIAS = GradRule(None, (DZ,))


def _fail(op: ir.Op, what: str) -> ModelError:
    return ModelError(f"op {op.index} ({op.kind.value}): {what}; the model file looks inconsistent")


def _has_bias(op: ir.Op) -> bool:
    return len(op.inputs) > 2 and op.inputs[2] != ir.NO_TENSOR


# ---------------------------------------------------------------- forward rows


def _conv_like(op: ir.Op, s: OpShapes, out_channels: int) -> dict[str, Any]:
    x, w = s.inputs[0], s.inputs[1]
    assert x is not None and w is not None
    if len(x) != 4 or len(w) != 4:
        raise _fail(op, f"expects 4-D input and weights, got {x} and {w}")
    n, h, wd, _ = x
    _, kh, kw, _ = w
    sh, sw = op.attrs["stride"]
    dh, dw = op.attrs["dilation"]
    oh, top, bottom = window(h, kh, sh, dh, op.attrs["padding"])
    ow, left, right = window(wd, kw, sw, dw, op.attrs["padding"])
    if s.output != (n, oh, ow, out_channels):
        raise _fail(op, f"output shape {s.output} differs from the computed {(n, oh, ow, out_channels)}")
    return {
        "x_shape": x,
        "w_shape": w,
        "y_shape": s.output,
        "stride": (int(sh), int(sw)),
        "dilation": (int(dh), int(dw)),
        "pad": (top, bottom, left, right),  # rows before/after, columns before/after
        "has_bias": _has_bias(op),
    }


def _conv_fwd(op: ir.Op, s: OpShapes) -> ForwardRule:
    x, w = s.inputs[0], s.inputs[1]
    assert x is not None and w is not None
    if x[3] != w[3]:
        raise _fail(op, f"input has {x[3]} channels but the weights expect {w[3]}")
    attrs = _conv_like(op, s, w[0]) | {"activation": op.activation}
    return ForwardRule(C.CONV_2D_FWD, (0, 1, 2), attrs)


def _depthwise_fwd(op: ir.Op, s: OpShapes) -> ForwardRule:
    x, w = s.inputs[0], s.inputs[1]
    assert x is not None and w is not None
    multiplier = int(op.attrs["depth_multiplier"])
    if w[0] != 1 or x[3] * multiplier != w[3]:
        raise _fail(op, f"weights {w} do not fit input {x} with depth multiplier {multiplier}")
    attrs = _conv_like(op, s, w[3]) | {"depth_multiplier": multiplier, "activation": op.activation}
    return ForwardRule(C.DEPTHWISE_CONV_2D_FWD, (0, 1, 2), attrs)


def _fc_fwd(op: ir.Op, s: OpShapes) -> ForwardRule:
    x, w = s.inputs[0], s.inputs[1]
    assert x is not None and w is not None
    out_features, in_features = w
    if size_of(x) % in_features:
        raise _fail(op, f"input {x} cannot be flattened to rows of {in_features}")
    rows = size_of(x) // in_features
    if size_of(s.output) != rows * out_features:
        raise _fail(op, f"output {s.output} does not hold {rows} rows of {out_features}")
    attrs = {
        "x_shape": (rows, in_features),
        "w_shape": (out_features, in_features),
        "y_shape": (rows, out_features),
        "has_bias": _has_bias(op),
        "activation": op.activation,
    }
    return ForwardRule(C.FULLY_CONNECTED_FWD, (0, 1, 2), attrs)


def _add_fwd(op: ir.Op, s: OpShapes) -> ForwardRule:
    a, b = s.inputs[0], s.inputs[1]
    attrs = {"a_shape": a, "b_shape": b, "y_shape": s.output, "activation": op.activation}
    return ForwardRule(C.ADD_FWD, (0, 1), attrs)


def _logistic_fwd(op: ir.Op, s: OpShapes) -> ForwardRule:
    return ForwardRule(C.LOGISTIC_FWD, (0,), {"size": size_of(s.output)})


def _softmax_fwd(op: ir.Op, s: OpShapes) -> ForwardRule:
    classes = s.output[-1] if s.output else 1
    attrs = {"rows": size_of(s.output) // classes, "classes": classes, "beta": float(op.attrs["beta"])}
    return ForwardRule(C.SOFTMAX_FWD, (0,), attrs)


def _pool_attrs(op: ir.Op, s: OpShapes) -> dict[str, Any]:
    x = s.inputs[0]
    assert x is not None
    n, h, w, c = x
    fh, fw = op.attrs["filter"]
    sh, sw = op.attrs["stride"]
    oh, top, bottom = window(h, fh, sh, 1, op.attrs["padding"])
    ow, left, right = window(w, fw, sw, 1, op.attrs["padding"])
    if s.output != (n, oh, ow, c):
        raise _fail(op, f"output shape {s.output} differs from the computed {(n, oh, ow, c)}")
    return {
        "x_shape": x,
        "y_shape": s.output,
        "filter": (int(fh), int(fw)),
        "stride": (int(sh), int(sw)),
        "pad": (top, bottom, left, right),
    }


def _avg_pool_fwd(op: ir.Op, s: OpShapes) -> ForwardRule:
    return ForwardRule(C.AVERAGE_POOL_2D_FWD, (0,), _pool_attrs(op, s) | {"activation": op.activation})


def _max_pool_fwd(op: ir.Op, s: OpShapes) -> ForwardRule:
    return ForwardRule(C.MAX_POOL_2D_FWD, (0,), _pool_attrs(op, s) | {"activation": op.activation})


def _mean_fwd(op: ir.Op, s: OpShapes) -> ForwardRule:
    x = s.inputs[0]
    assert x is not None
    axes = tuple(sorted(int(a) for a in op.attrs["axes"]))
    if 0 in axes:
        raise UnsupportedOpError(
            f"op {op.index} (MEAN) reduces over the batch axis; training supports MEAN over "
            "non-batch axes only (global average pooling is axes 1, 2)"
        )
    kept = tuple(1 if d in axes else x[d] for d in range(len(x)))
    if size_of(kept) != size_of(s.output):
        raise _fail(op, f"output {s.output} is not {x} reduced over {axes}")
    attrs = {"x_shape": x, "y_shape": kept, "axes": axes, "count": size_of(tuple(x[a] for a in axes))}
    return ForwardRule(C.MEAN_FWD, (0,), attrs)


def _pad_fwd(op: ir.Op, s: OpShapes) -> ForwardRule:
    x = s.inputs[0]
    assert x is not None
    paddings = tuple((int(b), int(a)) for b, a in op.attrs["paddings"])
    if len(paddings) != len(x) or (paddings and paddings[0] != (0, 0)):
        raise UnsupportedOpError(
            f"op {op.index} (PAD) pads {paddings}; training supports padding of non-batch axes only"
        )
    expected = tuple(d + b + a for d, (b, a) in zip(x, paddings, strict=True))
    if expected != s.output:
        raise _fail(op, f"output {s.output} is not {x} padded by {paddings}")
    return ForwardRule(C.PAD_FWD, (0,), {"x_shape": x, "y_shape": s.output, "paddings": paddings})


def _concat_fwd(op: ir.Op, s: OpShapes) -> ForwardRule:
    axis = int(op.attrs["axis"])
    shapes = tuple(shape for shape in s.inputs if shape is not None)
    if axis == 0:
        raise UnsupportedOpError(
            f"op {op.index} (CONCATENATION) joins along the batch axis; training supports other axes only"
        )
    attrs = {"in_shapes": shapes, "y_shape": s.output, "axis": axis, "activation": op.activation}
    return ForwardRule(C.CONCATENATION_FWD, tuple(range(len(op.inputs))), attrs)


def _alias_fwd(op: ir.Op, s: OpShapes) -> ForwardRule:
    x = s.inputs[0]
    assert x is not None
    if size_of(x) != size_of(s.output):
        raise _fail(op, f"output {s.output} does not hold the same elements as input {x}")
    return ForwardRule(None, (0,))


FORWARD: Mapping[ir.OpKind, Callable[[ir.Op, OpShapes], ForwardRule]] = MappingProxyType(
    {
        ir.OpKind.CONV_2D: _conv_fwd,
        ir.OpKind.DEPTHWISE_CONV_2D: _depthwise_fwd,
        ir.OpKind.FULLY_CONNECTED: _fc_fwd,
        ir.OpKind.ADD: _add_fwd,
        ir.OpKind.LOGISTIC: _logistic_fwd,
        ir.OpKind.SOFTMAX: _softmax_fwd,
        ir.OpKind.AVERAGE_POOL_2D: _avg_pool_fwd,
        ir.OpKind.MAX_POOL_2D: _max_pool_fwd,
        ir.OpKind.MEAN: _mean_fwd,
        ir.OpKind.RESHAPE: _alias_fwd,
        ir.OpKind.PAD: _pad_fwd,
        ir.OpKind.CONCATENATION: _concat_fwd,
        ir.OpKind.QUANTIZE: _alias_fwd,
        ir.OpKind.DEQUANTIZE: _alias_fwd,
    }
)


# ---------------------------------------------------------------- gradient rows
# One entry per op input, in the op's input order.


def _conv_grads(op: ir.Op, s: OpShapes) -> tuple[GradRule | None, ...]:
    return (
        GradRule(C.CONV_2D_BWD_IN, (DZ, 1)),
        GradRule(C.CONV_2D_BWD_W, (DZ, 0)),
        GradRule(C.CONV_2D_BWD_B, (DZ,)),
    )


def _depthwise_grads(op: ir.Op, s: OpShapes) -> tuple[GradRule | None, ...]:
    return (
        GradRule(C.DEPTHWISE_CONV_2D_BWD_IN, (DZ, 1)),
        GradRule(C.DEPTHWISE_CONV_2D_BWD_W, (DZ, 0)),
        GradRule(C.DEPTHWISE_CONV_2D_BWD_B, (DZ,)),
    )


def _fc_grads(op: ir.Op, s: OpShapes) -> tuple[GradRule | None, ...]:
    return (
        GradRule(C.FULLY_CONNECTED_BWD_IN, (DZ, 1)),
        GradRule(C.FULLY_CONNECTED_BWD_W, (DZ, 0)),
        GradRule(C.FULLY_CONNECTED_BWD_B, (DZ,)),
    )


def _add_grads(op: ir.Op, s: OpShapes) -> tuple[GradRule | None, ...]:
    def entry(shape: Shape | None) -> GradRule:
        if shape == s.output:
            return ALIAS
        return GradRule(
            None,
            (DZ,),
            unsupported=f"op {op.index} (ADD) broadcasts an input of shape {shape} to {s.output}, and "
            "training through a broadcast ADD is not supported; freeze the layers below it",
        )

    return tuple(entry(shape) for shape in s.inputs)


def _logistic_grads(op: ir.Op, s: OpShapes) -> tuple[GradRule | None, ...]:
    return (GradRule(C.LOGISTIC_BWD, (Y, DZ)),)


def _softmax_grads(op: ir.Op, s: OpShapes) -> tuple[GradRule | None, ...]:
    return (GradRule(C.SOFTMAX_BWD, (Y, DZ)),)


def _avg_pool_grads(op: ir.Op, s: OpShapes) -> tuple[GradRule | None, ...]:
    return (GradRule(C.AVERAGE_POOL_2D_BWD, (DZ,)),)


def _max_pool_grads(op: ir.Op, s: OpShapes) -> tuple[GradRule | None, ...]:
    return (GradRule(C.MAX_POOL_2D_BWD, (0, DZ)),)


def _mean_grads(op: ir.Op, s: OpShapes) -> tuple[GradRule | None, ...]:
    return (GradRule(C.MEAN_BWD, (DZ,)),) + (None,) * (len(op.inputs) - 1)


def _pad_grads(op: ir.Op, s: OpShapes) -> tuple[GradRule | None, ...]:
    return (GradRule(C.PAD_BWD, (DZ,)),) + (None,) * (len(op.inputs) - 1)


def _concat_grads(op: ir.Op, s: OpShapes) -> tuple[GradRule | None, ...]:
    axis = int(op.attrs["axis"])
    entries: list[GradRule | None] = []
    offset = 0
    for position, shape in enumerate(s.inputs):
        if shape is None:
            entries.append(None)
            continue
        entries.append(GradRule(C.CONCATENATION_BWD, (DZ,), {"input": position, "offset": offset}))
        offset += shape[axis]
    return tuple(entries)


def _alias_grads(op: ir.Op, s: OpShapes) -> tuple[GradRule | None, ...]:
    return (ALIAS,) + (None,) * (len(op.inputs) - 1)


GRADIENTS: Mapping[ir.OpKind, Callable[[ir.Op, OpShapes], tuple[GradRule | None, ...]]] = MappingProxyType(
    {
        ir.OpKind.CONV_2D: _conv_grads,
        ir.OpKind.DEPTHWISE_CONV_2D: _depthwise_grads,
        ir.OpKind.FULLY_CONNECTED: _fc_grads,
        ir.OpKind.ADD: _add_grads,
        ir.OpKind.LOGISTIC: _logistic_grads,
        ir.OpKind.SOFTMAX: _softmax_grads,
        ir.OpKind.AVERAGE_POOL_2D: _avg_pool_grads,
        ir.OpKind.MAX_POOL_2D: _max_pool_grads,
        ir.OpKind.MEAN: _mean_grads,
        ir.OpKind.RESHAPE: _alias_grads,
        ir.OpKind.PAD: _pad_grads,
        ir.OpKind.CONCATENATION: _concat_grads,
        ir.OpKind.QUANTIZE: _alias_grads,
        ir.OpKind.DEQUANTIZE: _alias_grads,
    }
)
