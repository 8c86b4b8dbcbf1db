"""Rows described by their signature: the C function and its arguments in prototype order.

Most rows only line up a parameter struct, then (shape, buffer) pairs of the node's inputs and
output. :func:`row` builds such a row from a tuple of *parts*, each read from the node:

- ``"x_shape"`` (any str): ``es_dims`` of that attribute (a shape);
- ``0``, ``1``, ... (int): the buffer of that node input;
- :data:`OUT`: the buffer of the node's output; :data:`BIAS`: input 2, or NULL without a bias;
- :data:`LOSS`, :data:`STEP`: the loss scalar, the optimizer step counter;
- a callable ``(node, source) -> Arg``: anything else (structs, derived shapes, literals).

The weighted layers (convolution, depthwise convolution, fully connected; fp32 and int8) share
three prototypes, :func:`forward`, :func:`backward_in` and :func:`backward_w`: only their leading
parameter structs (and the weight gradient's shape) differ.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from edgesdk import ir
from edgesdk.codegen.kernels.args import (
    NULL,
    Arg,
    BufferArg,
    DimsArg,
    KernelCall,
    LiteralArg,
    LossArg,
    StepArg,
    es_dims,
    out,
)
from edgesdk.train.graph import Node

PartFn = Callable[[Node, "ir.Graph | None"], Arg]
Part = str | int | PartFn
Row = Callable[[Node, "ir.Graph | None"], tuple[KernelCall, ...]]


def _output(n: Node, g: ir.Graph | None) -> Arg:
    return BufferArg(out(n))


def _bias(n: Node, g: ir.Graph | None) -> Arg:
    return BufferArg(n.inputs[2]) if n.attrs["has_bias"] else NULL


def _loss(n: Node, g: ir.Graph | None) -> Arg:
    return LossArg()


def _step(n: Node, g: ir.Graph | None) -> Arg:
    return StepArg()


OUT: PartFn = _output
BIAS: PartFn = _bias
LOSS: PartFn = _loss
STEP: PartFn = _step


def flat(n: Node, g: ir.Graph | None = None) -> DimsArg:
    """An elementwise node's ``size`` elements as ``{1, 1, 1, size}``."""
    return DimsArg(es_dims((int(n.attrs["size"]),)))


def rows(n: Node, g: ir.Graph | None = None) -> DimsArg:
    """A row-wise node's (softmax, its loss) ``rows`` x ``classes``."""
    return DimsArg(es_dims((int(n.attrs["rows"]), int(n.attrs["classes"]))))


def _arg(part: Part, n: Node, g: ir.Graph | None) -> Arg:
    if isinstance(part, str):
        return DimsArg(es_dims(n.attrs[part]))
    if isinstance(part, int):
        return BufferArg(n.inputs[part])
    return part(n, g)


@dataclass(frozen=True)
class Signature:
    """One C call whose arguments are ``parts`` (see the module); ``function`` is the C name, or
    a callable choosing it from the node (the int8 fast forward kernels)."""

    function: str | Callable[[Node], str]
    parts: tuple[Part, ...]

    def __call__(self, n: Node, g: ir.Graph | None) -> tuple[KernelCall, ...]:
        function = self.function if isinstance(self.function, str) else self.function(n)
        return (KernelCall(function, tuple(_arg(p, n, g) for p in self.parts)),)


def row(function: str | Callable[[Node], str], *parts: Part) -> Signature:
    return Signature(function, parts)


def literal(text: Callable[[Node], object]) -> PartFn:
    """A literal argument: ``str(text(node))``."""
    return lambda n, g: LiteralArg(str(text(n)))


# ---------------------------------------------------------------- the weighted layers' prototypes


def forward(*head: Part) -> tuple[Part, ...]:
    """``(head..., x, x_data, w, w_data, bias, y, y_data)``."""
    return (*head, "x_shape", 0, "w_shape", 1, BIAS, "y_shape", OUT)


def backward_in(*head: Part) -> tuple[Part, ...]:
    """``(head..., y, dz, w, w_data, x, dx)``: the input gradient."""
    return (*head, "y_shape", 0, "w_shape", 1, "x_shape", OUT)


def backward_w(dw: Part, *head: Part) -> tuple[Part, ...]:
    """``(head..., y, dz, x, x_data, dw_dims, dw)``: the weight gradient of the trained channels."""
    return (*head, "y_shape", 0, "x_shape", 1, dw, OUT)


BIAS_GRAD = row("es_bias_grad_f32", "y_shape", 0, literal(lambda n: int(n.attrs["channels"])), OUT)
