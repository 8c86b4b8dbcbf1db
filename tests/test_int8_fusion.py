"""The fused convolution -> depthwise convolution of int8 graphs (docs/int8-training.md, Fusion).

- the C kernel es_conv_depthwise_int8_fwd equals the two reference kernels run one after the
  other, bit for bit, on random geometries; it refuses bad arguments without writing; it runs
  clean under ASan + UBSan;
- the graph pass: which pairs fuse on MobileNetV2 (frozen early layers) and that nothing fuses
  when every layer trains; the middle value is gone, MACs are kept, the ring is the workspace;
- the reference trainer gives the same losses and parameters fused and unfused;
- generated projects (keep-all and planned): the ring is an arena lifetime of its step, and the
  device computes the reference's bits, the same as the unfused build's.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import int8_lib as il
import numpy as np
import pytest
from codegen_support import FIXTURES, runtime_archive
from edgesdk.errors import TrainingError
from edgesdk.frontend import load_model
from edgesdk.ir import Padding
from edgesdk.pipeline import ProjectOptions, generate_project
from edgesdk.plan.project import PlanRequest
from edgesdk.quant import params as qp
from edgesdk.quant.prepare import window
from edgesdk.reference import ReferenceTrainer
from edgesdk.reference import int8 as ref
from edgesdk.toolchain.protocol import Results
from edgesdk.train import build_training_graph
from edgesdk.train.graph import Compute
from edgesdk.train.spec import Int8Training
from test_int8_codegen import DIGITS, build_and_compare, image_bytes

HERE = Path(__file__).resolve().parent
SANITIZE_DRIVER = HERE / "c" / "conv_depthwise_sanitize.c"
ES_ERR_ARG, ES_ERR_SHAPE = 1, 2
MOBILENET = FIXTURES / "mobilenetv2_035_96.tflite"
FLOAT_IO = FIXTURES / "small_cnn_float_io.tflite"


@pytest.fixture(scope="module")
def kernels(tmp_path_factory) -> il.Int8Kernels:
    return il.Int8Kernels(il.load(il.build(tmp_path_factory.mktemp("fusion"))))


# -- random cases ----------------------------------------------------------------------------------


def _requant(rng: np.random.Generator, count: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    multiplier = tuple(int(m) for m in rng.integers(2**30, 2**31, count))
    shift = tuple(int(s) for s in rng.integers(-12, 1, count))
    return multiplier, shift


def _axis(rng: np.random.Generator, size: int, kernel: int, stride: int, dilation: int) -> tuple[int, int]:
    padding = Padding.SAME if rng.random() < 0.5 else Padding.VALID
    return window(size, kernel, stride, dilation, padding)


def _bias(rng: np.random.Generator, count: int) -> np.ndarray | None:
    return None if rng.random() < 0.2 else rng.integers(-3000, 3000, count).astype(np.int32)


def _case(rng: np.random.Generator, producer_kernel: int):
    """x, the convolution (w, b, params) and the depthwise convolution (w, b, params) of one
    random geometry; None when a window leaves no output."""
    n, h, w, ic, c = 2, int(rng.integers(3, 14)), int(rng.integers(3, 14)), int(rng.integers(1, 6)), int(
        rng.integers(1, 7)
    )
    k1 = producer_kernel
    s1, d1 = int(rng.integers(1, 3)), int(rng.integers(1, 3)) if k1 > 1 else 1
    mh, pt1 = _axis(rng, h, k1, s1, d1)
    mw, pl1 = _axis(rng, w, k1, s1, d1)
    kh, kw = int(rng.choice([1, 3, 3, 5])), int(rng.choice([1, 3, 3, 2]))
    s2, d2 = int(rng.integers(1, 3)), int(rng.integers(1, 3))
    oh, pt2 = _axis(rng, mh, kh, s2, d2) if mh >= 1 else (0, 0)
    ow, pl2 = _axis(rng, mw, kw, s2, d2) if mw >= 1 else (0, 0)
    if min(mh, mw, oh, ow) < 1:
        return None
    mid_zero_point = int(rng.integers(-128, 128))
    conv = qp.ConvInt8Params(
        (s1, s1), (d1, d1), pt1, pl1, (mh, mw), int(rng.integers(-127, 129)), mid_zero_point,
        *_requant(rng, c), -128, int(rng.integers(0, 128)),
    )
    dw = qp.DepthwiseInt8Params(
        (s2, s2), (d2, d2), pt2, pl2, (oh, ow), 1, -mid_zero_point, int(rng.integers(-128, 128)),
        *_requant(rng, c), int(rng.integers(-128, 0)), 127,
    )
    x = rng.integers(-128, 128, (n, h, w, ic)).astype(np.int8)
    conv_w = rng.integers(-127, 128, (c, k1, k1, ic)).astype(np.int8)
    dw_w = rng.integers(-127, 128, (1, kh, kw, c)).astype(np.int8)
    return x, (conv_w, _bias(rng, c), conv), (dw_w, _bias(rng, c), dw)


def _cases(seed: int, producer_kernel: int, count: int):
    rng = np.random.default_rng(seed)
    found = 0
    while found < count:
        case = _case(rng, producer_kernel)
        if case is not None:
            found += 1
            yield case


def _two_kernels(x, conv, dw) -> np.ndarray:
    return ref.depthwise_conv2d(ref.conv2d(x, *conv), *dw)


@pytest.mark.parametrize("producer_kernel", [1, 3])
def test_c_kernel_equals_the_two_reference_kernels(kernels, producer_kernel):
    strides, dilations = set(), set()
    for x, conv, dw in _cases(5 + producer_kernel, producer_kernel, 40):
        expected = _two_kernels(x, conv, dw)
        got = kernels.conv_depthwise(x, *conv, *dw)
        np.testing.assert_array_equal(got, expected)
        strides.add((conv[2].stride[0], dw[2].stride[0]))
        dilations.add(dw[2].dilation[0])
    assert strides == {(1, 1), (1, 2), (2, 1), (2, 2)} and dilations == {1, 2}


def test_c_kernel_on_mobilenet_block_geometry(kernels):
    """Block 1 of MobileNetV2-0.35 at 96x96: a 1x1 expansion to 48 channels, a stride-2 3x3
    depthwise, SAME padding (pad below and right only)."""
    rng = np.random.default_rng(3)
    x = rng.integers(-128, 128, (1, 48, 48, 8)).astype(np.int8)
    conv = qp.ConvInt8Params((1, 1), (1, 1), 0, 0, (48, 48), 128, -128, *_requant(rng, 48), -128, 127)
    dw = qp.DepthwiseInt8Params((2, 2), (1, 1), 0, 0, (24, 24), 1, 128, -128, *_requant(rng, 48), -128, 127)
    conv_args = (rng.integers(-127, 128, (48, 1, 1, 8)).astype(np.int8), _bias(rng, 48), conv)
    dw_args = (rng.integers(-127, 128, (1, 3, 3, 48)).astype(np.int8), _bias(rng, 48), dw)
    mid = il.Dims(1, 48, 48, 48)
    assert kernels.conv_depthwise_scratch_size(dw, (1, 3, 3, 48), mid) == 3 * 48
    got = kernels.conv_depthwise(x, *conv_args, *dw_args)
    np.testing.assert_array_equal(got, _two_kernels(x, conv_args, dw_args))


def test_scratch_size_is_the_ring(kernels):
    _, _, (dw_w, _, dw) = next(_cases(1, 3, 1))
    mid = il.Dims(2, 9, 7, dw_w.shape[3])
    for kh, dilation in ((1, 1), (3, 1), (3, 2), (5, 2)):
        p = qp.DepthwiseInt8Params(
            (1, 1), (dilation, 1), 0, 0, (1, 1), 1, 0, 0, dw.multiplier, dw.shift, -128, 127
        )
        assert kernels.conv_depthwise_scratch_size(p, (1, kh, 3, mid.c), mid) == ((kh - 1) * dilation + 1) * 7


def _refusal(kernels, case, *, scratch_bytes=None, conv_changes=None, dw_changes=None, conv_w=None,
             split_at=0):
    """Status of the kernel on a changed case; the output and the ring must be untouched.
    ``split_at``: describe the convolution's weight as split (its rows from there on a tail)."""
    x, (w1, b1, conv), (w2, b2, dw) = case
    conv = qp.ConvInt8Params(**{**conv.__dict__, **(conv_changes or {})})
    dw = qp.DepthwiseInt8Params(**{**dw.__dict__, **(dw_changes or {})})
    w1 = w1 if conv_w is None else conv_w
    tail = np.array(w1[split_at:], copy=True) if split_at else None
    c_conv, _a = il.conv_struct(conv, tail, split_at)
    c_dw, _b = il.depthwise_struct(dw)
    mid = il.dims((x.shape[0], *case[1][2].out_hw, case[1][0].shape[0]))
    size = kernels.conv_depthwise_scratch_size(case[2][2], w2.shape, mid)
    ring = il.Guarded((size if scratch_bytes is None else scratch_bytes,), fill=np.int8(55))
    out = il.Guarded((x.shape[0], *case[2][2].out_hw, w2.shape[3]), fill=np.int8(77))
    status = kernels.lib.es_conv_depthwise_int8_fwd(
        c_conv, c_dw, il.dims(x.shape), il.ptr(x), il.dims(w1.shape), il.ptr(w1), il.ptr(b1, il.i32), mid,
        il.dims(w2.shape), il.ptr(w2), il.ptr(b2, il.i32), il.dims(out.array.shape), out.ptr(), ring.ptr(),
        ring.array.size,
    )
    out.check()
    ring.check()
    if status:
        assert np.all(out.array == 77) and np.all(ring.array == 55)
    return int(status)


