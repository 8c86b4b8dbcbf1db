"""The loss kernels (float32 and int8 logits) and the float32 optimizers (SGD, momentum, Adam)."""

from __future__ import annotations

from edgesdk import ir
from edgesdk.codegen.kernels.args import (
    C,
    KernelCall,
    StructArg,
    c_float,
    element_count,
    unsupported,
)
from edgesdk.codegen.kernels.signature import LOSS, OUT, STEP, Row, flat, row, rows
from edgesdk.train.graph import Compute, Node

# ---------------------------------------------------------------- losses

_XENT = row("es_loss_softmax_xent_f32", rows, 0, 1, LOSS, OUT)


def _loss_xent(n: Node, g: ir.Graph | None) -> tuple[KernelCall, ...]:
    if float(n.attrs["beta"]) != 1.0:
        beta = n.attrs["beta"]
        raise unsupported(n, f"the model's softmax has beta {beta}; the C loss supports beta 1 only")
    return _XENT(n, g)


def _loss_int8_struct(n: Node, g: ir.Graph | None) -> StructArg:
    a = n.attrs
    xent = n.compute is C.LOSS_SOFTMAX_XENT_INT8
    fields = (
        ("scale", c_float(a["scale"])),
        ("zero_point", str(int(a["zero_point"]))),
        ("beta", c_float(a["beta"] if xent else 1.0)),
    )
    return StructArg("es_loss_int8_params", "loss_q", fields)


# ---------------------------------------------------------------- optimizers


def optimizer_struct(node: Node, source: ir.Graph | None = None) -> StructArg:
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


def optim_span(node: Node, source: ir.Graph | None = None) -> StructArg:
    """The region an update touches: the first ``channels`` along ``channel_axis``, as rows of
    contiguous elements in the parameter (stride: the full channel extent) and in the compact
    gradient (stride: ``channels``)."""
    a = node.attrs
    shape, axis, k = tuple(a["shape"]), int(a["channel_axis"]), int(a["channels"])
    rows_ = element_count(shape[:axis])
    inner = element_count(shape[axis + 1 :])
    cols = k * inner
    param = node.inputs[0]
    fields = (
        ("rows", str(rows_)),
        ("cols", str(cols)),
        ("param_stride", str(shape[axis] * inner)),
        ("grad_stride", str(cols)),
    )
    return StructArg("es_optim_span", f"{param}_span", fields)


# inputs: 0 the parameter, 1 its gradient, then the optimizer state (velocity; Adam's m and v)
ROWS: dict[Compute, Row] = {
    C.LOSS_SOFTMAX_XENT: _loss_xent,
    C.LOSS_MSE: row("es_loss_mse_f32", flat, 0, 1, LOSS, OUT),
    C.LOSS_SOFTMAX_XENT_INT8: row("es_loss_softmax_xent_int8", _loss_int8_struct, rows, 0, 1, LOSS, OUT),
    C.LOSS_MSE_INT8: row("es_loss_mse_int8", _loss_int8_struct, flat, 0, 1, LOSS, OUT),
    C.SGD_UPDATE: row("es_sgd_f32_update", optimizer_struct, optim_span, 1, 0),
    C.MOMENTUM_UPDATE: row("es_sgd_momentum_f32_update", optimizer_struct, optim_span, 1, 2, 0),
    C.ADAM_UPDATE: row("es_adam_f32_update", optimizer_struct, STEP, optim_span, 1, 2, 3, 0),
}
