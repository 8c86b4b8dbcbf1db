"""CONV_2D and DEPTHWISE_CONV_2D in int8 (docs/int8-codegen.md): the TFLite-Micro-exact forward
(edgesdk/kernels_int8.h), the fused convolution -> depthwise forward, and the float32 gradients
that dequantize inside the kernels (edgesdk/train_int8.h)."""

from __future__ import annotations

from collections.abc import Sequence

from edgesdk import ir
from edgesdk.codegen.kernels.args import (
    NULL,
    Arg,
    BufferArg,
    C,
    DimsArg,
    KernelCall,
    LiteralArg,
    SplitWeightFields,
    StructArg,
    WorkspaceArg,
    es_dims,
    int_array,
    layer,
    out,
)
from edgesdk.codegen.kernels.conv import conv_dw, conv_struct, depthwise_dw
from edgesdk.codegen.kernels.fast import int8_fwd_kernel
from edgesdk.codegen.kernels.quant import activation_quant, weights_quant
from edgesdk.codegen.kernels.signature import Row, backward_in, backward_w, forward, row
from edgesdk.train.graph import Compute, Node


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
        ("multiplier", int_array(f"{layer}_multiplier", p.multiplier)),
        ("shift", int_array(f"{layer}_shift", p.shift)),
    )
    # a depthwise weight has its channels innermost: never split
    split = None if depthwise or weight is None else SplitWeightFields(weight, "w_tail", "w_head_channels")
    return StructArg(ctype, f"{layer}_q", tuple(fields), arrays, split)


def _conv_int8_struct(n: Node, g: ir.Graph | None) -> StructArg:
    depthwise = n.compute is C.DEPTHWISE_CONV_2D_INT8_FWD
    return conv_int8_params(n.attrs["params"], depthwise, layer(n), n.inputs[1])


def _weight_and_bias(values: Sequence[str]) -> tuple[str, Arg]:
    """A layer's weight value and its bias argument (NULL without a bias)."""
    return values[0], BufferArg(values[1]) if len(values) > 1 else NULL


def _conv_depthwise_int8_fwd(n: Node, g: ir.Graph | None) -> tuple[KernelCall, ...]:
    """es_conv_depthwise_int8_fwd: both layers' structs (named after each layer, so they are the
    unfused kernels' structs), the middle tensor's shape only, and the ring in the arena."""
    conv, depthwise = n.attrs["conv"], n.attrs["depthwise"]
    layers = layer(n).split("-")
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
        BufferArg(out(n)),
        WorkspaceArg(),
        LiteralArg(f"{n.workspace_bytes}u"),
    )
    return (KernelCall("es_conv_depthwise_int8_fwd", args),)


_XQ = activation_quant("x")

ROWS: dict[Compute, Row] = {
    C.CONV_2D_INT8_FWD: row(int8_fwd_kernel, *forward(_conv_int8_struct)),
    C.DEPTHWISE_CONV_2D_INT8_FWD: row(int8_fwd_kernel, *forward(_conv_int8_struct)),
    C.CONV_DEPTHWISE_INT8_FWD: _conv_depthwise_int8_fwd,
    C.CONV_2D_BWD_IN_INT8: row("es_conv2d_int8_bwd_in", *backward_in(conv_struct, weights_quant)),
    C.CONV_2D_BWD_W_INT8: row("es_conv2d_int8_bwd_w", *backward_w(conv_dw, conv_struct, _XQ)),
    C.DEPTHWISE_CONV_2D_BWD_IN_INT8: row(
        "es_depthwise_conv2d_int8_bwd_in", *backward_in(conv_struct, weights_quant)
    ),
    C.DEPTHWISE_CONV_2D_BWD_W_INT8: row(
        "es_depthwise_conv2d_int8_bwd_w", *backward_w(depthwise_dw, conv_struct, _XQ)
    ),
}
