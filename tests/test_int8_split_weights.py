"""Split storage of sparsely updated int8 weights (docs/int8-codegen.md, "Sparse updates keep only
the trainable rows in RAM").

A CONV_2D / FULLY_CONNECTED weight of an int8 graph whose first k < OC output channels train keeps
those k rows in RAM (the parameter) and the frozen rows in flash (a ``static const`` array). The
kernels that read it take the two arrays: their results must be the whole-array call's bits. The
training graph counts only the k rows as resident; a generated project with split weights must
still give the reference's bits, save the whole tensor in its parameter image, refuse an image
whose frozen rows differ, and export to a model TFLite Micro runs as the device did.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
from pathlib import Path

import int8_lib as il
import int8_train_lib as tl
import numpy as np
import pytest
from codegen_support import FIXTURES, runtime_archive
from edgesdk.codegen.data import pseudo_random_batches
from edgesdk.export import export_parameters
from edgesdk.export.image import read_image, write_image
from edgesdk.frontend import load_model
from edgesdk.pipeline import ProjectOptions, compile_project, generate_project
from edgesdk.quant import params as qp
from edgesdk.reference import ReferenceTrainer
from edgesdk.reference import int8 as ref8
from edgesdk.reference import int8_graph as ref
from edgesdk.reference.int8_graph import quantize_input
from edgesdk.testing.tflm import run_tflm
from edgesdk.toolchain import run_firmware
from edgesdk.toolchain.compiler import compile_firmware
from edgesdk.train import build_training_graph
from edgesdk.train.graph import Compute, Stage
from edgesdk.train.int8 import weight_scales
from test_int8_c_training import graph_of, random_batch, random_model
from test_int8_codegen import build_and_compare, device_output, image_bytes
from test_int8_kernels_c import _act, _bias, _conv_case, _requant

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SMALL = FIXTURES / "small_cnn_int8.tflite"
DIGITS = ROOT / "examples" / "digits" / "model" / "digits_cnn.tflite"
MOBILENET = FIXTURES / "mobilenetv2_035_96.tflite"
SANITIZE_DRIVER = HERE / "c" / "int8_split_sanitize.c"
IMAGE_CHECK = HERE / "c" / "split_image_check.c"
C = Compute
# a prefix of a 1x1 conv, of a 3x3 conv and of the classifier train, with their biases
SPARSE = {
    "conv_2d_2": {"weight_ratio": 0.5},
    "conv_2d_4": {"weight_ratio": 0.25, "bias": True},
    "fully_connected_6": {"weight_ratio": 0.3, "bias": True},
}


@pytest.fixture(scope="module")
def forward(tmp_path_factory: pytest.TempPathFactory) -> il.Int8Kernels:
    return il.Int8Kernels(il.load(il.build(tmp_path_factory.mktemp("split_fwd"))))


@pytest.fixture(scope="module")
def training(tmp_path_factory: pytest.TempPathFactory) -> tl.TrainKernels:
    return tl.TrainKernels(tl.load(tl.build(tmp_path_factory.mktemp("split_train"))))


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The runtime under ASan + UBSan: every generated project here runs sanitized."""
    return runtime_archive(tmp_path_factory.getbasetemp() / "edgesdk-runtime", sanitize=True)


def bits(array) -> np.ndarray:
    return np.ascontiguousarray(array).reshape(-1).view(np.uint8)