def test_refuses_bad_arguments_without_writing(kernels):
    case = next(_cases(7, 3, 1))
    size = kernels.conv_depthwise_scratch_size(case[2][2], case[2][0].shape,
                                               il.dims((2, *case[1][2].out_hw, case[1][0].shape[0])))
    assert _refusal(kernels, case) == 0
    assert _refusal(kernels, case, scratch_bytes=size - 1) == ES_ERR_ARG
    assert _refusal(kernels, case, scratch_bytes=size + 5) == 0
    assert _refusal(kernels, case, dw_changes={"depth_multiplier": 2}) == ES_ERR_ARG
    assert _refusal(kernels, case, dw_changes={"act_min": 5, "act_max": 4}) == ES_ERR_ARG
    assert _refusal(kernels, case, conv_changes={"output_offset": 128}) == ES_ERR_ARG
    assert _refusal(kernels, case, conv_changes={"stride": (0, 1)}) == ES_ERR_ARG
    assert _refusal(kernels, case, dw_changes={"pad_top": 9}) == ES_ERR_SHAPE
    wrong_channels = np.zeros((case[1][0].shape[0], 3, 3, case[0].shape[3] + 1), np.int8)
    assert _refusal(kernels, case, conv_w=wrong_channels) == ES_ERR_SHAPE
    shifts = list(case[2][2].shift)
    shifts[-1] = 32
    assert _refusal(kernels, case, dw_changes={"shift": tuple(shifts)}) == ES_ERR_ARG
    assert _refusal(kernels, case, split_at=1) == ES_ERR_ARG  # only frozen, whole weights fuse


