"""Whole models: the reference trainer against PyTorch (gradients, several optimizer steps, sparse
updates, inference) and against itself under other valid node orders."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from edgesdk import ir
from edgesdk.frontend import load_model
from edgesdk.reference import ReferenceTrainer
from edgesdk.train import OptimizerSpec, Stage, TrainableSpec, TrainingGraph, ValueKind, build_training_graph
from edgesdk.train.spec import PARAMETERIZED
from graph_maker import small_cnn
from torch_model import TorchMirror, assert_close, compare_gradients, random_batch

SPARSE = TrainableSpec.sparse(
    {"14": (1.0, True), "11": (0.25, True), "6": (0.5, False), "2": (0.5, True), "0": (0.0, True)}
)


@pytest.fixture(scope="module")
def cnn() -> ir.Graph:
    return small_cnn(seed=3)


@pytest.mark.parametrize("trainable", ["all", "last:3", "bias", SPARSE])
def test_gradients_equal_torch(cnn, trainable):  # type: ignore[no-untyped-def]
    compared = compare_gradients(cnn, trainable=trainable, loss="softmax_xent", batch=4, seed=1)
    assert compared.activations == 14 and compared.param_grads >= 4


def test_mse_gradients_equal_torch(cnn):  # type: ignore[no-untyped-def]
    compared = compare_gradients(cnn, trainable="all", loss="mse", batch=3, seed=2)
    # 15 activations have a gradient, but MEAN's broadcast of conv_2d_11.y's is never stored: it is
    # fused into conv_2d_11's activation backward (whose result reaches every gradient below it)
    assert compared.param_grads == 14 and compared.activation_grads == 14
    unfused = compare_gradients(cnn, trainable="all", loss="mse", batch=3, seed=2, fuse=False)
    assert unfused.param_grads == 14 and unfused.activation_grads == 15


def _torch_optimizer(spec: OptimizerSpec, params: list[torch.Tensor]) -> torch.optim.Optimizer:
    if spec.kind.value == "sgd":
        return torch.optim.SGD(params, lr=spec.lr, weight_decay=spec.weight_decay)
    if spec.kind.value == "momentum":
        return torch.optim.SGD(params, lr=spec.lr, momentum=spec.momentum, weight_decay=spec.weight_decay)
    return torch.optim.Adam(
        params, lr=spec.lr, betas=(spec.beta1, spec.beta2), eps=spec.eps, weight_decay=spec.weight_decay
    )


def _channel_mask(tg: TrainingGraph, name: str) -> np.ndarray:
    value = tg.values[name]
    axis = 3 if name.startswith("depthwise") and name.endswith(".w") else 0
    mask = np.zeros(value.shape)
    index = [slice(None)] * len(value.shape)
    index[axis] = slice(0, tg.trainable_channels[name])
    mask[tuple(index)] = 1.0
    return mask


def train_both(graph, trainable, optimizer, loss="softmax_xent", batch=3, steps=4):  # type: ignore[no-untyped-def]
    """Train the reference and a PyTorch loop on the same batches; check the loss of every step."""
    tg = build_training_graph(graph, trainable=trainable, loss=loss, optimizer=optimizer, batch=batch)
    trainer = ReferenceTrainer(tg)
    mirror = TorchMirror(graph, batch)
    trained = list(tg.parameters)
    leaves = [mirror.params[tg.values[name].tensor] for name in trained]  # type: ignore[index]
    masks = [torch.tensor(_channel_mask(tg, name)) for name in trained]
    opt = _torch_optimizer(tg.optimizer, leaves)
    for step in range(steps):
        x, labels = random_batch(tg, seed=100 + step)
        ours = trainer.train_step(x, labels)
        opt.zero_grad()
        for leaf in mirror.params.values():
            leaf.grad = None
        expected = mirror.loss(mirror.forward(x), labels, loss)
        expected.backward()
        for leaf, mask in zip(leaves, masks, strict=True):
            leaf.grad *= mask  # sparse update: only the first k channels have a gradient
        opt.step()
        assert_close(np.array(ours), np.array(expected.item()), f"loss at step {step}")
    return tg, trainer, mirror


@pytest.mark.parametrize(
    "optimizer",
    ["sgd:lr=0.05", "momentum:lr=0.05,momentum=0.9", "adam:lr=0.01", "sgd:lr=0.05,weight_decay=0.01",
     "momentum:lr=0.02,weight_decay=0.1", "adam:lr=0.003,beta1=0.8,beta2=0.99,weight_decay=0.01"],
)  # fmt: skip
def test_optimizer_steps_equal_a_torch_training_loop(cnn, optimizer):  # type: ignore[no-untyped-def]
    tg, trainer, mirror = train_both(cnn, "all", optimizer)
    params = trainer.parameters
    for name in tg.parameters:
        expected = mirror.params[tg.values[name].tensor].detach().numpy()  # type: ignore[index]
        assert_close(params[name], expected, f"{name} after 4 steps of {optimizer}")
        assert not np.array_equal(params[name], tg.source.tensor(tg.values[name].tensor).dequantized())  # type: ignore[arg-type]


def test_mse_training_equals_torch(cnn):  # type: ignore[no-untyped-def]
    tg, trainer, mirror = train_both(cnn, "last:2", "adam:lr=0.01", loss="mse", batch=2, steps=3)
    for name in tg.parameters:
        expected = mirror.params[tg.values[name].tensor].detach().numpy()  # type: ignore[index]
        assert_close(trainer.parameters[name], expected, name)


@pytest.mark.parametrize("optimizer", ["sgd:lr=0.1", "adam:lr=0.01"])
def test_sparse_update_touches_only_its_channels(cnn, optimizer):  # type: ignore[no-untyped-def]
    tg, trainer, mirror = train_both(cnn, SPARSE, optimizer, steps=3)
    start = ReferenceTrainer(tg).parameters
    end = trainer.parameters
    assert set(tg.parameters) == {
        "fully_connected_14.w", "fully_connected_14.b", "conv_2d_11.w", "conv_2d_11.b",
        "depthwise_conv_2d_6.w", "conv_2d_2.w", "conv_2d_2.b", "conv_2d_0.b",
    }  # fmt: skip
    frozen = set(end) - set(tg.parameters)
    assert {"conv_2d_0.w", "depthwise_conv_2d_1.w", "conv_2d_5.w", "depthwise_conv_2d_6.b"} <= frozen
    for name in frozen:
        assert np.array_equal(start[name], end[name]), f"frozen {name} was written"
    for name in tg.parameters:
        mask = _channel_mask(tg, name).astype(bool)
        changed = start[name] != end[name]
        assert not changed[~mask].any(), f"{name}: a channel beyond the first k changed"
        axis = 3 if name.startswith("depthwise") and name.endswith(".w") else 0
        per_channel = np.moveaxis(changed, axis, 0).reshape(changed.shape[axis], -1).any(axis=1)
        assert per_channel[: tg.trainable_channels[name]].all(), f"{name}: a trainable channel did not move"
        expected = mirror.params[tg.values[name].tensor].detach().numpy()  # type: ignore[index]
        assert_close(end[name], expected, name)
    assert tg.trainable_channels["conv_2d_11.w"] == 2 and tg.trainable_channels["depthwise_conv_2d_6.w"] == 4


def test_inference_equals_torch(cnn):  # type: ignore[no-untyped-def]
    tg = build_training_graph(cnn, batch=5)
    x, _ = random_batch(tg, seed=7)
    out = ReferenceTrainer(tg).infer(x)
    mirror = TorchMirror(cnn, 5)
    expected = mirror.forward(x)[cnn.outputs[0]].detach().numpy()
    assert out.shape == (5, 5)
    assert_close(out, expected, "inference output")
    np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=1e-5)  # the trailing softmax ran


def _shuffled_topological_order(tg: TrainingGraph, seed: int) -> list:  # type: ignore[type-arg]
    rng = np.random.default_rng(seed)
    deps = {n.name: set(tg.deps(n)) for n in tg.nodes}
    done: set[str] = set()
    order = []
    while len(order) < len(tg.nodes):
        ready = [n for n in tg.nodes if n.name not in done and deps[n.name] <= done]
        pick = ready[rng.integers(len(ready))]
        order.append(pick)
        done.add(pick.name)
    return order


def test_any_valid_order_and_recomputation_give_the_same_bits(cnn):  # type: ignore[no-untyped-def]
    tg = build_training_graph(cnn, optimizer="adam", batch=2)
    x, labels = random_batch(tg, seed=3)
    reference = ReferenceTrainer(tg)
    base = reference.run(x, labels)
    for seed in range(3):
        order = _shuffled_topological_order(tg, seed)
        assert [n.name for n in order] != [n.name for n in tg.nodes]
        # recompute every forward node once more right before its first backward reader
        schedule = []
        for node in order:
            if node.stage is Stage.BACKWARD:
                schedule += [tg.node(d) for d in tg.deps(node) if tg.node(d).stage is Stage.FORWARD]
            schedule.append(node)
        tg.check_schedule([n.name for n in schedule])
        other = ReferenceTrainer(tg)
        result = other.run(x, labels, nodes=schedule)
        assert result.loss == base.loss
        for name, value in base.values.items():
            assert np.array_equal(result.values[name], value), name
        for name, value in reference.parameters.items():
            assert np.array_equal(other.parameters[name], value), name
        for name in (v for v in tg.values if tg.values[v].kind is ValueKind.OPT_STATE):
            assert np.array_equal(other.state[name], reference.state[name]), name


def test_hook_sees_every_node_in_order(cnn):  # type: ignore[no-untyped-def]
    tg = build_training_graph(cnn, trainable="last:2")
    x, labels = random_batch(tg, seed=0)
    seen: list[str] = []

    def hook(node, values):  # type: ignore[no-untyped-def]
        seen.append(node.name)
        if node.output is not None:
            assert values[node.output].shape == tg.values[node.output].shape
            assert values[node.output].dtype == np.float32

    ReferenceTrainer(tg).train_step(x, labels, hook=hook)
    assert seen == [n.name for n in tg.nodes]


def test_training_reduces_the_loss(cnn):  # type: ignore[no-untyped-def]
    tg = build_training_graph(cnn, optimizer="momentum:lr=0.05", batch=8)
    trainer = ReferenceTrainer(tg)
    x, labels = random_batch(tg, seed=11)
    losses = [trainer.train_step(x, labels) for _ in range(30)]
    assert losses[-1] < 0.5 * losses[0]
    assert trainer.step == 30


def test_input_shape_errors(cnn):  # type: ignore[no-untyped-def]
    trainer = ReferenceTrainer(build_training_graph(cnn, batch=2))
    with pytest.raises(ValueError, match="input batch"):
        trainer.train_step(np.zeros((3, 10, 10, 3)), np.zeros(2))
    with pytest.raises(ValueError, match="labels"):
        trainer.train_step(np.zeros((2, 10, 10, 3)), np.zeros(3))
    with pytest.raises(ValueError, match="labels must lie"):
        trainer.train_step(np.zeros((2, 10, 10, 3)), np.array([0, 5]))


def test_recomputing_after_an_update_changes_the_result(cnn):  # type: ignore[no-untyped-def]
    # why check_schedule forbids it: with in-place updates right after each layer (transient
    # parameter gradients), a forward node recomputed late reads the updated weights
    tg = build_training_graph(cnn, resident_param_grads=False, optimizer="sgd:lr=0.1")
    x, labels = random_batch(tg, seed=5)
    order = list(tg.nodes)
    at = next(i for i, n in enumerate(order) if n.name == "depthwise_conv_2d_1.bwd_w")
    late = order[:at] + [tg.node("conv_2d_2.fwd")] + order[at:]
    with pytest.raises(ValueError, match="after conv_2d_2.update_w"):
        tg.check_schedule([n.name for n in late])
    fine = ReferenceTrainer(tg).run(x, labels)
    wrong = ReferenceTrainer(tg).run(x, labels, nodes=late)
    assert not np.array_equal(fine.values["conv_2d_2.y"], wrong.values["conv_2d_2.y"])


# ---------------------------------------------------------------- the converter's own models

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.mark.parametrize(
    "fixture,loss,batch,layers",
    [
        ("small_cnn_int8", "softmax_xent", 3, 5),
        ("small_cnn_float_io", "softmax_xent", 2, 5),
        ("converter_patterns_int8", "mse", 2, 5),  # a single logistic output: regression
        ("mobilenetv2_035_96", "softmax_xent", 1, 53),
    ],
)
def test_fixture_gradients_equal_torch(fixture, loss, batch, layers):  # type: ignore[no-untyped-def]
    graph = load_model(FIXTURES / f"{fixture}.tflite")
    dtype = torch.float32 if fixture.startswith("mobilenet") else torch.float64
    compared = compare_gradients(graph, trainable="all", loss=loss, batch=batch, seed=4, torch_dtype=dtype)
    biases = sum(1 for op in graph.ops if op.kind in PARAMETERIZED and op.inputs[2] != ir.NO_TENSOR)
    assert compared.param_grads == layers + biases


def test_fixture_adam_steps_equal_torch():
    graph = load_model(FIXTURES / "small_cnn_int8.tflite")
    tg, trainer, mirror = train_both(graph, "all", "adam:lr=0.005", batch=4, steps=3)
    for name in tg.parameters:
        expected = mirror.params[tg.values[name].tensor].detach().numpy()  # type: ignore[index]
        assert_close(trainer.parameters[name], expected, name)
