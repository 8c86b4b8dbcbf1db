"""The argument kinds of a kernel call and the literals and shapes every row writes.

A row (:mod:`edgesdk.codegen.kernels`) returns :class:`KernelCall` values: a C function name and
its arguments in prototype order, each one of the kinds below. The model assembler
(:mod:`edgesdk.codegen.model`) resolves buffers to C expressions and declares the shapes, structs
and arrays; the templates print the calls.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from edgesdk import ir
from edgesdk.errors import NumericError, UnsupportedOpError
from edgesdk.train.graph import Compute, Node

C = Compute
Shape = tuple[int, ...]
Dims4 = tuple[int, int, int, int]

ACTIVATION_ENUM = {
    ir.Activation.NONE: "ES_ACT_NONE",
    ir.Activation.RELU: "ES_ACT_RELU",
    ir.Activation.RELU6: "ES_ACT_RELU6",
}

ROUNDING_ENUM = {"nearest": "ES_ROUND_NEAREST", "stochastic": "ES_ROUND_STOCHASTIC"}

INT32_MIN_LITERAL = "(-2147483647 - 1)"


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
    kernel runs, placed by the arena layout like any buffer (kernels in ``ARENA_WORKSPACE``);
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

NULL = LiteralArg("NULL")


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
    wide = np.asarray(values, dtype=np.float64).reshape(-1)
    with np.errstate(over="ignore"):
        flat = wide.astype(np.float32)
    if not np.all(np.isfinite(flat)):
        bad = wide[~np.isfinite(flat)][0]
        raise NumericError(f"{bad:g} is beyond float32's range (largest {np.finfo(np.float32).max:.4g})")
    texts = [str(v) for v in flat]
    return [t + ("f" if ("." in t or "e" in t) else ".0f") for t in texts]


def c_int(value: int) -> str:
    """A C literal of an int32 value (INT32_MIN written so that it stays an int)."""
    value = int(value)
    return INT32_MIN_LITERAL if value == -(2**31) else str(value)


def c_ints(values: Sequence[int]) -> str:
    """A brace list of ints (an array field's initializer)."""
    return "{" + ", ".join(str(int(v)) for v in values) + "}"


def int_array(hint: str, values: Sequence[int]) -> ConstArrayArg:
    return ConstArrayArg("int32_t", hint, tuple(c_int(v) for v in values))


def float_array(hint: str, values: Sequence[float]) -> ConstArrayArg:
    return ConstArrayArg("float", hint, tuple(c_floats(np.asarray(values, dtype=np.float32))))


def int_fields(params, names: Sequence[str]) -> tuple[tuple[str, str], ...]:  # noqa: ANN001
    """The struct fields ``names`` read from the attributes of the same names of ``params``."""
    return tuple((name, c_int(getattr(params, name))) for name in names)


def element_count(shape: Sequence[int]) -> int:
    return int(np.prod(shape, dtype=np.int64))


# ---------------------------------------------------------------- node helpers


def layer(node: Node) -> str:
    """The node's layer part: ``conv_2d_0`` for ``conv_2d_0.bwd_w``."""
    return node.name.rsplit(".", 1)[0] if "." in node.name else node.name


def hint(node: Node, suffix: str) -> str:
    return f"{layer(node)}_{suffix}"


def out(node: Node) -> str:
    assert node.output is not None, node.name
    return node.output


def activation(node: Node, source: ir.Graph | None) -> ir.Activation:
    """The node's fused activation, or (backward nodes) that of the op it came from."""
    if "activation" in node.attrs:
        return node.attrs["activation"]
    if source is not None and node.op is not None:
        return source.ops[node.op].activation
    return ir.Activation.NONE


def unsupported(node: Node, what: str) -> UnsupportedOpError:
    return UnsupportedOpError(f"node {node.name} ({node.compute.value}): {what}")
