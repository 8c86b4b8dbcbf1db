"""The int8 rows' shared quantization structs: affine (scale, zero point) of an activation,
per-channel weight quantization, and the requantization arrays of a forward layer."""

from __future__ import annotations

from edgesdk import ir
from edgesdk.codegen.kernels.args import (
    C,
    ConstArrayArg,
    SplitWeightFields,
    StructArg,
    c_float,
    float_array,
    hint,
    int_array,
)
from edgesdk.codegen.kernels.signature import PartFn
from edgesdk.train.graph import Node


def affine_struct(n: Node, suffix: str, scale: float, zero_point: int) -> StructArg:
    fields = (("scale", c_float(scale)), ("zero_point", str(int(zero_point))))
    return StructArg("es_affine_int8_params", hint(n, suffix), fields)


def activation_quant(role: str) -> PartFn:
    """A row part: the ``es_affine_int8_params`` of the node's ``<role>_scale`` / ``<role>_zero_point``
    (``x``: the layer input a weight gradient reads, ``y``: the output an activation's backward reads)."""

    def part(n: Node, g: ir.Graph | None = None) -> StructArg:
        return affine_struct(n, f"{role}q", n.attrs[f"{role}_scale"], n.attrs[f"{role}_zero_point"])

    return part


def weights_quant(n: Node, g: ir.Graph | None = None) -> StructArg:
    """The ``es_weights_int8_quant`` an input gradient dequantizes the int8 weight with."""
    a = n.attrs
    fields = (("zero_point", str(int(a["w_zero_point"]))),)
    array = float_array(hint(n, "w_scale"), a["w_scale"])
    depthwise = n.compute is C.DEPTHWISE_CONV_2D_BWD_IN_INT8  # channels innermost: never split
    split = None if depthwise else SplitWeightFields(n.inputs[1], "tail", "head_channels")
    return StructArg("es_weights_int8_quant", hint(n, "wq"), fields, (("scale", array),), split)


def requant_arrays(node: Node, params) -> tuple[tuple[str, ConstArrayArg], ...]:  # noqa: ANN001
    """A forward layer's per-channel multiplier and shift arrays (struct pointer fields)."""
    return (
        ("multiplier", int_array(hint(node, "multiplier"), params.multiplier)),
        ("shift", int_array(hint(node, "shift"), params.shift)),
    )
