"""The fused MEAN + activation backward (docs/int8-training.md, Fusion; docs/training-graph.md).

- the C kernels es_mean_hw_act_int8_bwd / es_mean_hw_act_f32_bwd equal es_mean_hw_f32_bwd followed
  by es_act_int8_bwd / es_act_f32_bwd, and the numpy reference, bit for bit (random shapes,
  batch 2, clamp bounds, activations, infinities and NaN); they refuse bad arguments without
  writing; they run clean under ASan + UBSan (with a live control);
- the graph pass: which pairs fuse on MobileNetV2 (one, whenever a gradient reaches the mean;
  none for the classifier alone), in int8 and fp32, off with nofuse / fuse=False; MEANs over
  other axes and gradients with a second reader stay apart; the fused node's costs and place;
- the reference trainer gives the same bits fused and unfused;
- generated projects: the device computes the reference's bits and the nofuse build's, and the
  MobileNetV2 keep-all arena loses the broadcast gradient.
"""

from __future__ import annotations

import ctypes
import json
import subprocess
from dataclasses import replace
from pathlib import Path

import int8_lib as il
import int8_train_lib as tl
import kernel_lib as kl
import numpy as np
import pytest
from codegen_support import FIXTURES, runtime_archive
from edgesdk.frontend import load_model
from edgesdk.ir import Activation
from edgesdk.pipeline import ProjectOptions, generate_project
from edgesdk.reference import ReferenceTrainer, int8_graph
from edgesdk.reference import kernels as fp
from edgesdk.testing.builder import ModelBuilder
from edgesdk.toolchain.protocol import Results
from edgesdk.train import build_training_graph, fuse
from edgesdk.train.graph import Compute
from edgesdk.train.spec import PARAMETERIZED, layer_label
from int8_lib import Guarded, dims, ptr
from test_int8_codegen import build_and_compare, image_bytes

HERE = Path(__file__).resolve().parent
SANITIZE_DRIVER = HERE / "c" / "mean_act_sanitize.c"
MOBILENET = FIXTURES / "mobilenetv2_035_96.tflite"
ES_ERR_ARG, ES_ERR_SHAPE = 1, 2
FUSED = (Compute.MEAN_ACT_BWD, Compute.MEAN_ACT_BWD_INT8)
ACTIVATIONS = ("none", "relu", "relu6")


def bits(array) -> np.ndarray:
    return np.ascontiguousarray(array, np.float32).view(np.uint32)


@pytest.fixture(scope="module")
def train_kernels(tmp_path_factory) -> tl.TrainKernels:
    lib = tl.load(tl.build(tmp_path_factory.mktemp("mean_act")))
    return tl.TrainKernels(lib)


@pytest.fixture(scope="module")
def f32_kernels(tmp_path_factory) -> kl.Kernels:
    return kl.session_kernels(tmp_path_factory)


# -- random cases ----------------------------------------------------------------------------------


def _gradient(rng: np.random.Generator, shape) -> np.ndarray:
    """Ordinary values with infinities, NaN, huge, subnormal and negative-zero ones mixed in."""
    dy = rng.uniform(-3, 3, shape).astype(np.float32)
    specials = np.array([np.inf, -np.inf, np.nan, 3e38, 1e-44, -0.0], np.float32)
    mask = rng.random(shape) < 0.1
    dy[mask] = rng.choice(specials, int(mask.sum()))
    return dy


def _case(rng: np.random.Generator) -> tuple[tuple[int, ...], np.ndarray]:
    """The MEAN's input shape [N, H, W, C] (batch 2 half the time) and a gradient [N, C]."""
    n, h, w, c = (int(rng.integers(1, high)) for high in (3, 8, 8, 41))
    shape = (n, h, w, c)
    return shape, _gradient(rng, (shape[0], shape[3]))


def _mean_attrs(shape) -> dict:
    n, h, w, c = shape
    return {"x_shape": shape, "y_shape": (n, 1, 1, c), "axes": (1, 2), "count": h * w}


def _bounds(rng: np.random.Generator) -> tuple[int, int]:
    act_min = -128 if rng.random() < 0.3 else int(rng.integers(-128, 100))
    act_max = 127 if rng.random() < 0.3 else int(rng.integers(act_min + 1, 128))
    return act_min, act_max


