"""int8 training in the reference: forward bit-exact with TFLite Micro, backward against PyTorch
autograd (straight-through, see int8_ste_torch.py), QAS updates against their formulas, fused ==
unfused, sparse updates touching only what they should, schedules with recomputation.

Tolerance for gradients: ``|ours - torch| <= 1e-4 |torch| + 1e-4 max|torch|`` per tensor (ours float32
in the C order, torch float64 on the same dequantized values), as for the fp32 reference.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from edgesdk import ir
from edgesdk.frontend import load_model
from edgesdk.quant import qas
from edgesdk.reference import ReferenceTrainer
from edgesdk.testing.tflm import run_tflm_batch
from edgesdk.train import Int8Training, Stage, TrainableSpec, ValueKind, build_training_graph
from int8_ste_torch import SteMirror, deq, int8_buffers
from torch_model import assert_close

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
MODELS = {
    "small_cnn_int8": FIXTURES / "small_cnn_int8.tflite",
    "small_cnn_float_io": FIXTURES / "small_cnn_float_io.tflite",
    "converter_patterns_int8": FIXTURES / "converter_patterns_int8.tflite",
    "mobilenetv2_035_96": FIXTURES / "mobilenetv2_035_96.tflite",
    "digits_cnn": ROOT / "examples" / "digits" / "model" / "digits_cnn.tflite",
}
LOSS = {"converter_patterns_int8": "mse", "small_cnn_float_io": "mse"}


@pytest.fixture(scope="module")
def graphs() -> dict[str, ir.Graph]:
    return {name: load_model(path) for name, path in MODELS.items()}


def batch_for(graph: ir.Graph, batch: int, seed: int) -> np.ndarray:
    """Smooth random images (int8 for an int8 input, real for a float one)."""
    x = graph.tensor(graph.inputs[0])
    rng = np.random.default_rng(seed)
    shape = (batch, *x.shape[1:])
    smooth = (
        rng.normal(size=shape).cumsum(axis=1).cumsum(axis=2) if len(shape) == 4 else rng.normal(size=shape)
    )
    smooth = smooth / (np.abs(smooth).max() + 1e-9)
    if x.dtype is ir.DType.INT8:
        return np.clip(np.round(smooth * 127), -128, 127).astype(np.int8)
    return smooth.astype(np.float32)


def labels_for(tg, seed: int) -> np.ndarray:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed + 1)
    value = tg.values[tg.labels]
    if value.dtype is ir.DType.INT32:
        return rng.integers(0, tg.values[tg.logits].shape[-1], size=value.shape).astype(np.int32)
    return rng.uniform(0.0, 1.0, size=value.shape).astype(np.float32)


# ---------------------------------------------------------------- forward vs TFLite Micro


def test_forward_equals_tflite_micro_bit_for_bit(graphs) -> None:  # type: ignore[no-untyped-def]
    """Every buffer the int8 training step's forward and the inference program write equals
    TFLite Micro's tensor (all intermediates preserved), on every fixture, for a batch of two."""
    jobs, runs = [], []
    for name, graph in graphs.items():
        tg = build_training_graph(graph, precision="int8", batch=2, loss=LOSS.get(name, "softmax_xent"))
        x = batch_for(graph, 2, seed=len(name))
        trainer = ReferenceTrainer(tg)
        seen: dict[str, np.ndarray] = {}

        def keep(node, values, seen=seen):  # type: ignore[no-untyped-def]
            seen[node.output] = values[node.output]

        trainer.infer(x, hook=keep)
        step = trainer.gradients(x, labels_for(tg, 0)).values
        jobs.append((MODELS[name].read_bytes(), x))
        runs.append((name, tg, seen, step))
    checked = 0
    for (name, tg, seen, step), tflm in zip(runs, run_tflm_batch(jobs), strict=True):
        forward = [n for n in tg.nodes if n.stage is Stage.FORWARD]
        assert forward and seen
        for source in (seen, {n.output: step[n.output] for n in forward}):
            for value_name, ours in source.items():
                expected = tflm[tg.values[value_name].tensor]
                assert ours.dtype == expected.dtype, f"{name} {value_name}"
                assert np.array_equal(ours.reshape(-1), expected.reshape(-1)), f"{name}: {value_name} differs"
                checked += 1
    assert checked > 150


