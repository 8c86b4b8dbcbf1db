"""Node fusion: two kernels that always run back to back become one, so the tensor between them is
never stored. Each fused node computes every element with its two kernels' own operations, so the
results are the unfused pair's bit for bit: fusing changes memory, not numbers.

**Forward, int8: a frozen convolution and the depthwise convolution it feeds**
(:func:`fuse_conv_depthwise`). In MobileNet-style blocks a 1x1 expansion convolution writes the
block's widest tensor and a depthwise convolution reads it right away. When the early layers are
frozen, nothing else ever needs that tensor: the pair becomes one ``conv_2d_depthwise_int8_fwd``
node (``es_conv_depthwise_int8_fwd``) that computes the convolution's output rows of one channel
at a time into a small ring and never stores the middle tensor. A pair (P, D) fuses when

- P is ``conv_2d_int8_fwd`` and D is ``depthwise_conv_2d_int8_fwd`` with depth multiplier 1 and D
  reads P's output as its input;
- no other node of either program (training step, inference) reads P's output, and it is not a
  model output: no backward node, loss or later layer needs it again;
- the weights and biases of P and D are all frozen (constants): a trainable one would need the
  middle tensor for its gradient, and its update would change what the fused node computes.

Both programs are rewritten the same way: the fused node takes D's place (everything that reads
D's output still follows it; nothing between P and D reads P's output), P is dropped and the
nodes are renumbered. Its MACs are the sum of the pair's, its output D's, its workspace the ring.

**Backward, int8 and fp32: a MEAN backward and the activation backward that reads its gradient**
(:func:`fuse_mean_act_backward`). A global average pool (MEAN over H and W) after a layer with
a fused activation: MEAN's backward broadcasts the small ``[N, C]`` gradient over every pixel
(``[N, H, W, C]`` float32) and the activation's backward reads that broadcast once, to mask it.
The pair becomes one ``mean_act_bwd_int8`` (``es_mean_hw_act_int8_bwd``) or ``mean_act_bwd``
(``es_mean_hw_act_f32_bwd``) node that reads the small gradient and the saved output y and
writes the activation's gradient directly. A pair (M, A) fuses when

- M is ``mean_bwd`` over the spatial axes (every axis between batch and channels reduced or of
  size 1, keep_dims or not: the MEANs the C runtime runs), and A is ``act_bwd_int8`` or
  ``act_bwd`` reading M's output as its gradient, over the same number of elements;
- no other node of the training step reads M's output.

The fused node takes A's place (its inputs, y and M's gradient, exist before M), M is dropped and
the nodes are renumbered. Inputs ``y, dy``; attrs ``mean`` / ``act``: the two nodes' attrs; MACs
the pair's sum, output A's (``<A>.dz``), no workspace. Inference has no backward and is unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from edgesdk.train import costs
from edgesdk.train.geometry import size_of
from edgesdk.train.graph import Compute, Node, Value, ValueKind

C = Compute


# ---------------------------------------------------------------- forward: convolution + depthwise


def fuse_conv_depthwise(
    nodes: Sequence[Node],
    inference_nodes: Sequence[Node],
    values: Mapping[str, Value],
    outputs: Sequence[str],
) -> tuple[tuple[Node, ...], tuple[Node, ...]]:
    """Both programs with every fusable (convolution, depthwise convolution) pair fused."""
    readers = _readers([*nodes, *inference_nodes])
    pairs = _pairs(nodes, readers, values, outputs) | _pairs(inference_nodes, readers, values, outputs)
    return _rewrite(nodes, pairs, fused_node), _rewrite(inference_nodes, pairs, fused_node)


def _readers(program: Sequence[Node]) -> dict[str, set[str]]:
    """Value name -> names of the nodes that read it."""
    found: dict[str, set[str]] = {}
    for node in program:
        for name in node.inputs:
            found.setdefault(name, set()).add(node.name)
    return found


def _pairs(
    program: Sequence[Node],
    readers: Mapping[str, set[str]],
    values: Mapping[str, Value],
    outputs: Sequence[str],
) -> set[tuple[str, str]]:
    """(P, D) node names of the fusable pairs of one program."""
    producers = {node.output: node for node in program if node.output is not None}
    pairs = set()
    for depthwise in program:
        producer = producers.get(depthwise.inputs[0]) if depthwise.inputs else None
        if producer is not None and _fusable(producer, depthwise, readers, values, outputs):
            pairs.add((producer.name, depthwise.name))
    return pairs


def _fusable(
    producer: Node,
    depthwise: Node,
    readers: Mapping[str, set[str]],
    values: Mapping[str, Value],
    outputs: Sequence[str],
) -> bool:
    if producer.compute is not C.CONV_2D_INT8_FWD or depthwise.compute is not C.DEPTHWISE_CONV_2D_INT8_FWD:
        return False
    if int(depthwise.attrs["params"].depth_multiplier) != 1:
        return False
    middle = producer.output
    if middle is None or middle in outputs or readers.get(middle, set()) != {depthwise.name}:
        return False
    parameters = (*producer.inputs[1:], *depthwise.inputs[1:])
    return all(values[name].kind is ValueKind.CONSTANT for name in parameters)


def _rewrite(
    program: Sequence[Node], pairs: set[tuple[str, str]], fuse: Callable[[Node, Node], Node]
) -> tuple[Node, ...]:
    """``program`` with each pair (first, second) replaced by ``fuse(first, second)`` at the second
    node's place and the first node dropped, renumbered."""
    by_name = {node.name: node for node in program}
    fused_at = {second: by_name[first] for first, second in pairs if first in by_name and second in by_name}
    dropped = {first.name for first in fused_at.values()}
    kept: list[Node] = []
    for node in program:
        if node.name in dropped:
            continue
        kept.append(fuse(fused_at[node.name], node) if node.name in fused_at else node)
    return tuple(replace(node, index=index) for index, node in enumerate(kept))


