"""Which runtime function each training-graph node calls, and with what: one row per Compute.

``KERNEL_CALLS[compute](node)`` returns the C call(s) of a node as data: the function name and
its arguments in prototype order. Arguments name *values* (buffers), shapes (rendered as
``static const es_dims``), parameter structs (rendered as ``static const`` structs whose field
values are computed here) and literals. The model assembler (:mod:`edgesdk.codegen.model`)
resolves buffers to C expressions and the templates print the calls.

Shapes of rank < 4 map onto ``es_dims`` as the runtime's common.h says: ``[K] -> {1, 1, 1, K}``,
``[N, K] -> {N, 1, 1, K}``, ``[N, W, C] -> {N, 1, W, C}``; axes map with them (:func:`es_axis`).
What the fp32 runtime cannot express (a MEAN over channels, a broadcasting ADD, a softmax loss
with beta != 1) raises :class:`edgesdk.errors.UnsupportedOpError` naming the node.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np

from edgesdk import ir
from edgesdk.errors import UnsupportedOpError
from edgesdk.quant.params import ConvInt8Params, DepthwiseInt8Params, FullyConnectedInt8Params
from edgesdk.train.graph import Compute, Node

C = Compute
Shape = tuple[int, ...]
Dims4 = tuple[int, int, int, int]

ACTIVATION_ENUM = {
    ir.Activation.NONE: "ES_ACT_NONE",
    ir.Activation.RELU: "ES_ACT_RELU",
    ir.Activation.RELU6: "ES_ACT_RELU6",
}


# ---------------------------------------------------------------- argument kinds


@dataclass(frozen=True)
class DimsArg:
    """``&dims_<n>x<h>x<w>x<c>``: a shared ``static const es_dims``."""

    dims: Dims4


@dataclass(frozen=True)
class DimsListArg:
    """A ``static const es_dims name[]`` (CONCATENATION's inputs)."""

    hint: str
    dims: tuple[Dims4, ...]


@dataclass(frozen=True)
class SplitWeightFields:
    """The two struct fields that say where a weight's rows lie when its storage is split (int8: the
    trainable output-channel prefix in RAM, the frozen rows in flash). The assembler, which owns
    storage, sets them for a split weight; otherwise they stay NULL / 0 (one whole array)."""

    value: str  # the weight value the kernel reads
    tail: str  # pointer field: the frozen rows' flash array
    head_channels: str  # int32 field: the rows in the RAM array


@dataclass(frozen=True)
class StructArg:
    """``&name``: a ``static const <ctype>`` with these field values (C literals)."""

    ctype: str
    hint: str  # preferred name; identical structs are shared
    fields: tuple[tuple[str, str], ...]
    arrays: tuple[tuple[str, ConstArrayArg], ...] = ()  # pointer fields set to const arrays (int8)
    split: SplitWeightFields | None = None  # int8: fields describing a split weight's storage


@dataclass(frozen=True)
class ConstArrayArg:
    """``name``: a ``static const <ctype> name[]`` in flash holding ``values`` (C literals); an
    argument or (``StructArg.arrays``) a struct field. Identical arrays are shared."""

    ctype: str
    hint: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class BufferArg:
    """A value's buffer (resolved per step by the assembler)."""

    value: str


@dataclass(frozen=True)
class BufferListArg:
    """A local ``const float *const name[]`` of several values' buffers."""

    hint: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class LiteralArg:
    text: str


@dataclass(frozen=True)
class WorkspaceArg:
    """The node's workspace: its own lifetime in the arena (``<node>:workspace``), live while the
    kernel runs, placed by the arena layout like any buffer (kernels in :data:`ARENA_WORKSPACE`);
    passed as a pointer to ``ctype``."""

    ctype: str = "int8_t"


@dataclass(frozen=True)
class LossArg:
    """Where the loss kernel writes the scalar loss."""


@dataclass(frozen=True)
class StepArg:
    """The 1-based optimizer step counter (Adam's bias correction)."""


Arg = (
    DimsArg | DimsListArg | StructArg | BufferArg | BufferListArg | LiteralArg | LossArg | StepArg
    | ConstArrayArg | WorkspaceArg
)


@dataclass(frozen=True)
class KernelCall:
    function: str
    args: tuple[Arg, ...]


# ---------------------------------------------------------------- shapes and literals


def es_dims(shape: Sequence[int]) -> Dims4:
    """A shape of rank 0..4 as ``es_dims`` (n, h, w, c)."""
    s = tuple(int(d) for d in shape)
    if len(s) == 0:
        return (1, 1, 1, 1)
    if len(s) == 1:
        return (1, 1, 1, s[0])
    if len(s) == 2:
        return (s[0], 1, 1, s[1])
    if len(s) == 3:
        return (s[0], 1, s[1], s[2])
    if len(s) == 4:
        return (s[0], s[1], s[2], s[3])
    raise UnsupportedOpError(f"a tensor of rank {len(s)} ({s}) does not map onto the runtime's 4-D es_dims")


def es_axis(rank: int, axis: int) -> int:
    """The ``es_dims`` axis (0 n, 1 h, 2 w, 3 c) of ``axis`` of a rank-``rank`` tensor."""
    table = {0: (), 1: (3,), 2: (0, 3), 3: (0, 2, 3), 4: (0, 1, 2, 3)}
    if rank not in table or not 0 <= axis < rank:
        raise UnsupportedOpError(f"axis {axis} of a rank-{rank} tensor does not map onto es_dims")
    return table[rank][axis]


def c_float(value: float) -> str:
    """An exact float32 C literal: the shortest decimal that reads back as the same float32."""
    return c_floats(np.asarray([value]))[0]


def c_floats(values: np.ndarray) -> list[str]:
    """Exact float32 C literals for a whole array (shortest round-trip decimals, ``f`` suffix)."""
    flat = np.asarray(values, dtype=np.float32).reshape(-1)
    if not np.all(np.isfinite(flat)):
        raise ValueError("cannot write non-finite values as C float literals")
    texts = [str(v) for v in flat]
    return [t + ("f" if ("." in t or "e" in t) else ".0f") for t in texts]


def _ints(values: Sequence[int]) -> str:
    return "{" + ", ".join(str(int(v)) for v in values) + "}"


def _size(shape: Sequence[int]) -> int:
    return int(np.prod(shape, dtype=np.int64))


def _layer(node: Node) -> str:
    """The node's layer part: ``conv_2d_0`` for ``conv_2d_0.bwd_w``."""
    return node.name.rsplit(".", 1)[0] if "." in node.name else node.name


def _hint(node: Node, suffix: str) -> str:
    return f"{_layer(node)}_{suffix}"


# ---------------------------------------------------------------- parameter structs


_DEPTHWISE = (
    C.DEPTHWISE_CONV_2D_FWD,
    C.DEPTHWISE_CONV_2D_BWD_IN,
    C.DEPTHWISE_CONV_2D_BWD_W,
    C.DEPTHWISE_CONV_2D_BWD_IN_INT8,
    C.DEPTHWISE_CONV_2D_BWD_W_INT8,
    C.DEPTHWISE_CONV_2D_BWD_W_QAS,
)


def _conv_struct(node: Node, source: ir.Graph | None) -> StructArg:
    a = node.attrs
    top, _, left, _ = a["pad"]
    fields = [
        ("stride_h", str(a["stride"][0])),
        ("stride_w", str(a["stride"][1])),
        ("dilation_h", str(a["dilation"][0])),
        ("dilation_w", str(a["dilation"][1])),
        ("pad_top", str(top)),
        ("pad_left", str(left)),
    ]
    if node.compute in _DEPTHWISE:
        fields.append(("depth_multiplier", str(a["depth_multiplier"])))
        ctype = "es_depthwise_conv2d_params"
    else:
        ctype = "es_conv2d_params"
    # backward kernels ignore the activation; give them the forward's so the layer shares one struct
    fields.append(("activation", ACTIVATION_ENUM[_activation(node, source)]))
    return StructArg(ctype, _hint(node, "params"), tuple(fields))


def _activation(node: Node, source: ir.Graph | None) -> ir.Activation:
    """The node's fused activation, or (backward nodes) that of the op it came from."""
    if "activation" in node.attrs:
        return node.attrs["activation"]
    if source is not None and node.op is not None:
        return source.ops[node.op].activation
    return ir.Activation.NONE


def _pool_struct(node: Node, source: ir.Graph | None) -> StructArg:
    a = node.attrs
    top, _, left, _ = a["pad"]
    fields = (
        ("filter_h", str(a["filter"][0])),
        ("filter_w", str(a["filter"][1])),
        ("stride_h", str(a["stride"][0])),
        ("stride_w", str(a["stride"][1])),
        ("pad_top", str(top)),
        ("pad_left", str(left)),
        ("activation", ACTIVATION_ENUM[_activation(node, source)]),
    )
    return StructArg("es_pool2d_params", _hint(node, "params"), fields)


def _pad_struct(node: Node) -> StructArg:
    x_shape = node.attrs["x_shape"]
    before, after = [0, 0, 0, 0], [0, 0, 0, 0]
    for axis, (b, a) in enumerate(node.attrs["paddings"]):
        target = es_axis(len(x_shape), axis)
        before[target], after[target] = int(b), int(a)
    return StructArg(
        "es_pad_params", _hint(node, "params"), (("before", _ints(before)), ("after", _ints(after)))
    )


def _softmax_struct(node: Node) -> StructArg:
    return StructArg("es_softmax_params", _hint(node, "params"), (("beta", c_float(node.attrs["beta"])),))


def _fc_struct(node: Node) -> StructArg:
    activation = ACTIVATION_ENUM[node.attrs["activation"]]
    return StructArg("es_fully_connected_params", _hint(node, "params"), (("activation", activation),))


def optimizer_struct(node: Node) -> StructArg:
    """The optimizer's hyper-parameters (shared by every update of one training graph)."""
    a = node.attrs
    decay = ("weight_decay", c_float(a["weight_decay"]))
    if node.compute is C.SGD_UPDATE:
        return StructArg("es_sgd_params", "sgd", (("lr", c_float(a["lr"])), decay))
    if node.compute is C.MOMENTUM_UPDATE:
        return StructArg(
            "es_sgd_momentum_params",
            "momentum",
            (("lr", c_float(a["lr"])), ("momentum", c_float(a["momentum"])), decay),
        )
    return StructArg(
        "es_adam_params",
        "adam",
        (
            ("lr", c_float(a["lr"])),
            ("beta1", c_float(a["beta1"])),
            ("beta2", c_float(a["beta2"])),
            ("eps", c_float(a["eps"])),
            decay,
        ),
    )


def optim_span(node: Node) -> StructArg:
    """The region an update touches: the first ``channels`` along ``channel_axis``, as rows of
    contiguous elements in the parameter (stride: the full channel extent) and in the compact
    gradient (stride: ``channels``)."""
    a = node.attrs
    shape, axis, k = tuple(a["shape"]), int(a["channel_axis"]), int(a["channels"])
    rows = _size(shape[:axis])
    inner = _size(shape[axis + 1 :])
    cols = k * inner
    param = node.inputs[0]
    fields = (
        ("rows", str(rows)),
        ("cols", str(cols)),
        ("param_stride", str(shape[axis] * inner)),
        ("grad_stride", str(cols)),
    )
    return StructArg("es_optim_span", f"{param}_span", fields)


# ---------------------------------------------------------------- one row per Compute


def _unsupported(node: Node, what: str) -> UnsupportedOpError:
    return UnsupportedOpError(f"node {node.name} ({node.compute.value}): {what}")


def _conv_fwd(n: Node, g: ir.Graph | None) -> tuple[KernelCall, ...]:
    a = n.attrs
    function = "es_conv2d_f32_fwd" if n.compute is C.CONV_2D_FWD else "es_depthwise_conv2d_f32_fwd"
    bias: Arg = BufferArg(n.inputs[2]) if a["has_bias"] else LiteralArg("NULL")
    args = (
        _conv_struct(n, g),
        DimsArg(es_dims(a["x_shape"])),
        BufferArg(n.inputs[0]),
        DimsArg(es_dims(a["w_shape"])),
        BufferArg(n.inputs[1]),
        bias,
        DimsArg(es_dims(a["y_shape"])),
        BufferArg(_out(n)),
    )
    return (KernelCall(function, args),)


def _conv_bwd_in(n: Node, g: ir.Graph | None) -> tuple[KernelCall, ...]:
    a = n.attrs
    function = "es_conv2d_f32_bwd_in" if n.compute is C.CONV_2D_BWD_IN else "es_depthwise_conv2d_f32_bwd_in"
    args = (
        _conv_struct(n, g),
        DimsArg(es_dims(a["y_shape"])),
        BufferArg(n.inputs[0]),
        DimsArg(es_dims(a["w_shape"])),
        BufferArg(n.inputs[1]),
        DimsArg(es_dims(a["x_shape"])),
        BufferArg(_out(n)),
    )
    return (KernelCall(function, args),)


def _conv_bwd_w(n: Node, g: ir.Graph | None) -> tuple[KernelCall, ...]:
    a = n.attrs
    k = int(a["channels"])
    w = tuple(a["w_shape"])
    if n.compute is C.CONV_2D_BWD_W:
        function, dw = "es_conv2d_f32_bwd_w", (k, *w[1:])
    else:
        function, dw = "es_depthwise_conv2d_f32_bwd_w", (*w[:3], k)
    args = (
        _conv_struct(n, g),
        DimsArg(es_dims(a["y_shape"])),
        BufferArg(n.inputs[0]),
        DimsArg(es_dims(a["x_shape"])),
        BufferArg(n.inputs[1]),
        DimsArg(es_dims(dw)),
        BufferArg(_out(n)),
    )
    return (KernelCall(function, args),)


def _bias_bwd(n: Node, g: ir.Graph | None) -> tuple[KernelCall, ...]:
    a = n.attrs
    args = (
        DimsArg(es_dims(a["y_shape"])),
        BufferArg(n.inputs[0]),
        LiteralArg(str(int(a["channels"]))),
        BufferArg(_out(n)),
    )
    return (KernelCall("es_bias_grad_f32", args),)


def _fc_fwd(n: Node, g: ir.Graph | None) -> tuple[KernelCall, ...]:
    a = n.attrs
    bias: Arg = BufferArg(n.inputs[2]) if a["has_bias"] else LiteralArg("NULL")
    args = (
        _fc_struct(n),
        DimsArg(es_dims(a["x_shape"])),
        BufferArg(n.inputs[0]),
        DimsArg(es_dims(a["w_shape"])),
        BufferArg(n.inputs[1]),
        bias,
        DimsArg(es_dims(a["y_shape"])),
        BufferArg(_out(n)),
    )
    return (KernelCall("es_fully_connected_f32_fwd", args),)


def _fc_bwd_in(n: Node, g: ir.Graph | None) -> tuple[KernelCall, ...]:
    a = n.attrs
    args = (
        DimsArg(es_dims(a["y_shape"])),
        BufferArg(n.inputs[0]),
        DimsArg(es_dims(a["w_shape"])),
        BufferArg(n.inputs[1]),
        DimsArg(es_dims(a["x_shape"])),
        BufferArg(_out(n)),
    )
    return (KernelCall("es_fully_connected_f32_bwd_in", args),)


def _fc_bwd_w(n: Node, g: ir.Graph | None) -> tuple[KernelCall, ...]:
    a = n.attrs
    dw = (int(a["channels"]), int(a["w_shape"][1]))
    args = (
        DimsArg(es_dims(a["y_shape"])),
        BufferArg(n.inputs[0]),
        DimsArg(es_dims(a["x_shape"])),
        BufferArg(n.inputs[1]),
        DimsArg(es_dims(dw)),
        BufferArg(_out(n)),
    )
    return (KernelCall("es_fully_connected_f32_bwd_w", args),)


def _add_fwd(n: Node, g: ir.Graph | None) -> tuple[KernelCall, ...]:
    a = n.attrs
    if not (tuple(a["a_shape"]) == tuple(a["b_shape"]) == tuple(a["y_shape"])):
        raise _unsupported(
            n,
            f"ADD of shapes {a['a_shape']} and {a['b_shape']} broadcasts; the C runtime adds equal shapes",
        )
    d = DimsArg(es_dims(a["y_shape"]))
    args = (
        LiteralArg(ACTIVATION_ENUM[a["activation"]]),
        d,
        BufferArg(n.inputs[0]),
        d,
        BufferArg(n.inputs[1]),
        d,
        BufferArg(_out(n)),
    )
    return (KernelCall("es_add_f32_fwd", args),)


def _flat(n: Node) -> DimsArg:
    return DimsArg(es_dims((int(n.attrs["size"]),)))


def _logistic_fwd(n: Node, g: ir.Graph | None) -> tuple[KernelCall, ...]:
    return (KernelCall("es_logistic_f32_fwd", (_flat(n), BufferArg(n.inputs[0]), BufferArg(_out(n)))),)


def _logistic_bwd(n: Node, g: ir.Graph | None) -> tuple[KernelCall, ...]:
    args = (_flat(n), BufferArg(n.inputs[0]), BufferArg(n.inputs[1]), BufferArg(_out(n)))
    return (KernelCall("es_logistic_f32_bwd", args),)


def _rows(n: Node) -> DimsArg:
    return DimsArg(es_dims((int(n.attrs["rows"]), int(n.attrs["classes"]))))


def _softmax_fwd(n: Node, g: ir.Graph | None) -> tuple[KernelCall, ...]:
    args = (_softmax_struct(n), _rows(n), BufferArg(n.inputs[0]), BufferArg(_out(n)))
    return (KernelCall("es_softmax_f32_fwd", args),)


def _softmax_bwd(n: Node, g: ir.Graph | None) -> tuple[KernelCall, ...]:
    args = (_softmax_struct(n), _rows(n), BufferArg(n.inputs[0]), BufferArg(n.inputs[1]), BufferArg(_out(n)))
    return (KernelCall("es_softmax_f32_bwd", args),)


def _pool_fwd(n: Node, g: ir.Graph | None) -> tuple[KernelCall, ...]:
    a = n.attrs
    function = "es_avg_pool2d_f32_fwd" if n.compute is C.AVERAGE_POOL_2D_FWD else "es_max_pool2d_f32_fwd"
    args = (
        _pool_struct(n, g),
        DimsArg(es_dims(a["x_shape"])),
        BufferArg(n.inputs[0]),
        DimsArg(es_dims(a["y_shape"])),
        BufferArg(_out(n)),
    )
    return (KernelCall(function, args),)


def _avg_pool_bwd(n: Node, g: ir.Graph | None) -> tuple[KernelCall, ...]:
    a = n.attrs
    args = (
        _pool_struct(n, g),
        DimsArg(es_dims(a["y_shape"])),
        BufferArg(n.inputs[0]),
        DimsArg(es_dims(a["x_shape"])),
        BufferArg(_out(n)),
    )
    return (KernelCall("es_avg_pool2d_f32_bwd", args),)


def _max_pool_bwd(n: Node, g: ir.Graph | None) -> tuple[KernelCall, ...]:
    a = n.attrs
    args = (
        _pool_struct(n, g),
        DimsArg(es_dims(a["x_shape"])),
        BufferArg(n.inputs[0]),
        DimsArg(es_dims(a["y_shape"])),
        BufferArg(n.inputs[1]),
        BufferArg(_out(n)),
    )
    return (KernelCall("es_max_pool2d_f32_bwd", args),)


def _mean_dims(n: Node, a: Mapping[str, Any] | None = None) -> tuple[DimsArg, DimsArg]:
    """The x and y dims of a MEAN (``a``: its attrs, the node's own by default) over H and W."""
    a = n.attrs if a is None else a
    x_shape = tuple(a["x_shape"])
    x4 = es_dims(x_shape)
    reduced = {es_axis(len(x_shape), int(axis)) for axis in a["axes"]}
    spatial_kept = {axis for axis in (1, 2) if axis not in reduced and x4[axis] != 1}
    if not reduced <= {1, 2} or spatial_kept:
        raise _unsupported(
            n,
            f"MEAN over axes {tuple(a['axes'])} of a {x_shape} tensor; the C runtime reduces the "
            "spatial axes (height and width) only",
        )
    return DimsArg(x4), DimsArg((x4[0], 1, 1, x4[3]))


def _mean_fwd(n: Node, g: ir.Graph | None) -> tuple[KernelCall, ...]:
    x, y = _mean_dims(n)
    return (KernelCall("es_mean_hw_f32_fwd", (x, BufferArg(n.inputs[0]), y, BufferArg(_out(n)))),)


def _mean_bwd(n: Node, g: ir.Graph | None) -> tuple[KernelCall, ...]:
    x, y = _mean_dims(n)
    return (KernelCall("es_mean_hw_f32_bwd", (y, BufferArg(n.inputs[0]), x, BufferArg(_out(n)))),)


def _mean_act_bwd(n: Node, g: ir.Graph | None) -> tuple[KernelCall, ...]:
    """es_mean_hw_act_f32_bwd: y is read in the MEAN's input dims, dz written in them."""
    x, y = _mean_dims(n, n.attrs["mean"])
    activation = LiteralArg(ACTIVATION_ENUM[n.attrs["act"]["activation"]])
    args = (activation, x, BufferArg(n.inputs[0]), y, BufferArg(n.inputs[1]), BufferArg(_out(n)))
    return (KernelCall("es_mean_hw_act_f32_bwd", args),)


def _pad_fwd(n: Node, g: ir.Graph | None) -> tuple[KernelCall, ...]:
    a = n.attrs
    args = (
        _pad_struct(n),
        DimsArg(es_dims(a["x_shape"])),
        BufferArg(n.inputs[0]),
        DimsArg(es_dims(a["y_shape"])),
        BufferArg(_out(n)),
    )
    return (KernelCall("es_pad_f32_fwd", args),)


def _pad_bwd(n: Node, g: ir.Graph | None) -> tuple[KernelCall, ...]:
    a = n.attrs
    args = (
        _pad_struct(n),
        DimsArg(es_dims(a["y_shape"])),
        BufferArg(n.inputs[0]),
        DimsArg(es_dims(a["x_shape"])),
        BufferArg(_out(n)),
    )
    return (KernelCall("es_pad_f32_bwd", args),)


def _concat_fwd(n: Node, g: ir.Graph | None) -> tuple[KernelCall, ...]:
    a = n.attrs
    rank = len(a["y_shape"])
    struct = StructArg(
        "es_concat_params",
        _hint(n, "params"),
        (("axis", str(es_axis(rank, int(a["axis"])))), ("activation", ACTIVATION_ENUM[a["activation"]])),
    )
    shapes = tuple(es_dims(s) for s in a["in_shapes"])
    args = (
        struct,
        LiteralArg(str(len(shapes))),
        DimsListArg(_hint(n, "in_dims"), shapes),
        BufferListArg("inputs", tuple(n.inputs)),
        DimsArg(es_dims(a["y_shape"])),
        BufferArg(_out(n)),
    )
    return (KernelCall("es_concat_f32_fwd", args),)


def _concat_bwd(n: Node, g: ir.Graph | None) -> tuple[KernelCall, ...]:
    a = n.attrs
    rank = len(a["y_shape"])
    position = int(a["input"])
    struct = StructArg(
        "es_concat_slice_params",
        _hint(n, f"slice{position}_params"),
        (("axis", str(es_axis(rank, int(a["axis"])))), ("offset", str(int(a["offset"])))),
    )
    args = (
        struct,
        DimsArg(es_dims(a["y_shape"])),
        BufferArg(n.inputs[0]),
        DimsArg(es_dims(a["in_shapes"][position])),
        BufferArg(_out(n)),
    )
    return (KernelCall("es_concat_f32_bwd", args),)


def _loss_xent(n: Node, g: ir.Graph | None) -> tuple[KernelCall, ...]:
    if float(n.attrs["beta"]) != 1.0:
        raise _unsupported(
            n, f"the model's softmax has beta {n.attrs['beta']}; the C loss supports beta 1 only"
        )
    args = (_rows(n), BufferArg(n.inputs[0]), BufferArg(n.inputs[1]), LossArg(), BufferArg(_out(n)))
    return (KernelCall("es_loss_softmax_xent_f32", args),)


def _loss_mse(n: Node, g: ir.Graph | None) -> tuple[KernelCall, ...]:
    args = (_flat(n), BufferArg(n.inputs[0]), BufferArg(n.inputs[1]), LossArg(), BufferArg(_out(n)))
    return (KernelCall("es_loss_mse_f32", args),)


def _act_bwd(n: Node, g: ir.Graph | None) -> tuple[KernelCall, ...]:
    args = (
        LiteralArg(ACTIVATION_ENUM[n.attrs["activation"]]),
        _flat(n),
        BufferArg(n.inputs[0]),
        BufferArg(n.inputs[1]),
        BufferArg(_out(n)),
    )
    return (KernelCall("es_act_f32_bwd", args),)


def _grad_sum(n: Node, g: ir.Graph | None) -> tuple[KernelCall, ...]:
    d = _flat(n)
    out = BufferArg(_out(n))
    calls = [KernelCall("es_copy_f32", (d, BufferArg(n.inputs[0]), out))]
    calls += [KernelCall("es_accumulate_f32", (d, BufferArg(part), out)) for part in n.inputs[1:]]
    return tuple(calls)


def _sgd(n: Node, g: ir.Graph | None) -> tuple[KernelCall, ...]:
    param, grad = n.inputs[0], n.inputs[1]
    args = (optimizer_struct(n), optim_span(n), BufferArg(grad), BufferArg(param))
    return (KernelCall("es_sgd_f32_update", args),)


def _momentum(n: Node, g: ir.Graph | None) -> tuple[KernelCall, ...]:
    param, grad, velocity = n.inputs
    args = (optimizer_struct(n), optim_span(n), BufferArg(grad), BufferArg(velocity), BufferArg(param))
    return (KernelCall("es_sgd_momentum_f32_update", args),)


def _adam(n: Node, g: ir.Graph | None) -> tuple[KernelCall, ...]:
    param, grad, m, v = n.inputs
    args = (
        optimizer_struct(n),
        StepArg(),
        optim_span(n),
        BufferArg(grad),
        BufferArg(m),
        BufferArg(v),
        BufferArg(param),
    )
    return (KernelCall("es_adam_f32_update", args),)


# ---------------------------------------------------------------- int8 rows (docs/int8-codegen.md)
#
# Forward: the TFLite-Micro-exact kernels of edgesdk/kernels_int8.h, their constants from the node's
# attrs["params"] (edgesdk.quant.params), per-channel multipliers/shifts as const arrays. Backward
# and updates: edgesdk/train_int8.h (dequantization inside the kernels, QAS updates).

INT32_MIN_LITERAL = "(-2147483647 - 1)"


def c_int(value: int) -> str:
    """A C literal of an int32 value (INT32_MIN written so that it stays an int)."""
    value = int(value)
    return INT32_MIN_LITERAL if value == -(2**31) else str(value)


def _int_array(hint: str, values: Sequence[int]) -> ConstArrayArg:
    return ConstArrayArg("int32_t", hint, tuple(c_int(v) for v in values))


def _float_array(hint: str, values: Sequence[float]) -> ConstArrayArg:
    return ConstArrayArg("float", hint, tuple(c_floats(np.asarray(values, dtype=np.float32))))


def _requant_arrays(node: Node, params) -> tuple[tuple[str, ConstArrayArg], ...]:  # noqa: ANN001
    return (
        ("multiplier", _int_array(_hint(node, "multiplier"), params.multiplier)),
        ("shift", _int_array(_hint(node, "shift"), params.shift)),
    )


def _conv_int8_struct(node: Node) -> StructArg:
    depthwise = node.compute is C.DEPTHWISE_CONV_2D_INT8_FWD
    return conv_int8_params(node.attrs["params"], depthwise, _layer(node), node.inputs[1])


def conv_int8_params(p, depthwise: bool, layer: str, weight: str | None = None) -> StructArg:  # noqa: ANN001
    """The ``es_conv2d_int8_params`` (``es_depthwise_conv2d_int8_params``) struct of ``p``
    (Conv/DepthwiseInt8Params); ``weight``: the weight value, whose storage may be split."""
    fields = [
        ("stride_h", str(p.stride[0])),
        ("stride_w", str(p.stride[1])),
        ("dilation_h", str(p.dilation[0])),
        ("dilation_w", str(p.dilation[1])),
        ("pad_top", str(p.pad_top)),
        ("pad_left", str(p.pad_left)),
    ]
    if depthwise:
        fields.append(("depth_multiplier", str(p.depth_multiplier)))
    fields += [
        ("input_offset", str(p.input_offset)),
        ("output_offset", str(p.output_offset)),
        ("act_min", str(p.act_min)),
        ("act_max", str(p.act_max)),
    ]
    ctype = "es_depthwise_conv2d_int8_params" if depthwise else "es_conv2d_int8_params"
    arrays = (
        ("multiplier", _int_array(f"{layer}_multiplier", p.multiplier)),
        ("shift", _int_array(f"{layer}_shift", p.shift)),
    )
    # a depthwise weight has its channels innermost: never split
    split = None if depthwise or weight is None else SplitWeightFields(weight, "w_tail", "w_head_channels")
    return StructArg(ctype, f"{layer}_q", tuple(fields), arrays, split)


LayerInt8Params = ConvInt8Params | DepthwiseInt8Params | FullyConnectedInt8Params

# Reference kernels (the specification) and the fast variants that compute the same integers for
# the geometries they accept (same arguments; docs/int8-codegen.md, "Fast forward kernels").
REFERENCE_INT8_FWD = MappingProxyType({
    C.CONV_2D_INT8_FWD: "es_conv2d_int8_fwd",
    C.DEPTHWISE_CONV_2D_INT8_FWD: "es_depthwise_conv2d_int8_fwd",
    C.FULLY_CONNECTED_INT8_FWD: "es_fully_connected_int8_fwd",
})


def fast_int8_fwd(params: LayerInt8Params, w_shape: Sequence[int], x_shape: Sequence[int],
                  y_shape: Sequence[int]) -> str | None:
    """The fast kernel that computes this int8 forward layer, or None when none accepts its
    geometry. Each condition is the one the kernel's header states (and its checks enforce)."""
    if isinstance(params, ConvInt8Params):
        pointwise = (
            tuple(w_shape[1:3]) == (1, 1) and params.stride == (1, 1)
            and (params.pad_top, params.pad_left) == (0, 0) and tuple(y_shape[1:3]) == tuple(x_shape[1:3])
        )
        if pointwise:
            return "es_conv2d_1x1_int8_fwd"
        return "es_conv2d_rows_int8_fwd" if params.dilation[1] == 1 else None
    if isinstance(params, DepthwiseInt8Params):
        fits = tuple(w_shape[1:3]) == (3, 3) and params.depth_multiplier == 1 and params.dilation == (1, 1)
        return "es_depthwise_conv2d_3x3_int8_fwd" if fits else None
    if isinstance(params, FullyConnectedInt8Params):
        return "es_fully_connected_fast_int8_fwd" if params.weights_offset == 0 else None
    return None


# fast variant -> its reference kernel: the fast kernels read one whole weight array, so a layer
# whose weight is split (the trainable rows in RAM, the frozen rows in flash) calls the reference
FAST_TO_REFERENCE = MappingProxyType({
    "es_conv2d_1x1_int8_fwd": "es_conv2d_int8_fwd",
    "es_conv2d_rows_int8_fwd": "es_conv2d_int8_fwd",
    "es_depthwise_conv2d_3x3_int8_fwd": "es_depthwise_conv2d_int8_fwd",
    "es_fully_connected_fast_int8_fwd": "es_fully_connected_int8_fwd",
})


def int8_fwd_kernel(n: Node) -> str:
    """The C function an int8 CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED forward node calls:
    the fast variant when there is one for its geometry, else the reference kernel."""
    a = n.attrs
    fast = fast_int8_fwd(a["params"], a["w_shape"], a["x_shape"], a["y_shape"])
    return fast or REFERENCE_INT8_FWD[n.compute]


def _conv_int8_fwd(n: Node, g: ir.Graph | None) -> tuple[KernelCall, ...]:
    a = n.attrs
    function = int8_fwd_kernel(n)
    bias: Arg = BufferArg(n.inputs[2]) if a["has_bias"] else LiteralArg("NULL")
    args = (
        _conv_int8_struct(n),
        DimsArg(es_dims(a["x_shape"])),
        BufferArg(n.inputs[0]),
        DimsArg(es_dims(a["w_shape"])),
        BufferArg(n.inputs[1]),
        bias,
        DimsArg(es_dims(a["y_shape"])),
        BufferArg(_out(n)),
    )
    return (KernelCall(function, args),)


def _weight_and_bias(values: Sequence[str]) -> tuple[str, Arg]:
    """A layer's weight value and its bias argument (NULL without a bias)."""
    return values[0], BufferArg(values[1]) if len(values) > 1 else LiteralArg("NULL")


def _conv_depthwise_int8_fwd(n: Node, g: ir.Graph | None) -> tuple[KernelCall, ...]:
    """es_conv_depthwise_int8_fwd: both layers' structs (named after each layer, so they are the
    unfused kernels' structs), the middle tensor's shape only, and the ring in the arena."""
    conv, depthwise = n.attrs["conv"], n.attrs["depthwise"]
    layers = _layer(n).split("-")
    split = 3 if conv["has_bias"] else 2
    conv_w, conv_b = _weight_and_bias(n.inputs[1:split])
    dw_w, dw_b = _weight_and_bias(n.inputs[split:])
    args = (
        conv_int8_params(conv["params"], False, layers[0]),
        conv_int8_params(depthwise["params"], True, layers[-1]),
        DimsArg(es_dims(conv["x_shape"])),
        BufferArg(n.inputs[0]),
        DimsArg(es_dims(conv["w_shape"])),
        BufferArg(conv_w),
        conv_b,
        DimsArg(es_dims(conv["y_shape"])),
        DimsArg(es_dims(depthwise["w_shape"])),
        BufferArg(dw_w),
        dw_b,
        DimsArg(es_dims(depthwise["y_shape"])),
        BufferArg(_out(n)),
        WorkspaceArg(),
        LiteralArg(f"{n.workspace_bytes}u"),
    )
    return (KernelCall("es_conv_depthwise_int8_fwd", args),)


def _fc_int8_fwd(n: Node, g: ir.Graph | None) -> tuple[KernelCall, ...]:
    a, p = n.attrs, n.attrs["params"]
    fields = (
        ("input_offset", str(p.input_offset)),
        ("weights_offset", str(p.weights_offset)),
        ("output_offset", str(p.output_offset)),
        ("act_min", str(p.act_min)),
        ("act_max", str(p.act_max)),
    )
    split = SplitWeightFields(n.inputs[1], "w_tail", "w_head_channels")
    struct = StructArg("es_fully_connected_int8_params", _hint(n, "q"), fields, _requant_arrays(n, p), split)
    bias: Arg = BufferArg(n.inputs[2]) if a["has_bias"] else LiteralArg("NULL")
    args = (
        struct,
        DimsArg(es_dims(a["x_shape"])),
        BufferArg(n.inputs[0]),
        DimsArg(es_dims(a["w_shape"])),
        BufferArg(n.inputs[1]),
        bias,
        DimsArg(es_dims(a["y_shape"])),
        BufferArg(_out(n)),
    )
    return (KernelCall(int8_fwd_kernel(n), args),)


def _fields(params, names: Sequence[str]) -> tuple[tuple[str, str], ...]:  # noqa: ANN001
    return tuple((name, c_int(getattr(params, name))) for name in names)


def _add_int8_fwd(n: Node, g: ir.Graph | None) -> tuple[KernelCall, ...]:
    a, p = n.attrs, n.attrs["params"]
    names = (
        "input1_offset", "input2_offset", "output_offset", "left_shift", "input1_multiplier", "input1_shift",
        "input2_multiplier", "input2_shift", "output_multiplier", "output_shift", "act_min", "act_max",
    )
    rank = len(a["y_shape"])

    def aligned(shape: Sequence[int]) -> Dims4:  # numpy broadcasting aligns trailing axes
        return es_dims((1,) * (rank - len(shape)) + tuple(shape))

    args = (
        StructArg("es_add_int8_params", _hint(n, "q"), _fields(p, names)),
        DimsArg(aligned(a["a_shape"])),
        BufferArg(n.inputs[0]),
        DimsArg(aligned(a["b_shape"])),
        BufferArg(n.inputs[1]),
        DimsArg(es_dims(a["y_shape"])),
        BufferArg(_out(n)),
    )
    return (KernelCall("es_add_int8_fwd", args),)


def _logistic_int8_fwd(n: Node, g: ir.Graph | None) -> tuple[KernelCall, ...]:
    names = ("input_zero_point", "input_range_radius", "input_multiplier", "input_left_shift")
    struct = StructArg("es_logistic_int8_params", _hint(n, "q"), _fields(n.attrs["params"], names))
    args = (struct, _flat(n), BufferArg(n.inputs[0]), BufferArg(_out(n)))
    return (KernelCall("es_logistic_int8_fwd", args),)


def _softmax_int8_fwd(n: Node, g: ir.Graph | None) -> tuple[KernelCall, ...]:
    names = ("input_multiplier", "input_left_shift", "diff_min")
    struct = StructArg("es_softmax_int8_params", _hint(n, "q"), _fields(n.attrs["params"], names))
    args = (struct, _rows(n), BufferArg(n.inputs[0]), BufferArg(_out(n)))
    return (KernelCall("es_softmax_int8_fwd", args),)


def _pool_int8_fwd(n: Node, g: ir.Graph | None) -> tuple[KernelCall, ...]:
    a, p = n.attrs, n.attrs["params"]
    fields = (
        ("filter_h", str(p.filter[0])),
        ("filter_w", str(p.filter[1])),
        ("stride_h", str(p.stride[0])),
        ("stride_w", str(p.stride[1])),
        ("pad_top", str(p.pad_top)),
        ("pad_left", str(p.pad_left)),
        ("act_min", str(p.act_min)),
        ("act_max", str(p.act_max)),
    )
    average = n.compute is C.AVERAGE_POOL_2D_INT8_FWD
    function = "es_avg_pool2d_int8_fwd" if average else "es_max_pool2d_int8_fwd"
    args = (
        StructArg("es_pool2d_int8_params", _hint(n, "q"), fields),
        DimsArg(es_dims(a["x_shape"])),
        BufferArg(n.inputs[0]),
        DimsArg(es_dims(a["y_shape"])),
        BufferArg(_out(n)),
    )
    return (KernelCall(function, args),)


def _mean_int8_fwd(n: Node, g: ir.Graph | None) -> tuple[KernelCall, ...]:
    x, y = _mean_dims(n)
    names = ("input_zero_point", "output_zero_point", "multiplier", "shift")
    struct = StructArg("es_mean_int8_params", _hint(n, "q"), _fields(n.attrs["params"], names))
    return (KernelCall("es_mean_hw_int8_fwd", (struct, x, BufferArg(n.inputs[0]), y, BufferArg(_out(n)))),)


def _pad_int8_fwd(n: Node, g: ir.Graph | None) -> tuple[KernelCall, ...]:
    a, p = n.attrs, n.attrs["params"]
    x_shape = a["x_shape"]
    before, after = [0, 0, 0, 0], [0, 0, 0, 0]
    for axis, (b, e) in enumerate(p.paddings):
        target = es_axis(len(x_shape), axis)
        before[target], after[target] = int(b), int(e)
    fields = (("before", _ints(before)), ("after", _ints(after)), ("pad_value", str(p.pad_value)))
    args = (
        StructArg("es_pad_int8_params", _hint(n, "q"), fields),
        DimsArg(es_dims(x_shape)),
        BufferArg(n.inputs[0]),
        DimsArg(es_dims(a["y_shape"])),
        BufferArg(_out(n)),
    )
    return (KernelCall("es_pad_int8_fwd", args),)


def _concat_int8_fwd(n: Node, g: ir.Graph | None) -> tuple[KernelCall, ...]:
    a, p = n.attrs, n.attrs["params"]
    rank = len(a["y_shape"])
    fields = (
        ("axis", str(es_axis(rank, int(a["axis"])))),
        ("act_min", str(p.act_min)),
        ("act_max", str(p.act_max)),
    )
    requant = tuple(
        "{" + ", ".join(c_int(v) for v in (q.input_offset, q.output_offset, q.multiplier, q.shift)) + "}"
        for q in p.inputs
    )
    shapes = tuple(es_dims(s) for s in a["in_shapes"])
    args = (
        StructArg("es_concat_int8_params", _hint(n, "q"), fields),
        LiteralArg(str(len(shapes))),
        DimsListArg(_hint(n, "in_dims"), shapes),
        BufferListArg("inputs", tuple(n.inputs)),
        ConstArrayArg("es_requant_int8_params", _hint(n, "requant"), requant),
        DimsArg(es_dims(a["y_shape"])),
        BufferArg(_out(n)),
    )
    return (KernelCall("es_concat_int8_fwd", args),)


def _affine_struct(n: Node, hint: str, scale: float, zero_point: int) -> StructArg:
    fields = (("scale", c_float(scale)), ("zero_point", str(int(zero_point))))
    return StructArg("es_affine_int8_params", _hint(n, hint), fields)


def _quantize_int8_fwd(n: Node, g: ir.Graph | None) -> tuple[KernelCall, ...]:
    p = n.attrs["params"]
    struct = _affine_struct(n, "q", p.scale, p.zero_point)
    args = (struct, _flat(n), BufferArg(n.inputs[0]), BufferArg(_out(n)))
    quantize = n.compute is C.QUANTIZE_INT8_FWD
    function = "es_quantize_f32_int8_fwd" if quantize else "es_dequantize_int8_f32_fwd"
    return (KernelCall(function, args),)


def _requantize_int8_fwd(n: Node, g: ir.Graph | None) -> tuple[KernelCall, ...]:
    names = ("input_offset", "output_offset", "multiplier", "shift")
    struct = StructArg("es_requant_int8_params", _hint(n, "q"), _fields(n.attrs["params"], names))
    args = (struct, _flat(n), BufferArg(n.inputs[0]), BufferArg(_out(n)))
    return (KernelCall("es_requantize_int8_fwd", args),)


def _loss_int8(n: Node, g: ir.Graph | None) -> tuple[KernelCall, ...]:
    a = n.attrs
    xent = n.compute is C.LOSS_SOFTMAX_XENT_INT8
    fields = (
        ("scale", c_float(a["scale"])),
        ("zero_point", str(int(a["zero_point"]))),
        ("beta", c_float(a["beta"] if xent else 1.0)),
    )
    struct = StructArg("es_loss_int8_params", "loss_q", fields)
    dims = _rows(n) if xent else _flat(n)
    function = "es_loss_softmax_xent_int8" if xent else "es_loss_mse_int8"
    args = (struct, dims, BufferArg(n.inputs[0]), BufferArg(n.inputs[1]), LossArg(), BufferArg(_out(n)))
    return (KernelCall(function, args),)


def _act_bwd_int8(n: Node, g: ir.Graph | None) -> tuple[KernelCall, ...]:
    a = n.attrs
    args = (
        LiteralArg(str(int(a["act_min"]))),
        LiteralArg(str(int(a["act_max"]))),
        _flat(n),
        BufferArg(n.inputs[0]),
        BufferArg(n.inputs[1]),
        BufferArg(_out(n)),
    )
    return (KernelCall("es_act_int8_bwd", args),)


def _mean_act_bwd_int8(n: Node, g: ir.Graph | None) -> tuple[KernelCall, ...]:
    """es_mean_hw_act_int8_bwd: the activation's clamp bounds, y in the MEAN's input dims."""
    x, y = _mean_dims(n, n.attrs["mean"])
    act = n.attrs["act"]
    bounds = (LiteralArg(str(int(act["act_min"]))), LiteralArg(str(int(act["act_max"]))))
    args = (*bounds, x, BufferArg(n.inputs[0]), y, BufferArg(n.inputs[1]), BufferArg(_out(n)))
    return (KernelCall("es_mean_hw_act_int8_bwd", args),)


def _weights_quant(n: Node) -> StructArg:
    a = n.attrs
    fields = (("zero_point", str(int(a["w_zero_point"]))),)
    array = _float_array(_hint(n, "w_scale"), a["w_scale"])
    depthwise = n.compute is C.DEPTHWISE_CONV_2D_BWD_IN_INT8  # channels innermost: never split
    split = None if depthwise else SplitWeightFields(n.inputs[1], "tail", "head_channels")
    return StructArg("es_weights_int8_quant", _hint(n, "wq"), fields, (("scale", array),), split)


def _activation_quant(n: Node, role: str) -> StructArg:
    return _affine_struct(n, f"{role}q", n.attrs[f"{role}_scale"], n.attrs[f"{role}_zero_point"])


def _conv_bwd_in_int8(n: Node, g: ir.Graph | None) -> tuple[KernelCall, ...]:
    a = n.attrs
    depthwise = n.compute is C.DEPTHWISE_CONV_2D_BWD_IN_INT8
    function = "es_depthwise_conv2d_int8_bwd_in" if depthwise else "es_conv2d_int8_bwd_in"
    args = (
        _conv_struct(n, g),
        _weights_quant(n),
        DimsArg(es_dims(a["y_shape"])),
        BufferArg(n.inputs[0]),
        DimsArg(es_dims(a["w_shape"])),
        BufferArg(n.inputs[1]),
        DimsArg(es_dims(a["x_shape"])),
        BufferArg(_out(n)),
    )
    return (KernelCall(function, args),)


def _conv_bwd_w_int8(n: Node, g: ir.Graph | None) -> tuple[KernelCall, ...]:
    a = n.attrs
    k, w = int(a["channels"]), tuple(a["w_shape"])
    if n.compute is C.CONV_2D_BWD_W_INT8:
        function, dw = "es_conv2d_int8_bwd_w", (k, *w[1:])
    else:
        function, dw = "es_depthwise_conv2d_int8_bwd_w", (*w[:3], k)
    args = (
        _conv_struct(n, g),
        _activation_quant(n, "x"),
        DimsArg(es_dims(a["y_shape"])),
        BufferArg(n.inputs[0]),
        DimsArg(es_dims(a["x_shape"])),
        BufferArg(n.inputs[1]),
        DimsArg(es_dims(dw)),
        BufferArg(_out(n)),
    )
    return (KernelCall(function, args),)


def _fc_bwd_in_int8(n: Node, g: ir.Graph | None) -> tuple[KernelCall, ...]:
    a = n.attrs
    args = (
        _weights_quant(n),
        DimsArg(es_dims(a["y_shape"])),
        BufferArg(n.inputs[0]),
        DimsArg(es_dims(a["w_shape"])),
        BufferArg(n.inputs[1]),
        DimsArg(es_dims(a["x_shape"])),
        BufferArg(_out(n)),
    )
    return (KernelCall("es_fully_connected_int8_bwd_in", args),)


def _fc_bwd_w_int8(n: Node, g: ir.Graph | None) -> tuple[KernelCall, ...]:
    a = n.attrs
    args = (
        _activation_quant(n, "x"),
        DimsArg(es_dims(a["y_shape"])),
        BufferArg(n.inputs[0]),
        DimsArg(es_dims(a["x_shape"])),
        BufferArg(n.inputs[1]),
        DimsArg(es_dims((int(a["channels"]), int(a["w_shape"][1])))),
        BufferArg(_out(n)),
    )
    return (KernelCall("es_fully_connected_int8_bwd_w", args),)


def _logistic_bwd_int8(n: Node, g: ir.Graph | None) -> tuple[KernelCall, ...]:
    quant = _activation_quant(n, "y")
    args = (quant, _flat(n), BufferArg(n.inputs[0]), BufferArg(n.inputs[1]), BufferArg(_out(n)))
    return (KernelCall("es_logistic_int8_bwd", args),)


def _softmax_bwd_int8(n: Node, g: ir.Graph | None) -> tuple[KernelCall, ...]:
    args = (
        _softmax_struct(n),
        _activation_quant(n, "y"),
        _rows(n),
        BufferArg(n.inputs[0]),
        BufferArg(n.inputs[1]),
        BufferArg(_out(n)),
    )
    return (KernelCall("es_softmax_int8_bwd", args),)


def _max_pool_bwd_int8(n: Node, g: ir.Graph | None) -> tuple[KernelCall, ...]:
    a = n.attrs
    args = (
        _pool_struct(n, g),
        DimsArg(es_dims(a["x_shape"])),
        BufferArg(n.inputs[0]),
        DimsArg(es_dims(a["y_shape"])),
        BufferArg(n.inputs[1]),
        BufferArg(_out(n)),
    )
    return (KernelCall("es_max_pool2d_int8_bwd", args),)


ROUNDING_ENUM = {"nearest": "ES_ROUND_NEAREST", "stochastic": "ES_ROUND_STOCHASTIC"}


def _update_state(n: Node, first: int) -> tuple[Arg, Arg]:
    """The master copy and xorshift32 state arguments of an update (NULL when absent): the
    inputs after the first ``first`` ones, in the graph's order (master, then rng)."""
    rest = list(n.inputs[first:])
    master: Arg = BufferArg(rest.pop(0)) if n.attrs["master"] else LiteralArg("NULL")
    rng: Arg = BufferArg(rest.pop(0)) if n.attrs["rounding"].value == "stochastic" else LiteralArg("NULL")
    return master, rng


def _qas_layer(n: Node) -> StructArg:
    a = n.attrs
    fields = (
        ("lr", c_float(a["lr"])),
        ("rounding", ROUNDING_ENUM[a["rounding"].value]),
        ("channels", str(int(a["channels"]))),
    )
    array = _float_array(f"{n.inputs[0]}_factor", a["factor"])
    return StructArg("es_qas_layer_params", f"{n.inputs[0]}_qas", fields, (("factor", array),))


def qas_span(n: Node) -> StructArg:
    """An update's ``es_qas_span`` (the graph's QasSpan)."""
    s = n.attrs["span"]
    names = ("rows", "cols", "param_stride", "grad_stride", "per_channel")
    fields = tuple((name, str(int(getattr(s, name)))) for name in names)
    return StructArg("es_qas_span", f"{n.inputs[0]}_span", fields)


def _qas_update(n: Node, g: ir.Graph | None) -> tuple[KernelCall, ...]:
    a = n.attrs
    params = StructArg(
        "es_qas_params", "qas", (("lr", c_float(a["lr"])), ("rounding", ROUNDING_ENUM[a["rounding"].value]))
    )
    weight = n.compute is C.QAS_UPDATE_INT8
    factor = _float_array(f"{n.inputs[0]}_factor", a["factor"])
    master, rng = _update_state(n, 2)
    head = (params, qas_span(n), factor, BufferArg(n.inputs[1]))
    if a["master"]:
        function = "es_qas_int8_master_update" if weight else "es_qas_int32_master_update"
        return (KernelCall(function, (*head, master, BufferArg(n.inputs[0]))),)
    function = "es_qas_int8_update" if weight else "es_qas_int32_update"
    return (KernelCall(function, (*head, rng, BufferArg(n.inputs[0]))),)


def _bwd_w_qas(n: Node, g: ir.Graph | None) -> tuple[KernelCall, ...]:
    a = n.attrs
    w, dz, x = n.inputs[:3]
    master, rng = _update_state(n, 3)
    if n.compute is C.FULLY_CONNECTED_BWD_W_QAS:
        # same bits as es_fully_connected_int8_bwd_w_qas, faster at batch 1 (fully_connected_fast_int8.h)
        function, head = "es_fully_connected_fast_int8_bwd_w_qas", (_activation_quant(n, "x"),)
    else:
        depthwise = n.compute is C.DEPTHWISE_CONV_2D_BWD_W_QAS
        function = "es_depthwise_conv2d_int8_bwd_w_qas" if depthwise else "es_conv2d_int8_bwd_w_qas"
        head = (_conv_struct(n, g), _activation_quant(n, "x"))
    args = (
        *head,
        _qas_layer(n),
        DimsArg(es_dims(a["y_shape"])),
        BufferArg(dz),
        DimsArg(es_dims(a["x_shape"])),
        BufferArg(x),
        DimsArg(es_dims(a["w_shape"])),
        BufferArg(w),
        master,
        rng,
        WorkspaceArg("float"),  # one chunk of the gradient
    )
    return (KernelCall(function, args),)


def _bias_bwd_qas(n: Node, g: ir.Graph | None) -> tuple[KernelCall, ...]:
    master, rng = _update_state(n, 2)
    args = (
        _qas_layer(n),
        DimsArg(es_dims(n.attrs["y_shape"])),
        BufferArg(n.inputs[1]),
        BufferArg(n.inputs[0]),
        master,
        rng,
        WorkspaceArg("float"),
    )
    return (KernelCall("es_bias_int32_bwd_qas", args),)


def _out(node: Node) -> str:
    assert node.output is not None, node.name
    return node.output


def _no_call(node: Node, source: ir.Graph | None = None) -> tuple[KernelCall, ...]:
    """The input batch in the arena: the caller wrote it before the step (no code)."""
    return ()


KERNEL_CALLS: Mapping[Compute, Callable[[Node, ir.Graph | None], tuple[KernelCall, ...]]] = MappingProxyType(
    {
        C.INPUT: _no_call,
        C.CONV_2D_FWD: _conv_fwd,
        C.DEPTHWISE_CONV_2D_FWD: _conv_fwd,
        C.FULLY_CONNECTED_FWD: _fc_fwd,
        C.ADD_FWD: _add_fwd,
        C.LOGISTIC_FWD: _logistic_fwd,
        C.SOFTMAX_FWD: _softmax_fwd,
        C.AVERAGE_POOL_2D_FWD: _pool_fwd,
        C.MAX_POOL_2D_FWD: _pool_fwd,
        C.MEAN_FWD: _mean_fwd,
        C.PAD_FWD: _pad_fwd,
        C.CONCATENATION_FWD: _concat_fwd,
        C.LOSS_SOFTMAX_XENT: _loss_xent,
        C.LOSS_MSE: _loss_mse,
        C.ACT_BWD: _act_bwd,
        C.CONV_2D_BWD_IN: _conv_bwd_in,
        C.CONV_2D_BWD_W: _conv_bwd_w,
        C.CONV_2D_BWD_B: _bias_bwd,
        C.DEPTHWISE_CONV_2D_BWD_IN: _conv_bwd_in,
        C.DEPTHWISE_CONV_2D_BWD_W: _conv_bwd_w,
        C.DEPTHWISE_CONV_2D_BWD_B: _bias_bwd,
        C.FULLY_CONNECTED_BWD_IN: _fc_bwd_in,
        C.FULLY_CONNECTED_BWD_W: _fc_bwd_w,
        C.FULLY_CONNECTED_BWD_B: _bias_bwd,
        C.LOGISTIC_BWD: _logistic_bwd,
        C.SOFTMAX_BWD: _softmax_bwd,
        C.AVERAGE_POOL_2D_BWD: _avg_pool_bwd,
        C.MAX_POOL_2D_BWD: _max_pool_bwd,
        C.MEAN_BWD: _mean_bwd,
        C.MEAN_ACT_BWD: _mean_act_bwd,
        C.PAD_BWD: _pad_bwd,
        C.CONCATENATION_BWD: _concat_bwd,
        C.GRAD_SUM: _grad_sum,
        C.SGD_UPDATE: _sgd,
        C.MOMENTUM_UPDATE: _momentum,
        C.ADAM_UPDATE: _adam,
        # int8 precision
        C.CONV_2D_INT8_FWD: _conv_int8_fwd,
        C.DEPTHWISE_CONV_2D_INT8_FWD: _conv_int8_fwd,
        C.FULLY_CONNECTED_INT8_FWD: _fc_int8_fwd,
        C.ADD_INT8_FWD: _add_int8_fwd,
        C.LOGISTIC_INT8_FWD: _logistic_int8_fwd,
        C.SOFTMAX_INT8_FWD: _softmax_int8_fwd,
        C.AVERAGE_POOL_2D_INT8_FWD: _pool_int8_fwd,
        C.MAX_POOL_2D_INT8_FWD: _pool_int8_fwd,
        C.MEAN_INT8_FWD: _mean_int8_fwd,
        C.PAD_INT8_FWD: _pad_int8_fwd,
        C.CONCATENATION_INT8_FWD: _concat_int8_fwd,
        C.QUANTIZE_INT8_FWD: _quantize_int8_fwd,
        C.REQUANTIZE_INT8_FWD: _requantize_int8_fwd,
        C.DEQUANTIZE_INT8_FWD: _quantize_int8_fwd,
        C.LOSS_SOFTMAX_XENT_INT8: _loss_int8,
        C.LOSS_MSE_INT8: _loss_int8,
        C.ACT_BWD_INT8: _act_bwd_int8,
        C.MEAN_ACT_BWD_INT8: _mean_act_bwd_int8,
        C.CONV_2D_BWD_IN_INT8: _conv_bwd_in_int8,
        C.CONV_2D_BWD_W_INT8: _conv_bwd_w_int8,
        C.DEPTHWISE_CONV_2D_BWD_IN_INT8: _conv_bwd_in_int8,
        C.DEPTHWISE_CONV_2D_BWD_W_INT8: _conv_bwd_w_int8,
        C.FULLY_CONNECTED_BWD_IN_INT8: _fc_bwd_in_int8,
        C.FULLY_CONNECTED_BWD_W_INT8: _fc_bwd_w_int8,
        C.LOGISTIC_BWD_INT8: _logistic_bwd_int8,
        C.SOFTMAX_BWD_INT8: _softmax_bwd_int8,
        C.MAX_POOL_2D_BWD_INT8: _max_pool_bwd_int8,
        C.QAS_UPDATE_INT8: _qas_update,
        C.QAS_UPDATE_INT32: _qas_update,
        C.CONV_2D_BWD_W_QAS: _bwd_w_qas,
        C.DEPTHWISE_CONV_2D_BWD_W_QAS: _bwd_w_qas,
        C.FULLY_CONNECTED_BWD_W_QAS: _bwd_w_qas,
        C.BIAS_BWD_QAS: _bias_bwd_qas,
        C.CONV_DEPTHWISE_INT8_FWD: _conv_depthwise_int8_fwd,
    }
)

# Kernels whose workspace is a lifetime of the arena layout (keep-all and planner schedules alike):
# the generated call passes its address (WorkspaceArg): the ring of a fused convolution -> depthwise
# node, the gradient chunk of a fused int8 update
ARENA_WORKSPACE: frozenset[Compute] = frozenset(
    {
        C.CONV_DEPTHWISE_INT8_FWD,
        C.CONV_2D_BWD_W_QAS,
        C.DEPTHWISE_CONV_2D_BWD_W_QAS,
        C.FULLY_CONNECTED_BWD_W_QAS,
        C.BIAS_BWD_QAS,
    }
)

# Kernels whose C order of operations is the numpy reference's: given the same inputs their
# outputs are bit-identical (the trace test checks every one). Elementwise kernels, copies,
# pooling (taps added one at a time in window order), depthwise convolution forward and weight
# gradient (one tap / one position at a time), bias gradients and MEAN (running sums along the
# leading axes), and the SGD / momentum updates. The others -- dense convolutions and matrix
# products (BLAS), losses and softmax (exp/log from another library, pairwise sums) and Adam
# (bias correction in double) -- agree to rounding.
BIT_EXACT: frozenset[Compute] = frozenset(
    {
        C.ADD_FWD,
        C.AVERAGE_POOL_2D_FWD,
        C.MAX_POOL_2D_FWD,
        C.MEAN_FWD,
        C.PAD_FWD,
        C.CONCATENATION_FWD,
        C.DEPTHWISE_CONV_2D_FWD,
        C.ACT_BWD,
        C.LOGISTIC_BWD,
        C.AVERAGE_POOL_2D_BWD,
        C.MAX_POOL_2D_BWD,
        C.MEAN_BWD,
        C.MEAN_ACT_BWD,
        C.PAD_BWD,
        C.CONCATENATION_BWD,
        C.DEPTHWISE_CONV_2D_BWD_W,
        C.CONV_2D_BWD_B,
        C.DEPTHWISE_CONV_2D_BWD_B,
        C.FULLY_CONNECTED_BWD_B,
        C.GRAD_SUM,
        C.SGD_UPDATE,
        C.MOMENTUM_UPDATE,
    }
)


def kernel_calls(node: Node, source: ir.Graph | None = None) -> tuple[KernelCall, ...]:
    """The C calls of ``node``; ``source`` (the model) names the fused activation of backward nodes
    so that a layer's forward and backward calls share one parameter struct."""
    return KERNEL_CALLS[node.compute](node, source)