# ---------------------------------------------------------------- backward vs PyTorch


def compare_int8_gradients(graph: ir.Graph, trainable: str, loss: str, batch: int, seed: int) -> int:
    # nofuse: the torch mirror reads every activation, and a fused pair stores no middle one
    tg = build_training_graph(
        graph, trainable=trainable, loss=loss, batch=batch, precision="int8", int8_training="unfused,nofuse"
    )
    x, labels = batch_for(graph, batch, seed), labels_for(tg, seed)
    result = ReferenceTrainer(tg).gradients(x, labels)
    trainable = {v.tensor for v in tg.values.values() if v.kind is ValueKind.PARAMETER}
    mirror = SteMirror(graph, batch, int8_buffers(tg, result.values), trainable)  # type: ignore[arg-type]
    values = mirror.forward(x)
    torch_loss = mirror.loss(values, labels, loss)
    torch_loss.backward()
    assert_close(np.array(result.loss), np.array(torch_loss.item()), "loss")
    compared = 0
    for value in tg.values.values():
        if value.kind is ValueKind.ACTIVATION and value.name in tg.gradients:
            grad = values[value.tensor].grad  # type: ignore[index]
            assert grad is not None, f"torch has no gradient for {value.name}"
            ours = result.values[tg.gradients[value.name]]
            assert_close(ours, grad.numpy().reshape(value.shape), f"gradient of {value.name}")
            compared += 1
        if value.kind is ValueKind.PARAMETER:
            grad = mirror.params[value.tensor].grad  # type: ignore[index]
            assert grad is not None
            k = tg.trainable_channels[value.name]
            axis = 3 if value.name.startswith("depthwise") and value.name.endswith(".w") else 0
            expected = np.take(grad.numpy(), np.arange(k), axis=axis)
            assert_close(result.values[tg.gradients[value.name]], expected, f"gradient of {value.name}")
            compared += 1
    return compared


@pytest.mark.parametrize(
    "name,trainable,batch",
    [
        ("small_cnn_int8", "all", 2),
        ("small_cnn_float_io", "all", 2),
        ("converter_patterns_int8", "all", 3),
        ("digits_cnn", "all", 4),
        ("mobilenetv2_035_96", "last:5", 1),
    ],
)
def test_gradients_match_pytorch_straight_through(graphs, name, trainable, batch) -> None:  # type: ignore[no-untyped-def]
    compared = compare_int8_gradients(graphs[name], trainable, LOSS.get(name, "softmax_xent"), batch, seed=3)
    assert compared >= 6


# ---------------------------------------------------------------- QAS updates


def one_step(
    graph: ir.Graph,
    options: str,
    trainable: str = "all",
    lr: float = 0.05,
    steps: int = 1,
    loss: str = "softmax_xent",
    batch: int = 2,
):  # type: ignore[no-untyped-def]
    tg = build_training_graph(
        graph,
        trainable=trainable,
        loss=loss,
        optimizer=f"sgd:lr={lr}",
        batch=batch,
        precision="int8",
        int8_training=options,
    )
    trainer = ReferenceTrainer(tg)
    x = batch_for(graph, batch, seed=5)
    labels = labels_for(tg, 5)
    before = trainer.parameters
    for _ in range(steps):
        trainer.train_step(x, labels)
    return tg, trainer, before, x, labels


@pytest.mark.parametrize("options", ["nearest", "stochastic", "master", "noqas"])
def test_fused_updates_equal_unfused_bit_for_bit(graphs, options) -> None:  # type: ignore[no-untyped-def]
    graph = graphs["small_cnn_int8"]
    lr = 5000.0 if options == "noqas" else 0.05
    fused = one_step(graph, options, lr=lr, steps=3)[1]
    unfused_tg, unfused, before, _, _ = one_step(graph, options + ",unfused", lr=lr, steps=3)
    changed = 0
    for name, array in fused.parameters.items():
        assert array.dtype == before[name].dtype
        assert np.array_equal(array, unfused.parameters[name]), name
        changed += int((array != before[name]).sum())
    assert changed > 50
    if options == "stochastic":
        assert np.array_equal(fused.state["rng"], unfused.state["rng"])
        assert int(fused.state["rng"][0]) != Int8Training().rng_start


