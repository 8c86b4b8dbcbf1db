"""The layers that move or reduce values over the spatial axes: AVERAGE_POOL_2D, MAX_POOL_2D, MEAN
(over height and width), PAD and CONCATENATION; in float32 and in int8."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from edgesdk import ir
from edgesdk.codegen.kernels.args import (
    ACTIVATION_ENUM,
    BufferArg,
    BufferListArg,
    C,
    ConstArrayArg,
    DimsArg,
    DimsListArg,
    KernelCall,
    LiteralArg,
    StructArg,
    activation,
    c_int,
    c_ints,
    es_axis,
    es_dims,
    hint,
    int_fields,
    out,
    unsupported,
)
from edgesdk.codegen.kernels.signature import OUT, Row, row
from edgesdk.train.graph import Compute, Node

# ---------------------------------------------------------------- pools


def _pool_struct(n: Node, g: ir.Graph | None) -> StructArg:
    a = n.attrs
    top, _, left, _ = a["pad"]
    fields = (
        ("filter_h", str(a["filter"][0])),
        ("filter_w", str(a["filter"][1])),
        ("stride_h", str(a["stride"][0])),
        ("stride_w", str(a["stride"][1])),
        ("pad_top", str(top)),
        ("pad_left", str(left)),
        ("activation", ACTIVATION_ENUM[activation(n, g)]),
    )
    return StructArg("es_pool2d_params", hint(n, "params"), fields)


def _pool_int8_struct(n: Node, g: ir.Graph | None) -> StructArg:
    p = n.attrs["params"]
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
    return StructArg("es_pool2d_int8_params", hint(n, "q"), fields)


# ---------------------------------------------------------------- MEAN over height and width


def _mean_dims(n: Node, a: Mapping[str, Any] | None = None) -> tuple[DimsArg, DimsArg]:
    """The x and y dims of a MEAN (``a``: its attrs, the node's own by default) over H and W."""
    a = n.attrs if a is None else a
    x_shape = tuple(a["x_shape"])
    x4 = es_dims(x_shape)
    reduced = {es_axis(len(x_shape), int(axis)) for axis in a["axes"]}
    spatial_kept = {axis for axis in (1, 2) if axis not in reduced and x4[axis] != 1}
    if not reduced <= {1, 2} or spatial_kept:
        raise unsupported(
            n,
            f"MEAN over axes {tuple(a['axes'])} of a {x_shape} tensor; the C runtime reduces the "
            "spatial axes (height and width) only",
        )
    return DimsArg(x4), DimsArg((x4[0], 1, 1, x4[3]))


def _mean_fwd(n: Node, g: ir.Graph | None) -> tuple[KernelCall, ...]:
    x, y = _mean_dims(n)
    return (KernelCall("es_mean_hw_f32_fwd", (x, BufferArg(n.inputs[0]), y, BufferArg(out(n)))),)


def _mean_bwd(n: Node, g: ir.Graph | None) -> tuple[KernelCall, ...]:
    x, y = _mean_dims(n)
    return (KernelCall("es_mean_hw_f32_bwd", (y, BufferArg(n.inputs[0]), x, BufferArg(out(n)))),)


def _mean_act_bwd(n: Node, g: ir.Graph | None) -> tuple[KernelCall, ...]:
    """es_mean_hw_act_f32_bwd: y is read in the MEAN's input dims, dz written in them."""
    x, y = _mean_dims(n, n.attrs["mean"])
    act = LiteralArg(ACTIVATION_ENUM[n.attrs["act"]["activation"]])
    args = (act, x, BufferArg(n.inputs[0]), y, BufferArg(n.inputs[1]), BufferArg(out(n)))
    return (KernelCall("es_mean_hw_act_f32_bwd", args),)


def _mean_int8_fwd(n: Node, g: ir.Graph | None) -> tuple[KernelCall, ...]:
    x, y = _mean_dims(n)
    names = ("input_zero_point", "output_zero_point", "multiplier", "shift")
    struct = StructArg("es_mean_int8_params", hint(n, "q"), int_fields(n.attrs["params"], names))
    return (KernelCall("es_mean_hw_int8_fwd", (struct, x, BufferArg(n.inputs[0]), y, BufferArg(out(n)))),)


def _mean_act_bwd_int8(n: Node, g: ir.Graph | None) -> tuple[KernelCall, ...]:
    """es_mean_hw_act_int8_bwd: the activation's clamp bounds, y in the MEAN's input dims."""
    x, y = _mean_dims(n, n.attrs["mean"])
    act = n.attrs["act"]
    bounds = (LiteralArg(str(int(act["act_min"]))), LiteralArg(str(int(act["act_max"]))))
    args = (*bounds, x, BufferArg(n.inputs[0]), y, BufferArg(n.inputs[1]), BufferArg(out(n)))
    return (KernelCall("es_mean_hw_act_int8_bwd", args),)


# ---------------------------------------------------------------- PAD


def _pad_fields(x_shape: tuple[int, ...], paddings) -> tuple[tuple[str, str], ...]:  # noqa: ANN001
    """The ``before`` / ``after`` arrays of the paddings, per es_dims axis."""
    before, after = [0, 0, 0, 0], [0, 0, 0, 0]
    for axis, (b, e) in enumerate(paddings):
        target = es_axis(len(x_shape), axis)
        before[target], after[target] = int(b), int(e)
    return (("before", c_ints(before)), ("after", c_ints(after)))


def _pad_struct(n: Node, g: ir.Graph | None) -> StructArg:
    fields = _pad_fields(n.attrs["x_shape"], n.attrs["paddings"])
    return StructArg("es_pad_params", hint(n, "params"), fields)


def _pad_int8_struct(n: Node, g: ir.Graph | None) -> StructArg:
    p = n.attrs["params"]
    fields = (*_pad_fields(n.attrs["x_shape"], p.paddings), ("pad_value", str(p.pad_value)))
    return StructArg("es_pad_int8_params", hint(n, "q"), fields)


# ---------------------------------------------------------------- CONCATENATION


def _axis(n: Node) -> tuple[str, str]:
    return ("axis", str(es_axis(len(n.attrs["y_shape"]), int(n.attrs["axis"]))))


def _concat_inputs(n: Node) -> tuple[LiteralArg, DimsListArg, BufferListArg]:
    """The count, the ``es_dims`` list and the buffer list of a concatenation's inputs."""
    shapes = tuple(es_dims(s) for s in n.attrs["in_shapes"])
    return LiteralArg(str(len(shapes))), DimsListArg(hint(n, "in_dims"), shapes), BufferListArg(
        "inputs", tuple(n.inputs)
    )


def _concat_fwd(n: Node, g: ir.Graph | None) -> tuple[KernelCall, ...]:
    fields = (_axis(n), ("activation", ACTIVATION_ENUM[n.attrs["activation"]]))
    struct = StructArg("es_concat_params", hint(n, "params"), fields)
    args = (struct, *_concat_inputs(n), DimsArg(es_dims(n.attrs["y_shape"])), BufferArg(out(n)))
    return (KernelCall("es_concat_f32_fwd", args),)


def _concat_bwd(n: Node, g: ir.Graph | None) -> tuple[KernelCall, ...]:
    a = n.attrs
    position = int(a["input"])
    fields = (_axis(n), ("offset", str(int(a["offset"]))))
    struct = StructArg("es_concat_slice_params", hint(n, f"slice{position}_params"), fields)
    args = (
        struct,
        DimsArg(es_dims(a["y_shape"])),
        BufferArg(n.inputs[0]),
        DimsArg(es_dims(a["in_shapes"][position])),
        BufferArg(out(n)),
    )
    return (KernelCall("es_concat_f32_bwd", args),)


def _concat_int8_fwd(n: Node, g: ir.Graph | None) -> tuple[KernelCall, ...]:
    p = n.attrs["params"]
    fields = (_axis(n), ("act_min", str(p.act_min)), ("act_max", str(p.act_max)))
    requant = tuple(
        "{" + ", ".join(c_int(v) for v in (q.input_offset, q.output_offset, q.multiplier, q.shift)) + "}"
        for q in p.inputs
    )
    args = (
        StructArg("es_concat_int8_params", hint(n, "q"), fields),
        *_concat_inputs(n),
        ConstArrayArg("es_requant_int8_params", hint(n, "requant"), requant),
        DimsArg(es_dims(n.attrs["y_shape"])),
        BufferArg(out(n)),
    )
    return (KernelCall("es_concat_int8_fwd", args),)


# the (shape, buffer) pairs of a forward (x in, y out), of a backward (dy in, dx out) and of a max
# pool's backward (x, dy in; dx out)
_FWD = ("x_shape", 0, "y_shape", OUT)
_BWD = ("y_shape", 0, "x_shape", OUT)
_MAX_BWD = ("x_shape", 0, "y_shape", 1, OUT)

ROWS: dict[Compute, Row] = {
    C.AVERAGE_POOL_2D_FWD: row("es_avg_pool2d_f32_fwd", _pool_struct, *_FWD),
    C.MAX_POOL_2D_FWD: row("es_max_pool2d_f32_fwd", _pool_struct, *_FWD),
    C.AVERAGE_POOL_2D_BWD: row("es_avg_pool2d_f32_bwd", _pool_struct, *_BWD),
    C.MAX_POOL_2D_BWD: row("es_max_pool2d_f32_bwd", _pool_struct, *_MAX_BWD),
    C.MEAN_FWD: _mean_fwd,
    C.MEAN_BWD: _mean_bwd,
    C.MEAN_ACT_BWD: _mean_act_bwd,
    C.PAD_FWD: row("es_pad_f32_fwd", _pad_struct, *_FWD),
    C.PAD_BWD: row("es_pad_f32_bwd", _pad_struct, *_BWD),
    C.CONCATENATION_FWD: _concat_fwd,
    C.CONCATENATION_BWD: _concat_bwd,
    # int8
    C.AVERAGE_POOL_2D_INT8_FWD: row("es_avg_pool2d_int8_fwd", _pool_int8_struct, *_FWD),
    C.MAX_POOL_2D_INT8_FWD: row("es_max_pool2d_int8_fwd", _pool_int8_struct, *_FWD),
    C.MAX_POOL_2D_BWD_INT8: row("es_max_pool2d_int8_bwd", _pool_struct, *_MAX_BWD),
    C.MEAN_INT8_FWD: _mean_int8_fwd,
    C.MEAN_ACT_BWD_INT8: _mean_act_bwd_int8,
    C.PAD_INT8_FWD: row("es_pad_int8_fwd", _pad_int8_struct, *_FWD),
    C.CONCATENATION_INT8_FWD: _concat_int8_fwd,
}