def _saved_f32(rng: np.random.Generator, shape) -> np.ndarray:
    """Float outputs around and exactly on relu / relu6's bounds, and NaN."""
    y = rng.uniform(-3, 9, shape).astype(np.float32)
    y[rng.random(shape) < 0.2] = 0.0
    y[rng.random(shape) < 0.1] = 6.0
    y[rng.random(shape) < 0.03] = np.nan
    return y


# -- the C kernels ---------------------------------------------------------------------------------


def test_int8_kernel_equals_the_two_c_kernels_and_the_reference(train_kernels, f32_kernels):
    rng = np.random.default_rng(1)
    batches, passed_and_masked = set(), [0, 0]
    for _ in range(60):
        shape, dy = _case(rng)
        act_min, act_max = _bounds(rng)
        y = rng.integers(-128, 128, shape).astype(np.int8)
        act = {"act_min": act_min, "act_max": act_max, "size": int(np.prod(shape))}
        broadcast = f32_kernels.mean_bwd(dy.reshape(shape[0], 1, 1, shape[3]), shape)
        two_kernels = train_kernels.act_bwd(act, y, broadcast)
        fused = train_kernels.mean_act_bwd({"mean": _mean_attrs(shape), "act": act}, y, dy)
        reference = int8_graph.mean_act_bwd_int8({"mean": _mean_attrs(shape), "act": act}, y, dy)
        np.testing.assert_array_equal(bits(fused), bits(two_kernels))
        np.testing.assert_array_equal(bits(fused), bits(reference))
        batches.add(shape[0])
        inside = (y > act_min) & (y < act_max)
        passed_and_masked[0] += int(inside.sum())
        passed_and_masked[1] += int((~inside).sum())
    assert batches == {1, 2} and min(passed_and_masked) > 100  # both branches of the mask ran


def test_f32_kernel_equals_the_two_c_kernels_and_the_reference(f32_kernels):
    rng = np.random.default_rng(2)
    for index in range(60):
        shape, dy = _case(rng)
        activation = ACTIVATIONS[index % 3]
        y = _saved_f32(rng, shape)
        dy4 = dy.reshape(shape[0], 1, 1, shape[3])
        two_kernels = f32_kernels.act_bwd(activation, y, f32_kernels.mean_bwd(dy4, shape))
        fused = f32_kernels.mean_act_bwd(activation, y, dy4)
        attrs = {"mean": _mean_attrs(shape), "act": {"activation": Activation(activation)}}
        np.testing.assert_array_equal(bits(fused), bits(two_kernels))
        np.testing.assert_array_equal(bits(fused), bits(fp.mean_act_bwd(attrs, y, dy)))


def _int8_status(train_kernels, y_shape=(2, 3, 4, 5), dy_dims=(2, 1, 1, 5), bounds=(-128, 127),
                 y_null=False) -> int:
    """es_mean_hw_act_int8_bwd on a changed call; when it refuses, dz must be untouched."""
    y = np.zeros(y_shape, np.int8)
    dy = np.ones((dy_dims[0], dy_dims[3]), np.float32)
    dz = Guarded(y_shape, np.float32, fill=np.float32(7))
    status = train_kernels.lib.es_mean_hw_act_int8_bwd(
        *bounds, dims(y_shape), None if y_null else ptr(y), dims(dy_dims), ptr(dy, ctypes.c_float), dz.ptr()
    )
    dz.check()
    if status:
        assert np.all(dz.array == 7)
    return int(status)


def test_int8_kernel_refuses_bad_arguments_without_writing(train_kernels):
    assert _int8_status(train_kernels) == 0
    assert _int8_status(train_kernels, bounds=(5, 5)) == ES_ERR_ARG
    assert _int8_status(train_kernels, bounds=(-129, 127)) == ES_ERR_ARG
    assert _int8_status(train_kernels, bounds=(-128, 128)) == ES_ERR_ARG
    assert _int8_status(train_kernels, y_null=True) == ES_ERR_ARG
    assert _int8_status(train_kernels, dy_dims=(2, 3, 1, 5)) == ES_ERR_SHAPE  # not reduced over H
    assert _int8_status(train_kernels, dy_dims=(2, 1, 1, 4)) == ES_ERR_SHAPE  # channels differ
    assert _int8_status(train_kernels, dy_dims=(1, 1, 1, 5)) == ES_ERR_SHAPE  # batch differs
    assert _int8_status(train_kernels, y_shape=(2, 0, 4, 5)) == ES_ERR_SHAPE