def test_qas_step_is_the_float_sgd_step_in_integer_units(graphs) -> None:  # type: ignore[no-untyped-def]
    """q' = clip(q - round(lr * g / s)) with g the PyTorch gradient of the dequantized network,
    s = s_w per output channel (weights), s_w s_x (biases): checked in float64 against the update the
    reference applied, except where lr g / s lies within 1e-3 of a rounding boundary."""
    graph = graphs["digits_cnn"]
    tg = build_training_graph(
        graph, loss="softmax_xent", optimizer="sgd:lr=0.2", batch=4, precision="int8", int8_training="unfused"
    )
    trainer = ReferenceTrainer(tg)
    x, labels = batch_for(graph, 4, 9), labels_for(tg, 9)
    result = trainer.gradients(x, labels)
    mirror = SteMirror(graph, 4, int8_buffers(tg, result.values))
    mirror.loss(mirror.forward(x), labels, "softmax_xent").backward()
    before = trainer.parameters
    trainer.train_step(x, labels)
    after = trainer.parameters
    checked = moved = 0
    for op in graph.ops:
        if op.kind not in (ir.OpKind.CONV_2D, ir.OpKind.DEPTHWISE_CONV_2D, ir.OpKind.FULLY_CONNECTED):
            continue
        w_tensor = graph.tensor(op.inputs[1])
        axis = 3 if op.kind is ir.OpKind.DEPTHWISE_CONV_2D else 0
        s_w = np.float32(w_tensor.quant.scale).astype(np.float64)  # type: ignore[union-attr]
        s_x = float(np.float32(graph.tensor(op.inputs[0]).quant.scale[0]))  # type: ignore[union-attr]
        label = f"{op.kind.value.lower()}_{op.index}"
        shape = [1] * len(w_tensor.shape)
        shape[axis] = -1
        for suffix, tensor, scale in (
            ("w", op.inputs[1], s_w.reshape(shape)),
            ("b", op.inputs[2], s_w * s_x),
        ):
            g = mirror.params[tensor].grad.numpy()  # type: ignore[union-attr]
            d = 0.2 * g / scale
            expected = np.clip(
                before[f"{label}.{suffix}"] - np.sign(d) * np.floor(np.abs(d) + 0.5),
                -127 if suffix == "w" else -(2**31),
                127 if suffix == "w" else 2**31 - 1,
            )
            clear = np.abs(np.abs(d) - np.floor(np.abs(d)) - 0.5) > 1e-3
            got = after[f"{label}.{suffix}"]
            assert np.array_equal(got[clear], expected[clear]), f"{label}.{suffix}"
            assert np.all(np.abs(got.astype(np.int64) - expected) <= 1), f"{label}.{suffix}"
            checked += int(clear.sum())
            moved += int((got != before[f"{label}.{suffix}"]).sum())
    assert checked > 500 and moved > 50


def test_without_qas_the_step_is_scaled_by_s_squared(graphs) -> None:  # type: ignore[no-untyped-def]
    graph = graphs["digits_cnn"]
    tg, trainer, before, x, labels = one_step(graph, "noqas,unfused", lr=1.0, steps=0)
    grads = trainer.gradients(x, labels).values
    trainer.train_step(x, labels)
    node = tg.node("fully_connected_6.update_w")
    w = graph.tensor(graph.ops[6].inputs[1])
    factor = np.float32(w.quant.scale).astype(np.float32)  # type: ignore[union-attr]
    assert np.array_equal(np.float32(node.attrs["factor"]), np.broadcast_to(factor, (10,)))
    expected, _ = qas.qas_update(
        before["fully_connected_6.w"],
        grads["fully_connected_6.dw"],
        factor,
        1.0,
        qas.output_channel_span(w.shape),
    )
    assert np.array_equal(trainer.parameters["fully_connected_6.w"], expected)


