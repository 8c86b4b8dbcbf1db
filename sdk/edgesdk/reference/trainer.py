"""The reference trainer: executes a :class:`TrainingGraph` node by node in numpy fp32.

It runs the nodes exactly as listed, so it is the oracle for any schedule of them: a schedule that
recomputes or pages a buffer must reproduce the values :meth:`ReferenceTrainer.run_node` gives.
Parameters start from the model's dequantized weights and biases; optimizer state starts at zero
and is kept between steps, as is the step counter that Adam's bias correction reads (1 on the first
step).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from edgesdk.reference.kernels import KERNELS
from edgesdk.train.graph import Node, Stage, TrainingGraph, ValueKind

Hook = Callable[[Node, Mapping[str, np.ndarray]], None]


@dataclass(frozen=True)
class StepResult:
    """What one pass computed: the loss and every buffer it wrote (by value name)."""

    loss: float
    values: Mapping[str, np.ndarray]


class ReferenceTrainer:
    """Train ``training_graph`` in numpy fp32.

    ``train_step(x, labels)`` runs one step and returns the loss; ``gradients(x, labels)`` runs
    forward, loss and backward without updating; ``infer(x)`` runs the inference program;
    ``parameters`` maps every weight and bias value (trainable or frozen) to its float32 array.
    ``x`` is the real-valued (dequantized) input batch; labels are class indices (softmax_xent) or
    targets shaped like the model output (mse). A ``hook(node, values)`` passed to a run is called
    after every node with all buffers written so far, for comparing intermediate buffers.
    """

    def __init__(self, training_graph: TrainingGraph) -> None:
        self.graph = training_graph
        self.step = 0
        self.state: dict[str, np.ndarray] = {}
        source = training_graph.source
        for value in training_graph.values.values():
            if value.kind in (ValueKind.PARAMETER, ValueKind.CONSTANT):
                assert value.tensor is not None
                self.state[value.name] = source.tensor(value.tensor).dequantized().copy()
            elif value.kind is ValueKind.OPT_STATE:
                self.state[value.name] = np.zeros(value.shape, dtype=np.float32)

    # ------------------------------------------------------------ public API
    @property
    def parameters(self) -> dict[str, np.ndarray]:
        """Weights and biases (trainable and frozen) by value name; copies."""
        kinds = (ValueKind.PARAMETER, ValueKind.CONSTANT)
        return {
            name: array.copy()
            for name, array in self.state.items()
            if self.graph.values[name].kind in kinds and name.endswith((".w", ".b"))
        }

    def train_step(self, x: np.ndarray, labels: np.ndarray, hook: Hook | None = None) -> float:
        self.step += 1
        return self._run(self.graph.nodes, x, labels, hook, update=True).loss

    def gradients(self, x: np.ndarray, labels: np.ndarray, hook: Hook | None = None) -> StepResult:
        """Forward, loss and backward (no update, the step counter does not move)."""
        nodes = tuple(n for n in self.graph.nodes if n.stage is not Stage.UPDATE)
        return self._run(nodes, x, labels, hook, update=False)

    def run(
        self,
        x: np.ndarray,
        labels: np.ndarray,
        hook: Hook | None = None,
        nodes: Sequence[Node] | None = None,
    ) -> StepResult:
        """One full training step, returning the loss and every buffer written.

        ``nodes`` replaces the graph's own order by a schedule of its nodes: any order that respects
        :meth:`TrainingGraph.deps`, where a node may appear again (a recomputation); it must give the
        same bits as the graph's order."""
        self.step += 1
        return self._run(self.graph.nodes if nodes is None else tuple(nodes), x, labels, hook, update=True)

    def infer(self, x: np.ndarray, hook: Hook | None = None) -> np.ndarray:
        """The model output for a batch (through a trailing SOFTMAX if the model has one)."""
        values = self._inputs(x, None)
        for node in self.graph.inference_nodes:
            self.run_node(node, values)
            if hook is not None:
                hook(node, values)
        return values[self.graph.outputs[0]]

    def run_node(self, node: Node, values: dict[str, np.ndarray]) -> None:
        """Execute one node, reading its inputs from ``values`` (falling back to parameters and
        state) and storing its output (and the loss) in ``values``; updates change state in place."""
        args = [values[name] if name in values else self.state[name] for name in node.inputs]
        kernel = KERNELS[node.compute]
        if node.stage is Stage.UPDATE:
            kernel(node.attrs, *args, step=max(self.step, 1))
            return
        if node.stage is Stage.LOSS:
            grad, loss = kernel(node.attrs, *args)
            values[node.side_outputs[0]] = np.float32(loss)
        else:
            grad = kernel(node.attrs, *args)
        assert node.output is not None
        shape = self.graph.values[node.output].shape
        values[node.output] = np.ascontiguousarray(grad, dtype=np.float32).reshape(shape)

    # ------------------------------------------------------------ internals
    def _inputs(self, x: np.ndarray, labels: np.ndarray | None) -> dict[str, np.ndarray]:
        graph = self.graph
        shape = graph.values[graph.input].shape
        x = np.asarray(x, dtype=np.float32)
        if x.size != int(np.prod(shape)):
            raise ValueError(f"input batch has shape {x.shape}; this training graph takes {shape}")
        values = {graph.input: x.reshape(shape)}
        if labels is not None:
            label_value = graph.values[graph.labels]
            dtype = np.int32 if label_value.dtype.value == "int32" else np.float32
            labels = np.asarray(labels, dtype=dtype)
            if labels.size != label_value.size:
                raise ValueError(
                    f"labels have shape {labels.shape}; this training graph takes {label_value.shape}"
                )
            values[graph.labels] = labels.reshape(label_value.shape)
        return values

    def _run(self, nodes, x, labels, hook, update: bool) -> StepResult:  # type: ignore[no-untyped-def]
        values = self._inputs(x, labels)
        for node in nodes:
            if node.stage is Stage.UPDATE and not update:
                continue
            self.run_node(node, values)
            if hook is not None:
                hook(node, values)
        return StepResult(float(values[self.graph.loss]), values)