def heads(out_channels: int) -> list[int]:
    """The split points tested: one row in RAM, all but one, and one in the middle."""
    return sorted({1, out_channels - 1, out_channels // 2})


def sparse_plan(directory: Path, plan: dict[str, dict[str, object]] = SPARSE) -> str:
    path = directory / "sparse.json"
    path.write_text(json.dumps(plan))
    return f"sparse:{path}"


# -- C kernels: a split weight gives the whole array's bits ----------------------------------------


def test_split_conv_forward_equals_the_whole_array(forward):
    tested = 0
    for seed in range(60):
        x, w, b, p = _conv_case(np.random.default_rng(seed), depthwise=False)
        if w.shape[0] < 2:
            continue
        whole = forward.conv2d(x, w, b, p)
        assert np.array_equal(whole, ref8.conv2d(x, w, b, p))
        for k in heads(w.shape[0]):
            assert np.array_equal(forward.conv2d(x, w, b, p, head_channels=k), whole), (seed, k)
        tested += 1
    assert tested >= 30


def test_split_fully_connected_forward_equals_the_whole_array(forward):
    for seed in range(40):
        rng = np.random.default_rng(3000 + seed)
        rows, k_in, out = (int(v) for v in (rng.integers(1, 4), rng.integers(1, 40), rng.integers(2, 9)))
        extreme = rng.random() < 0.4
        mult, shift = _requant(rng, out, extreme)
        per_tensor = rng.random() < 0.3
        if per_tensor:
            mult, shift = (mult[0],) * out, (shift[0],) * out
        weights_offset = int(rng.integers(-127, 129)) if per_tensor else 0
        p = qp.FullyConnectedInt8Params(int(rng.integers(-127, 129)), weights_offset,
                                        int(rng.integers(-128, 128)), mult, shift, *_act(rng))
        x = rng.integers(-128, 128, (rows, k_in)).astype(np.int8)
        w = rng.integers(-127, 128, (out, k_in)).astype(np.int8)
        b = _bias(rng, out, extreme)
        whole = forward.fully_connected(x, w, b, p)
        assert np.array_equal(whole, ref8.fully_connected(x, w, b, p))
        for k in heads(out):
            assert np.array_equal(forward.fully_connected(x, w, b, p, head_channels=k), whole), (seed, k)


def input_gradient_cases():
    """(kernel, attrs, dz, w) of the conv / FC input gradients of real steps: the small CNN's, and
    those of random geometries (strides, dilation, padding, per-tensor FC), whose conv is the first
    layer (no input gradient in its graph: its weight-gradient node gives the geometry)."""
    models = [(SMALL, 0)] + [(random_model(seed), seed) for seed in range(6)]
    for model, seed in models:
        tg = graph_of(model, trainable="all", batch=1 + seed % 2)
        trainer = ReferenceTrainer(tg)
        result = trainer.gradients(*random_batch(tg, np.random.default_rng(seed)))
        buffers = {**trainer.state, **result.values}
        for node in tg.nodes:
            if node.compute in (C.CONV_2D_BWD_IN_INT8, C.FULLY_CONNECTED_BWD_IN_INT8):
                yield node.compute, node.attrs, buffers[node.inputs[0]], buffers[node.inputs[1]]
            elif node.compute is C.CONV_2D_BWD_W_QAS and node.op == 0:
                scales, zero_point = weight_scales(tg.source, tg.source.ops[0])
                attrs = dict(node.attrs, w_scale=scales, w_zero_point=zero_point)
                yield C.CONV_2D_BWD_IN_INT8, attrs, buffers[node.inputs[1]], buffers[node.inputs[0]]


def test_split_input_gradients_equal_the_whole_array(training):
    """The float32 input gradients of conv and FC with the weight split, bit for bit with the whole
    array (the sums keep its order) and with the reference, also on gradients of wide range."""
    rng = np.random.default_rng(100)
    seen = {C.CONV_2D_BWD_IN_INT8: 0, C.FULLY_CONNECTED_BWD_IN_INT8: 0}
    for compute, attrs, dz, w in input_gradient_cases():
        call = training.conv_bwd_in if compute is C.CONV_2D_BWD_IN_INT8 else training.fc_bwd_in
        magnitude = 10.0 ** rng.integers(-3, 4, np.shape(dz))
        wide = (rng.standard_normal(np.shape(dz)) * magnitude).astype(np.float32)
        for grad in (dz, wide):
            whole = call(attrs, grad, w)
            assert np.array_equal(bits(whole), bits(ref.KERNELS[compute](attrs, grad, w)))
            for k in heads(w.shape[0]):
                assert np.array_equal(bits(call(attrs, grad, w, head_channels=k)), bits(whole)), k
        seen[compute] += 1
    assert seen[C.CONV_2D_BWD_IN_INT8] >= 8 and seen[C.FULLY_CONNECTED_BWD_IN_INT8] >= 7, seen


@pytest.mark.parametrize("update", ["qas,nearest,fused", "stochastic,fused", "master,fused",
                                    "qas,nearest,unfused", "master,unfused"])
def test_updates_touch_only_the_ram_rows(training, update, tmp_path):
    """Every update of a split weight (fused gradient + QAS, the unfused step, master copies) run
    on the k RAM rows alone gives the reference's rows of the whole tensor."""
    tg = graph_of(SMALL, trainable=sparse_plan(tmp_path), int8_training=update)
    trainer = ReferenceTrainer(tg)
    values = trainer._inputs(*random_batch(tg, np.random.default_rng(7)))
    trainer.step = 1
    updated = 0
    for node in tg.nodes:
        args = [values[n] if n in values else trainer.state[n] for n in node.inputs]
        param = tg.values[node.inputs[0]]
        if node.stage is Stage.UPDATE and param.head_channels is not None:
            k = param.head_channels
            head = np.array(args[0][:k], copy=True)
            state = [np.array(a, copy=True) for a in args[1:]]
            training.run(node.compute, node.attrs, head, *state)
            trainer.run_node(node, values)
            whole = trainer.state[param.name]
            assert np.array_equal(head, whole[:k]), node.name
            assert np.array_equal(whole[k:], tg.source.tensor(param.tensor).data[k:]), node.name
            updated += 1
            continue
        trainer.run_node(node, values)
    assert updated == 3


# -- C kernels: refusals -------------------------------------------------------------------------


def test_bad_splits_are_refused_without_writing(forward, training):
    """A split the kernel cannot follow: no tail with 0 < head_channels < OC, head_channels outside
    0..OC; depthwise weights are never split."""
    rng = np.random.default_rng(1)
    x = rng.integers(-128, 128, (1, 4, 4, 2)).astype(np.int8)
    w = rng.integers(-127, 128, (3, 3, 3, 2)).astype(np.int8)
    tail = np.array(w[1:], copy=True)
    m, s = il.i32_array([1 << 30] * 3), il.i32_array([0] * 3)
    lib = forward.lib

    def conv(tail_array, head: int) -> int:
        p = il.ConvParams(1, 1, 1, 1, 1, 1, 0, 0, -128, 127, il.ptr(m, il.i32), il.ptr(s, il.i32),
                          il.ptr(tail_array), head)
        out = il.Guarded((1, 4, 4, 3), fill=np.int8(77))
        status = lib.es_conv2d_int8_fwd(p, il.dims(x.shape), il.ptr(x), il.dims(w.shape), il.ptr(w), None,
                                        il.dims((1, 4, 4, 3)), out.ptr())
        out.check()
        assert status == 0 or np.all(out.array == 77)
        return int(status)

    def fc(tail_array, head: int) -> int:
        fw = w.reshape(3, -1)
        p = il.FcParams(0, 0, 0, -128, 127, il.ptr(m, il.i32), il.ptr(s, il.i32), il.ptr(tail_array), head)
        out = il.Guarded((1, 3), fill=np.int8(77))
        xf = x.reshape(1, -1)[:, : fw.shape[1]].copy()
        status = lib.es_fully_connected_int8_fwd(p, il.dims(xf.shape), il.ptr(xf), il.dims(fw.shape),
                                                 il.ptr(fw), None, il.dims((1, 3)), out.ptr())
        out.check()
        assert status == 0 or np.all(out.array == 77)
        return int(status)

    for call in (conv, fc):
        assert call(None, 0) == 0 and call(None, 3) == 0 and call(tail, 1) == 0  # whole, whole, split
        assert call(None, 1) == 1 and call(None, 2) == 1  # rows past the head with no tail
        assert call(tail, -1) == 1 and call(tail, 4) == 1  # head_channels outside 0..OC

    tg = graph_of(SMALL, trainable="all")
    trainer = ReferenceTrainer(tg)
    result = trainer.gradients(*random_batch(tg, np.random.default_rng(2)))
    for compute in (C.CONV_2D_BWD_IN_INT8, C.FULLY_CONNECTED_BWD_IN_INT8, C.DEPTHWISE_CONV_2D_BWD_IN_INT8):
        node = next(n for n in tg.nodes if n.compute is compute)
        dz, wq = (result.values[n] if n in result.values else trainer.state[n] for n in node.inputs)
        a = node.attrs
        function = {C.CONV_2D_BWD_IN_INT8: "es_conv2d_int8_bwd_in",
                    C.FULLY_CONNECTED_BWD_IN_INT8: "es_fully_connected_int8_bwd_in",
                    C.DEPTHWISE_CONV_2D_BWD_IN_INT8: "es_depthwise_conv2d_int8_bwd_in"}[compute]
        head_rows = np.ascontiguousarray(wq, dtype=np.int8)
        bad = [(None, 1), (head_rows, -1), (head_rows, wq.shape[0] + 1)]
        if compute is C.DEPTHWISE_CONV_2D_BWD_IN_INT8:
            bad = [(head_rows, 0), (None, 1)]
        for tail_array, head in bad:
            out = tl.Guarded(a["x_shape"], np.float32, fill=np.float32(7.0))
            quant = training.weights(a, tail_array, head)
            geometry = () if compute is C.FULLY_CONNECTED_BWD_IN_INT8 else (
                tl.depthwise_params(a) if compute is C.DEPTHWISE_CONV_2D_BWD_IN_INT8 else tl.conv_params(a),)
            status = getattr(training.lib, function)(
                *geometry, quant, tl.dims(a["y_shape"]), tl.ptr(np.ascontiguousarray(dz, np.float32), tl.f32),
                tl.dims(a["w_shape"]), tl.ptr(head_rows), tl.dims(a["x_shape"]), out.ptr())
            out.check()
            assert status == 1 and np.all(out.array == 7.0), (function, head)


# -- the parameter image of split weights ----------------------------------------------------------


def test_split_records_write_the_whole_tensor_and_check_the_frozen_rows(training):
    rng = np.random.default_rng(9)
    w = rng.integers(-127, 128, (6, 5)).astype(np.int8)
    b = rng.integers(-(2**31), 2**31, 7).astype(np.int32)
    f = rng.standard_normal(3).astype(np.float32)
    arrays = [(4, w[:2].copy()), (8, b[:3].copy()), (2, f)]
    tails = [w[2:].copy(), b[3:].copy(), None]
    blob = training.image_write(arrays, tails=tails)
    assert blob == write_image([(4, w), (8, b), (2, f)])  # one record of the whole tensor each
    assert [r.data.size for r in read_image(blob)] == [30, 7, 3]

    def target() -> list[tuple[int, np.ndarray]]:
        return [(4, np.zeros((2, 5), np.int8)), (8, np.zeros(3, np.int32)), (2, np.zeros(3, np.float32))]

    heads_back = target()
    assert training.image_read(heads_back, blob, tails=tails) == 0
    assert np.array_equal(heads_back[0][1], w[:2]) and np.array_equal(heads_back[1][1], b[:3])
    assert np.array_equal(heads_back[2][1], f)
    # frozen elements that differ from the flash rows: another model's or sparse update's image
    for tensor in (4, 8):
        other = {4: w.copy(), 8: b.copy()}
        other[tensor].reshape(-1)[-1] ^= 1
        untouched = target()
        image = write_image([(4, other[4]), (8, other[8]), (2, f)])
        assert training.image_read(untouched, image, tails=tails) == 2
        assert all(not np.any(array) for _, array in untouched)
    # a trained row (in the head) loads
    trained = w.copy()
    trained[1, 0] ^= 3
    loaded = target()
    assert training.image_read(loaded, write_image([(4, trained), (8, b), (2, f)]), tails=tails) == 0
    assert np.array_equal(loaded[0][1], trained[:2])


def test_bad_split_records_are_refused(training):
    w = np.arange(12, dtype=np.int8)
    tail = np.arange(4, dtype=np.int8)
    whole = (tl.ParamRecord * 1)(tl.ParamRecord(1, 1, 12, w.ctypes.data, None, 0))
    image = np.zeros(64, np.uint8)
    assert training.lib.es_params_image_write(whole, 1, image.ctypes.data, image.size) == 0
    assert training.lib.es_params_image_read(whole, 1, image.ctypes.data, image.size) == 0
    for record in (tl.ParamRecord(1, 1, 12, w.ctypes.data, None, 4),  # a head count without a tail
                   tl.ParamRecord(1, 1, 12, w.ctypes.data, tail.ctypes.data, 13)):  # more than the tensor
        records = (tl.ParamRecord * 1)(record)
        buffer = np.zeros(64, np.uint8)
        assert training.lib.es_params_image_write(records, 1, buffer.ctypes.data, buffer.size) == 1
        assert not np.any(buffer)
        assert training.lib.es_params_image_read(records, 1, image.ctypes.data, image.size) == 1
        assert np.array_equal(w, np.arange(12, dtype=np.int8))


# -- AddressSanitizer + UndefinedBehaviorSanitizer ---------------------------------------------------


@pytest.fixture(scope="module")
def sanitized(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("split_asan") / "int8_split_sanitize"
    return il.build_sanitized(SANITIZE_DRIVER, target, tl.runtime_sources(), tl.C_FLAGS)


def test_split_kernels_run_clean_under_asan_and_ubsan(sanitized):
    result = il.run_clean(sanitized)
    called = {line.split()[1] for line in result.stdout.splitlines() if line.startswith("called ")}
    assert called == {
        "es_conv2d_int8_fwd", "es_conv2d_int8_bwd_in", "es_conv2d_int8_bwd_w_qas",
        "es_fully_connected_int8_fwd", "es_fully_connected_int8_bwd_in", "es_fully_connected_int8_bwd_w_qas",
        "es_qas_int8_update", "es_qas_int8_master_init", "es_qas_int8_master_update",
        "es_params_image_write", "es_params_image_read",
    }


def test_the_split_sanitizer_control_is_live(sanitized):
    """A forward conv whose RAM rows are one row short must be reported."""
    result = subprocess.run([str(sanitized), "overread"], capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and "heap-buffer-overflow" in result.stderr


# -- the training graph ------------------------------------------------------------------------------


def benchmark_plans() -> dict[str, dict[str, dict[str, object]]]:
    """The sparse-update plans of benchmarks/int8_memory.py."""
    spec = importlib.util.spec_from_file_location("int8_memory", ROOT / "benchmarks" / "int8_memory.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.plans()


def test_resident_bytes_of_the_tinyengine_like_plan_drop_by_the_frozen_rows(tmp_path):
    plan = sparse_plan(tmp_path, benchmark_plans()["TinyEngine-like sparse"])
    graph = load_model(MOBILENET)
    tg = build_training_graph(graph, trainable=plan, optimizer="sgd:lr=0.01", precision="int8")
    split = {v.name: v.head_channels for v in tg.values.values() if v.head_channels is not None}
    assert split == {"conv_2d_52.w": 14, "conv_2d_56.w": 28, "conv_2d_60.w": 28}  # 56, 56, 112 x 336
    whole = sum(v.nbytes for v in tg.values.values() if v.resident)
    frozen = (56 - 14) * 336 + (56 - 28) * 336 + (112 - 28) * 336
    # 51,744 B: the rows of conv_2d_52, _56 and _60 that stay in flash
    assert tg.resident_bytes == whole - frozen
    assert tg.to_planner_dict()["resident_bytes"] == tg.resident_bytes
    # fp32 graphs keep sparse weights whole
    fp32 = build_training_graph(graph, trainable=plan, optimizer="sgd:lr=0.01", precision="fp32")
    assert all(v.head_channels is None for v in fp32.values.values())


# -- whole projects ----------------------------------------------------------------------------------


@pytest.mark.parametrize("model", [SMALL, DIGITS], ids=["small_cnn", "digits"])
def test_generated_split_project_equals_the_reference(model, archive, tmp_path):
    """Losses, the saved image (the whole tensors) and inference equal the reference's bits, under
    the sanitizers; the frozen rows are static const (flash), the RAM arrays only the k rows."""
    for update in ("master,fused", "stochastic,unfused", "qas,nearest,fused"):
        project, results, trainer = build_and_compare(model, tmp_path / update.replace(",", "_"), archive,
                                                      trainable=sparse_plan(tmp_path), update=update,
                                                      sanitize=True)
    graph, source = project.graph, (project.directory / "src" / "model.c").read_text()
    splits = {v.name: v for v in graph.values.values() if v.head_channels is not None}
    assert set(splits) == {f"{name}.w" for name in SPARSE}
    backward_reads = 0
    for name, value in splits.items():
        c_name = name.replace(".", "_")
        row = value.size // value.shape[0]
        frozen = (value.shape[0] - value.head_channels) * row
        assert f"static const int8_t {c_name}_frozen[{frozen}] = {{" in source
        assert f"static int8_t {c_name}[{value.head_channels * row}];" in source
        assert f".w_tail = {c_name}_frozen," in source  # the forward kernel's struct
        input_gradient = any(n.compute in (C.CONV_2D_BWD_IN_INT8, C.FULLY_CONNECTED_BWD_IN_INT8)
                             and name in n.inputs for n in graph.nodes)
        assert (f".tail = {c_name}_frozen," in source) == input_gradient  # es_weights_int8_quant
        backward_reads += input_gradient
        assert np.array_equal(trainer.state[name][value.head_channels :],
                              graph.source.tensor(value.tensor).data[value.head_channels :])
    assert backward_reads == 2  # conv_2d_4 and the classifier (conv_2d_2 is the lowest trained layer)
    # the 1x1 conv_2d_2 would run the fast pointwise kernel, which reads whole weights only
    call = next(line for line in source.splitlines() if "conv_2d_2_w, " in line and "_fwd(" in line)
    assert "es_conv2d_int8_fwd(" in call, call
    state = int(next(m.value for m in project.model.header_macros if m.name == "ES_MODEL_STATE_BYTES"))
    in_ram = sum(v.resident_nbytes for v in graph.values.values()
                 if v.kind.value in ("parameter", "master", "rng_state"))
    assert state == in_ram < in_ram + sum(v.nbytes - v.resident_nbytes for v in splits.values())


def test_exported_split_image_runs_in_tflite_micro_as_the_device(archive, tmp_path):
    project, results, _ = build_and_compare(SMALL, tmp_path / "fw", archive, trainable=sparse_plan(tmp_path),
                                            update="stochastic,fused", batch=2, sanitize=True)
    image = tmp_path / "from_device.bin"
    image.write_bytes(image_bytes(results))
    exported = export_parameters(SMALL, image)
    changed = {p.name for p in exported.parameters if p.changed}
    assert {"conv_2d_4.w", "fully_connected_6.w"} <= changed, changed
    graph = project.graph
    x = pseudo_random_batches(project.facts, 3)[-1][0]
    x_int8 = quantize_input(x, graph.source.tensor(graph.value(graph.input).tensor))
    output = graph.source.outputs[0]
    device = device_output(project, results).reshape(-1)
    assert np.array_equal(run_tflm(exported.blob, x_int8)[output].reshape(-1), device)
    assert not np.array_equal(run_tflm(SMALL.read_bytes(), x_int8)[output].reshape(-1), device)
    # the frozen rows went back into the model unchanged
    trained = load_model(exported.blob)
    for name in SPARSE:
        value = graph.value(f"{name}.w")
        k = value.head_channels
        original = graph.source.tensor(value.tensor).data
        assert np.array_equal(trained.tensor(value.tensor).data[k:], original[k:])


def test_params_load_refuses_another_sparse_updates_image(archive, tmp_path):
    """The image of the same model trained with more trainable rows of conv_2d_4 (rows this build
    keeps frozen in flash) is refused, and so is an edit of a frozen row; an edit of a trainable
    row loads."""
    wider = dict(SPARSE, conv_2d_4={"weight_ratio": 0.5, "bias": True})
    (tmp_path / "wider").mkdir()
    _, other_run, _ = build_and_compare(SMALL, tmp_path / "other", archive,
                                        trainable=sparse_plan(tmp_path / "wider", wider), sanitize=True)
    other = image_bytes(other_run)
    options = ProjectOptions(trainable=sparse_plan(tmp_path), precision="int8", lr=0.05)
    project = generate_project(SMALL, "host", tmp_path / "project", options)
    record = next(p for p in project.model.saved_params if p.value == "conv_2d_4.w")
    value = project.graph.value("conv_2d_4.w")
    original = project.graph.source.tensor(value.tensor).data.reshape(-1)
    other_rows = next(r for r in read_image(other) if r.tensor == value.tensor).data
    assert np.any(other_rows[record.head_count :] != original[record.head_count :])  # the refusal can fail
    header = tmp_path / "include" / "other_image.h"
    header.parent.mkdir()
    header.write_text("static const unsigned char other_image[] = {" + ", ".join(map(str, other)) + "};\n")
    firmware = compile_firmware(
        [project.directory / "src" / "model.c", IMAGE_CHECK, archive], board="host",
        out_dir=tmp_path / "check",
        include_dirs=[project.directory / "src", header.parent], with_port=False, sanitize=True,
        defines=[f"FROZEN_BYTE={record.offset + record.head_count + 5}", f"HEAD_BYTE={record.offset + 3}"],
    )
    values = run_firmware(firmware).check().results.values
    checks = {key: value for key, value in values.items() if key.startswith("check.")}
    assert len(checks) == 10 and all(v == 1 for v in checks.values()), checks


def test_emulated_cortex_m7_split_project_equals_the_reference(tmp_path):
    options = ProjectOptions(trainable=sparse_plan(tmp_path), optimizer="sgd", lr=0.05, steps=3,
                             report_params=True, precision="int8", int8_training="master,fused")
    project = generate_project(SMALL, "stm32f746", tmp_path / "project", options)
    built = compile_project(project.directory, "emulated", use_platformio=False)
    results = run_firmware(built.firmware).check().results
    assert results["port.name"] == "qemu"
    trainer = ReferenceTrainer(project.graph)
    batches = pseudo_random_batches(project.facts, 3)
    losses = [trainer.train_step(x, y) for x, y in batches]
    c_losses = np.float32(results.all("step.loss"))
    assert np.array_equal(c_losses.view(np.uint32), np.float32(losses).view(np.uint32))
    expected = [(project.graph.value(n).tensor, trainer.state[n]) for n in project.graph.parameters]
    assert image_bytes(results) == write_image(expected)
    output = trainer.infer(batches[-1][0]).reshape(-1)
    assert np.array_equal(device_output(project, results).reshape(-1), output)