def test_master_copy_keeps_the_fractions(graphs) -> None:  # type: ignore[no-untyped-def]
    graph = graphs["digits_cnn"]
    tg, trainer, before, x, labels = one_step(graph, "master,unfused", lr=0.01, steps=0)
    master = trainer.state["fully_connected_6.w.master"]
    assert np.array_equal(master, before["fully_connected_6.w"].astype(np.float32))
    node = tg.node("fully_connected_6.update_w")
    factor = np.float32(node.attrs["factor"])
    total = master.copy()
    for _ in range(3):
        grad = trainer.gradients(x, labels).values["fully_connected_6.dw"]
        total = total - (grad * factor[:, None]).astype(np.float32) * np.float32(0.01)
        trainer.train_step(x, labels)
    assert np.array_equal(trainer.state["fully_connected_6.w.master"], total)
    rounded = np.clip(np.sign(total) * np.floor(np.abs(total) + 0.5), -127, 127)
    assert np.array_equal(trainer.parameters["fully_connected_6.w"], rounded.astype(np.int8))
    assert np.abs(total - np.round(total)).max() > 0.05  # fractions are kept in the master


def test_stochastic_rounding_is_unbiased_and_seeded(graphs) -> None:  # type: ignore[no-untyped-def]
    """k = floor(d + u): always floor(d) or floor(d) + 1, E[k] = d over seeds, the seed matters."""
    graph = graphs["digits_cnn"]
    lr = 0.004
    tg, trainer, before, x, labels = one_step(graph, "stochastic,unfused", lr=lr, steps=0, trainable="last:1")
    grads = trainer.gradients(x, labels).values["fully_connected_6.dw"]
    node = tg.node("fully_connected_6.update_w")
    d = ((grads * np.float32(node.attrs["factor"])[:, None]).astype(np.float32) * np.float32(lr)).astype(
        np.float64
    )
    q = before["fully_connected_6.w"].astype(np.int64)
    steps = []
    for seed in range(1, 41):
        options = f"stochastic,unfused,seed={seed}"
        t = ReferenceTrainer(
            build_training_graph(
                graph,
                trainable="last:1",
                optimizer=f"sgd:lr={lr}",
                batch=2,
                precision="int8",
                int8_training=options,
            )
        )
        t.train_step(x, labels)
        steps.append(q - t.parameters["fully_connected_6.w"])
    k = np.stack(steps).astype(np.float64)
    free = (q - np.floor(d) - 1 >= -127) & (q - np.floor(d) <= 127)  # no saturation possible
    assert free.mean() > 0.9 and np.abs(d).max() > 1.0
    assert np.all(((k >= np.floor(d)) & (k <= np.floor(d) + 1))[:, free])
    assert len({tuple(s.reshape(-1)) for s in steps}) > 30  # the seed matters
    bias = (k.mean(axis=0) - d)[free]
    assert abs(bias.mean()) < 0.03 and np.abs(bias).max() < 0.5


# ---------------------------------------------------------------- sparse update


@pytest.mark.parametrize("options", ["fused", "unfused", "stochastic", "master"])
def test_sparse_updates_touch_only_their_channels(graphs, options) -> None:  # type: ignore[no-untyped-def]
    graph = graphs["small_cnn_int8"]
    spec = TrainableSpec.sparse(
        {"conv_2d_4": (0.25, True), "depthwise_conv_2d_1": (0.5, False), "fully_connected_6": (1.0, False)}
    )
    tg, trainer, before, _, _ = one_step(graph, options, trainable=spec, lr=0.5, steps=2)
    after = trainer.parameters
    changed = {name for name in before if not np.array_equal(before[name], after[name])}
    assert changed == {"conv_2d_4.w", "conv_2d_4.b", "depthwise_conv_2d_1.w", "fully_connected_6.w"}
    w, w0 = after["conv_2d_4.w"], before["conv_2d_4.w"]
    assert np.array_equal(w[4:], w0[4:]) and (w[:4] != w0[:4]).sum() > 10  # ceil(0.25 * 16) = 4
    dw, dw0 = after["depthwise_conv_2d_1.w"], before["depthwise_conv_2d_1.w"]
    assert np.array_equal(dw[..., 4:], dw0[..., 4:]) and (dw[..., :4] != dw0[..., :4]).any()
    assert tg.trainable_channels["depthwise_conv_2d_1.w"] == 4


