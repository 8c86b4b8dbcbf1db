"""The training graph: one training step of a model as a DAG of kernel calls over named buffers.

A :class:`TrainingGraph` is what the planner schedules, what the code generator renders and what
:mod:`edgesdk.reference` executes. It holds two programs over one set of :class:`Value` buffers:

- ``nodes``: the training step (forward, loss, backward, update) in a valid execution order, with
  nothing in it that no parameter update needs;
- ``inference_nodes``: the forward program that computes the model's outputs (it keeps a trailing
  SOFTMAX that training skips).

Every node calls one kernel (:class:`Compute`), reads ``inputs``, writes at most one buffer
(``output``), may write a small side result (the loss scalar, ``side_outputs``) and, for optimizer
updates, overwrites resident buffers in place (``in_place``). ``attrs`` carry everything the kernel
needs, already resolved to numbers (see docs/training-graph.md for the per-kernel contract).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np

from edgesdk import ir
from edgesdk.train.spec import Int8Training, LossKind, OptimizerSpec, Precision


class Stage(enum.Enum):
    FORWARD = "forward"
    LOSS = "loss"
    BACKWARD = "backward"
    UPDATE = "update"


class Compute(enum.Enum):
    """The closed set of kernels a training graph calls. The C runtime has one function per member."""

    # -- forward, one per IR op kind (RESHAPE / QUANTIZE / DEQUANTIZE are folded away: no kernel)
    CONV_2D_FWD = "conv_2d_fwd"
    DEPTHWISE_CONV_2D_FWD = "depthwise_conv_2d_fwd"
    FULLY_CONNECTED_FWD = "fully_connected_fwd"
    ADD_FWD = "add_fwd"
    LOGISTIC_FWD = "logistic_fwd"
    SOFTMAX_FWD = "softmax_fwd"
    AVERAGE_POOL_2D_FWD = "average_pool_2d_fwd"
    MAX_POOL_2D_FWD = "max_pool_2d_fwd"
    MEAN_FWD = "mean_fwd"
    PAD_FWD = "pad_fwd"
    CONCATENATION_FWD = "concatenation_fwd"
    # -- loss: reads logits (or outputs) and labels, writes the first gradient and the loss scalar
    LOSS_SOFTMAX_XENT = "loss_softmax_xent"
    LOSS_MSE = "loss_mse"
    # -- backward of a fused activation: dz = dy * f'(z), from the saved output y alone
    ACT_BWD = "act_bwd"
    # -- backward of parameterized layers: input, weight and bias gradients
    CONV_2D_BWD_IN = "conv_2d_bwd_in"
    CONV_2D_BWD_W = "conv_2d_bwd_w"
    CONV_2D_BWD_B = "conv_2d_bwd_b"
    DEPTHWISE_CONV_2D_BWD_IN = "depthwise_conv_2d_bwd_in"
    DEPTHWISE_CONV_2D_BWD_W = "depthwise_conv_2d_bwd_w"
    DEPTHWISE_CONV_2D_BWD_B = "depthwise_conv_2d_bwd_b"
    FULLY_CONNECTED_BWD_IN = "fully_connected_bwd_in"
    FULLY_CONNECTED_BWD_W = "fully_connected_bwd_w"
    FULLY_CONNECTED_BWD_B = "fully_connected_bwd_b"
    # -- backward of the other ops (ADD's input gradients alias dz: no kernel)
    LOGISTIC_BWD = "logistic_bwd"
    SOFTMAX_BWD = "softmax_bwd"
    AVERAGE_POOL_2D_BWD = "average_pool_2d_bwd"
    MAX_POOL_2D_BWD = "max_pool_2d_bwd"
    MEAN_BWD = "mean_bwd"
    PAD_BWD = "pad_bwd"
    CONCATENATION_BWD = "concatenation_bwd"
    # -- a MEAN backward fused with the activation backward that alone reads its gradient
    # (edgesdk.train.fuse): dz = pass(y) ? dy[n, c] / count : 0, the broadcast never stored;
    # inputs are y, dy (the MEAN's gradient); attrs "mean" / "act" hold the two nodes' attrs
    MEAN_ACT_BWD = "mean_act_bwd"
    # -- a value read by several ops: its gradient is the sum of their contributions, in input order
    GRAD_SUM = "grad_sum"
    # -- optimizer updates: write the parameter (and the optimizer state) in place
    SGD_UPDATE = "sgd_update"
    MOMENTUM_UPDATE = "momentum_update"
    ADAM_UPDATE = "adam_update"

    # ---- int8 precision (docs/int8-training.md). Forward: TFLite-Micro-exact int8 kernels, every
    # constant in attrs["params"] (edgesdk.quant.prepare_op). QUANTIZE / DEQUANTIZE become nodes
    # when they change the dtype or the quantization.
    CONV_2D_INT8_FWD = "conv_2d_int8_fwd"
    DEPTHWISE_CONV_2D_INT8_FWD = "depthwise_conv_2d_int8_fwd"
    FULLY_CONNECTED_INT8_FWD = "fully_connected_int8_fwd"
    ADD_INT8_FWD = "add_int8_fwd"
    LOGISTIC_INT8_FWD = "logistic_int8_fwd"
    SOFTMAX_INT8_FWD = "softmax_int8_fwd"
    AVERAGE_POOL_2D_INT8_FWD = "average_pool_2d_int8_fwd"
    MAX_POOL_2D_INT8_FWD = "max_pool_2d_int8_fwd"
    MEAN_INT8_FWD = "mean_int8_fwd"
    PAD_INT8_FWD = "pad_int8_fwd"
    CONCATENATION_INT8_FWD = "concatenation_int8_fwd"
    QUANTIZE_INT8_FWD = "quantize_int8_fwd"  # float32 -> int8
    REQUANTIZE_INT8_FWD = "requantize_int8_fwd"  # int8 -> int8 with another scale / zero point
    DEQUANTIZE_INT8_FWD = "dequantize_int8_fwd"  # int8 -> float32
    # -- loss on int8 logits / outputs, dequantized inside the kernel
    LOSS_SOFTMAX_XENT_INT8 = "loss_softmax_xent_int8"
    LOSS_MSE_INT8 = "loss_mse_int8"
    # -- float32 backward kernels that read an int8 forward buffer and dequantize it element by
    # element (s * (q - zp), float32); act_bwd_int8 only compares q with the clamp bounds
    ACT_BWD_INT8 = "act_bwd_int8"
    CONV_2D_BWD_IN_INT8 = "conv_2d_bwd_in_int8"
    CONV_2D_BWD_W_INT8 = "conv_2d_bwd_w_int8"
    DEPTHWISE_CONV_2D_BWD_IN_INT8 = "depthwise_conv_2d_bwd_in_int8"
    DEPTHWISE_CONV_2D_BWD_W_INT8 = "depthwise_conv_2d_bwd_w_int8"
    FULLY_CONNECTED_BWD_IN_INT8 = "fully_connected_bwd_in_int8"
    FULLY_CONNECTED_BWD_W_INT8 = "fully_connected_bwd_w_int8"
    LOGISTIC_BWD_INT8 = "logistic_bwd_int8"
    SOFTMAX_BWD_INT8 = "softmax_bwd_int8"
    MAX_POOL_2D_BWD_INT8 = "max_pool_2d_bwd_int8"
    # -- QAS updates of int8 weights / int32 biases from a gradient buffer (unfused form)
    QAS_UPDATE_INT8 = "qas_update_int8"
    QAS_UPDATE_INT32 = "qas_update_int32"
    # -- fused: the parameter gradient computed chunk by chunk and applied at once (no gradient
    # buffer); the default for int8
    CONV_2D_BWD_W_QAS = "conv_2d_bwd_w_qas"
    DEPTHWISE_CONV_2D_BWD_W_QAS = "depthwise_conv_2d_bwd_w_qas"
    FULLY_CONNECTED_BWD_W_QAS = "fully_connected_bwd_w_qas"
    BIAS_BWD_QAS = "bias_bwd_qas"
    # -- a frozen CONV_2D whose output only a depthwise convolution (multiplier 1) reads, computed
    # with it channel by channel through a ring of producer rows (edgesdk.train.fuse); attrs
    # "conv" / "depthwise" hold the two nodes' attrs, inputs are x, conv w [, b], depthwise w [, b]
    CONV_DEPTHWISE_INT8_FWD = "conv_2d_depthwise_int8_fwd"
    # -- MEAN_ACT_BWD reading an int8 y: the mask is act_bwd_int8's (edgesdk.train.fuse)
    MEAN_ACT_BWD_INT8 = "mean_act_bwd_int8"

    # ---- not a kernel: the planner's node for an input batch kept in the arena (int8 graphs with an
    # int8 input, TrainingGraph.input_node). The caller writes the batch before the step; no code runs
    INPUT = "input"


class ValueKind(enum.Enum):
    INPUT = "input"  # the model input batch, given by the caller (int8 input of an int8 graph: in the arena)
    LABEL = "label"  # integer labels (softmax_xent) or float targets (mse)
    ACTIVATION = "activation"  # a forward output
    GRADIENT = "gradient"  # gradient of an activation (transient)
    LOSS = "loss"  # the scalar loss (side output of the loss node)
    CONSTANT = "constant"  # constant tensor that is never written (frozen weights: flash)
    PARAMETER = "parameter"  # trainable weight or bias (RAM)
    PARAM_GRAD = "param_grad"  # gradient of a parameter (only its trainable channels)
    OPT_STATE = "opt_state"  # optimizer state of a parameter (same shape as its gradient)
    MASTER = "master"  # int8: float32 master copy of a parameter's trainable channels, integer units
    RNG_STATE = "rng_state"  # int8 stochastic rounding: the xorshift32 state (one uint32)


# buffers that hold their contents before a step starts
_PROVIDED = frozenset(
    {
        ValueKind.INPUT,
        ValueKind.LABEL,
        ValueKind.CONSTANT,
        ValueKind.PARAMETER,
        ValueKind.OPT_STATE,
        ValueKind.MASTER,
        ValueKind.RNG_STATE,
    }
)


@dataclass(frozen=True)
class Value:
    """One buffer. ``resident`` buffers live for the whole step outside the planner's arena; the
    input batch of an int8 graph with an int8 input is not resident: it is an arena buffer that the
    caller fills before the step (es_input_int8), dead after its last reader."""

    name: str
    kind: ValueKind
    shape: tuple[int, ...]
    dtype: ir.DType
    resident: bool
    tensor: int | None = None  # IR tensor held (activations, parameters, constants; folded aliases share)
    param: str | None = None  # PARAM_GRAD / OPT_STATE: the parameter value it belongs to
    # int8 CONV_2D / FULLY_CONNECTED weight trained on its first k output channels (axis 0): only
    # those k rows live in RAM, the frozen rows stay constants in flash (split storage)
    head_channels: int | None = None

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def nbytes(self) -> int:
        return self.size * self.dtype.itemsize

    @property
    def resident_size(self) -> int:
        """Elements held in RAM: the trainable rows of a split weight, else all of them."""
        if self.head_channels is None:
            return self.size
        return self.size // self.shape[0] * self.head_channels

    @property
    def resident_nbytes(self) -> int:
        return self.resident_size * self.dtype.itemsize


@dataclass(frozen=True)
class Node:
    """One kernel call. ``index`` is the node's position in the program (``nodes`` or ``inference_nodes``)."""

    index: int
    name: str
    stage: Stage
    compute: Compute
    op: int | None  # IR op index it came from; None for the loss and gradient sums
    inputs: tuple[str, ...]
    output: str | None  # None for updates (they write ``in_place``)
    attrs: Mapping[str, Any]
    macs: int  # multiply-accumulates (MAC-equivalents for non-linear-algebra kernels)
    output_bytes: int  # bytes of ``output`` (0 when there is none)
    workspace_bytes: int  # scratch the kernel needs besides its inputs and output
    side_outputs: tuple[str, ...] = ()
    in_place: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "attrs", MappingProxyType(dict(self.attrs)))

    def __hash__(self) -> int:  # attrs is a mapping: hash by identity fields
        return hash((self.index, self.name, self.stage))


