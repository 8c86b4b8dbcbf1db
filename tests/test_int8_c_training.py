"""The int8 training kernels in C (edgesdk/train_int8.h) against the numpy reference, bit for bit.

The reference (``edgesdk.reference.int8_graph``) executes an int8 training graph in the C's own
summation order; its gradients are checked against PyTorch autograd elsewhere
(tests/test_int8_training.py). Here every node of real training steps is fed to the C kernel with
the reference's own inputs (int8 activations and weights, float gradients, the parameter, master
and xorshift32 state before the update) and the C result must have the reference's bits: every
fixture, every update form (fused / unfused, nearest / stochastic / master, QAS and not), sparse
selections, MobileNetV2 for one step, builder models with random geometry. Also: kernels on
hand-made extremes, scratch sizes against the planner's workspace, refusals, the parameter image
against its Python twin, a Cortex-M7 build and an AddressSanitizer + UndefinedBehaviorSanitizer run.
"""

from __future__ import annotations

import subprocess
import zlib
from pathlib import Path

import int8_lib as il
import int8_train_lib as tl
import numpy as np
import pytest
from codegen_support import every_op_classifier, every_op_regressor
from edgesdk.export.image import read_image, write_image
from edgesdk.frontend import import_model, load_model
from edgesdk.reference import ReferenceTrainer
from edgesdk.reference import int8_graph as ref
from edgesdk.testing.builder import ModelBuilder
from edgesdk.train import build_training_graph
from edgesdk.train.costs import workspace_bytes
from edgesdk.train.graph import Compute, Stage, TrainingGraph

HERE = Path(__file__).resolve().parent
FIXTURES = HERE / "fixtures"
DIGITS = HERE.parent / "examples" / "digits" / "model" / "digits_cnn.tflite"
DRIVER = HERE / "c" / "int8_train_sanitize.c"
C = Compute


@pytest.fixture(scope="module")
def kernels(tmp_path_factory) -> tl.TrainKernels:
    return tl.TrainKernels(tl.load(tl.build(tmp_path_factory.mktemp("int8_train"))))


def bits(array) -> np.ndarray:
    return np.ascontiguousarray(array).reshape(-1).view(np.uint8)


