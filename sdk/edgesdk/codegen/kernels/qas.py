"""The int8 updates: quantization-aware scaling (QAS) of int8 weights and int32 biases, alone or
fused into the weight / bias gradient that feeds them (edgesdk/train_int8.h)."""

from __future__ import annotations

from edgesdk import ir
from edgesdk.codegen.kernels.args import (
    NULL,
    ROUNDING_ENUM,
    Arg,
    BufferArg,
    C,
    DimsArg,
    KernelCall,
    StructArg,
    WorkspaceArg,
    c_float,
    es_dims,
    float_array,
)
from edgesdk.codegen.kernels.conv import conv_struct
from edgesdk.codegen.kernels.quant import activation_quant
from edgesdk.codegen.kernels.signature import Row
from edgesdk.train.graph import Compute, Node


def _update_state(n: Node, first: int) -> tuple[Arg, Arg]:
    """The master copy and xorshift32 state arguments of an update (NULL when absent): the
    inputs after the first ``first`` ones, in the graph's order (master, then rng)."""
    rest = list(n.inputs[first:])
    master: Arg = BufferArg(rest.pop(0)) if n.attrs["master"] else NULL
    rng: Arg = BufferArg(rest.pop(0)) if n.attrs["rounding"].value == "stochastic" else NULL
    return master, rng


def _qas_layer(n: Node) -> StructArg:
    a = n.attrs
    fields = (
        ("lr", c_float(a["lr"])),
        ("rounding", ROUNDING_ENUM[a["rounding"].value]),
        ("channels", str(int(a["channels"]))),
    )
    array = float_array(f"{n.inputs[0]}_factor", a["factor"])
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
    factor = float_array(f"{n.inputs[0]}_factor", a["factor"])
    master, rng = _update_state(n, 2)
    head = (params, qas_span(n), factor, BufferArg(n.inputs[1]))
    if a["master"]:
        function = "es_qas_int8_master_update" if weight else "es_qas_int32_master_update"
        return (KernelCall(function, (*head, master, BufferArg(n.inputs[0]))),)
    function = "es_qas_int8_update" if weight else "es_qas_int32_update"
    return (KernelCall(function, (*head, rng, BufferArg(n.inputs[0]))),)


_XQ = activation_quant("x")
_BWD_W_QAS = {
    C.CONV_2D_BWD_W_QAS: "es_conv2d_int8_bwd_w_qas",
    C.DEPTHWISE_CONV_2D_BWD_W_QAS: "es_depthwise_conv2d_int8_bwd_w_qas",
    # same bits as es_fully_connected_int8_bwd_w_qas, faster at batch 1 (fully_connected_fast_int8.h)
    C.FULLY_CONNECTED_BWD_W_QAS: "es_fully_connected_fast_int8_bwd_w_qas",
}


def _bwd_w_qas(n: Node, g: ir.Graph | None) -> tuple[KernelCall, ...]:
    a = n.attrs
    w, dz, x = n.inputs[:3]
    master, rng = _update_state(n, 3)
    fc = n.compute is C.FULLY_CONNECTED_BWD_W_QAS
    head = (_XQ(n, g),) if fc else (conv_struct(n, g), _XQ(n, g))
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
    return (KernelCall(_BWD_W_QAS[n.compute], args),)


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


ROWS: dict[Compute, Row] = {
    C.QAS_UPDATE_INT8: _qas_update,
    C.QAS_UPDATE_INT32: _qas_update,
    C.CONV_2D_BWD_W_QAS: _bwd_w_qas,
    C.DEPTHWISE_CONV_2D_BWD_W_QAS: _bwd_w_qas,
    C.FULLY_CONNECTED_BWD_W_QAS: _bwd_w_qas,
    C.BIAS_BWD_QAS: _bias_bwd_qas,
}
