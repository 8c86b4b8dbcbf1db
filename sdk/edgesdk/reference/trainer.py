"""The reference trainer: executes a :class:`TrainingGraph` node by node in numpy.

It runs the nodes exactly as listed, so it is the oracle for any schedule of them: a schedule that
recomputes or pages a buffer must reproduce the values :meth:`ReferenceTrainer.run_node` gives.
fp32 graphs: parameters start from the model's dequantized weights and biases, kernels from
:mod:`edgesdk.reference.kernels`. int8 graphs: parameters are the model's int8 weights and int32
biases, kernels from :mod:`edgesdk.reference.int8_graph` (TFLite-Micro-exact forward, float32
backward in the C runtime's order, QAS updates): the bits the C runtime must reproduce. Optimizer
state (and an int8 graph's master copies and xorshift32 state) is kept between steps, as is the
step counter that Adam's bias correction reads (1 on the first step).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgesdk import ir
from edgesdk.reference import int8_graph
from edgesdk.reference.kernels import KERNELS
from edgesdk.train.graph import Node, Stage, TrainingGraph, ValueKind
from edgesdk.train.spec import Precision

Hook = Callable[[Node, Mapping[str, np.ndarray]], None]


@dataclass(frozen=True)
class StepResult:
    """What one pass computed: the loss and every buffer it wrote (by value name)."""

    loss: float
    values: Mapping[str, np.ndarray]


class ReferenceTrainer:
    """Train ``training_graph`` in numpy (fp32, or int8 with the C runtime's exact arithmetic).

    ``train_step(x, labels)`` runs one step and returns the loss; ``gradients(x, labels)`` runs
    forward, loss and backward without updating; ``infer(x)`` runs the inference program;
    ``parameters`` maps every weight and bias value (trainable or frozen) to its float32 array.
    ``x`` is the real-valued (dequantized) input batch; labels are class indices (softmax_xent) or
    targets shaped like the model output (mse). An int8 graph whose model input is int8 also takes
    ``x`` as int8 (used as it is); a float ``x`` is quantized with the input's scale and zero point
    (TFLite's QUANTIZE rule). A ``hook(node, values)`` passed to a run is called after every node
    with all buffers written so far, for comparing intermediate buffers.
    """

    def __init__(self, training_graph: TrainingGraph) -> None:
        self.graph = training_graph
        self.step = 0
        self.state: dict[str, np.ndarray] = {}
        self.int8 = training_graph.precision is Precision.INT8
        self.kernels = int8_graph.KERNELS if self.int8 else KERNELS
        source = training_graph.source
        for value in training_graph.values.values():
            if value.kind in (ValueKind.PARAMETER, ValueKind.CONSTANT):
                assert value.tensor is not None
                tensor = source.tensor(value.tensor)
                self.state[value.name] = tensor.data.copy() if self.int8 else tensor.dequantized().copy()
            elif value.kind is ValueKind.OPT_STATE:
                self.state[value.name] = np.zeros(value.shape, dtype=np.float32)
        for value in training_graph.values.values():  # after the parameters they copy
            if value.kind is ValueKind.MASTER:
                assert value.param is not None
                param = self.state[value.param]
                channels = training_graph.trainable_channels[value.param]
                axis = 3 if value.param.startswith("depthwise") and value.param.endswith(".w") else 0
                compact = np.take(param, np.arange(channels), axis=axis)
                self.state[value.name] = compact.astype(np.float32).reshape(value.shape)
            elif value.kind is ValueKind.RNG_STATE:
                assert training_graph.int8 is not None
                self.state[value.name] = np.array([training_graph.int8.rng_start], dtype=np.uint32)

    # ------------------------------------------------------------ public API
    @property
    def parameters(self) -> dict[str, np.ndarray]:
        """Weights and biases (trainable and frozen) by value name; copies. float32 for fp32 graphs,
        the stored integers (int8 weights, int32 biases) for int8 graphs."""
        kinds = (ValueKind.PARAMETER, ValueKind.CONSTANT)
        return {
            name: array.copy()
            for name, array in self.state.items()
            if self.graph.values[name].kind in kinds and name.endswith((".w", ".b"))
        }

    def save_parameters(self, path: str | Path) -> None:
        """Write :attr:`parameters` as a ``.npz`` (value name -> array): ``edgesdk export --params``
        reads it and writes the parameters back into the ``.tflite``."""
        with open(path, "wb") as handle:
            np.savez(handle, **self.parameters)

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
        kernel = self.kernels[node.compute]
        if node.stage is Stage.UPDATE:
            kernel(node.attrs, *args, step=max(self.step, 1))
            return
        if node.stage is Stage.LOSS:
            grad, loss = kernel(node.attrs, *args)
            values[node.side_outputs[0]] = np.float32(loss)
        else:
            grad = kernel(node.attrs, *args)
        assert node.output is not None
        value = self.graph.values[node.output]
        values[node.output] = np.ascontiguousarray(grad, dtype=value.dtype.numpy).reshape(value.shape)

    # ------------------------------------------------------------ internals
    def _inputs(self, x: np.ndarray, labels: np.ndarray | None) -> dict[str, np.ndarray]:
        graph = self.graph
        value = graph.values[graph.input]
        shape = value.shape
        x = np.asarray(x)
        if x.size != int(np.prod(shape)):
            raise ValueError(f"input batch has shape {x.shape}; this training graph takes {shape}")
        if value.dtype is ir.DType.INT8 and x.dtype != np.int8:
            assert value.tensor is not None
            x = int8_graph.quantize_input(x, graph.source.tensor(value.tensor))
        values = {graph.input: np.asarray(x, dtype=value.dtype.numpy).reshape(shape)}
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