def test_f32_kernel_refuses_bad_arguments_without_writing(f32_kernels):
    y, dy = np.zeros((1, 3, 3, 4), np.float32), np.ones((1, 1, 1, 4), np.float32)

    def status(activation: int, dy_dims, dy_pointer) -> int:
        dz = kl.Guarded(y.shape, fill=np.float32(7))
        result = f32_kernels.call("es_mean_hw_act_f32_bwd", activation, kl.dims(y.shape), kl.fptr(y),
                                  kl.dims(dy_dims), dy_pointer, dz.ptr())
        dz.check()
        if result:
            assert np.all(dz.array == 7)
        return result

    assert status(2, dy.shape, kl.fptr(dy)) == 0
    assert status(7, dy.shape, kl.fptr(dy)) == ES_ERR_ARG
    assert status(1, dy.shape, None) == ES_ERR_ARG
    assert status(1, (1, 1, 3, 4), kl.fptr(dy)) == ES_ERR_SHAPE


# -- sanitizers ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sanitized(tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp("mean_act_asan") / "mean_act_sanitize"
    sources = [tl.SOURCE_DIR / name for name in ("mean_int8_bwd.c", "mean_f32.c", "act_int8_bwd.c",
                                                 "elementwise_f32.c", "math_f32.c", "common.c")]
    return il.build_sanitized(SANITIZE_DRIVER, target, sources, tl.C_FLAGS)


def test_runs_clean_under_asan_and_ubsan_and_equals_the_two_kernels(sanitized):
    result = il.run_clean(sanitized)
    assert "compared 600 cases, 0 differ" in result.stdout


