"""Forward fusion of int8 graphs: a frozen convolution and the depthwise convolution it feeds.

In MobileNet-style blocks a 1x1 expansion convolution writes the block's widest tensor and a
depthwise convolution reads it right away. When the early layers are frozen, nothing else ever
needs that tensor: the pair becomes one ``conv_2d_depthwise_int8_fwd`` node
(``es_conv_depthwise_int8_fwd``) that computes the convolution's output rows of one channel at a
time into a small ring and never stores the middle tensor. The result is the two kernels' bit for
bit (each element is computed with its own kernel's formula), so fusing changes memory, not
numbers.

A pair (P, D) fuses when

- P is ``conv_2d_int8_fwd`` and D is ``depthwise_conv_2d_int8_fwd`` with depth multiplier 1 and D
  reads P's output as its input;
- no other node of either program (training step, inference) reads P's output, and it is not a
  model output: no backward node, loss or later layer needs it again;
- the weights and biases of P and D are all frozen (constants): a trainable one would need the
  middle tensor for its gradient, and its update would change what the fused node computes.

Both programs are rewritten the same way: the fused node takes D's place (everything that reads
D's output still follows it; nothing between P and D reads P's output), P is dropped and the
nodes are renumbered. Its MACs are the sum of the pair's, its output D's, its workspace the ring.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from edgesdk.train import costs
from edgesdk.train.graph import Compute, Node, Value, ValueKind

C = Compute


def fuse_conv_depthwise(
    nodes: Sequence[Node],
    inference_nodes: Sequence[Node],
    values: Mapping[str, Value],
    outputs: Sequence[str],
) -> tuple[tuple[Node, ...], tuple[Node, ...]]:
    """Both programs with every fusable (convolution, depthwise convolution) pair fused."""
    readers = _readers([*nodes, *inference_nodes])
    pairs = _pairs(nodes, readers, values, outputs) | _pairs(inference_nodes, readers, values, outputs)
    return _rewrite(nodes, pairs), _rewrite(inference_nodes, pairs)


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


def _rewrite(program: Sequence[Node], pairs: set[tuple[str, str]]) -> tuple[Node, ...]:
    """``program`` with each pair's depthwise node replaced by the fused node and the producer
    dropped, renumbered."""
    by_name = {node.name: node for node in program}
    fused_at = {d: by_name[p] for p, d in pairs if p in by_name and d in by_name}
    dropped = {producer.name for producer in fused_at.values()}
    kept: list[Node] = []
    for node in program:
        if node.name in dropped:
            continue
        kept.append(fused_node(fused_at[node.name], node) if node.name in fused_at else node)
    return tuple(replace(node, index=index) for index, node in enumerate(kept))


def fused_node(producer: Node, depthwise: Node) -> Node:
    """The ``conv_2d_depthwise_int8_fwd`` node of a pair; inputs x, P's weight [and bias], D's
    weight [and bias]."""
    attrs = {"conv": dict(producer.attrs), "depthwise": dict(depthwise.attrs)}
    compute = C.CONV_DEPTHWISE_INT8_FWD
    return Node(
        index=depthwise.index,
        name=f"{_layer(producer)}-{_layer(depthwise)}.fwd",
        stage=depthwise.stage,
        compute=compute,
        op=depthwise.op,
        inputs=(producer.inputs[0], *producer.inputs[1:], *depthwise.inputs[1:]),
        output=depthwise.output,
        attrs=attrs,
        macs=costs.macs(compute, attrs),
        output_bytes=depthwise.output_bytes,
        workspace_bytes=costs.workspace_bytes(compute, attrs),
    )


def _layer(node: Node) -> str:
    return node.name.rsplit(".", 1)[0]