def test_bias_only_and_last_k(graphs) -> None:  # type: ignore[no-untyped-def]
    graph = graphs["mobilenetv2_035_96"]
    _, trainer, before, _, _ = one_step(graph, "fused", trainable="bias", lr=0.5, batch=1)
    after = trainer.parameters
    assert all(np.array_equal(before[n], after[n]) for n in before if n.endswith(".w"))
    assert sum(not np.array_equal(before[n], after[n]) for n in before if n.endswith(".b")) > 20
    tg, trainer, before, _, _ = one_step(graph, "fused", trainable="last:2", lr=0.5, batch=1)
    after = trainer.parameters
    changed = {n for n in before if not np.array_equal(before[n], after[n])}
    assert changed == {"conv_2d_61.w", "conv_2d_61.b", "fully_connected_63.w"}  # the FC has no bias


# ---------------------------------------------------------------- schedules


def test_any_valid_schedule_with_recomputation_gives_the_same_bits(graphs) -> None:  # type: ignore[no-untyped-def]
    graph = graphs["small_cnn_int8"]
    tg = build_training_graph(
        graph, optimizer="sgd:lr=0.1", batch=2, precision="int8", int8_training="stochastic"
    )
    x, labels = batch_for(graph, 2, 1), labels_for(tg, 1)
    reference = ReferenceTrainer(tg)
    reference.train_step(x, labels)
    rng = np.random.default_rng(0)
    for _ in range(3):
        order = _random_schedule(tg, rng)
        tg.check_schedule([n.name for n in order])
        trainer = ReferenceTrainer(tg)
        trainer.run(x, labels, nodes=order)
        for name, array in reference.parameters.items():
            assert np.array_equal(trainer.parameters[name], array), name
        assert np.array_equal(trainer.state["rng"], reference.state["rng"])


def _random_schedule(tg, rng):  # type: ignore[no-untyped-def]
    """A random topological order of ``tg.deps``, recomputing a few forward nodes before a reader."""
    deps = {n.name: set(tg.deps(n)) for n in tg.nodes}
    by_name = {n.name: n for n in tg.nodes}
    done: set[str] = set()
    order = []
    while len(done) < len(tg.nodes):
        ready = sorted(n for n in deps if n not in done and deps[n] <= done)
        pick = ready[rng.integers(len(ready))]
        node = by_name[pick]
        if node.stage is Stage.BACKWARD and rng.random() < 0.5:
            for dep in sorted(deps[pick]):
                if by_name[dep].stage is Stage.FORWARD and not _reads_updated(tg, by_name[dep], order):
                    order.append(by_name[dep])  # recompute: the same bits
        order.append(node)
        done.add(pick)
    return order


def _reads_updated(tg, node, order) -> bool:  # type: ignore[no-untyped-def]
    written = {v for n in order if n.stage is Stage.UPDATE for v in n.in_place}
    return bool(written.intersection(node.inputs))


def test_schedule_check_refuses_recomputing_after_a_fused_update(graphs) -> None:  # type: ignore[no-untyped-def]
    tg = build_training_graph(graphs["small_cnn_int8"], precision="int8")
    names = [n.name for n in tg.nodes]
    late = names + ["conv_2d_4.fwd"]  # reads conv_2d_4.w after conv_2d_4.bwd_w_qas changed it
    with pytest.raises(ValueError, match="after conv_2d_4.bwd_w_qas changed it"):
        tg.check_schedule(late)
    assert "conv_2d_4.bwd_in" in tg.deps(tg.node("conv_2d_4.bwd_w_qas"))


def test_dequantization_is_one_float32_rounding() -> None:
    tensor = ir.Tensor(0, "t", (256,), ir.DType.INT8, ir.Quant(np.array([0.0123456789]), np.array([-7])))
    q = np.arange(-128, 128, dtype=np.int8)
    exact = (np.float64(np.float32(0.0123456789)) * (q.astype(np.float64) + 7)).astype(np.float32)
    assert np.array_equal(deq(q, tensor), exact)
