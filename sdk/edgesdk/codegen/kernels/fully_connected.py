"""FULLY_CONNECTED: the float32 rows and the int8 ones (TFLite-Micro-exact forward, float32
gradients dequantizing the int8 weight)."""

from __future__ import annotations

from edgesdk import ir
from edgesdk.codegen.kernels.args import (
    ACTIVATION_ENUM,
    C,
    DimsArg,
    SplitWeightFields,
    StructArg,
    es_dims,
    hint,
)
from edgesdk.codegen.kernels.fast import int8_fwd_kernel
from edgesdk.codegen.kernels.quant import activation_quant, requant_arrays, weights_quant
from edgesdk.codegen.kernels.signature import BIAS_GRAD, Row, backward_in, backward_w, forward, row
from edgesdk.train.graph import Compute, Node


def _fc_struct(n: Node, g: ir.Graph | None) -> StructArg:
    activation = ACTIVATION_ENUM[n.attrs["activation"]]
    return StructArg("es_fully_connected_params", hint(n, "params"), (("activation", activation),))


def _fc_int8_struct(n: Node, g: ir.Graph | None) -> StructArg:
    p = n.attrs["params"]
    fields = (
        ("input_offset", str(p.input_offset)),
        ("weights_offset", str(p.weights_offset)),
        ("output_offset", str(p.output_offset)),
        ("act_min", str(p.act_min)),
        ("act_max", str(p.act_max)),
    )
    split = SplitWeightFields(n.inputs[1], "w_tail", "w_head_channels")
    return StructArg("es_fully_connected_int8_params", hint(n, "q"), fields, requant_arrays(n, p), split)


def fc_dw(n: Node, g: ir.Graph | None) -> DimsArg:
    """The weight gradient of the first ``channels`` outputs: ``[k, features]``."""
    return DimsArg(es_dims((int(n.attrs["channels"]), int(n.attrs["w_shape"][1]))))


ROWS: dict[Compute, Row] = {
    C.FULLY_CONNECTED_FWD: row("es_fully_connected_f32_fwd", *forward(_fc_struct)),
    C.FULLY_CONNECTED_BWD_IN: row("es_fully_connected_f32_bwd_in", *backward_in()),
    C.FULLY_CONNECTED_BWD_W: row("es_fully_connected_f32_bwd_w", *backward_w(fc_dw)),
    C.FULLY_CONNECTED_BWD_B: BIAS_GRAD,
    C.FULLY_CONNECTED_INT8_FWD: row(int8_fwd_kernel, *forward(_fc_int8_struct)),
    C.FULLY_CONNECTED_BWD_IN_INT8: row("es_fully_connected_int8_bwd_in", *backward_in(weights_quant)),
    C.FULLY_CONNECTED_BWD_W_INT8: row(
        "es_fully_connected_int8_bwd_w", *backward_w(fc_dw, activation_quant("x"))
    ),
}