def random_batch(tg: TrainingGraph, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    x = rng.uniform(-1.5, 1.5, tg.values[tg.input].shape).astype(np.float32)
    labels = tg.values[tg.labels]
    if labels.dtype.value == "int32":
        classes = tg.values[tg.outputs[0]].shape[-1]
        return x, rng.integers(0, classes, labels.shape)
    return x, rng.uniform(-1, 1, labels.shape).astype(np.float32)


def compare_steps(kernels: tl.TrainKernels, tg: TrainingGraph, steps: int, seed: int = 0) -> set[Compute]:
    """Run ``steps`` reference steps node by node; feed every node the C kernel has to it with the
    reference's inputs and require the reference's bits. Returns the kernels compared."""
    trainer = ReferenceTrainer(tg)
    rng = np.random.default_rng(seed)
    compared: set[Compute] = set()
    for _ in range(steps):
        values = trainer._inputs(*random_batch(tg, rng))
        trainer.step += 1
        for node in tg.nodes:
            args = [values[n] if n in values else trainer.state[n] for n in node.inputs]
            c_result = None
            copies = [np.array(a, copy=True) for a in args]
            if node.compute in kernels.calls:
                c_result = kernels.run(node.compute, node.attrs, *copies)
            trainer.run_node(node, values)
            if node.compute not in kernels.calls:
                continue
            compared.add(node.compute)
            where = f"{tg.name} {node.name} ({node.compute.value})"
            if node.stage is Stage.UPDATE:
                for name, copy in zip(node.inputs, copies, strict=True):
                    if name in node.in_place:
                        assert np.array_equal(bits(copy), bits(trainer.state[name])), f"{where}: {name}"
            elif node.stage is Stage.LOSS:
                grad, loss = c_result
                assert np.array_equal(bits(grad), bits(values[node.output])), where
                assert np.float32(loss) == np.float32(values[node.side_outputs[0]]), where
            else:
                assert np.array_equal(bits(c_result), bits(values[node.output])), where
    return compared


def graph_of(model, **options) -> TrainingGraph:
    graph = load_model(model) if isinstance(model, Path) else import_model(model).graph
    options.setdefault("optimizer", "sgd:lr=0.02")
    return build_training_graph(graph, precision="int8", **options)


MODELS = {
    "small_cnn": FIXTURES / "small_cnn_int8.tflite",
    "float_io": FIXTURES / "small_cnn_float_io.tflite",
    "converter": FIXTURES / "converter_patterns_int8.tflite",
    "digits": DIGITS,
}
UPDATES = ["qas,nearest,fused", "qas,stochastic,unfused", "master,fused", "master,unfused",
           "stochastic,fused,seed=7", "noqas,nearest,unfused"]


def test_every_declared_kernel_is_wrapped():
    assert tl.declared_kernels() == set(tl.SIGNATURES)


@pytest.mark.parametrize("model", sorted(MODELS))
@pytest.mark.parametrize("update", UPDATES)
def test_every_node_of_the_fixtures_matches_the_reference(kernels, model, update):
    tg = graph_of(MODELS[model], trainable="all", int8_training=update, batch=2)
    compared = compare_steps(kernels, tg, steps=2)
    assert C.LOSS_SOFTMAX_XENT_INT8 in compared
    assert {C.CONV_2D_BWD_IN_INT8, C.ACT_BWD_INT8} <= compared
    fused = {C.CONV_2D_BWD_W_QAS, C.BIAS_BWD_QAS}
    assert fused <= compared if "unfused" not in update else not fused & compared


@pytest.mark.parametrize("trainable", ["last:2", "bias", "sparse"])
def test_sparse_selections_match_the_reference(kernels, trainable, tmp_path):
    if trainable == "sparse":
        plan = tmp_path / "sparse.json"
        plan.write_text('{"conv_2d_0": {"weight_ratio": 0.5, "bias": true}, "depthwise_conv_2d_1": '
                        '{"weight_ratio": 0.4}, "fully_connected_6": {"weight_ratio": 0.3, "bias": true}}')
        trainable = f"sparse:{plan}"
    for update in ("qas,nearest,fused", "stochastic,unfused", "master,fused"):
        tg = graph_of(MODELS["small_cnn"], trainable=trainable, int8_training=update)
        assert compare_steps(kernels, tg, steps=3)


def test_every_op_models_and_the_mse_loss(kernels):
    compared: set[Compute] = set()
    for blob, loss in ((every_op_classifier(), "softmax_xent"), (every_op_regressor(), "mse")):
        for update in ("qas,nearest,fused", "stochastic,unfused", "master,fused"):
            tg = graph_of(blob, trainable="all", loss=loss, int8_training=update, batch=2)
            compared |= compare_steps(kernels, tg, steps=2)
    # their MEAN follows a convolution without activation; the small CNN's RELU6 -> MEAN runs fused
    tg = graph_of(MODELS["small_cnn"], trainable="bias", batch=2)
    compared |= compare_steps(kernels, tg, steps=1)
    assert C.MEAN_ACT_BWD_INT8 in compared
    assert set(kernels.calls) <= compared, set(kernels.calls) - compared


@pytest.mark.parametrize("trainable", ["bias", "last:3", "all"])
def test_mobilenetv2_one_step(kernels, trainable):
    tg = graph_of(FIXTURES / "mobilenetv2_035_96.tflite", trainable=trainable,
                  int8_training="stochastic,fused" if trainable == "all" else "qas,nearest,unfused")
    compared = compare_steps(kernels, tg, steps=1)
    assert C.CONV_2D_BWD_IN_INT8 in compared
    assert (C.DEPTHWISE_CONV_2D_BWD_IN_INT8 in compared) == (trainable != "last:3")


def random_model(seed: int) -> bytes:
    """A small int8 network with random geometry: conv (stride, dilation, padding, activation),
    depthwise with a depth multiplier, max pool, a per-tensor fully connected layer."""
    rng = np.random.default_rng(seed)
    b = ModelBuilder(f"random_{seed}", seed=seed)
    in_c = int(rng.integers(1, 4))
    x = b.input((1, int(rng.integers(5, 10)), int(rng.integers(5, 10)), in_c))
    k, stride, dilation = int(rng.integers(1, 4)), int(rng.integers(1, 3)), int(rng.integers(1, 3))
    out_c = int(rng.integers(2, 6))
    y = b.conv2d(x, rng.standard_normal((out_c, k, k, in_c)).astype(np.float32) * 0.5,
                 rng.standard_normal(out_c).astype(np.float32) * 0.1, stride=stride, dilation=dilation,
                 padding=str(rng.choice(["same", "valid"])),
                 activation=str(rng.choice(["relu", "relu6", "none"])))
    m = int(rng.integers(1, 3))
    y = b.depthwise_conv2d(y, rng.standard_normal((1, 3, 3, out_c * m)).astype(np.float32) * 0.5,
                           rng.standard_normal(out_c * m).astype(np.float32) * 0.1, depth_multiplier=m,
                           stride=int(rng.integers(1, 3)), activation="relu")
    y = b.max_pool2d(y, 2, 1)
    y = b.mean(y, (1, 2))
    y = b.fully_connected(y, rng.standard_normal((4, out_c * m)).astype(np.float32),
                          rng.standard_normal(4).astype(np.float32) * 0.1, per_channel=False)
    b.output(b.softmax(y))
    return b.build()


@pytest.mark.parametrize("seed", range(6))
def test_random_geometries_match_the_reference(kernels, seed):
    update = ["qas,nearest,fused", "stochastic,fused", "master,unfused"][seed % 3]
    tg = graph_of(random_model(seed), trainable="all", int8_training=update, batch=1 + seed % 2)
    assert compare_steps(kernels, tg, steps=2, seed=seed)


def test_weight_zero_points_and_extreme_gradients(kernels):
    """The backward kernels with a nonzero weight zero point and gradients with inf / NaN / huge
    values; the updates saturate (int8 to [-127, 127], int32 to its range) exactly as the reference."""
    tg = graph_of(MODELS["small_cnn"], trainable="all", int8_training="qas,nearest,unfused")
    trainer = ReferenceTrainer(tg)
    result = trainer.gradients(*random_batch(tg, np.random.default_rng(3)))
    rng = np.random.default_rng(4)
    checked = 0
    for node in tg.nodes:
        args = [result.values[n] if n in result.values else trainer.state[n] for n in node.inputs]
        bwd_in = (C.CONV_2D_BWD_IN_INT8, C.DEPTHWISE_CONV_2D_BWD_IN_INT8, C.FULLY_CONNECTED_BWD_IN_INT8)
        if node.compute in bwd_in:
            attrs = dict(node.attrs, w_zero_point=int(rng.integers(-20, 20)))
            expected = ref.KERNELS[node.compute](attrs, *args)
            assert np.array_equal(bits(kernels.run(node.compute, attrs, *args)), bits(expected)), node.name
            checked += 1
        if node.compute in (C.QAS_UPDATE_INT8, C.QAS_UPDATE_INT32):
            grad = np.array(args[1], dtype=np.float32, copy=True).reshape(-1)
            extremes = np.array([np.inf, -np.inf, np.nan, 3e38, -3e38], np.float32)
            grad[::3] = rng.choice(extremes, grad[::3].size)
            for master in (False, True):
                attrs = dict(node.attrs, master=master, lr=1e6)
                param = np.array(args[0], copy=True)
                state = [np.full(node.attrs["span"].rows * node.attrs["span"].grad_stride, 1e9, np.float32)]
                c_param, c_state = param.copy(), [s.copy() for s in state]
                ref.KERNELS[node.compute](attrs, param, grad, *(state if master else []))
                kernels.run(node.compute, attrs, c_param, grad, *(c_state if master else []))
                assert np.array_equal(bits(c_param), bits(param)), node.name
                assert np.array_equal(bits(c_state[0]), bits(state[0])), node.name
                checked += 1
    assert checked >= 12


def test_master_init_copies_the_trainable_channels(kernels):
    span = tl.QasSpan(9, 3, 8, 3, 1)  # depthwise [1, 3, 3, 8], first 3 channels
    w = np.arange(72, dtype=np.int8).reshape(1, 3, 3, 8) - 36
    master = np.zeros(27, np.float32)
    assert kernels.lib.es_qas_int8_master_init(span, tl.ptr(w), tl.ptr(master, tl.f32)) == 0
    assert np.array_equal(master, w[..., :3].reshape(-1).astype(np.float32))
    b = np.array([2**31 - 1, -(2**31), 5], np.int32)
    master = np.zeros(2, np.float32)
    assert kernels.lib.es_qas_int32_master_init(tl.QasSpan(1, 2, 3, 2, 1), tl.ptr(b, tl.i32),
                                                tl.ptr(master, tl.f32)) == 0
    assert master.tolist() == [2.0**31, -(2.0**31)]


def test_scratch_sizes_equal_the_planner_workspace(kernels):
    tg = graph_of(FIXTURES / "mobilenetv2_035_96.tflite", trainable="all")
    lib = kernels.lib
    functions = {
        C.CONV_2D_BWD_W_QAS: lambda a, q: lib.es_conv2d_int8_bwd_w_qas_scratch_size(tl.dims(a["w_shape"])),
        C.FULLY_CONNECTED_BWD_W_QAS: lambda a, q: lib.es_fully_connected_int8_bwd_w_qas_scratch_size(
            tl.dims(a["w_shape"])),
        C.DEPTHWISE_CONV_2D_BWD_W_QAS: lambda a, q: lib.es_depthwise_conv2d_int8_bwd_w_qas_scratch_size(q),
        C.BIAS_BWD_QAS: lambda a, q: lib.es_bias_int32_bwd_qas_scratch_size(q),
    }
    seen = set()
    for node in tg.nodes:
        if node.compute in functions:
            layer = kernels.layer(node.attrs)
            assert functions[node.compute](node.attrs, layer) == node.workspace_bytes, node.name
            assert node.workspace_bytes == workspace_bytes(node.compute, node.attrs)
            seen.add(node.compute)
    assert seen == set(functions)


def test_refused_arguments_write_nothing(kernels):
    tg = graph_of(MODELS["digits"], trainable="all")
    node = next(n for n in tg.nodes if n.compute is C.CONV_2D_BWD_W_QAS)
    trainer = ReferenceTrainer(tg)
    result = trainer.gradients(*random_batch(tg, np.random.default_rng(0)))
    w, dz, x = (result.values[n] if n in result.values else trainer.state[n] for n in node.inputs)
    original = np.array(w, copy=True)
    for change in ({"channels": 0}, {"channels": node.attrs["w_shape"][0] + 1}, {"stride": (0, 1)},
                   {"x_zero_point": 128}, {"pad": (9, 0, 9, 0)}):
        target = np.array(w, copy=True)
        with pytest.raises(tl.KernelError):
            kernels.run(node.compute, dict(node.attrs, **change), target, dz, x)
        assert np.array_equal(target, original)
    master_stochastic = dict(node.attrs, master=True, rounding=type(node.attrs["rounding"])("stochastic"))
    with pytest.raises(tl.KernelError):
        kernels.run(node.compute, master_stochastic, np.array(w, copy=True), dz, x,
                    np.zeros(w.size, np.float32), np.array([5], np.uint32))
    with pytest.raises(tl.KernelError):  # stochastic rounding with a zero xorshift32 state
        kernels.run(node.compute, dict(node.attrs, rounding=master_stochastic["rounding"]),
                    np.array(w, copy=True), dz, x, np.array([0], np.uint32))
    y = np.zeros(10, np.int8)
    with pytest.raises(tl.KernelError):
        kernels.act_bwd({"act_min": 3, "act_max": 3}, y, np.ones(10, np.float32))
    with pytest.raises(tl.KernelError):  # a label outside the classes
        kernels.loss_xent({"rows": 1, "classes": 10, "beta": 1.0, "scale": 0.1, "zero_point": 0}, y,
                          np.array([10]))


# -- the parameter image ------------------------------------------------------------------------


def test_parameter_image_equals_its_python_twin(kernels):
    rng = np.random.default_rng(5)
    for _ in range(20):
        arrays = []
        for tensor in rng.permutation(40)[: rng.integers(1, 6)]:
            dtype = rng.choice([np.int8, np.int32, np.float32])
            size = int(rng.integers(1, 30))
            data = (rng.integers(-(2**31), 2**31, size) if dtype == np.int32 else
                    rng.integers(-128, 128, size) if dtype == np.int8 else rng.standard_normal(size))
            arrays.append((int(tensor), np.ascontiguousarray(data, dtype=dtype)))
        blob = kernels.image_write(arrays, extra=int(rng.integers(0, 9)))
        assert blob == write_image(arrays)
        for record, (tensor, array) in zip(read_image(blob), arrays, strict=True):
            assert record.tensor == tensor and np.array_equal(bits(record.data), bits(array))
        back = [(tensor, np.zeros_like(array)) for tensor, array in arrays]
        assert kernels.image_read(back, blob + b"\xff" * 5) == 0
        assert all(np.array_equal(bits(a), bits(b)) for (_, a), (_, b) in zip(back, arrays, strict=True))
    payload = bytes(rng.integers(0, 256, 1000, dtype=np.uint8))
    assert kernels.lib.es_crc32(0, payload, len(payload)) == zlib.crc32(payload)
    first = kernels.lib.es_crc32(0, payload, 300)
    assert kernels.lib.es_crc32(first, payload[300:], 700) == zlib.crc32(payload)


def test_parameter_image_refusals_leave_the_parameters_alone(kernels):
    arrays = [(3, np.arange(5, dtype=np.int8)), (4, np.arange(3, dtype=np.int32))]
    blob = kernels.image_write(arrays)
    target = [(3, np.full(5, 9, np.int8)), (4, np.full(3, 9, np.int32))]

    def untouched() -> bool:
        return all(np.all(a == 9) for _, a in target)

    damaged = bytearray(blob)
    damaged[-1] ^= 1
    other_model = kernels.image_write([(3, np.arange(5, dtype=np.int8)), (5, np.arange(3, dtype=np.int32))])
    cases = {
        "crc": (bytes(damaged), 1),
        "short": (blob[:-4], 1),
        "header only": (blob[:15], 1),
        "magic": (b"ESPX" + blob[4:], 1),
        "version": (blob[:4] + b"\x02" + blob[5:], 1),
        "other tensor": (other_model, 2),
        "fewer records": (kernels.image_write(arrays[:1]), 2),
    }
    for name, (image, status) in cases.items():
        assert kernels.image_read(target, image) == status, name
        assert untouched(), name
    wrong_dtype = [(3, np.full(5, 9, np.int8)), (4, np.full(3, 9, np.float32))]
    assert kernels.image_read(wrong_dtype, blob) == 2


# -- builds -------------------------------------------------------------------------------------


def test_builds_for_cortex_m7_without_data_or_libm(tmp_path):
    for name in tl.TRAIN_SOURCES:
        source = tl.SOURCE_DIR / name
        obj = tmp_path / (source.stem + ".o")
        result = subprocess.run(
            ["arm-none-eabi-gcc", *tl.ARM_FLAGS, *tl.C_FLAGS, f"-I{tl.INCLUDE_DIR}", f"-I{tl.SOURCE_DIR}",
             "-c", str(source), "-o", str(obj)],
            capture_output=True, text=True,
        )
        assert result.returncode == 0, result.stderr
        symbols = subprocess.run(["arm-none-eabi-nm", str(obj)], capture_output=True, text=True).stdout
        for line in symbols.splitlines():
            kind, symbol = line.split()[-2:]
            assert kind not in "BbDdCGgSs", (name, symbol)
            if kind == "U":  # the C library's block moves, or other runtime kernels
                assert symbol in {"memcpy", "memset"} or symbol.startswith("es_"), (name, symbol)


@pytest.fixture(scope="module")
def sanitized(tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp("int8_train_asan") / "int8_train_sanitize"
    return il.build_sanitized(DRIVER, target, tl.runtime_sources(), tl.C_FLAGS)


def test_every_kernel_runs_clean_under_asan_and_ubsan(sanitized):
    result = il.run_clean(sanitized)
    called = {line.split()[1] for line in result.stdout.splitlines() if line.startswith("called ")}
    assert called == tl.declared_kernels(), called ^ tl.declared_kernels()


def test_the_sanitizer_control_is_live(sanitized):
    result = subprocess.run([str(sanitized), "overflow"], capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and "heap-buffer-overflow" in result.stderr
