"""Elementwise and row-wise layers and their gradients: ADD, LOGISTIC, SOFTMAX, an activation's
backward, the gradient sum; in float32 and in int8 (with QUANTIZE / DEQUANTIZE / requantize)."""

from __future__ import annotations

from collections.abc import Sequence

from edgesdk import ir
from edgesdk.codegen.kernels.args import (
    ACTIVATION_ENUM,
    BufferArg,
    C,
    Dims4,
    DimsArg,
    KernelCall,
    LiteralArg,
    StructArg,
    c_float,
    es_dims,
    hint,
    int_fields,
    out,
    unsupported,
)
from edgesdk.codegen.kernels.quant import activation_quant, affine_struct
from edgesdk.codegen.kernels.signature import OUT, PartFn, Row, flat, literal, row, rows
from edgesdk.train.graph import Compute, Node

# ---------------------------------------------------------------- float32


def _activation_literal(n: Node, g: ir.Graph | None) -> LiteralArg:
    return LiteralArg(ACTIVATION_ENUM[n.attrs["activation"]])


_ADD = row("es_add_f32_fwd", _activation_literal, "y_shape", 0, "y_shape", 1, "y_shape", OUT)


def _add_fwd(n: Node, g: ir.Graph | None) -> tuple[KernelCall, ...]:
    a = n.attrs
    if not (tuple(a["a_shape"]) == tuple(a["b_shape"]) == tuple(a["y_shape"])):
        raise unsupported(
            n,
            f"ADD of shapes {a['a_shape']} and {a['b_shape']} broadcasts; the C runtime adds equal shapes",
        )
    return _ADD(n, g)


def softmax_struct(n: Node, g: ir.Graph | None = None) -> StructArg:
    return StructArg("es_softmax_params", hint(n, "params"), (("beta", c_float(n.attrs["beta"])),))


def _grad_sum(n: Node, g: ir.Graph | None) -> tuple[KernelCall, ...]:
    d = flat(n)
    output = BufferArg(out(n))
    calls = [KernelCall("es_copy_f32", (d, BufferArg(n.inputs[0]), output))]
    calls += [KernelCall("es_accumulate_f32", (d, BufferArg(part), output)) for part in n.inputs[1:]]
    return tuple(calls)


# ---------------------------------------------------------------- int8


def _struct(ctype: str, names: Sequence[str]) -> PartFn:
    """A row part: the ``ctype`` struct of the node's ``attrs["params"]`` fields ``names``."""
    return lambda n, g: StructArg(ctype, hint(n, "q"), int_fields(n.attrs["params"], names))


_ADD_INT8_FIELDS = (
    "input1_offset", "input2_offset", "output_offset", "left_shift", "input1_multiplier", "input1_shift",
    "input2_multiplier", "input2_shift", "output_multiplier", "output_shift", "act_min", "act_max",
)


def _aligned(role: str) -> PartFn:
    """A row part: an ADD operand's shape aligned on the output's trailing axes (numpy broadcasting)."""

    def part(n: Node, g: ir.Graph | None) -> DimsArg:
        shape, rank = tuple(n.attrs[role]), len(n.attrs["y_shape"])
        dims: Dims4 = es_dims((1,) * (rank - len(shape)) + shape)
        return DimsArg(dims)

    return part


def _affine(n: Node, g: ir.Graph | None) -> StructArg:
    p = n.attrs["params"]
    return affine_struct(n, "q", p.scale, p.zero_point)


_YQ = activation_quant("y")
_ACT_MIN = literal(lambda n: int(n.attrs["act_min"]))
_ACT_MAX = literal(lambda n: int(n.attrs["act_max"]))

ROWS: dict[Compute, Row] = {
    C.ADD_FWD: _add_fwd,
    C.LOGISTIC_FWD: row("es_logistic_f32_fwd", flat, 0, OUT),
    C.LOGISTIC_BWD: row("es_logistic_f32_bwd", flat, 0, 1, OUT),
    C.SOFTMAX_FWD: row("es_softmax_f32_fwd", softmax_struct, rows, 0, OUT),
    C.SOFTMAX_BWD: row("es_softmax_f32_bwd", softmax_struct, rows, 0, 1, OUT),
    C.ACT_BWD: row("es_act_f32_bwd", _activation_literal, flat, 0, 1, OUT),
    C.GRAD_SUM: _grad_sum,
    # int8
    C.ADD_INT8_FWD: row(
        "es_add_int8_fwd",
        _struct("es_add_int8_params", _ADD_INT8_FIELDS),
        _aligned("a_shape"), 0, _aligned("b_shape"), 1, "y_shape", OUT,
    ),
    C.LOGISTIC_INT8_FWD: row(
        "es_logistic_int8_fwd",
        _struct("es_logistic_int8_params",
                ("input_zero_point", "input_range_radius", "input_multiplier", "input_left_shift")),
        flat, 0, OUT,
    ),
    C.SOFTMAX_INT8_FWD: row(
        "es_softmax_int8_fwd",
        _struct("es_softmax_int8_params", ("input_multiplier", "input_left_shift", "diff_min")),
        rows, 0, OUT,
    ),
    C.QUANTIZE_INT8_FWD: row("es_quantize_f32_int8_fwd", _affine, flat, 0, OUT),
    C.DEQUANTIZE_INT8_FWD: row("es_dequantize_int8_f32_fwd", _affine, flat, 0, OUT),
    C.REQUANTIZE_INT8_FWD: row(
        "es_requantize_int8_fwd",
        _struct("es_requant_int8_params", ("input_offset", "output_offset", "multiplier", "shift")),
        flat, 0, OUT,
    ),
    C.ACT_BWD_INT8: row("es_act_int8_bwd", _ACT_MIN, _ACT_MAX, flat, 0, 1, OUT),
    C.LOGISTIC_BWD_INT8: row("es_logistic_int8_bwd", _YQ, flat, 0, 1, OUT),
    C.SOFTMAX_BWD_INT8: row("es_softmax_int8_bwd", softmax_struct, _YQ, rows, 0, 1, OUT),
}
