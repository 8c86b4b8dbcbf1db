"""Which runtime function each training-graph node calls, and with what: one row per Compute.

``KERNEL_CALLS[compute](node, source)`` returns the C call(s) of a node as data: the function name
and its arguments in prototype order. Arguments name *values* (buffers), shapes (rendered as
``static const es_dims``), parameter structs (rendered as ``static const`` structs whose field
values are computed here) and literals (:mod:`.args`). The model assembler
(:mod:`edgesdk.codegen.model`) resolves buffers to C expressions and the templates print the calls.

The rows live by layer family: :mod:`.conv` and :mod:`.conv_int8` (CONV_2D, DEPTHWISE_CONV_2D),
:mod:`.fully_connected`, :mod:`.elementwise` (ADD, LOGISTIC, SOFTMAX, activations, gradient sums,
quantize / requantize), :mod:`.spatial` (pools, MEAN, PAD, CONCATENATION), :mod:`.training`
(losses, fp32 optimizers) and :mod:`.qas` (the int8 updates). Most rows are a signature (:mod:`.signature`):
the parameter structs, then which attributes' shapes and which node inputs, in prototype order.
:mod:`.fast` chooses the int8 forward kernel of a weighted layer.

Shapes of rank < 4 map onto ``es_dims`` as the runtime's common.h says: ``[K] -> {1, 1, 1, K}``,
``[N, K] -> {N, 1, 1, K}``, ``[N, W, C] -> {N, 1, W, C}``; axes map with them (:func:`es_axis`).
What the fp32 runtime cannot express (a MEAN over channels, a broadcasting ADD, a softmax loss
with beta != 1) raises :class:`edgesdk.errors.UnsupportedOpError` naming the node.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from edgesdk import ir
from edgesdk.codegen.kernels import conv, conv_int8, elementwise, fully_connected, qas, spatial, training
from edgesdk.codegen.kernels.args import (
    ACTIVATION_ENUM,
    INT32_MIN_LITERAL,
    ROUNDING_ENUM,
    Arg,
    BufferArg,
    BufferListArg,
    C,
    ConstArrayArg,
    Dims4,
    DimsArg,
    DimsListArg,
    KernelCall,
    LiteralArg,
    LossArg,
    Shape,
    SplitWeightFields,
    StepArg,
    StructArg,
    WorkspaceArg,
    c_float,
    c_floats,
    c_int,
    es_axis,
    es_dims,
)
from edgesdk.codegen.kernels.conv_int8 import conv_int8_params
from edgesdk.codegen.kernels.fast import (
    FAST_TO_REFERENCE,
    REFERENCE_INT8_FWD,
    LayerInt8Params,
    fast_int8_fwd,
    int8_fwd_kernel,
)
from edgesdk.codegen.kernels.qas import qas_span
from edgesdk.codegen.kernels.signature import Row
from edgesdk.codegen.kernels.training import optim_span, optimizer_struct
from edgesdk.errors import NumericError
from edgesdk.train.graph import Compute, Node

__all__ = [
    "ACTIVATION_ENUM", "ARENA_WORKSPACE", "BIT_EXACT", "C", "FAST_TO_REFERENCE", "INT32_MIN_LITERAL",
    "KERNEL_CALLS", "REFERENCE_INT8_FWD", "ROUNDING_ENUM", "Arg", "BufferArg", "BufferListArg",
    "ConstArrayArg", "Dims4", "DimsArg", "DimsListArg", "KernelCall", "LayerInt8Params", "LiteralArg",
    "LossArg", "Shape", "SplitWeightFields", "StepArg", "StructArg", "WorkspaceArg", "c_float",
    "c_floats", "c_int", "conv_int8_params", "es_axis", "es_dims", "fast_int8_fwd", "int8_fwd_kernel",
    "kernel_calls", "optim_span", "optimizer_struct", "qas_span",
]


def _no_call(node: Node, source: ir.Graph | None = None) -> tuple[KernelCall, ...]:
    """The input batch in the arena: the caller wrote it before the step (no code)."""
    return ()


def _table(*families: Mapping[Compute, Row]) -> Mapping[Compute, Row]:
    """The families' rows as one table; a Compute is described by one family only."""
    table: dict[Compute, Row] = {C.INPUT: _no_call}
    for rows in families:
        twice = table.keys() & rows.keys()
        assert not twice, f"Computes with two rows: {sorted(c.name for c in twice)}"
        table.update(rows)
    return MappingProxyType(table)


KERNEL_CALLS: Mapping[Compute, Row] = _table(
    conv.ROWS, conv_int8.ROWS, fully_connected.ROWS, elementwise.ROWS, spatial.ROWS, training.ROWS, qas.ROWS
)

# Kernels whose workspace is a lifetime of the arena layout (keep-all and planner schedules alike):
# the generated call passes its address (WorkspaceArg): the ring of a fused convolution -> depthwise
# node, the gradient chunk of a fused int8 update
ARENA_WORKSPACE: frozenset[Compute] = frozenset(
    {
        C.CONV_DEPTHWISE_INT8_FWD,
        C.CONV_2D_BWD_W_QAS,
        C.DEPTHWISE_CONV_2D_BWD_W_QAS,
        C.FULLY_CONNECTED_BWD_W_QAS,
        C.BIAS_BWD_QAS,
    }
)

# Kernels whose C order of operations is the numpy reference's: given the same inputs their
# outputs are bit-identical (the trace test checks every one). Elementwise kernels, copies,
# pooling (taps added one at a time in window order), depthwise convolution forward and weight
# gradient (one tap / one position at a time), bias gradients and MEAN (running sums along the
# leading axes), and the SGD / momentum updates. The others -- dense convolutions and matrix
# products (BLAS), losses and softmax (exp/log from another library, pairwise sums) and Adam
# (bias correction in double) -- agree to rounding.
BIT_EXACT: frozenset[Compute] = frozenset(
    {
        C.ADD_FWD,
        C.AVERAGE_POOL_2D_FWD,
        C.MAX_POOL_2D_FWD,
        C.MEAN_FWD,
        C.PAD_FWD,
        C.CONCATENATION_FWD,
        C.DEPTHWISE_CONV_2D_FWD,
        C.ACT_BWD,
        C.LOGISTIC_BWD,
        C.AVERAGE_POOL_2D_BWD,
        C.MAX_POOL_2D_BWD,
        C.MEAN_BWD,
        C.MEAN_ACT_BWD,
        C.PAD_BWD,
        C.CONCATENATION_BWD,
        C.DEPTHWISE_CONV_2D_BWD_W,
        C.CONV_2D_BWD_B,
        C.DEPTHWISE_CONV_2D_BWD_B,
        C.FULLY_CONNECTED_BWD_B,
        C.GRAD_SUM,
        C.SGD_UPDATE,
        C.MOMENTUM_UPDATE,
    }
)


def kernel_calls(node: Node, source: ir.Graph | None = None) -> tuple[KernelCall, ...]:
    """The C calls of ``node``; ``source`` (the model) names the fused activation of backward nodes
    so that a layer's forward and backward calls share one parameter struct."""
    try:
        return KERNEL_CALLS[node.compute](node, source)
    except NumericError as error:
        raise NumericError(
            f"node {node.name} needs a constant the device cannot hold: {error}; it comes from the "
            "model's quantization scales or the optimizer's hyper-parameters (check both, e.g. a smaller "
            "--lr or weight decay)"
        ) from None