# -- sanitizers ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sanitized(tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp("fusion_asan") / "conv_depthwise_sanitize"
    sources = [il.SOURCE_DIR / name for name in
               ("conv_depthwise_int8.c", "conv2d_int8.c", "depthwise_conv2d_int8.c", "common.c")]
    return il.build_sanitized(SANITIZE_DRIVER, target, sources)


def test_runs_clean_under_asan_and_ubsan_and_equals_the_two_kernels(sanitized):
    result = il.run_clean(sanitized)
    assert "compared 400 cases, 0 differ" in result.stdout


def test_sanitizer_control_catches_a_short_ring(sanitized):
    """The control run hands the kernel a ring one row short while claiming the full size."""
    result = subprocess.run([str(sanitized), "short"], capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "heap-buffer-overflow" in result.stderr


# -- the graph pass --------------------------------------------------------------------------------


def _graph(trainable: str, fuse: bool = True, model: Path = MOBILENET, batch: int = 1):
    options = "qas,nearest,fused" + ("" if fuse else ",nofuse")
    return build_training_graph(load_model(model), trainable=trainable, optimizer="sgd", precision="int8",
                                int8_training=options, batch=batch)


def _fused(program) -> list[str]:
    return [node.name for node in program if node.compute is Compute.CONV_DEPTHWISE_INT8_FWD]


# every MobileNetV2 block's expansion (the first block: the stem) and its depthwise convolution
MOBILENET_PAIRS = [(0, 1), (3, 4), (6, 7), (10, 11), (13, 14), (17, 18), (21, 22), (24, 25), (28, 29),
                   (32, 33), (36, 37), (39, 40), (43, 44), (47, 48), (50, 51), (54, 55), (58, 59)]


def test_every_block_fuses_when_only_the_classifier_trains():
    fused, unfused = _graph("last:1"), _graph("last:1", fuse=False)
    names = [f"conv_2d_{p}-depthwise_conv_2d_{d}.fwd" for p, d in MOBILENET_PAIRS]
    assert _fused(fused.nodes) == names and _fused(fused.inference_nodes) == names
    assert _fused(unfused.nodes) == [] and "nofuse" in unfused.summary()
    for p, d in MOBILENET_PAIRS:  # the middle tensor is no value any more; the depthwise output is
        assert f"conv_2d_{p}.y" not in fused.values and f"depthwise_conv_2d_{d}.y" in fused.values
    assert len(fused.nodes) == len(unfused.nodes) - len(MOBILENET_PAIRS)
    assert [node.index for node in fused.nodes] == list(range(len(fused.nodes)))
    assert [node.index for node in fused.inference_nodes] == list(range(len(fused.inference_nodes)))
    assert sum(n.macs for n in fused.nodes) == sum(n.macs for n in unfused.nodes)
    assert sum(n.macs for n in fused.inference_nodes) == sum(n.macs for n in unfused.inference_nodes)
    block1 = fused.node("conv_2d_3-depthwise_conv_2d_4.fwd")
    parts = unfused.node("conv_2d_3.fwd"), unfused.node("depthwise_conv_2d_4.fwd")
    assert block1.macs == parts[0].macs + parts[1].macs
    assert block1.output_bytes == parts[1].output_bytes == 24 * 24 * 48
    assert block1.workspace_bytes == 3 * 48  # three rows of the 48-wide expansion output
    assert block1.inputs == (*parts[0].inputs, *parts[1].inputs[1:])


def test_nothing_fuses_when_the_layers_train():
    assert _fused(_graph("all").nodes) == [] and _fused(_graph("all").inference_nodes) == []
    # biases train: a trainable bias of either layer keeps the pair apart
    assert _fused(_graph("bias").nodes) == []


def test_a_trainable_depthwise_or_producer_keeps_its_pair(tmp_path):
    """Only the pairs whose four parameters are all frozen fuse (sparse update of one block)."""
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"conv_2d_54": {"bias": True}, "depthwise_conv_2d_59": {"weight_ratio": 0.5}}))
    names = _fused(_graph(f"sparse:{plan}").nodes)
    assert "conv_2d_54-depthwise_conv_2d_55.fwd" not in names
    assert "conv_2d_58-depthwise_conv_2d_59.fwd" not in names
    assert "conv_2d_50-depthwise_conv_2d_51.fwd" in names


