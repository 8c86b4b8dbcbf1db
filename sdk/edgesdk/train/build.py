"""Compile-time autodiff: :func:`build_training_graph` turns an IR graph into a :class:`TrainingGraph`.

Steps, each a method below:

1. forward: one node per op from ``rules.FORWARD``; RESHAPE / QUANTIZE / DEQUANTIZE are folded
   away (their output names the same value as their input, at no cost);
2. loss: reads the model output, or the input of a trailing SOFTMAX when the loss is softmax_xent;
3. backward: in reverse op order, for every op whose output has a gradient, an ``act_bwd`` node
   for a fused activation, then ``rules.GRADIENTS`` for each input that needs one. A value only has
   a gradient when it depends on a trainable parameter and the loss depends on it, so nothing is
   computed below the lowest trainable layer and no weight gradient is computed for a frozen
   weight. A value read by several ops gets a ``grad_sum`` node;
4. update: one optimizer node per trainable parameter: after the whole backward pass when parameter
   gradients are resident (the default), else right after its layer's backward nodes;
5. dead-node elimination from the updates, then indices and costs;
6. fusion (:mod:`edgesdk.train.fuse`), unless ``fuse=False`` or, for int8, ``Int8Training.fuse`` is
   off: a MEAN backward and the activation backward that alone reads its gradient become one node
   (both precisions); int8: a frozen convolution and the depthwise convolution that alone reads
   its output become one node.

With ``precision="int8"`` the same structure is lowered by :mod:`edgesdk.train.int8`: int8 forward
kernels, int8-reading backward kernels, QAS updates (fused with the weight/bias gradient by
default, right after the layer's ``bwd_in``).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from typing import Any

from edgesdk import ir
from edgesdk.errors import ModelError, TrainingError, UnsupportedOpError
from edgesdk.train import costs, fuse, int8
from edgesdk.train.geometry import batched, size_of
from edgesdk.train.graph import Compute, Node, Stage, TrainingGraph, Value, ValueKind
from edgesdk.train.rules import DZ, FORWARD, GRADIENTS, PARAMETERS, Operand, OpShapes, Y
from edgesdk.train.spec import (
    Int8Training,
    LayerTraining,
    LossKind,
    OptimizerKind,
    OptimizerSpec,
    Precision,
    Rounding,
    TrainableSpec,
    layer_label,
)

F32 = ir.DType.FLOAT32
UPDATE_KERNELS = {
    OptimizerKind.SGD: Compute.SGD_UPDATE,
    OptimizerKind.MOMENTUM: Compute.MOMENTUM_UPDATE,
    OptimizerKind.ADAM: Compute.ADAM_UPDATE,
}


def build_training_graph(
    graph: ir.Graph,
    trainable: str | TrainableSpec = "all",
    loss: str | LossKind = "softmax_xent",
    optimizer: str | OptimizerSpec = "sgd",
    batch: int = 1,
    precision: str | Precision = "fp32",
    resident_param_grads: bool = True,
    int8_training: str | Int8Training | None = None,
    fuse: bool = True,
) -> TrainingGraph:
    """The training step of ``graph`` (see the module docstring and docs/training-graph.md).

    ``trainable``, ``loss``, ``optimizer`` and ``precision`` take their CLI spellings or the spec
    objects of :mod:`edgesdk.train.spec`. ``batch`` multiplies dim 0 of every activation.
    ``resident_param_grads=False`` makes parameter gradients ordinary planner buffers (each lives
    from its ``bwd_w``/``bwd_b`` node to its update) instead of resident ones.
    ``int8_training`` (an :class:`Int8Training` or its CLI spelling, e.g. ``"stochastic,unfused"``)
    says how an int8 graph updates its parameters; defaults: QAS, nearest rounding, no master copy,
    fused updates. ``fuse`` runs node pairs that always follow each other as one node where that is
    exact (:mod:`edgesdk.train.fuse`); ``False`` keeps every node apart, as does the int8 option
    ``nofuse``.
    """
    if batch < 1:
        raise TrainingError(f"batch must be >= 1, got {batch}")
    if graph.states:
        raise UnsupportedOpError(
            f"model {graph.name!r} is a streaming model ({len(graph.states)} states carried between "
            f"inferences); its training graph is not built yet. It imports and runs frame by frame "
            f"(edgesdk.reference.streaming, docs/streaming.md); train a non-streaming export of it")
    precision = Precision.parse(precision)
    optimizer = OptimizerSpec.parse(optimizer)
    options: Int8Training | None = None
    if precision is Precision.INT8:
        options = Int8Training.parse(int8_training)
        int8.check_optimizer(optimizer)
    elif int8_training is not None:
        raise TrainingError("int8 training options apply to precision int8 only; add precision int8")
    builder = _Builder(
        graph,
        TrainableSpec.parse(trainable).resolve(graph),
        LossKind.parse(loss),
        optimizer,
        batch,
        precision,
        resident_param_grads,
        options,
        fuse=fuse and (options is None or options.fuse),
    )
    return builder.build()


@dataclass
class _Proto:
    """A node before indexing and costing."""

    name: str
    stage: Stage
    compute: Compute
    op: int | None
    inputs: tuple[str, ...]
    output: str | None
    attrs: dict[str, Any]
    side_outputs: tuple[str, ...] = ()
    in_place: tuple[str, ...] = ()


@dataclass
class _Builder:
    graph: ir.Graph
    layers: dict[int, LayerTraining]
    loss_kind: LossKind
    optimizer: OptimizerSpec
    batch: int
    precision: Precision
    resident_param_grads: bool
    int8: Int8Training | None = None  # set for precision int8
    fuse: bool = True  # run the exact node fusions of edgesdk.train.fuse
    values: dict[str, Value] = field(default_factory=dict)
    tensor_value: dict[int, str] = field(default_factory=dict)
    shapes: dict[int, OpShapes] = field(default_factory=dict)
    gradients: dict[str, str] = field(default_factory=dict)
    channels: dict[str, int] = field(default_factory=dict)  # parameter -> channels updated
    channel_axes: dict[str, int] = field(default_factory=dict)  # parameter -> its output-channel axis
    deferred_updates: list[_Proto] = field(default_factory=list)

    # ------------------------------------------------------------ driver
    def build(self) -> TrainingGraph:
        g = self.graph
        if len(g.inputs) != 1 or len(g.outputs) != 1:
            raise TrainingError(
                f"model {g.name!r} has {len(g.inputs)} inputs and {len(g.outputs)} outputs; "
                "training needs a model with one input and one output"
            )
        self._check_shared_parameters()
        forward = self._forward()
        loss, logits, trailing = self._loss(forward)
        training_forward = [p for p in forward if all(p is not t for t in trailing)]
        backward = self._backward(training_forward, logits, loss)
        step = self._prune(training_forward + [loss] + backward, roots=lambda p: p.stage is Stage.UPDATE)
        if not any(p.stage is Stage.UPDATE for p in step):
            raise TrainingError(
                "the trainable selection updates no parameter of this model; choose all, last:K, "
                "bias or a sparse file that names at least one layer with weights or a bias"
            )
        outputs = (self.tensor_value[g.outputs[0]],)
        inference = self._prune(forward, roots=lambda p: p.output in outputs)
        nodes = self._finish(step)
        inference_nodes = self._finish(inference)
        if self.fuse:
            nodes = fuse.fuse_mean_act_backward(nodes)
        if self.fuse and self.int8 is not None:
            nodes, inference_nodes = fuse.fuse_conv_depthwise(nodes, inference_nodes, self.values, outputs)
        used = {"input", "labels", "loss"}
        for node in nodes + inference_nodes:
            used.update(node.inputs, node.side_outputs, node.in_place)
            if node.output is not None:
                used.add(node.output)
        return TrainingGraph(
            name=g.name,
            source=g,
            values={name: value for name, value in self.values.items() if name in used},
            nodes=nodes,
            inference_nodes=inference_nodes,
            input="input",
            labels="labels",
            loss="loss",
            logits=logits,
            outputs=outputs,
            gradients={v: d for v, d in self.gradients.items() if d in used},
            batch=self.batch,
            loss_kind=self.loss_kind,
            optimizer=self.optimizer,
            precision=self.precision,
            trainable_channels=self.channels,
            int8=self.int8,
        )

    # ------------------------------------------------------------ values
    def _add(self, value: Value) -> str:
        if value.name in self.values:
            raise AssertionError(f"duplicate value name {value.name}")
        self.values[value.name] = value
        return value.name

    def _dtype(self, tensor: ir.Tensor) -> ir.DType:
        return tensor.dtype if self.precision is Precision.INT8 else F32

    def _shape(self, tensor_index: int) -> tuple[int, ...] | None:
        if tensor_index == ir.NO_TENSOR:
            return None
        tensor = self.graph.tensor(tensor_index)
        return tensor.shape if tensor.is_constant else batched(tensor.shape, self.batch)

    def _check_shared_parameters(self) -> None:
        uses: dict[int, int] = defaultdict(int)
        for op in self.graph.ops:
            for t in set(op.inputs):
                uses[t] += 1
        for index in self.layers:
            op = self.graph.ops[index]
            for t in op.inputs[1:3]:
                if t != ir.NO_TENSOR and uses[t] > 1:
                    raise TrainingError(
                        f"tensor {self.graph.tensor(t).name!r} of op {index} ({op.kind.value}) is shared "
                        "with other ops; training a shared parameter is not supported, freeze that layer"
                    )

    def _read(self, op: ir.Op, slot: int) -> str:
        """The value an op input names, creating parameter/constant values on first use."""
        t = op.inputs[slot]
        if t in self.tensor_value:
            return self.tensor_value[t]
        tensor = self.graph.tensor(t)
        label = layer_label(op)
        layout = PARAMETERS.get(op.kind)
        if not tensor.is_constant:
            if layout is not None and slot in (layout.weight_slot, layout.bias_slot):
                raise UnsupportedOpError(
                    f"op {op.index} ({op.kind.value}) takes its {'weights' if slot == 1 else 'bias'} "
                    f"from a computed tensor {tensor.name!r}; only constant weights are supported"
                )
            raise ModelError(
                f"op {op.index} ({op.kind.value}) reads tensor {tensor.name!r} before any op writes it"
            )
        if layout is not None and slot in (layout.weight_slot, layout.bias_slot):
            training = self.layers.get(op.index, LayerTraining())
            is_weight = slot == layout.weight_slot
            trains = training.weight_ratio > 0 if is_weight else training.bias
            name = f"{label}.{'w' if is_weight else 'b'}"
            kind = ValueKind.PARAMETER if trains else ValueKind.CONSTANT
        else:
            name, kind, trains = f"const_{t}", ValueKind.CONSTANT, False
        self._add(Value(name, kind, tensor.shape, self._dtype(tensor), resident=trains, tensor=t))
        self.tensor_value[t] = name
        return name

    # ------------------------------------------------------------ 1. forward
    def _forward(self) -> list[_Proto]:
        g = self.graph
        x = g.tensor(g.inputs[0])
        if self.batch > 1 and x.shape[:1] != (1,):
            raise TrainingError(
                f"the model input {x.name!r} has shape {x.shape}; training with batch {self.batch} "
                "needs a model whose input has batch dimension 1"
            )
        # an int8 batch lives in the arena (es_input_int8), dead after its last reader; any other
        # input is the caller's array, there the whole step
        resident = self._dtype(x) is not ir.DType.INT8
        batch = batched(x.shape, self.batch)
        self.tensor_value[x.index] = self._add(
            Value("input", ValueKind.INPUT, batch, self._dtype(x), resident, tensor=x.index)
        )
        protos: list[_Proto] = []
        for op in g.ops:
            if len(op.outputs) != 1:
                raise ModelError(f"op {op.index} ({op.kind.value}) has {len(op.outputs)} outputs, expected 1")
            out = g.tensor(op.outputs[0])
            shapes = OpShapes(tuple(self._shape(t) for t in op.inputs), batched(out.shape, self.batch))
            self.shapes[op.index] = shapes
            rule = FORWARD[op.kind](op, shapes)
            compute, attrs = rule.compute, dict(rule.attrs)
            if self.int8 is not None:
                compute, attrs = int8.forward(g, op, compute, attrs, shapes.output)
            if compute is None:
                self.tensor_value[out.index] = self._read(op, 0)
                continue
            reads = tuple(
                self._read(op, slot)
                for slot in rule.reads
                if slot < len(op.inputs) and op.inputs[slot] != ir.NO_TENSOR
            )
            label = layer_label(op)
            y = self._add(
                Value(f"{label}.y", ValueKind.ACTIVATION, shapes.output, self._dtype(out), False, out.index)
            )
            self.tensor_value[out.index] = y
            protos.append(_Proto(f"{label}.fwd", Stage.FORWARD, compute, op.index, reads, y, attrs))
        return protos

    # ------------------------------------------------------------ 2. loss
    def _loss(self, forward: list[_Proto]) -> tuple[_Proto, str, list[_Proto]]:
        output = self.tensor_value.get(self.graph.outputs[0])
        if output is None:
            tensor = self.graph.tensor(self.graph.outputs[0])
            what = "a constant" if tensor.data is not None else "not computed by any layer"
            raise TrainingError(
                f"the model's output {tensor.name!r} is {what}: there is nothing to train toward; "
                "the output must be computed from the input"
            )
        producers = {p.output: p for p in forward}
        producer = producers.get(output)
        logits, trailing, beta = output, [], 1.0
        # int8: a trailing softmax may be followed by (de/re)quantization nodes; skip those too
        walked: list[_Proto] = []
        while producer is not None and producer.compute in (
            Compute.DEQUANTIZE_INT8_FWD,
            Compute.REQUANTIZE_INT8_FWD,
        ):
            walked.append(producer)
            producer = producers.get(producer.inputs[0])
        if (
            self.loss_kind is LossKind.SOFTMAX_XENT
            and producer is not None
            and producer.compute in (Compute.SOFTMAX_FWD, Compute.SOFTMAX_INT8_FWD)
        ):
            logits, trailing = producer.inputs[0], [*walked, producer]
            beta = float(producer.attrs["beta"])
        shape = self.values[logits].shape
        dlogits = self._add(Value("loss.dlogits", ValueKind.GRADIENT, shape, F32, False))
        self._add(Value("loss", ValueKind.LOSS, (), F32, True))
        if self.loss_kind is LossKind.SOFTMAX_XENT:
            classes = shape[-1] if shape else 1
            rows = size_of(shape) // classes
            self._add(Value("labels", ValueKind.LABEL, (rows,), ir.DType.INT32, True))
            compute, attrs = Compute.LOSS_SOFTMAX_XENT, {"rows": rows, "classes": classes, "beta": beta}
        else:
            self._add(Value("labels", ValueKind.LABEL, shape, F32, True))
            compute, attrs = Compute.LOSS_MSE, {"size": size_of(shape)}
        if self.int8 is not None:
            compute, extra = int8.loss(self.graph, compute, self.values[logits])
            attrs |= extra
        node = _Proto(
            "loss", Stage.LOSS, compute, None, (logits, "labels"), dlogits, attrs, side_outputs=("loss",)
        )
        return node, logits, trailing

    # ------------------------------------------------------------ 3. backward and 4. update
    def _backward(self, forward: list[_Proto], logits: str, loss: _Proto) -> list[_Proto]:
        trainable = {name for name, v in self.values.items() if v.kind is ValueKind.PARAMETER}
        requires = set(trainable)
        for p in forward:
            if requires.intersection(p.inputs) and p.output is not None:
                requires.add(p.output)
        reaches = {logits}
        for p in reversed(forward):
            if p.output in reaches:
                reaches.update(p.inputs)
        has_grad = requires & reaches

        contributions: dict[str, list[str]] = defaultdict(list)
        assert loss.output is not None
        contributions[logits].append(loss.output)
        protos: list[_Proto] = []
        for p in reversed(forward):
            y = p.output
            assert y is not None and p.op is not None
            if y not in has_grad or not contributions[y]:
                continue
            op = self.graph.ops[p.op]
            label = layer_label(op)
            dy = self._sum(y, contributions[y], protos)
            dz = dy
            if op.activation is not ir.Activation.NONE:
                dz = self._add(Value(f"{label}.dz", ValueKind.GRADIENT, self.values[y].shape, F32, False))
                attrs = {"activation": op.activation, "size": self.values[y].size}
                compute = Compute.ACT_BWD
                if self.values[y].dtype is ir.DType.INT8:
                    compute = Compute.ACT_BWD_INT8
                    attrs |= int8.act_bounds(p.attrs)
                act = _Proto(f"{label}.act_bwd", Stage.BACKWARD, compute, op.index, (y, dy), dz, attrs)
                protos.append(act)
            self._op_backward(op, p, dz, has_grad, contributions, protos)
        return protos + self.deferred_updates

    def _sum(self, value: str, parts: list[str], protos: list[_Proto]) -> str:
        """The gradient of ``value``: its only contribution, or a grad_sum node over all of them."""
        if len(parts) == 1:
            grad = parts[0]
        else:
            shape = self.values[value].shape
            grad = self._add(Value(f"{value}.grad", ValueKind.GRADIENT, shape, F32, False))
            attrs = {"size": size_of(shape), "count": len(parts)}
            protos.append(
                _Proto(f"{value}.grad_sum", Stage.BACKWARD, Compute.GRAD_SUM, None, tuple(parts), grad, attrs)
            )
        self.gradients[value] = grad
        return grad

    def _op_backward(
        self,
        op: ir.Op,
        forward: _Proto,
        dz: str,
        has_grad: set[str],
        contributions: dict[str, list[str]],
        protos: list[_Proto],
    ) -> None:
        label = layer_label(op)
        assert forward.output is not None
        rules = GRADIENTS[op.kind](op, self.shapes[op.index])
        geometry = {k: v for k, v in forward.attrs.items() if k not in ("activation", "params")}
        layout = PARAMETERS.get(op.kind)
        multi = sum(rule is not None for rule in rules) > 1 and layout is None
        updates: list[tuple[str, str]] = []

        def operand(item: Operand) -> str:
            if item == DZ:
                return dz
            if item == Y:
                return forward.output  # type: ignore[return-value]
            return self.tensor_value[op.inputs[int(item)]]

        for slot, rule in enumerate(rules):
            if rule is None or slot >= len(op.inputs) or op.inputs[slot] == ir.NO_TENSOR:
                continue
            source = self.tensor_value.get(op.inputs[slot])
            if source is None:
                continue
            if layout is not None and slot in (layout.weight_slot, layout.bias_slot):
                if self.values[source].kind is not ValueKind.PARAMETER:
                    continue
                assert rule.compute is not None
                is_weight = slot == layout.weight_slot
                reads = tuple(operand(item) for item in rule.reads)
                if self.int8 is not None and self.int8.fused:
                    protos.append(self._fused_update(op, rule.compute, source, is_weight, reads, geometry))
                    continue
                grad = self._param_grad(op, source, is_weight, layout.channel_axis)
                compute, attrs = rule.compute, geometry | {"channels": self.channels[source]}
                if self.int8 is not None:
                    compute, extra = int8.backward(self.graph, op, self.values, compute, reads)
                    attrs |= extra
                suffix = "w" if is_weight else "b"
                protos.append(
                    _Proto(f"{label}.bwd_{suffix}", Stage.BACKWARD, compute, op.index, reads, grad, attrs)
                )
                updates.append((source, grad))
                continue
            if source not in has_grad:
                continue
            if rule.unsupported is not None:
                raise UnsupportedOpError(rule.unsupported)
            if rule.compute is None:
                contributions[source].append(dz)
                continue
            name = "bwd_in" if layout is not None else f"bwd{slot}" if multi else "bwd"
            out_name = f"{label}.dx{slot}" if multi else f"{label}.dx"
            dx = self._add(Value(out_name, ValueKind.GRADIENT, self.values[source].shape, F32, False))
            reads = tuple(operand(item) for item in rule.reads)
            attrs = geometry | dict(rule.attrs)
            compute = rule.compute
            if self.int8 is not None:
                compute, extra = int8.backward(self.graph, op, self.values, compute, reads)
                attrs |= extra
            protos.append(_Proto(f"{label}.{name}", Stage.BACKWARD, compute, op.index, reads, dx, attrs))
            contributions[source].append(dx)
        # resident gradients: all updates follow the whole backward pass (no forward value can be
        # needed after a parameter changed); transient ones: update right after the layer, which
        # frees the gradient early (TinyEngine's in-place update)
        target = self.deferred_updates if self.resident_param_grads else protos
        for param, grad in updates:
            target.append(self._update(op, param, grad))

    def _channels(self, op: ir.Op, param: str, is_weight: bool, axis: int) -> tuple[int, ...]:
        """Record the trainable channels of ``param``; the shape of its (compact) gradient."""
        value = self.values[param]
        shape = list(value.shape)
        if is_weight:
            shape[axis] = self.layers[op.index].weight_channels(value.shape[axis])
            self.channels[param] = shape[axis]
            self.channel_axes[param] = axis
            if self.int8 is not None and int8.splits(op, shape[axis], value.shape[axis]):
                self.values[param] = replace(value, head_channels=shape[axis])
        else:
            self.channels[param] = value.shape[0]
            self.channel_axes[param] = 0
        return tuple(shape)

    def _param_grad(self, op: ir.Op, param: str, is_weight: bool, axis: int) -> str:
        shape = self._channels(op, param, is_weight, axis)
        suffix = "dw" if is_weight else "db"
        name = f"{layer_label(op)}.{suffix}"
        self._add(
            Value(name, ValueKind.PARAM_GRAD, tuple(shape), F32, self.resident_param_grads, param=param)
        )
        self.gradients[param] = name
        return name

    def _int8_state(self, param: str, shape: tuple[int, ...]) -> tuple[str, ...]:
        """The master copy of ``param`` and the xorshift32 state, when the options use them."""
        assert self.int8 is not None
        state: list[str] = []
        if self.int8.master:
            master = Value(f"{param}.master", ValueKind.MASTER, shape, F32, True, param=param)
            state.append(self._add(master))
        if self.int8.rounding is Rounding.STOCHASTIC:
            if "rng" not in self.values:
                self._add(Value("rng", ValueKind.RNG_STATE, (1,), ir.DType.INT32, True))
            state.append("rng")
        return tuple(state)

    def _qas(self, op: ir.Op, param: str, shape: tuple[int, ...]) -> dict[str, Any]:
        assert self.int8 is not None
        is_weight = param.endswith(".w")
        attrs = {
            "shape": self.values[param].shape,
            "channels": self.channels[param],
            "channel_axis": self.channel_axes[param],
            "size": size_of(shape),
        }
        return attrs | int8.qas_attrs(
            self.graph, op, is_weight, self.channels[param], self.int8, self.optimizer.lr
        )

    def _fused_update(
        self,
        op: ir.Op,
        compute: Compute,
        param: str,
        is_weight: bool,
        reads: tuple[str, ...],
        geometry: dict[str, Any],
    ) -> _Proto:
        """int8: the weight (bias) gradient computed chunk by chunk and applied at once."""
        layout = PARAMETERS[op.kind]
        shape = self._channels(op, param, is_weight, layout.channel_axis)
        state = self._int8_state(param, shape)
        attrs = geometry | self._qas(op, param, shape)
        if is_weight:
            attrs |= int8.activation_quant(self.graph, op.inputs[0], op, "x")
        fused = int8.FUSED[compute]
        name = f"{layer_label(op)}.bwd_{'w' if is_weight else 'b'}_qas"
        inputs = (param, *reads, *state)
        return _Proto(name, Stage.UPDATE, fused, op.index, inputs, None, attrs, in_place=(param, *state))

    def _update(self, op: ir.Op, param: str, grad: str) -> _Proto:
        opt = self.optimizer
        grad_value = self.values[grad]
        which = "w" if param.endswith(".w") else "b"
        if self.int8 is not None:
            state = self._int8_state(param, grad_value.shape)
            kernel = Compute.QAS_UPDATE_INT8 if which == "w" else Compute.QAS_UPDATE_INT32
            return _Proto(
                f"{layer_label(op)}.update_{which}",
                Stage.UPDATE,
                kernel,
                op.index,
                (param, grad, *state),
                None,
                self._qas(op, param, grad_value.shape),
                in_place=(param, *state),
            )
        states = tuple(
            self._add(Value(f"{param}.{s}", ValueKind.OPT_STATE, grad_value.shape, F32, True, param=param))
            for s in opt.state_names
        )
        attrs: dict[str, Any] = {
            "shape": self.values[param].shape,
            "channels": self.channels[param],
            "channel_axis": self.channel_axes[param],
            "size": grad_value.size,
            "lr": opt.lr,
            "weight_decay": opt.weight_decay,
        }
        if opt.kind is OptimizerKind.MOMENTUM:
            attrs["momentum"] = opt.momentum
        if opt.kind is OptimizerKind.ADAM:
            attrs |= {"beta1": opt.beta1, "beta2": opt.beta2, "eps": opt.eps}
        return _Proto(
            f"{layer_label(op)}.update_{which}",
            Stage.UPDATE,
            UPDATE_KERNELS[opt.kind],
            op.index,
            (param, grad, *states),
            None,
            attrs,
            in_place=(param, *states),
        )

    # ------------------------------------------------------------ 5. pruning and finishing
    @staticmethod
    def _prune(protos: list[_Proto], roots) -> list[_Proto]:  # type: ignore[no-untyped-def]
        needed: set[str] = set()
        kept: list[_Proto] = []
        for p in reversed(protos):
            if roots(p) or (p.output is not None and p.output in needed):
                kept.append(p)
                needed.update(p.inputs)
        return kept[::-1]

    def _finish(self, protos: list[_Proto]) -> tuple[Node, ...]:
        nodes = []
        for index, p in enumerate(protos):
            out_bytes = self.values[p.output].nbytes if p.output is not None else 0
            nodes.append(
                Node(
                    index=index,
                    name=p.name,
                    stage=p.stage,
                    compute=p.compute,
                    op=p.op,
                    inputs=p.inputs,
                    output=p.output,
                    attrs=p.attrs,
                    macs=costs.macs(p.compute, p.attrs),
                    output_bytes=out_bytes,
                    workspace_bytes=costs.workspace_bytes(p.compute, p.attrs),
                    side_outputs=p.side_outputs,
                    in_place=p.in_place,
                )
            )
        return tuple(nodes)