@dataclass(frozen=True, eq=False)
class TrainingGraph:
    """One training step of ``source``; see the module docstring and docs/training-graph.md."""

    name: str
    source: ir.Graph
    values: Mapping[str, Value]
    nodes: tuple[Node, ...]
    inference_nodes: tuple[Node, ...]
    input: str  # value name of the model input batch
    labels: str  # value name of the labels / targets
    loss: str  # value name of the scalar loss
    logits: str  # value the loss reads
    outputs: tuple[str, ...]  # values the inference program produces (the model outputs)
    gradients: Mapping[str, str]  # value name -> name of the value holding its gradient
    batch: int
    loss_kind: LossKind
    optimizer: OptimizerSpec
    precision: Precision
    trainable_channels: Mapping[str, int] = field(default_factory=dict)  # parameter -> channels updated
    int8: Int8Training | None = None  # how int8 parameters are updated (None for fp32 graphs)

    def __post_init__(self) -> None:
        object.__setattr__(self, "values", MappingProxyType(dict(self.values)))
        object.__setattr__(self, "gradients", MappingProxyType(dict(self.gradients)))
        object.__setattr__(self, "trainable_channels", MappingProxyType(dict(self.trainable_channels)))

    # -- lookups
    def value(self, name: str) -> Value:
        return self.values[name]

    def node(self, name: str) -> Node:
        for node in self.nodes:
            if node.name == name:
                return node
        raise KeyError(name)

    def nodes_by_stage(self, stage: Stage) -> tuple[Node, ...]:
        return tuple(node for node in self.nodes if node.stage is stage)

    @property
    def parameters(self) -> tuple[str, ...]:
        """Trainable parameters, in op order."""
        return tuple(v.name for v in self.values.values() if v.kind is ValueKind.PARAMETER)

    @property
    def resident_bytes(self) -> int:
        """Bytes of resident buffers: input (unless it is in the arena, see :attr:`input_node`),
        labels, loss, trainable parameters, their gradients when resident, and optimizer state.
        Frozen constants stay in flash and are not counted, nor are the frozen rows of a split
        weight (:attr:`Value.head_channels`)."""
        return sum(v.resident_nbytes for v in self.values.values() if v.resident)

    @property
    def input_node(self) -> Node | None:
        """The node that stands for the input batch when it lives in the arena (not resident), else
        None. It comes before every node (index -1), reads nothing and runs no kernel: the caller
        wrote the batch before the step. A schedule runs it first and exactly once (the batch can
        be paged out and in, never recomputed); its buffer is the input value, named like it."""
        value = self.values[self.input]
        if value.resident:
            return None
        return Node(
            index=-1,
            name=value.name,
            stage=Stage.FORWARD,
            compute=Compute.INPUT,
            op=None,
            inputs=(),
            output=value.name,
            attrs={},
            macs=0,
            output_bytes=value.nbytes,
            workspace_bytes=0,
        )

    @property
    def scheduled_nodes(self) -> tuple[Node, ...]:
        """The nodes a schedule of the training step runs: the input node (if any), then ``nodes``."""
        first = self.input_node
        return self.nodes if first is None else (first, *self.nodes)

    def deps(self, node: Node, program: tuple[Node, ...] | None = None) -> tuple[str, ...]:
        """Names of the nodes ``node`` must follow: the producers of its inputs, and for an update:

        - with a resident gradient, every parameter-gradient node (all updates come after the whole
          backward pass; the update's own readers are then earlier anyway);
        - with a transient gradient, every backward node that reads the buffers it overwrites (its
          layer's ``bwd_in``), an ordering edge: the update does not read that node's output. The
          fused int8 updates (``*_bwd_w_qas``, ``bias_bwd_qas``) have no gradient buffer and take
          these edges too;
        - the previous update that overwrites one of the same buffers (the int8 graphs' shared
          xorshift32 state): stochastic updates keep the graph's order, so every schedule draws
          the same random numbers for the same elements.

        Forward readers need no edge: every forward node precedes the loss, which precedes every
        gradient."""
        program = self.nodes if program is None else program
        producers = {n.output: n.name for n in program if n.output is not None}
        names: list[str] = []

        def add(name: str) -> None:
            if name not in names:
                names.append(name)

        for value in node.inputs:
            if value in producers:
                add(producers[value])
        if node.stage is not Stage.UPDATE:
            return tuple(names)
        resident_grad = any(
            self.values[v].kind is ValueKind.PARAM_GRAD and self.values[v].resident for v in node.inputs
        )
        written = set(node.in_place)
        previous: str | None = None
        for other in program:
            if other.name == node.name:
                break
            if other.stage is Stage.UPDATE and written.intersection(other.in_place):
                previous = other.name
        if resident_grad:
            for other in program:
                if other.output is not None and self.values[other.output].kind is ValueKind.PARAM_GRAD:
                    add(other.name)
        else:
            for other in program:
                if other.stage is Stage.BACKWARD and written.intersection(other.inputs):
                    add(other.name)
        if previous is not None:
            add(previous)
        return tuple(names)

    def check_schedule(self, schedule: Sequence[str]) -> None:
        """Raise ValueError unless ``schedule`` (node names, a node may repeat: a recomputation)
        computes the training step of ``nodes`` with the same results: every node runs, every
        input was produced earlier, each update runs once, and no node reads a parameter or
        optimizer state after the update that changes it. A planner's schedule also names the
        input node (:attr:`input_node`): it must run first, once (the batch is there when the step
        starts; it cannot be recomputed)."""
        by_name = {node.name: node for node in self.scheduled_nodes}
        first = self.input_node
        produced: set[str] = set()
        changed: dict[str, str] = {}  # value overwritten in place -> the update that did it
        for position, name in enumerate(schedule):
            node = by_name.get(name)
            if node is None:
                raise ValueError(f"step {position}: {name!r} is not a node of this training graph")
            if first is not None and name == first.name and position != 0:
                raise ValueError(
                    f"step {position}: {name} runs after other nodes; the caller's batch is in the "
                    "arena when the step starts, so the input node comes first and runs once"
                )
            for value in node.inputs:
                if value in changed and node.stage is not Stage.UPDATE:
                    raise ValueError(
                        f"step {position}: {name} reads {value} after {changed[value]} changed it"
                    )
                if value in produced or self.values[value].kind in _PROVIDED:
                    continue
                raise ValueError(f"step {position}: {name} reads {value} before any node produced it")
            if node.stage is Stage.UPDATE:
                if node.in_place[0] in changed:
                    raise ValueError(f"step {position}: {name} runs twice")
                changed.update((value, name) for value in node.in_place)
            if node.output is not None:
                produced.add(node.output)
        missing = [node.name for node in self.nodes if node.name not in set(schedule)]
        if missing:
            raise ValueError(f"the schedule never runs {', '.join(missing)}")

    # -- exports
    def to_planner_dict(self) -> dict[str, Any]:
        """The training step in the planner's JSON shape.

        ``{"name", "nodes": [{"name", "kind", "macs", "output_bytes", "workspace_bytes", "deps"}],
        "resident_bytes"}``; kind is ``forward`` (forward stage), ``backward`` (loss and backward
        stages) or ``update``. ``output_bytes`` counts only buffers the planner places: a node whose
        output is resident (a parameter gradient, by default) reports 0, as resident buffers are
        counted once in ``resident_bytes``.

        An input batch in the arena (:attr:`input_node`) is a node of its own, first, that every
        reader of the input depends on: not recomputable (the caller wrote it) and free to run
        (``compute_cycles`` 0); the planner may hold it to its last reader or page it out and in.
        """
        kinds = {
            Stage.FORWARD: "forward",
            Stage.LOSS: "backward",
            Stage.BACKWARD: "backward",
            Stage.UPDATE: "update",
        }
        first = self.input_node
        nodes = [] if first is None else [_input_entry(first)]
        for node in self.nodes:
            out = self.values[node.output] if node.output is not None else None
            reads_input = first is not None and self.input in node.inputs
            nodes.append(
                {
                    "name": node.name,
                    "kind": kinds[node.stage],
                    "macs": int(node.macs),
                    "output_bytes": 0 if out is None or out.resident else int(node.output_bytes),
                    "workspace_bytes": int(node.workspace_bytes),
                    "deps": ([self.input] if reads_input else []) + list(self.deps(node)),
                }
            )
        return {"name": self.name, "nodes": nodes, "resident_bytes": int(self.resident_bytes)}

    def summary(self) -> str:
        """A readable table of the training step: one line per node."""
        lines = [
            f"training graph {self.name!r}: batch {self.batch}, loss {self.loss_kind.value}, "
            f"optimizer {self.optimizer.kind.value}, precision {self.precision.value}"
            + (f" ({_int8_words(self.int8)})" if self.int8 is not None else ""),
            f"{'#':>4}  {'stage':<8} {'node':<36} {'kernel':<26} {'MACs':>12} {'out B':>9} {'work B':>7}",
        ]
        for node in self.nodes:
            lines.append(
                f"{node.index:>4}  {node.stage.value:<8} {node.name:<36} {node.compute.value:<26} "
                f"{node.macs:>12,} {node.output_bytes:>9,} {node.workspace_bytes:>7,}"
            )
        total = sum(node.macs for node in self.nodes)
        lines.append(f"total MACs {total:,}; resident bytes {self.resident_bytes:,}")
        return "\n".join(lines)


def _input_entry(node: Node) -> dict[str, Any]:
    """The planner's node for the input batch in the arena (see TrainingGraph.to_planner_dict)."""
    return {
        "name": node.name,
        "kind": "forward",
        "macs": 0,
        "output_bytes": int(node.output_bytes),
        "workspace_bytes": 0,
        "deps": [],
        "compute_cycles": 0,
        "recomputable": False,
    }


def _int8_words(options: Int8Training) -> str:
    words = ["qas" if options.qas else "noqas", options.rounding.value]
    words += ["master"] if options.master else []
    words += ["fused" if options.fused else "unfused"]
    words += [] if options.fuse else ["nofuse"]
    return ", ".join(words)
