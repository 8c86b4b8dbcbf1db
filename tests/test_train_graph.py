"""Structure of the training graph: order, pruning per trainable selection, aliases, costs, export."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from edgesdk import ir
from edgesdk.errors import TrainingError, UnsupportedOpError
from edgesdk.frontend import load_model
from edgesdk.train import (
    Compute,
    OptimizerKind,
    OptimizerSpec,
    Stage,
    TrainableSpec,
    TrainingGraph,
    ValueKind,
    build_training_graph,
)
from graph_maker import GraphMaker, small_cnn

PARAM_LAYERS = [
    "conv_2d_0",
    "depthwise_conv_2d_1",
    "conv_2d_2",
    "conv_2d_5",
    "depthwise_conv_2d_6",
    "conv_2d_11",
    "fully_connected_14",
]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
PROVIDED = (ValueKind.INPUT, ValueKind.LABEL, ValueKind.CONSTANT, ValueKind.PARAMETER, ValueKind.OPT_STATE)


def names(tg: TrainingGraph, stage: Stage | None = None) -> set[str]:
    return {n.name for n in tg.nodes if stage is None or n.stage is stage}


def assert_valid_order(tg: TrainingGraph) -> None:
    for program in (tg.nodes, tg.inference_nodes):
        written: set[str] = set()
        assert [n.index for n in program] == list(range(len(program)))
        assert len({n.name for n in program}) == len(program)
        for node in program:
            for value in node.inputs:
                assert value in written or tg.values[value].kind in PROVIDED, (
                    f"{node.name} reads {value} early"
                )
            if node.output is not None:
                assert node.output not in written, f"{node.output} written twice"
                written.add(node.output)
                assert node.output_bytes == tg.values[node.output].nbytes
            written.update(node.side_outputs)
    for node in tg.nodes_by_stage(Stage.UPDATE):  # an update is the last reader of its parameter
        param = node.in_place[0]
        assert all(param not in later.inputs for later in tg.nodes[node.index + 1 :])


@pytest.fixture(scope="module")
def cnn() -> ir.Graph:
    return small_cnn()


@pytest.mark.parametrize("spec", ["all", "last:1", "last:3", "bias"])
@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
def test_order_is_valid(cnn, spec, optimizer):  # type: ignore[no-untyped-def]
    assert_valid_order(build_training_graph(cnn, trainable=spec, optimizer=optimizer, batch=2))


def test_all_computes_every_gradient_except_below_the_first_layer(cnn):  # type: ignore[no-untyped-def]
    tg = build_training_graph(cnn, trainable="all", fuse=False)  # the autodiff's nodes, none fused
    updates = names(tg, Stage.UPDATE)
    assert updates == {f"{layer}.update_{p}" for layer in PARAM_LAYERS for p in "wb"}
    bwd_in = {n for n in names(tg) if n.endswith(".bwd_in")}
    assert bwd_in == {f"{layer}.bwd_in" for layer in PARAM_LAYERS[1:]}  # not for the first conv
    assert len(tg.nodes_by_stage(Stage.FORWARD)) == 14  # 16 ops - RESHAPE (folded) - trailing SOFTMAX
    assert len(tg.nodes_by_stage(Stage.LOSS)) == 1
    # backward: 7 layers x (w, b) + 6 bwd_in + 5 act_bwd (ops 0, 1, 3, 5, 11) + ADD's aliases (none)
    # + max/avg pool, pad, logistic, 2 concat slices, mean + 2 grad sums (conv_2d_0.y, pad_8.y)
    assert len(tg.nodes_by_stage(Stage.BACKWARD)) == 14 + 6 + 5 + 7 + 2
    assert {n.name for n in tg.nodes if n.compute is Compute.ACT_BWD} == {
        "conv_2d_0.act_bwd",
        "depthwise_conv_2d_1.act_bwd",
        "add_3.act_bwd",
        "conv_2d_5.act_bwd",
        "conv_2d_11.act_bwd",
    }
    sums = [n for n in tg.nodes if n.compute is Compute.GRAD_SUM]
    assert sorted(n.name for n in sums) == ["conv_2d_0.y.grad_sum", "pad_8.y.grad_sum"]


def test_last_k_prunes_everything_below(cnn):  # type: ignore[no-untyped-def]
    tg = build_training_graph(cnn, trainable="last:1")
    assert names(tg, Stage.BACKWARD) == {"fully_connected_14.bwd_w", "fully_connected_14.bwd_b"}
    tg = build_training_graph(cnn, trainable="last:2", fuse=False)
    backward = names(tg, Stage.BACKWARD)
    assert {"fully_connected_14.bwd_in", "mean_12.bwd", "conv_2d_11.act_bwd"} <= backward
    assert {"conv_2d_11.bwd_w", "conv_2d_11.bwd_b"} <= backward
    assert "conv_2d_11.bwd_in" not in backward and len(backward) == 7
    # fused (the default): the MEAN backward and the activation backward are one node
    backward = names(build_training_graph(cnn, trainable="last:2"), Stage.BACKWARD)
    assert "mean_12-conv_2d_11.bwd" in backward and len(backward) == 6
    assert not {"mean_12.bwd", "conv_2d_11.act_bwd"} & backward
    assert len(tg.nodes_by_stage(Stage.UPDATE)) == 4


def test_bias_only_computes_no_weight_gradient(cnn):  # type: ignore[no-untyped-def]
    tg = build_training_graph(cnn, trainable="bias")
    assert not [n for n in names(tg) if n.endswith(".bwd_w")]
    assert names(tg, Stage.UPDATE) == {f"{layer}.update_b" for layer in PARAM_LAYERS}
    assert {n for n in names(tg) if n.endswith(".bwd_in")} == {
        f"{layer}.bwd_in" for layer in PARAM_LAYERS[1:]
    }
    assert tg.values["conv_2d_0.w"].kind is ValueKind.CONSTANT
    assert tg.values["conv_2d_0.b"].kind is ValueKind.PARAMETER


def test_sparse_update_from_a_json_file(cnn, tmp_path):  # type: ignore[no-untyped-def]
    weight_name = cnn.tensor(cnn.ops[5].inputs[1]).name
    spec = {
        "11": {"weight_ratio": 0.25, "bias": True},  # op index
        "depthwise_conv_2d_6": {"weight_ratio": 0.5},  # layer label, weight only
        weight_name: {"bias": True},  # weight tensor name of op 5, bias only
    }
    path = tmp_path / "sparse.json"
    path.write_text(json.dumps(spec))
    tg = build_training_graph(cnn, trainable=f"sparse:{path}", optimizer="adam")
    assert_valid_order(tg)
    assert names(tg, Stage.UPDATE) == {
        "conv_2d_11.update_w",
        "conv_2d_11.update_b",
        "depthwise_conv_2d_6.update_w",
        "conv_2d_5.update_b",
    }
    assert tg.values["conv_2d_11.dw"].shape == (2, 1, 1, 16)  # ceil(0.25 * 8) output channels
    assert tg.values["depthwise_conv_2d_6.dw"].shape == (1, 2, 2, 4)  # last axis for depthwise
    assert tg.values["depthwise_conv_2d_6.w.m"].shape == (1, 2, 2, 4)
    assert tg.trainable_channels == {
        "conv_2d_11.w": 2,
        "conv_2d_11.b": 8,
        "depthwise_conv_2d_6.w": 4,
        "conv_2d_5.b": 4,
    }
    full = build_training_graph(cnn, trainable="all")
    assert tg.node("conv_2d_11.bwd_w").macs * 4 == full.node("conv_2d_11.bwd_w").macs
    # frozen fully_connected_14 still passes the gradient down; nothing below conv_2d_5 is computed
    assert "fully_connected_14.bwd_in" in names(tg) and "fully_connected_14.bwd_w" not in names(tg)
    assert "conv_2d_5.bwd_in" not in names(tg) and "conv_2d_5.bwd_w" not in names(tg)
    assert not any(n.op is not None and n.op < 5 for n in tg.nodes if n.stage is not Stage.FORWARD)


def test_sparse_spec_errors(cnn, tmp_path):  # type: ignore[no-untyped-def]
    with pytest.raises(TrainingError, match="not a parameterized layer"):
        TrainableSpec.sparse({"add_3": (1.0, True)}).resolve(cnn)
    with pytest.raises(TrainingError, match="does not exist"):
        TrainableSpec.parse(f"sparse:{tmp_path / 'missing.json'}")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(TrainingError, match="not readable JSON"):
        TrainableSpec.parse(f"sparse:{bad}")
    bad.write_text(json.dumps({"0": {"ratio": 0.5}}))
    with pytest.raises(TrainingError, match="optional keys weight_ratio"):
        TrainableSpec.parse(f"sparse:{bad}")
    bad.write_text(json.dumps({"0": {"weight_ratio": 1.5}}))
    with pytest.raises(TrainingError, match=r"\[0, 1\]"):
        TrainableSpec.parse(f"sparse:{bad}")
    with pytest.raises(TrainingError, match="updates no parameter"):
        build_training_graph(cnn, trainable=TrainableSpec.sparse({"0": (0.0, False)}))


@pytest.mark.parametrize("text", ["some", "last:x", "last:0", "sparse:", "all:3"])
def test_trainable_string_errors(text):  # type: ignore[no-untyped-def]
    with pytest.raises(TrainingError):
        TrainableSpec.parse(text)


def test_last_k_larger_than_the_model(cnn):  # type: ignore[no-untyped-def]
    with pytest.raises(TrainingError, match="7 parameterized layers"):
        build_training_graph(cnn, trainable="last:8")


def test_optimizer_parsing_and_state(cnn):  # type: ignore[no-untyped-def]
    spec = OptimizerSpec.parse("adam:lr=0.002, beta2=0.99,weight_decay=1e-4")
    assert (spec.kind, spec.lr, spec.beta2, spec.weight_decay) == (OptimizerKind.ADAM, 0.002, 0.99, 1e-4)
    for text in ("adagrad", "sgd:lr", "sgd:lr=fast", "sgd:rate=1", "sgd:lr=-1", "momentum:momentum=1"):
        with pytest.raises(TrainingError):
            OptimizerSpec.parse(text)
    sizes = {}
    for kind, states in (("sgd", 0), ("momentum", 1), ("adam", 2)):
        tg = build_training_graph(cnn, optimizer=kind)
        state = [v for v in tg.values.values() if v.kind is ValueKind.OPT_STATE]
        assert len(state) == states * 14
        sizes[kind] = tg.resident_bytes
        node = tg.node("conv_2d_0.update_w")
        assert node.inputs[:2] == ("conv_2d_0.w", "conv_2d_0.dw")
        assert node.in_place == (
            "conv_2d_0.w",
            *(f"conv_2d_0.w.{s}" for s in ("v",) * (kind == "momentum")),
            *(f"conv_2d_0.w.{s}" for s in ("m", "v") * (kind == "adam")),
        )
    grad_bytes = sum(v.nbytes for v in tg.values.values() if v.kind is ValueKind.PARAM_GRAD)
    assert sizes["momentum"] - sizes["sgd"] == grad_bytes
    assert sizes["adam"] - sizes["sgd"] == 2 * grad_bytes


def test_aliases_are_folded_away():
    g = GraphMaker(seed=1)
    x = g.quantize(g.input((1, 4, 4, 2)))
    y = g.reshape(g.conv(x, 3, k=1), (1, 48))
    y = g.dequantize(g.fc(y, 4))
    tg = build_training_graph(g.build(y), loss="mse")
    assert [n.name for n in tg.nodes_by_stage(Stage.FORWARD)] == ["conv_2d_1.fwd", "fully_connected_3.fwd"]
    assert tg.node("fully_connected_3.fwd").inputs[0] == "conv_2d_1.y"  # reads the conv output as is
    assert tg.node("fully_connected_3.fwd").attrs["x_shape"] == (1, 48)
    assert tg.logits == "fully_connected_3.y" and tg.outputs == ("fully_connected_3.y",)
    assert set(tg.values) == {
        "input",
        "labels",
        "loss",
        "loss.dlogits",
        "conv_2d_1.y",
        "conv_2d_1.w",
        "conv_2d_1.b",
        "conv_2d_1.dz",
        "conv_2d_1.dw",
        "conv_2d_1.db",
        "fully_connected_3.y",
        "fully_connected_3.w",
        "fully_connected_3.b",
        "fully_connected_3.dx",
        "fully_connected_3.dw",
        "fully_connected_3.db",
    }
    assert tg.values["fully_connected_3.dx"].shape == (1, 4, 4, 3)  # the gradient of the conv output


def test_costs_closed_form():
    g = GraphMaker(seed=2)
    y = g.conv(g.input((1, 9, 7, 3)), 5, k=3, stride=2, padding="same")  # 5 x 4 output
    y = g.depthwise(y, k=3, multiplier=2, padding="valid")  # 3 x 2 x 10
    y = g.fc(g.reshape(y, (1, 60)), 4)
    tg = build_training_graph(
        g.build(y),
        loss="mse",
        batch=3,
        optimizer="adam:weight_decay=0.1",
        trainable=TrainableSpec.sparse({"0": (0.4, True), "1": (1, True), "3": (1, True)}),
    )
    n = 3
    conv = n * 5 * 4 * 5 * 3 * 3 * 3
    assert tg.node("conv_2d_0.fwd").macs == conv
    assert tg.node("conv_2d_0.fwd").attrs["pad"] == (1, 1, 1, 1)
    assert tg.node("conv_2d_0.bwd_w").macs == conv * 2 // 5  # ceil(0.4 * 5) = 2 channels
    assert tg.node("conv_2d_0.bwd_b").macs == n * 5 * 4 * 5
    dw = n * 3 * 2 * 10 * 3 * 3
    assert tg.node("depthwise_conv_2d_1.fwd").macs == dw == tg.node("depthwise_conv_2d_1.bwd_in").macs
    assert tg.node("fully_connected_3.fwd").macs == n * 60 * 4 == tg.node("fully_connected_3.bwd_w").macs
    assert tg.node("conv_2d_0.update_w").macs == 2 * 3 * 3 * 3 * (4 + 1)  # Adam + weight decay per element
    assert tg.node("depthwise_conv_2d_1.fwd").output_bytes == n * 3 * 2 * 10 * 4
    assert all(node.workspace_bytes == 0 for node in tg.nodes)


def test_planner_export(cnn):  # type: ignore[no-untyped-def]
    tg = build_training_graph(cnn, optimizer="momentum", batch=2)
    exported = json.loads(json.dumps(tg.to_planner_dict()))
    assert set(exported) == {"name", "nodes", "resident_bytes"}
    assert exported["name"] == "small_cnn"
    seen: set[str] = set()
    for entry in exported["nodes"]:
        assert set(entry) == {"name", "kind", "macs", "output_bytes", "workspace_bytes", "deps"}
        assert entry["kind"] in ("forward", "backward", "update")
        assert all(dep in seen for dep in entry["deps"])
        seen.add(entry["name"])
    by_name = {e["name"]: e for e in exported["nodes"]}
    assert by_name["loss"]["kind"] == "backward"
    assert by_name["conv_2d_2.fwd"]["deps"] == ["depthwise_conv_2d_1.fwd"]
    assert by_name["add_3.fwd"]["deps"] == ["conv_2d_0.fwd", "conv_2d_2.fwd"]
    # parameter gradients are resident: every update follows every parameter-gradient node (the
    # whole backward pass, hence every reader of its weight), and nothing else
    grad_nodes = {n.name for n in tg.nodes if n.name.endswith((".bwd_w", ".bwd_b"))}
    assert len(grad_nodes) == 14
    assert set(by_name["conv_2d_2.update_w"]["deps"]) == grad_nodes
    assert all(by_name[dep]["output_bytes"] == 0 for dep in grad_nodes)
    first_update = min(n.index for n in tg.nodes_by_stage(Stage.UPDATE))
    assert all(n.stage is Stage.UPDATE for n in tg.nodes[first_update:])
    assert by_name["conv_2d_2.bwd_w"]["output_bytes"] == 0  # resident parameter gradient
    assert by_name["conv_2d_2.fwd"]["output_bytes"] == 2 * 5 * 5 * 6 * 4
    params = sum(
        v.nbytes for v in tg.values.values() if v.kind in (ValueKind.PARAMETER, ValueKind.PARAM_GRAD)
    )
    state = sum(v.nbytes for v in tg.values.values() if v.kind is ValueKind.OPT_STATE)
    io = 2 * 10 * 10 * 3 * 4 + 2 * 4 + 4  # input batch, labels, loss
    assert exported["resident_bytes"] == params + state + io


def test_transient_parameter_gradients(cnn):  # type: ignore[no-untyped-def]
    resident = build_training_graph(cnn)
    transient = build_training_graph(cnn, resident_param_grads=False)
    grad_bytes = sum(v.nbytes for v in resident.values.values() if v.kind is ValueKind.PARAM_GRAD)
    assert resident.resident_bytes - transient.resident_bytes == grad_bytes
    exported = {e["name"]: e for e in transient.to_planner_dict()["nodes"]}
    assert exported["conv_2d_2.bwd_w"]["output_bytes"] == 6 * 6 * 4
    # each update follows its own layer's backward nodes, freeing the gradient early
    # ... and after the input gradient that still reads the old weight (an ordering edge)
    assert exported["conv_2d_2.update_w"]["deps"] == ["conv_2d_2.bwd_w", "conv_2d_2.bwd_in"]
    assert exported["conv_2d_2.update_b"]["deps"] == ["conv_2d_2.bwd_b"]
    assert exported["conv_2d_0.update_w"]["deps"] == ["conv_2d_0.bwd_w"]  # lowest layer: no bwd_in
    names_in_order = [n.name for n in transient.nodes]
    assert names_in_order.index("conv_2d_2.update_b") < names_in_order.index("depthwise_conv_2d_1.act_bwd")
    assert_valid_order(transient)


def test_check_schedule(cnn):  # type: ignore[no-untyped-def]
    tg = build_training_graph(cnn, resident_param_grads=False)
    order = [n.name for n in tg.nodes]
    tg.check_schedule(order)
    # recomputing a forward node before a later reader is fine ...
    at = order.index("conv_2d_11.bwd_w")
    tg.check_schedule(order[:at] + ["concatenation_10.fwd"] + order[at:])
    # ... but not once its weight was updated: it would compute with the new weights
    at = order.index("depthwise_conv_2d_1.bwd_w")
    with pytest.raises(ValueError, match="reads conv_2d_2.w after conv_2d_2.update_w"):
        tg.check_schedule(order[:at] + ["conv_2d_2.fwd"] + order[at:])
    with pytest.raises(ValueError, match="before any node produced it"):
        tg.check_schedule(order[1:2] + order[:1] + order[2:])
    with pytest.raises(ValueError, match="never runs"):
        tg.check_schedule(order[:-1])
    with pytest.raises(ValueError, match="runs twice"):
        tg.check_schedule(order + order[-1:])
    with pytest.raises(ValueError, match="not a node"):
        tg.check_schedule(order + ["softmax_15.fwd"])


def test_int8_precision_storage():  # type: ignore[no-untyped-def]
    # int8 needs a model whose quantization the int8 kernels accept: a converted fixture
    model = load_model(FIXTURES / "small_cnn_int8.tflite")
    tg = build_training_graph(model, precision="int8", int8_training="unfused")
    assert tg.values["conv_2d_0.y"].dtype is ir.DType.INT8
    assert tg.node("conv_2d_0.fwd").output_bytes == 16 * 16 * 8
    assert (
        tg.values["conv_2d_0.w"].dtype is ir.DType.INT8 and tg.values["conv_2d_0.b"].dtype is ir.DType.INT32
    )
    assert (
        tg.values["conv_2d_0.dw"].dtype is ir.DType.FLOAT32
        and tg.values["conv_2d_0.dz"].dtype is ir.DType.FLOAT32
    )
    fp32 = build_training_graph(model)
    assert [n.name for n in tg.nodes] == [n.name for n in fp32.nodes]  # unfused: the same structure


def test_inference_program_keeps_the_trailing_softmax(cnn):  # type: ignore[no-untyped-def]
    tg = build_training_graph(cnn)
    assert tg.inference_nodes[-1].compute is Compute.SOFTMAX_FWD
    assert all(n.stage is Stage.FORWARD for n in tg.inference_nodes)
    assert Compute.SOFTMAX_FWD not in {n.compute for n in tg.nodes}
    assert tg.logits == "fully_connected_14.y" and tg.outputs == ("softmax_15.y",)
    assert tg.node("loss").inputs == ("fully_connected_14.y", "labels")
    assert tg.values["labels"].shape == (1,) and tg.values["labels"].dtype is ir.DType.INT32
    mse = build_training_graph(cnn, loss="mse", batch=2)
    assert mse.node("loss").inputs == ("softmax_15.y", "labels") and mse.values["labels"].shape == (2, 5)


def test_training_errors(cnn):  # type: ignore[no-untyped-def]
    with pytest.raises(TrainingError, match="batch"):
        build_training_graph(cnn, batch=0)
    with pytest.raises(TrainingError, match="loss"):
        build_training_graph(cnn, loss="hinge")
    g = GraphMaker()
    x = g.input((1, 4, 4, 2))
    two = g.build(g.conv(x, 2), g.conv(x, 2))
    with pytest.raises(TrainingError, match="one input and one output"):
        build_training_graph(two)
    g = GraphMaker()
    batched = g.build(g.conv(g.input((2, 4, 4, 2)), 2))
    build_training_graph(batched)  # the model's own batch is fine
    with pytest.raises(TrainingError, match="batch dimension 1"):
        build_training_graph(batched, batch=2)
    g = GraphMaker()
    x = g.conv(g.input((1, 4, 4, 2)), 2)
    y = g.add(x, g.constant(np.ones((1, 1, 1, 2))))
    build_training_graph(g.build(g.conv(y, 2)), loss="mse")  # broadcast constant: no gradient needed
    g = GraphMaker()
    x = g.input((1, 4, 4, 2))
    y = g.add(g.conv(x, 2), g.conv(g.mean(x, keep_dims=True), 2, k=1))
    with pytest.raises(UnsupportedOpError, match="broadcast"):
        build_training_graph(g.build(y), loss="mse")
    g = GraphMaker()
    with pytest.raises(UnsupportedOpError, match="batch axis"):
        build_training_graph(g.build(g.mean(g.conv(g.input((1, 4, 4, 2)), 2), axes=(0, 1))), loss="mse")