def test_the_planner_sees_one_node_with_the_ring_as_workspace():
    graph = _graph("last:1")
    exported = {n["name"]: n for n in graph.to_planner_dict()["nodes"]}
    entry = exported["conv_2d_3-depthwise_conv_2d_4.fwd"]
    assert entry["workspace_bytes"] == 144 and entry["output_bytes"] == 27_648
    assert "conv_2d_3.fwd" not in exported and "depthwise_conv_2d_4.fwd" not in exported
    assert exported["conv_2d_5.fwd"]["deps"] == ["conv_2d_3-depthwise_conv_2d_4.fwd"]


def test_quantize_nodes_convert_the_whole_batch():
    graph = build_training_graph(load_model(FLOAT_IO), trainable="all", optimizer="sgd", precision="int8",
                                 batch=3)
    elementwise = [n for n in graph.nodes + graph.inference_nodes
                   if n.compute in (Compute.QUANTIZE_INT8_FWD, Compute.DEQUANTIZE_INT8_FWD)]
    assert elementwise
    for node in elementwise:
        assert node.attrs["size"] == graph.value(node.output).size
        assert graph.value(node.output).shape[0] == 3


def test_reference_fused_equals_unfused():
    """The reference trainer on both graphs: same losses, same parameters, same inference."""
    rng = np.random.default_rng(0)
    fused, unfused = ReferenceTrainer(_graph("last:1")), ReferenceTrainer(_graph("last:1", fuse=False))
    for _ in range(2):
        x = rng.integers(-128, 128, (1, 96, 96, 3)).astype(np.int8)
        labels = rng.integers(0, 2, 1)
        assert np.float32(fused.train_step(x, labels)) == np.float32(unfused.train_step(x, labels))
    for name, value in unfused.parameters.items():
        np.testing.assert_array_equal(fused.parameters[name], value)
    np.testing.assert_array_equal(fused.infer(x), unfused.infer(x))


def test_int8_training_words():
    assert Int8Training.parse("nofuse") == Int8Training(fuse=False)
    assert Int8Training.parse("stochastic, nofuse, fuse").fuse
    with pytest.raises(TrainingError, match="nofuse"):
        Int8Training.parse("no-fuse")