def fused_node(producer: Node, depthwise: Node) -> Node:
    """The ``conv_2d_depthwise_int8_fwd`` node of a pair; inputs x, P's weight [and bias], D's
    weight [and bias]."""
    attrs = {"conv": dict(producer.attrs), "depthwise": dict(depthwise.attrs)}
    inputs = (producer.inputs[0], *producer.inputs[1:], *depthwise.inputs[1:])
    return _joined(producer, depthwise, C.CONV_DEPTHWISE_INT8_FWD, attrs, inputs, "fwd")


def _joined(
    first: Node, second: Node, compute: Compute, attrs: dict[str, Any], inputs: tuple[str, ...], suffix: str
) -> Node:
    """The node that replaces ``first`` and ``second``: at the second's place, writing its output,
    named after both layers (``<first>-<second>.<suffix>``), costed as ``compute``."""
    return Node(
        index=second.index,
        name=f"{_layer(first)}-{_layer(second)}.{suffix}",
        stage=second.stage,
        compute=compute,
        op=second.op,
        inputs=inputs,
        output=second.output,
        attrs=attrs,
        macs=costs.macs(compute, attrs),
        output_bytes=second.output_bytes,
        workspace_bytes=costs.workspace_bytes(compute, attrs),
    )


def _layer(node: Node) -> str:
    return node.name.rsplit(".", 1)[0]


# ---------------------------------------------------------------- backward: MEAN + activation

# the activation backward kernel -> the fused kernel that replaces it with the MEAN before it
_MEAN_ACT = {C.ACT_BWD: C.MEAN_ACT_BWD, C.ACT_BWD_INT8: C.MEAN_ACT_BWD_INT8}


def fuse_mean_act_backward(nodes: Sequence[Node]) -> tuple[Node, ...]:
    """The training step with every fusable (MEAN backward, activation backward) pair fused."""
    readers = _readers(nodes)
    producers = {node.output: node for node in nodes if node.output is not None}
    pairs = set()
    for act in nodes:
        mean = producers.get(act.inputs[1]) if act.compute in _MEAN_ACT else None
        if mean is not None and _mean_act_fusable(mean, act, readers):
            pairs.add((mean.name, act.name))
    return _rewrite(nodes, pairs, mean_act_node)


def _mean_act_fusable(mean: Node, act: Node, readers: Mapping[str, set[str]]) -> bool:
    if mean.compute is not C.MEAN_BWD or not spatial_mean(mean.attrs):
        return False
    if size_of(tuple(mean.attrs["x_shape"])) != int(act.attrs["size"]):
        return False
    return mean.output is not None and readers.get(mean.output, set()) == {act.name}


def spatial_mean(attrs: Mapping[str, Any]) -> bool:
    """Whether a MEAN (its attrs) averages over the spatial axes only, as es_mean_hw_*: a rank 3
    or 4 input, only axes between batch and channels reduced, and those not reduced of size 1
    (keep_dims or not: ``y_shape`` keeps the reduced axes as 1)."""
    x, y = tuple(attrs["x_shape"]), tuple(attrs["y_shape"])
    if len(x) not in (3, 4) or len(y) != len(x):
        return False
    spatial_axes = all(0 < int(axis) < len(x) - 1 for axis in attrs["axes"])
    reduced = y[0] == x[0] and y[-1] == x[-1] and all(d == 1 for d in y[1:-1])
    return spatial_axes and reduced and int(attrs["count"]) == size_of(x[1:-1])


def mean_act_node(mean: Node, act: Node) -> Node:
    """The ``mean_act_bwd[_int8]`` node of a pair; inputs y (the activation's saved output) and the
    MEAN's gradient, output the activation's gradient."""
    attrs = {"mean": dict(mean.attrs), "act": dict(act.attrs)}
    return _joined(mean, act, _MEAN_ACT[act.compute], attrs, (act.inputs[0], mean.inputs[0]), "bwd")
