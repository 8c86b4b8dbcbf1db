"""CONV_2D and DEPTHWISE_CONV_2D in float32: forward, input, weight and bias gradients."""

from __future__ import annotations

from edgesdk import ir
from edgesdk.codegen.kernels.args import (
    ACTIVATION_ENUM,
    C,
    DimsArg,
    StructArg,
    activation,
    es_dims,
    hint,
)
from edgesdk.codegen.kernels.signature import BIAS_GRAD, Row, backward_in, backward_w, forward, row
from edgesdk.train.graph import Compute, Node

_DEPTHWISE = (
    C.DEPTHWISE_CONV_2D_FWD,
    C.DEPTHWISE_CONV_2D_BWD_IN,
    C.DEPTHWISE_CONV_2D_BWD_W,
    C.DEPTHWISE_CONV_2D_BWD_IN_INT8,
    C.DEPTHWISE_CONV_2D_BWD_W_INT8,
    C.DEPTHWISE_CONV_2D_BWD_W_QAS,
)


def conv_struct(node: Node, source: ir.Graph | None) -> StructArg:
    """The layer's ``es_conv2d_params`` / ``es_depthwise_conv2d_params`` (shared by its fp32
    kernels and the int8 backward kernels)."""
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
    fields.append(("activation", ACTIVATION_ENUM[activation(node, source)]))
    return StructArg(ctype, hint(node, "params"), tuple(fields))


def conv_dw(n: Node, g: ir.Graph | None) -> DimsArg:
    """The weight gradient of the first ``channels`` output channels: ``[k, kh, kw, ic]``."""
    w = tuple(n.attrs["w_shape"])
    return DimsArg(es_dims((int(n.attrs["channels"]), *w[1:])))


def depthwise_dw(n: Node, g: ir.Graph | None) -> DimsArg:
    """A depthwise weight gradient (channels innermost): ``[1, kh, kw, k]``."""
    w = tuple(n.attrs["w_shape"])
    return DimsArg(es_dims((*w[:3], int(n.attrs["channels"]))))


ROWS: dict[Compute, Row] = {
    C.CONV_2D_FWD: row("es_conv2d_f32_fwd", *forward(conv_struct)),
    C.CONV_2D_BWD_IN: row("es_conv2d_f32_bwd_in", *backward_in(conv_struct)),
    C.CONV_2D_BWD_W: row("es_conv2d_f32_bwd_w", *backward_w(conv_dw, conv_struct)),
    C.CONV_2D_BWD_B: BIAS_GRAD,
    C.DEPTHWISE_CONV_2D_FWD: row("es_depthwise_conv2d_f32_fwd", *forward(conv_struct)),
    C.DEPTHWISE_CONV_2D_BWD_IN: row("es_depthwise_conv2d_f32_bwd_in", *backward_in(conv_struct)),
    C.DEPTHWISE_CONV_2D_BWD_W: row("es_depthwise_conv2d_f32_bwd_w", *backward_w(depthwise_dw, conv_struct)),
    C.DEPTHWISE_CONV_2D_BWD_B: BIAS_GRAD,
}