def test_sanitizer_control_catches_a_short_input(sanitized):
    """The control run hands the int8 kernel a y one row short while claiming its full dims."""
    result = subprocess.run([str(sanitized), "short"], capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "heap-buffer-overflow" in result.stderr and "es_mean_hw_act_int8_bwd" in result.stderr


# -- the graph pass --------------------------------------------------------------------------------


def _graph(trainable: str, precision: str = "int8", model=MOBILENET, **options):
    return build_training_graph(load_model(model), trainable=trainable, optimizer="sgd", precision=precision,
                                **options)


def _fused(graph) -> list[str]:
    return [node.name for node in graph.nodes if node.compute in FUSED]


@pytest.mark.parametrize("trainable", ["bias", "last:2", "last:3", "all"])
@pytest.mark.parametrize("precision", ["int8", "fp32"])
def test_mobilenet_fuses_its_global_average_pool_whenever_a_gradient_reaches_it(trainable, precision):
    graph = _graph(trainable, precision)
    assert _fused(graph) == ["mean_62-conv_2d_61.bwd"]
    node = graph.node("mean_62-conv_2d_61.bwd")
    assert node.compute is (Compute.MEAN_ACT_BWD_INT8 if precision == "int8" else Compute.MEAN_ACT_BWD)
    assert node.inputs == ("conv_2d_61.y", "fully_connected_63.dx") and node.output == "conv_2d_61.dz"
    assert "mean_62.dx" not in graph.values and "conv_2d_61.y" not in graph.gradients
    assert [n.index for n in graph.nodes] == list(range(len(graph.nodes)))


def test_nothing_fuses_without_a_gradient_into_the_mean_or_when_turned_off():
    assert _fused(_graph("last:1")) == [] and _fused(_graph("last:1", "fp32")) == []
    assert _fused(_graph("bias", int8_training="nofuse")) == []
    assert _fused(_graph("bias", "fp32", fuse=False)) == []
    assert _fused(_graph("bias", fuse=False)) == []  # the API word wins over the int8 default


@pytest.mark.parametrize("precision", ["int8", "fp32"])
def test_the_fused_node_replaces_the_pair_at_the_activation_place(precision):
    """bias trains no weight: no forward pair fuses, so the graphs differ by this pair alone."""
    fused, unfused = _graph("bias", precision), _graph("bias", precision, fuse=False)
    mean, act = unfused.node("mean_62.bwd"), unfused.node("conv_2d_61.act_bwd")
    node = fused.node("mean_62-conv_2d_61.bwd")
    assert len(fused.nodes) == len(unfused.nodes) - 1 and node.index == act.index - 1 == mean.index
    assert node.macs == mean.macs + act.macs == 2 * 3 * 3 * 1280
    assert node.output_bytes == act.output_bytes == 3 * 3 * 1280 * 4 and node.workspace_bytes == 0
    assert dict(node.attrs["mean"]) == dict(mean.attrs) and dict(node.attrs["act"]) == dict(act.attrs)
    assert sum(n.macs for n in fused.nodes) == sum(n.macs for n in unfused.nodes)
    others = [n.name for n in unfused.nodes if n.name not in (mean.name, act.name)]
    assert [n.name for n in fused.nodes if n is not node] == others
    exported = {n["name"]: n for n in fused.to_planner_dict()["nodes"]}
    entry = exported[node.name]
    assert entry["deps"] == ["conv_2d_61.fwd", "fully_connected_63.bwd_in"]
    assert entry["output_bytes"] == 46_080 and entry["workspace_bytes"] == 0
    assert node.name in exported["conv_2d_61.bwd_in"]["deps"]


def _pooled_model(axes=(1, 2), keep_dims: bool = False, channels: int = 8) -> bytes:
    """conv (RELU6) -> MEAN -> [reshape] -> FC -> softmax."""
    rng = np.random.default_rng(4)
    b = ModelBuilder("pooled")
    x = b.input((1, 6, 5, 3), range=(-1.0, 1.0))
    c = b.conv2d(x, rng.normal(0, 0.4, (channels, 3, 3, 3)).astype(np.float32),
                 rng.normal(0, 0.1, channels).astype(np.float32), activation="relu6")
    m = b.mean(c, axes, keep_dims=keep_dims)
    features = int(np.prod(m.shape[1:]))
    if len(m.shape) != 2:
        m = b.reshape(m, (1, features))
    w = rng.normal(0, 0.5, (4, features)).astype(np.float32)
    b.output(b.softmax(b.fully_connected(m, w, rng.normal(0, 0.1, 4).astype(np.float32))))
    return b.build()


@pytest.mark.parametrize("keep_dims", [False, True])
@pytest.mark.parametrize("precision", ["int8", "fp32"])
def test_spatial_means_fuse_with_or_without_keep_dims(keep_dims, precision):
    graph = _graph("all", precision, model=_pooled_model(keep_dims=keep_dims))
    assert _fused(graph) == ["mean_1-conv_2d_0.bwd"]


def test_a_mean_over_channels_stays_apart():
    graph = _graph("all", "fp32", model=_pooled_model(axes=(3,), keep_dims=True), loss="mse")
    assert _fused(graph) == []
    assert {"mean_1.bwd", "conv_2d_0.act_bwd"} <= {n.name for n in graph.nodes}
    assert not fuse.spatial_mean(graph.node("mean_1.bwd").attrs)
    assert fuse.spatial_mean({"x_shape": (2, 5, 1, 3), "y_shape": (2, 1, 1, 3), "axes": (1,), "count": 5})
    assert not fuse.spatial_mean({"x_shape": (2, 5, 4, 3), "y_shape": (2, 1, 4, 3), "axes": (1,), "count": 5})


def test_a_second_reader_of_the_broadcast_keeps_the_pair_apart():
    """Only the activation backward may read the MEAN's gradient; another reader needs it stored."""
    nodes = _graph("bias", fuse=False).nodes
    act = next(n for n in nodes if n.name == "conv_2d_61.act_bwd")
    assert _fused_names(fuse.fuse_mean_act_backward(nodes)) == ["mean_62-conv_2d_61.bwd"]
    reader = replace(act, name="another.reader", index=len(nodes), output="another.dz")
    assert _fused_names(fuse.fuse_mean_act_backward((*nodes, reader))) == []


def _fused_names(nodes) -> list[str]:
    return [node.name for node in nodes if node.compute in FUSED]


@pytest.mark.parametrize("precision", ["int8", "fp32"])
def test_reference_fused_equals_unfused(precision):
    """Two steps of the reference on both graphs (batch 2): same losses, same parameters bits."""
    model = _pooled_model()
    fused = ReferenceTrainer(_graph("all", precision, model=model, batch=2))
    unfused = ReferenceTrainer(_graph("all", precision, model=model, batch=2, fuse=False))
    rng = np.random.default_rng(5)
    for _ in range(2):
        x = rng.uniform(-1, 1, (2, 6, 5, 3)).astype(np.float32)
        labels = rng.integers(0, 4, 2)
        assert bits(fused.train_step(x, labels)) == bits(unfused.train_step(x, labels))
    for name, value in unfused.parameters.items():
        same = np.asarray(fused.parameters[name]).view(np.uint8) == np.asarray(value).view(np.uint8)
        assert np.all(same), name


# -- generated projects ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return runtime_archive(tmp_path_factory.getbasetemp() / "edgesdk-runtime")


def _fused_calls(project) -> list[str]:
    source = (project.directory / "src" / "model.c").read_text()
    return [line for line in source.splitlines() if "es_mean_hw_act_int8_bwd(" in line]


def _same_results(a: Results, b: Results) -> None:
    for key in ("step.loss", "infer.output"):
        assert np.array_equal(bits(a.all(key)), bits(b.all(key))), key
    assert image_bytes(a) == image_bytes(b)


@pytest.mark.parametrize(("trainable", "batch", "keep_dims"), [("all", 1, False), ("bias", 2, True)])
def test_generated_step_equals_the_reference_and_the_nofuse_build(archive, tmp_path, trainable, batch,
                                                                   keep_dims):
    """Three steps compiled and run on the host: losses, the saved parameter image and inference
    are the reference's bits (build_and_compare) and the nofuse build's."""
    model = tmp_path / "pooled.tflite"
    model.write_bytes(_pooled_model(keep_dims=keep_dims))
    runs = {}
    for update in ("qas,nearest,fused", "qas,nearest,fused,nofuse"):
        runs[update] = build_and_compare(model, tmp_path / update.replace(",", "_"), archive,
                                         trainable=trainable, update=update, batch=batch, steps=3)
    (fused, fused_results, _), (unfused, unfused_results, _) = runs.values()
    assert len(_fused_calls(fused)) == 1 and not _fused_calls(unfused)
    _same_results(fused_results, unfused_results)


def _late_biases_plan(directory: Path) -> str:
    """benchmarks/int8_memory.py's "biases of the last 18 layers"."""
    layers = [layer_label(op) for op in load_model(MOBILENET).ops if op.kind in PARAMETERIZED]
    path = directory / "plan.json"
    path.write_text(json.dumps({label: {"bias": True} for label in layers[35:]}))
    return f"sparse:{path}"


def test_mobilenet_keep_all_arena_drops_the_broadcast_gradient(tmp_path):
    """The late-bias plan's arena peak is at the start of the backward: without the fusion the
    3x3x1280 float32 broadcast and dz (46,080 B each) are live together."""
    trainable = _late_biases_plan(tmp_path)
    arenas, buffers = {}, {}
    for update in ("qas,nearest,fused", "qas,nearest,fused,nofuse"):
        options = ProjectOptions(trainable=trainable, optimizer="sgd", precision="int8", int8_training=update)
        project = generate_project(MOBILENET, "stm32f746", tmp_path / update.replace(",", "_"), options)
        arenas[update] = project.model.arena_size
        layout = json.loads((project.directory / "arena.json").read_text())
        buffers[update] = {buffer["value"] for buffer in layout["buffers"]}
    fused, unfused = "qas,nearest,fused", "qas,nearest,fused,nofuse"
    assert "mean_62.dx" not in buffers[fused] and "mean_62.dx" in buffers[unfused]
    assert arenas[fused] <= arenas[unfused] - 40_000
