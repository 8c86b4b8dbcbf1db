"""Realistic models from the TFLite converter import completely, and run_tflm maps TFLite Micro's
tensors onto the IR: constants equal the IR's data, activations have the IR's shapes."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from edgesdk.frontend import import_model, load_model
from edgesdk.ir import NO_TENSOR, Activation, DType, OpKind
from edgesdk.testing.builder import ModelBuilder
from edgesdk.testing.flatwriter import OpSpec, SubgraphSpec, TensorSpec, write_model
from edgesdk.testing.tflm import TflmError, run_tflm, run_tflm_batch, run_tflm_raw

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
MODELS = {
    "small_cnn_int8": FIXTURES / "small_cnn_int8.tflite",
    "small_cnn_float_io": FIXTURES / "small_cnn_float_io.tflite",
    "converter_patterns_int8": FIXTURES / "converter_patterns_int8.tflite",
    "mobilenetv2_035_96": FIXTURES / "mobilenetv2_035_96.tflite",
    "digits_cnn": ROOT / "examples" / "digits" / "model" / "digits_cnn.tflite",
}
EXPECTED_OPS = {
    "small_cnn_int8": {"CONV_2D": 3, "DEPTHWISE_CONV_2D": 1, "ADD": 1, "MEAN": 1, "FULLY_CONNECTED": 1,
                       "SOFTMAX": 1},
    "small_cnn_float_io": {"QUANTIZE": 1, "CONV_2D": 3, "DEPTHWISE_CONV_2D": 1, "ADD": 1, "MEAN": 1,
                           "FULLY_CONNECTED": 1, "SOFTMAX": 1, "DEQUANTIZE": 1},
    # SHAPE/STRIDED_SLICE/PACK of two Flattens folded, EXPAND_DIMS became RESHAPE, a dead RESHAPE dropped
    "converter_patterns_int8": {"CONV_2D": 3, "AVERAGE_POOL_2D": 1, "MAX_POOL_2D": 1, "CONCATENATION": 1,
                                "RESHAPE": 4, "FULLY_CONNECTED": 2, "LOGISTIC": 1},
    "mobilenetv2_035_96": {"CONV_2D": 35, "DEPTHWISE_CONV_2D": 17, "ADD": 10, "MEAN": 1,
                           "FULLY_CONNECTED": 1, "SOFTMAX": 1},
    "digits_cnn": {"CONV_2D": 3, "DEPTHWISE_CONV_2D": 1, "MAX_POOL_2D": 1, "MEAN": 1, "FULLY_CONNECTED": 1,
                   "SOFTMAX": 1},
}


@pytest.mark.parametrize("name", list(MODELS))
def test_fixture_imports_with_the_expected_ops(name: str) -> None:
    graph = load_model(MODELS[name])
    assert dict(Counter(op.kind.value for op in graph.ops)) == EXPECTED_OPS[name]
    referenced = {i for op in graph.ops for i in (*op.inputs, *op.outputs)} | set(graph.inputs)
    assert referenced - {NO_TENSOR} == set(range(len(graph.tensors)))  # nothing unused is left
    for op in graph.ops:
        if op.kind in (OpKind.CONV_2D, OpKind.DEPTHWISE_CONV_2D, OpKind.FULLY_CONNECTED):
            weights = graph.tensors[op.inputs[1]]
            assert weights.is_constant and weights.dtype is DType.INT8
            assert weights.quant.axis == (3 if op.kind is OpKind.DEPTHWISE_CONV_2D else 0) or (
                weights.quant.scale.size == 1
            )
            assert np.all(weights.quant.zero_point == 0)
        for index in op.outputs:
            tensor = graph.tensors[index]
            if tensor.dtype is DType.INT8:
                assert tensor.quant is not None and tensor.quant.axis is None


def test_small_cnn_details_as_the_converter_wrote_them() -> None:
    graph = load_model(MODELS["small_cnn_int8"])
    ops = graph.ops
    assert graph.tensors[graph.inputs[0]].shape == (1, 32, 32, 3)
    assert ops[0].attrs["stride"] == (2, 2) and ops[0].attrs["activation"] is Activation.RELU  # BN folded
    assert graph.tensors[ops[0].inputs[1]].quant.scale.size == 8  # per-channel conv weights
    add = next(op for op in ops if op.kind is OpKind.ADD)
    assert add.inputs[0] == ops[0].outputs[0]  # the residual reads the stem's output
    mean = next(op for op in ops if op.kind is OpKind.MEAN)
    assert dict(mean.attrs) == dict(axes=(1, 2), keep_dims=False)
    fc = next(op for op in ops if op.kind is OpKind.FULLY_CONNECTED)
    assert graph.tensors[fc.inputs[1]].quant.scale.size == 10  # per-channel FC weights
    softmax_out = graph.tensors[graph.outputs[0]]
    assert softmax_out.quant.scale[0] == pytest.approx(1 / 256) and softmax_out.quant.zero_point[0] == -128


def test_fixture_files_stay_small() -> None:
    for path in MODELS.values():
        assert path.stat().st_size < 2 * 1024 * 1024


@pytest.fixture(scope="module")
def tflm_fixture_runs():
    rng = np.random.default_rng(3)
    jobs = []
    for path in MODELS.values():
        graph = load_model(path)
        source = graph.tensors[graph.inputs[0]]
        shape = (3, *source.shape[1:])
        if source.dtype is DType.FLOAT32:
            jobs.append((path.read_bytes(), rng.uniform(0, 1, size=shape).astype(np.float32)))
        else:
            jobs.append((path.read_bytes(), rng.integers(-128, 128, size=shape, dtype=np.int8)))
    return dict(zip(MODELS, run_tflm_batch(jobs), strict=True))


@pytest.mark.parametrize("name", list(MODELS))
def test_fixtures_run_in_tflm_and_map_onto_the_ir(name: str, tflm_fixture_runs) -> None:
    graph = load_model(MODELS[name])
    values = tflm_fixture_runs[name]
    assert set(values) == set(range(len(graph.tensors)))
    for tensor in graph.tensors:
        got = values[tensor.index]
        assert got.dtype == tensor.dtype.numpy
        if tensor.is_constant:
            np.testing.assert_array_equal(got, tensor.data)
        else:
            assert got.shape == (3, *tensor.shape[1:])
    out = values[graph.outputs[0]]
    assert np.ptp(out.astype(np.float64), axis=0).max() > 0  # three inputs, not one constant output


def test_run_tflm_single_sample_and_tflite_indices() -> None:
    b = ModelBuilder("single")
    x = b.input((1, 4, 4, 1))
    y = b.mean(b.conv2d(x, np.ones((2, 3, 3, 1), np.float32), None, activation="relu"), (1, 2))
    b.output(y)
    model = b.compile()
    sample = np.arange(16, dtype=np.int8).reshape(1, 4, 4, 1)
    values = run_tflm(model.blob, sample)
    imported = import_model(model.blob)
    np.testing.assert_array_equal(values[imported.graph.inputs[0]], sample)
    raw = run_tflm_raw(model.blob, sample)
    assert len(raw) == 1 and len(raw[0]) == 5  # input, weights, conv output, MEAN axes, output
    np.testing.assert_array_equal(raw[0][model.tensor_index[y.id]], values[imported.graph.outputs[0]])


def test_run_tflm_reports_a_model_it_cannot_run() -> None:
    tensors = (TensorSpec("x", (1, 4), "int8", scale=(0.1,), zero_point=(0,)),
               TensorSpec("y", (1, 4), "int8", scale=(0.1,), zero_point=(0,)))
    custom = OpSpec("CUSTOM", (0,), (1,), custom_code="Nope")
    blob = write_model([SubgraphSpec(tensors, (custom,), (0,), (1,))])
    with pytest.raises(TflmError, match="TFLite Micro"):
        run_tflm_raw(blob, np.zeros((1, 4), np.int8))


def test_run_tflm_rejects_inputs_of_the_wrong_shape() -> None:
    with pytest.raises(ValueError, match="has shape"):
        run_tflm(MODELS["digits_cnn"].read_bytes(), np.zeros((1, 7, 8, 1), np.int8))