# -- generated projects ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return runtime_archive(tmp_path_factory.getbasetemp() / "edgesdk-runtime")


def _ring_calls(project) -> list[str]:
    source = (project.directory / "src" / "model.c").read_text()
    return [line for line in source.splitlines() if "es_conv_depthwise_int8_fwd(" in line]


def _same_results(a: Results, b: Results) -> None:
    for key in ("step.loss", "infer.output"):
        bits = [np.float32(results.all(key)).view(np.uint32) for results in (a, b)]
        assert np.array_equal(*bits), key
    assert image_bytes(a) == image_bytes(b)


def test_mobilenetv2_classifier_training_fused_equals_reference_and_unfused(archive, tmp_path):
    """Generated, compiled and run: the fused build gives the reference's bits (losses, parameter
    image, inference) and the unfused build's, in a smaller arena."""
    runs = {}
    for update in ("qas,nearest,fused", "qas,nearest,fused,nofuse"):
        runs[update] = build_and_compare(MOBILENET, tmp_path / update.replace(",", "_"), archive,
                                         trainable="last:1", update=update, steps=2)
    (fused, fused_results, _), (unfused, unfused_results, _) = runs.values()
    assert len(_ring_calls(fused)) == 2 * len(MOBILENET_PAIRS) and not _ring_calls(unfused)
    _same_results(fused_results, unfused_results)
    assert fused.model.arena_size < unfused.model.arena_size - 60_000


def test_rings_are_arena_lifetimes_of_their_step(tmp_path):
    """Each ring has its own lifetime (the step that runs the fused kernel), sized as the node's
    workspace, never overlapping a buffer live at that step (the layout's own check)."""
    project = generate_project(DIGITS, "host", tmp_path / "fw",
                               ProjectOptions(trainable="last:2", precision="int8", batch=2))
    graph, layout = project.graph, project.model.layout
    node = graph.node("conv_2d_0-depthwise_conv_2d_1.fwd")
    rings = [p for p in layout.placements if p.lifetime.buffer == f"{node.name}:workspace"]
    assert [(p.lifetime.start, p.lifetime.end, p.lifetime.size) for p in rings] == [
        (node.index, node.index, node.workspace_bytes),
        (len(graph.nodes), len(graph.nodes), node.workspace_bytes),  # inference's first step
    ]
    assert node.workspace_bytes == 3 * 8
    for ring in rings:
        for other in layout.placements:
            if other is not ring and other.lifetime.overlaps_in_time(ring.lifetime):
                assert not ring.overlaps_in_memory(other)
    call = _ring_calls(project)[0].rstrip()
    assert call.endswith(f"conv_2d_0_depthwise_conv_2d_1_fwd_workspace, {3 * 8}u));")


def test_planned_build_places_the_ring_at_the_schedule_offset(archive, tmp_path):
    """--budget: the planner schedules the fused node as one node with its workspace, the
    generated code puts the ring at the schedule's workspace offset, and the bits stay the
    reference's."""
    request = PlanRequest(budget_bytes=14 << 10, objective="time", time_limit_s=20.0)
    project, _, _ = build_and_compare(DIGITS, tmp_path / "fw", archive, trainable="last:2", plan=request)
    assert project.planned is not None and project.model.scheduled
    node = "conv_2d_0-depthwise_conv_2d_1.fwd"
    instructions = project.planned.schedule.instructions
    computes = [ins for ins in instructions if ins.node == node and ins.op in ("compute", "recompute")]
    ring = [p for p in project.model.layout.placements if p.lifetime.buffer == f"{node}:workspace"]
    assert computes and ring and ring[0].offset == computes[0].workspace_offset
    assert ring[0].lifetime.size == computes[0].workspace_bytes == 24


def test_graph_workspace_equals_the_c_scratch_size(kernels):
    """costs.workspace_bytes (what the planner and the arena reserve) and
    es_conv_depthwise_int8_scratch_size agree on every fused node of MobileNetV2."""
    graph = _graph("last:1", batch=2)
    for node in graph.nodes:
        if node.compute is Compute.CONV_DEPTHWISE_INT8_FWD:
            depthwise = node.attrs["depthwise"]
            size = kernels.conv_depthwise_scratch_size(depthwise["params"], depthwise["w_shape"],
                                                       il.dims(depthwise["x_shape"]))
            assert node.workspace_bytes == size, node.name
