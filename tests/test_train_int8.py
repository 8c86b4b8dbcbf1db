"""Structure of int8 training graphs: kernels, attrs, fused updates, costs, planner view, errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from edgesdk import ir
from edgesdk.errors import TrainingError, UnsupportedOpError
from edgesdk.frontend import load_model
from edgesdk.quant import prepare_op
from edgesdk.quant.qas import QasSpan
from edgesdk.train import (
    Compute,
    Int8Training,
    Rounding,
    Stage,
    TrainableSpec,
    ValueKind,
    build_training_graph,
)
from graph_maker import small_cnn

FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(scope="module")
def cnn() -> ir.Graph:
    return load_model(FIXTURES / "small_cnn_int8.tflite")


@pytest.fixture(scope="module")
def float_io() -> ir.Graph:
    return load_model(FIXTURES / "small_cnn_float_io.tflite")


def test_forward_nodes_call_int8_kernels_with_prepared_constants(cnn) -> None:  # type: ignore[no-untyped-def]
    tg = build_training_graph(cnn, precision="int8")
    forward = tg.nodes_by_stage(Stage.FORWARD)
    assert [n.compute for n in forward] == [
        Compute.CONV_2D_INT8_FWD,
        Compute.DEPTHWISE_CONV_2D_INT8_FWD,
        Compute.CONV_2D_INT8_FWD,
        Compute.ADD_INT8_FWD,
        Compute.CONV_2D_INT8_FWD,
        Compute.MEAN_INT8_FWD,
        Compute.FULLY_CONNECTED_INT8_FWD,
    ]
    for node in forward:
        assert node.attrs["params"] == prepare_op(cnn, cnn.ops[node.op])
        assert tg.values[node.output].dtype is ir.DType.INT8
        assert node.output_bytes == tg.values[node.output].size  # one byte per element
    assert tg.inference_nodes[-1].compute is Compute.SOFTMAX_INT8_FWD  # the trailing softmax: inference only
    loss = tg.node("loss")
    assert loss.compute is Compute.LOSS_SOFTMAX_XENT_INT8 and loss.inputs[0] == "fully_connected_6.y"
    q = cnn.tensor(cnn.ops[6].outputs[0]).quant
    assert (
        loss.attrs["scale"] == float(np.float32(q.scale[0])) and loss.attrs["zero_point"] == q.zero_point[0]
    )


def test_backward_kernels_read_int8_with_their_quantization(cnn) -> None:  # type: ignore[no-untyped-def]
    tg = build_training_graph(cnn, precision="int8", int8_training="unfused,nofuse")  # act_bwd alone
    act = tg.node("conv_2d_4.act_bwd")
    params = prepare_op(cnn, cnn.ops[4])
    assert act.compute is Compute.ACT_BWD_INT8
    assert (act.attrs["act_min"], act.attrs["act_max"]) == (params.act_min, params.act_max)
    bwd_in = tg.node("conv_2d_4.bwd_in")
    w = cnn.tensor(cnn.ops[4].inputs[1])
    assert bwd_in.compute is Compute.CONV_2D_BWD_IN_INT8
    assert bwd_in.attrs["w_scale"] == tuple(float(np.float32(s)) for s in w.quant.scale)  # type: ignore[union-attr]
    assert bwd_in.attrs["w_zero_point"] == 0
    bwd_w = tg.node("conv_2d_4.bwd_w")
    x = cnn.tensor(cnn.ops[4].inputs[0])
    assert bwd_w.compute is Compute.CONV_2D_BWD_W_INT8
    assert bwd_w.attrs["x_scale"] == float(np.float32(x.quant.scale[0]))  # type: ignore[union-attr]
    assert bwd_w.attrs["x_zero_point"] == int(x.quant.zero_point[0])  # type: ignore[union-attr]
    assert tg.node("conv_2d_4.bwd_b").compute is Compute.CONV_2D_BWD_B  # reads dz only
    assert "params" not in bwd_w.attrs and "activation" not in bwd_w.attrs
    update = tg.node("conv_2d_4.update_w")
    assert update.compute is Compute.QAS_UPDATE_INT8 and update.inputs == ("conv_2d_4.w", "conv_2d_4.dw")
    assert tg.node("conv_2d_4.update_b").compute is Compute.QAS_UPDATE_INT32


def test_fused_updates_keep_no_gradient_buffer(cnn) -> None:  # type: ignore[no-untyped-def]
    tg = build_training_graph(cnn, precision="int8")
    assert not [v for v in tg.values.values() if v.kind is ValueKind.PARAM_GRAD]
    names = [n.name for n in tg.nodes]
    fused = tg.node("conv_2d_4.bwd_w_qas")
    assert fused.stage is Stage.UPDATE and fused.compute is Compute.CONV_2D_BWD_W_QAS
    assert fused.inputs == ("conv_2d_4.w", "conv_2d_4.dz", "add_3.y") and fused.in_place == ("conv_2d_4.w",)
    assert names.index("conv_2d_4.bwd_w_qas") == names.index("conv_2d_4.bwd_in") + 1  # right after bwd_in
    assert "conv_2d_4.bwd_in" in tg.deps(fused)  # bwd_in reads the old weights
    span = fused.attrs["span"]
    assert span == QasSpan(rows=1, cols=16 * 72, param_stride=16 * 72, grad_stride=16 * 72, per_channel=72)
    assert fused.workspace_bytes == 4 * 8  # one (oc, kh, kw) row of IC = 8 float gradients
    unfused = build_training_graph(cnn, precision="int8", int8_training="unfused")
    gradient = unfused.node("conv_2d_4.bwd_w").macs
    assert fused.macs == gradient + 16 * 72  # the gradient plus one operation per updated weight
    depthwise = tg.node("depthwise_conv_2d_1.bwd_w_qas")
    assert depthwise.compute is Compute.DEPTHWISE_CONV_2D_BWD_W_QAS and depthwise.workspace_bytes == 4 * 8
    assert depthwise.attrs["span"] == QasSpan(rows=9, cols=8, param_stride=8, grad_stride=8, per_channel=1)
    bias = tg.node("conv_2d_4.bwd_b_qas")
    assert bias.compute is Compute.BIAS_BWD_QAS and bias.inputs == ("conv_2d_4.b", "conv_2d_4.dz")
    assert bias.attrs["span"] == QasSpan(rows=1, cols=16, param_stride=16, grad_stride=16, per_channel=1)
    fc = tg.node("fully_connected_6.bwd_w_qas")
    assert fc.workspace_bytes == 4 * 16  # one output row of IN = 16
    assert sum(n.workspace_bytes for n in unfused.nodes) == 0


def test_qas_factors_and_options_in_attrs(cnn) -> None:  # type: ignore[no-untyped-def]
    spec = TrainableSpec.sparse({"conv_2d_4": (0.25, True)})
    tg = build_training_graph(cnn, trainable=spec, optimizer="sgd:lr=0.02", precision="int8")
    node = tg.node("conv_2d_4.bwd_w_qas")
    op = cnn.ops[4]
    s_w = np.float32(cnn.tensor(op.inputs[1]).quant.scale).astype(np.float64)  # type: ignore[union-attr]
    s_x = float(np.float32(cnn.tensor(op.inputs[0]).quant.scale[0]))  # type: ignore[union-attr]
    assert node.attrs["factor"] == tuple((1.0 / s_w[:4]).astype(np.float32).tolist())
    bias = tg.node("conv_2d_4.bwd_b_qas")
    assert bias.attrs["factor"] == tuple((1.0 / (s_w * s_x)).astype(np.float32).tolist())
    assert node.attrs["channels"] == 4 and node.attrs["span"].cols == 4 * 72
    assert node.attrs["lr"] == 0.02 and node.attrs["qas"] and node.attrs["rounding"] is Rounding.NEAREST
    noqas = build_training_graph(cnn, trainable=spec, precision="int8", int8_training="noqas")
    assert noqas.node("conv_2d_4.bwd_w_qas").attrs["factor"] == tuple(s_w[:4].astype(np.float32).tolist())


def test_master_copy_and_rng_state_values(cnn) -> None:  # type: ignore[no-untyped-def]
    spec = TrainableSpec.sparse({"conv_2d_4": (0.25, True), "depthwise_conv_2d_1": (0.5, False)})
    tg = build_training_graph(cnn, trainable=spec, precision="int8", int8_training="master")
    master = tg.values["conv_2d_4.w.master"]
    assert master.kind is ValueKind.MASTER and master.resident and master.shape == (4, 3, 3, 8)
    assert tg.values["depthwise_conv_2d_1.w.master"].shape == (1, 3, 3, 4)
    assert tg.node("conv_2d_4.bwd_w_qas").in_place == ("conv_2d_4.w", "conv_2d_4.w.master")
    # conv_2d_4's weight is split: its 4 trainable rows in RAM, the other 12 in flash; the bias
    # and the depthwise weight (channels innermost: never split) stay whole
    assert tg.values["conv_2d_4.w"].head_channels == 4
    assert tg.values["depthwise_conv_2d_1.w"].head_channels is None
    params = 4 * 72 + 16 * 4 + 9 * 8
    masters = 4 * (4 * 72 + 16 + 9 * 4)
    inputs = 4 + 4  # label, loss (the int8 image is an arena buffer)
    assert tg.resident_bytes == params + masters + inputs
    stochastic = build_training_graph(cnn, trainable=spec, precision="int8", int8_training="stochastic")
    assert stochastic.values["rng"].kind is ValueKind.RNG_STATE and stochastic.values["rng"].nbytes == 4
    updates = stochastic.nodes_by_stage(Stage.UPDATE)
    assert all(n.in_place[-1] == "rng" for n in updates)
    for earlier, later in zip(updates, updates[1:], strict=False):  # the draws keep the graph's order
        assert earlier.name in stochastic.deps(later)


def test_float_io_model_gets_quantize_and_dequantize_nodes(float_io) -> None:  # type: ignore[no-untyped-def]
    tg = build_training_graph(float_io, precision="int8")
    assert tg.values["input"].dtype is ir.DType.FLOAT32
    first = tg.nodes[0]
    assert first.compute is Compute.QUANTIZE_INT8_FWD and first.inputs == ("input",)
    # softmax_xent: the trailing SOFTMAX and DEQUANTIZE run in inference only
    assert [n.compute for n in tg.inference_nodes[-2:]] == [
        Compute.SOFTMAX_INT8_FWD,
        Compute.DEQUANTIZE_INT8_FWD,
    ]
    assert tg.node("loss").inputs[0] == "fully_connected_7.y"
    assert tg.values[tg.outputs[0]].dtype is ir.DType.FLOAT32
    mse = build_training_graph(float_io, precision="int8", loss="mse")
    assert mse.node("loss").compute is Compute.LOSS_MSE and mse.node("loss").inputs[0] == "dequantize_9.y"
    assert mse.node("softmax_8.bwd").compute is Compute.SOFTMAX_BWD_INT8
    fp32 = build_training_graph(float_io)  # fp32: QUANTIZE / DEQUANTIZE stay folded aliases
    assert not {Compute.QUANTIZE_INT8_FWD, Compute.DEQUANTIZE_INT8_FWD} & {
        n.compute for n in fp32.inference_nodes
    }


def test_planner_view_of_an_int8_graph(cnn) -> None:  # type: ignore[no-untyped-def]
    tg = build_training_graph(cnn, precision="int8", batch=2)
    plan = tg.to_planner_dict()
    by_name = {n["name"]: n for n in plan["nodes"]}
    assert by_name["conv_2d_0.fwd"]["output_bytes"] == 2 * 16 * 16 * 8
    assert by_name["conv_2d_0.act_bwd"]["output_bytes"] == 4 * 2 * 16 * 16 * 8  # gradients stay float32
    assert (
        by_name["conv_2d_4.bwd_w_qas"]["kind"] == "update"
        and by_name["conv_2d_4.bwd_w_qas"]["output_bytes"] == 0
    )
    assert by_name["conv_2d_4.bwd_w_qas"]["workspace_bytes"] == 32
    assert plan["resident_bytes"] == tg.resident_bytes
    tg.check_schedule([n.name for n in tg.nodes])
    fp32 = build_training_graph(cnn, batch=2).to_planner_dict()
    fwd = {n["name"]: n for n in fp32["nodes"]}
    assert by_name["conv_2d_4.fwd"]["macs"] == fwd["conv_2d_4.fwd"]["macs"]
    assert fwd["conv_2d_0.fwd"]["output_bytes"] == 4 * by_name["conv_2d_0.fwd"]["output_bytes"]
    assert "precision int8 (qas, nearest, fused)" in tg.summary()


def _old_resident(tg) -> int:  # type: ignore[no-untyped-def]
    """Resident bytes when every input batch was resident: the resident values and the input."""
    return sum(v.nbytes for v in tg.values.values() if v.resident or v.kind is ValueKind.INPUT)


def test_the_planner_sees_the_int8_input_batch_as_a_buffer(cnn, float_io) -> None:  # type: ignore[no-untyped-def]
    """An int8 graph with an int8 input: the batch is a node of the planner's view (first, free to
    run, not recomputable), its readers depend on it, and it is no longer resident state. A float
    input (the caller's array, quantized by a node) and fp32 graphs keep the old view."""
    tg = build_training_graph(cnn, trainable="all", precision="int8", batch=2)
    batch = 2 * 32 * 32 * 3
    assert not tg.value("input").resident and tg.value("input").nbytes == batch
    plan = tg.to_planner_dict()
    first = plan["nodes"][0]
    assert first == {"name": "input", "kind": "forward", "macs": 0, "output_bytes": batch,
                     "workspace_bytes": 0, "deps": [], "compute_cycles": 0, "recomputable": False}
    readers = [n["name"] for n in plan["nodes"] if "input" in n["deps"]]
    assert readers == [n.name for n in tg.nodes if "input" in n.inputs]
    assert readers == ["conv_2d_0.fwd", "conv_2d_0.bwd_w_qas"]  # the first layer's update reads it too
    assert plan["resident_bytes"] == tg.resident_bytes == _old_resident(tg) - batch
    assert [n["name"] for n in plan["nodes"][1:]] == [n.name for n in tg.nodes]
    node = tg.input_node
    assert node is not None and node.compute is Compute.INPUT and node.output == "input" and node.inputs == ()
    assert tg.scheduled_nodes == (node, *tg.nodes)
    last = build_training_graph(cnn, trainable="last:1", precision="int8")
    assert [n["name"] for n in last.to_planner_dict()["nodes"] if "input" in n["deps"]] == ["conv_2d_0.fwd"]
    for other in (build_training_graph(float_io, precision="int8"), build_training_graph(cnn, batch=2)):
        exported = other.to_planner_dict()
        assert other.input_node is None and other.value("input").resident
        assert "input" not in {n["name"] for n in exported["nodes"]}
        assert all("input" not in n["deps"] for n in exported["nodes"])
        assert exported["resident_bytes"] == other.resident_bytes == _old_resident(other)


def test_a_schedule_runs_the_input_node_first_and_once(cnn) -> None:  # type: ignore[no-untyped-def]
    tg = build_training_graph(cnn, trainable="all", precision="int8")
    order = [n.name for n in tg.nodes]
    tg.check_schedule(["input", *order])  # a planner's schedule
    tg.check_schedule(order)  # the reference's: the batch is given
    with pytest.raises(ValueError, match="input runs after other nodes"):
        tg.check_schedule([order[0], "input", *order[1:]])
    with pytest.raises(ValueError, match="input runs after other nodes; the caller's batch"):
        tg.check_schedule(["input", *order[:1], "input", *order[1:]])  # it cannot be recomputed
    fp32 = build_training_graph(cnn)
    fp32.check_schedule([n.name for n in fp32.nodes])
    with pytest.raises(ValueError, match="'input' is not a node"):
        fp32.check_schedule(["input", *[n.name for n in fp32.nodes]])


def test_int8_options_parse_and_refuse() -> None:
    assert Int8Training.parse("stochastic, unfused, noqas, seed=0x10") == Int8Training(
        qas=False, rounding=Rounding.STOCHASTIC, master=False, fused=False, seed=16
    )
    assert Int8Training.parse(None) == Int8Training()
    starts = {Int8Training(seed=s).rng_start for s in range(1, 200)}
    assert len(starts) == 199 and 0 not in starts
    with pytest.raises(TrainingError, match="master or stochastic"):
        Int8Training.parse("master,stochastic")
    with pytest.raises(TrainingError, match="not understood"):
        Int8Training.parse("fast")
    with pytest.raises(TrainingError, match="seed"):
        Int8Training.parse("seed=0")


def test_int8_training_errors(cnn) -> None:  # type: ignore[no-untyped-def]
    for optimizer in ("adam", "momentum", "sgd:weight_decay=0.01"):
        with pytest.raises(TrainingError, match="sgd without weight_decay, or precision fp32"):
            build_training_graph(cnn, precision="int8", optimizer=optimizer)
    with pytest.raises(TrainingError, match="precision int8 only"):
        build_training_graph(cnn, int8_training="stochastic")
    with pytest.raises(UnsupportedOpError, match="LOGISTIC"):  # nominal quantization the int8 kernels refuse
        build_training_graph(small_cnn(), precision="int8", loss="mse")
