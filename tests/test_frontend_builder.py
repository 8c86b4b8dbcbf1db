"""The test-model builder: every op it can emit runs in TFLite Micro and computes what the float
model computes, within quantization error; the quantization follows the converter's rules."""

from __future__ import annotations

import numpy as np
import pytest
from edgesdk.frontend import load_model
from edgesdk.testing.builder import ModelBuilder, Value, activation_quant
from edgesdk.testing.tflm import run_tflm_batch

RNG = np.random.default_rng(1234)


def _w(*shape: int, scale: float = 0.4) -> np.ndarray:
    return (RNG.standard_normal(shape) * scale).astype(np.float32)


def _single_op_models() -> dict[str, tuple[ModelBuilder, Value]]:
    """name -> (builder with its output declared, the input value). One op under test each."""
    cases: dict[str, tuple[ModelBuilder, Value]] = {}

    def case(name: str, shape=(1, 6, 6, 3), dtype: str = "int8"):
        b = ModelBuilder(name)
        x = b.input(shape, range=(-1.0, 1.0), dtype=dtype)
        cases[name] = (b, x)
        return b, x

    b, x = case("conv_same_relu")
    b.output(b.conv2d(x, _w(4, 3, 3, 3), _w(4, scale=0.1), activation="relu"))
    b, x = case("conv_valid_stride2_nobias")
    b.output(b.conv2d(x, _w(5, 3, 3, 3), None, stride=2, padding="valid"))
    b, x = case("conv_dilation2_relu6_per_tensor", shape=(1, 7, 7, 2))
    b.output(b.conv2d(x, _w(3, 3, 3, 2), _w(3), dilation=2, activation="relu6", per_channel=False))
    b, x = case("conv_1x1_stride_2x1", shape=(1, 5, 4, 3))
    b.output(b.conv2d(x, _w(6, 1, 1, 3), _w(6), stride=(2, 1)))
    b, x = case("depthwise_multiplier2_stride2")
    b.output(b.depthwise_conv2d(x, _w(1, 3, 3, 6), _w(6), depth_multiplier=2, stride=2))
    b, x = case("depthwise_valid_dilation2_relu", shape=(1, 7, 7, 4))
    b.output(b.depthwise_conv2d(x, _w(1, 3, 3, 4), _w(4), dilation=2, padding="valid", activation="relu"))
    b, x = case("fc_rank4_input")
    b.output(b.fully_connected(x, _w(7, 108, scale=0.1), _w(7)))
    b, x = case("fc_keep_num_dims_per_tensor_relu", shape=(1, 3, 5))
    b.output(b.fully_connected(x, _w(4, 5), _w(4), keep_num_dims=True, per_channel=False, activation="relu"))
    b, x = case("add_relu")
    y = b.conv2d(x, _w(3, 1, 1, 3), _w(3))
    b.output(b.add(x, y, activation="relu"))
    b, x = case("max_pool_same_3x3_s2")
    b.output(b.max_pool2d(x, 3, 2, padding="same"))
    b, x = case("avg_pool_same_3x3_s2")
    b.output(b.avg_pool2d(x, 3, 2, padding="same"))
    b, x = case("avg_pool_valid_2x2")
    b.output(b.avg_pool2d(x, 2))
    b, x = case("mean_spatial")
    b.output(b.mean(x, (1, 2)))
    b, x = case("mean_keep_dims")
    b.output(b.mean(x, (1, 2), keep_dims=True))
    b, x = case("reshape_flatten")
    b.output(b.reshape(x, (1, -1)))
    b, x = case("pad_hw")
    b.output(b.pad(x, ((0, 0), (1, 2), (2, 1), (0, 0))))
    b, x = case("concat_channels")
    y = b.conv2d(x, _w(2, 1, 1, 3), _w(2), activation="relu")
    b.output(b.concat([x, y], axis=3))
    b, x = case("softmax", shape=(1, 10))
    b.output(b.softmax(x))
    b, x = case("softmax_beta", shape=(1, 2, 6))
    b.output(b.softmax(x, beta=0.5))
    b, x = case("logistic", shape=(1, 4, 4, 2))
    b.output(b.logistic(x))
    b, x = case("quantize_float_input", dtype="float32")
    b.output(b.quantize(x))
    b, x = case("requantize_int8")
    b.output(b.quantize(x, range=(-3.0, 2.0)))
    b, x = case("dequantize_output")
    b.output(b.dequantize(b.conv2d(x, _w(2, 3, 3, 3), _w(2))))
    return cases


CASES = _single_op_models()


def _quantize_input(model, x: Value, real: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The array to feed TFLM and the real values it stands for."""
    if x.dtype == "float32":
        return real, real
    q = model.quant[x.id]
    xq = np.clip(np.round(real / q.scale) + q.zero_point, -128, 127).astype(np.int8)
    return xq, (xq.astype(np.float32) - q.zero_point) * q.scale


@pytest.fixture(scope="module")
def tflm_runs():
    samples = 4
    jobs, expected, built = [], {}, {}
    for name, (builder, x) in CASES.items():
        model = builder.compile()
        real = RNG.uniform(-1, 1, size=(samples, *x.shape[1:])).astype(np.float32)
        feed, real_seen = _quantize_input(model, x, real)
        jobs.append((model.blob, feed))
        out_id = builder.outputs[0].id
        expected[name] = np.concatenate(
            [builder.float_forward([real_seen[i : i + 1]])[out_id] for i in range(samples)]
        )
        built[name] = model
    results = run_tflm_batch(jobs)
    return {name: (built[name], expected[name], result) for name, result in zip(CASES, results, strict=True)}


@pytest.mark.parametrize("name", list(CASES))
def test_every_builder_op_runs_in_tflm_and_matches_float(name: str, tflm_runs) -> None:
    model, expected, result = tflm_runs[name]
    builder, _ = CASES[name]
    out_id = builder.outputs[0].id
    got = result[load_model(model.blob).outputs[0]]
    if out_id in model.quant:
        q = model.quant[out_id]
        got_real = (got.astype(np.float32) - q.zero_point) * q.scale
        step = q.scale
    else:
        got_real = got.astype(np.float32)
        step = max(q.scale for q in model.quant.values())  # float output: the int8 value before it
    assert got_real.shape == expected.shape
    if name.startswith(("max_pool", "reshape", "pad")):
        tolerance = 1e-6  # data movement on a shared quantization is exact
    else:
        # weights and activations are both rounded: two output steps plus 1.5 % of the range
        tolerance = 2 * step + 0.015 * float(np.abs(expected).max())
    error = float(np.abs(got_real - expected).max())
    assert error <= tolerance, f"{name}: max error {error:.4g} > {tolerance:.4g}"
    assert np.ptp(got_real) > 0 or np.ptp(expected) == 0  # not a constant output by accident


def test_weights_are_symmetric_per_channel_and_bias_scale_is_product() -> None:
    b = ModelBuilder("q")
    x = b.input((1, 4, 4, 2), range=(0.0, 2.0))
    w = _w(3, 3, 3, 2)
    w[1] *= 10.0  # channels with very different magnitudes get different scales
    y = b.conv2d(x, w, _w(3), name="conv")
    d = b.depthwise_conv2d(y, _w(1, 3, 3, 3), _w(3), name="dw")
    b.output(b.softmax(b.fully_connected(d, _w(4, 48), _w(4), name="fc")))
    model = b.compile()
    graph = load_model(model.blob)
    by_name = {t.name: t for t in graph.tensors}
    weights = by_name["conv/weights"]
    assert weights.quant.axis == 0
    np.testing.assert_allclose(weights.quant.scale, np.abs(w).reshape(3, -1).max(axis=1) / 127, rtol=1e-6)
    assert np.all(weights.quant.zero_point == 0)
    assert np.abs(weights.data).max() == 127
    assert by_name["dw/weights"].quant.axis == 3
    s_in = model.quant[x.id].scale
    np.testing.assert_allclose(by_name["conv/bias"].quant.scale, s_in * weights.quant.scale, rtol=1e-6)
    assert model.quant[x.id] == activation_quant(0.0, 2.0)
    assert activation_quant(0.0, 2.0).zero_point == -128
    softmax_out = graph.tensors[graph.outputs[0]]
    assert softmax_out.quant.scale[0] == pytest.approx(1 / 256) and softmax_out.quant.zero_point[0] == -128


def test_ops_without_requantization_share_quantization() -> None:
    b = ModelBuilder("tied")
    x = b.input((1, 4, 4, 2))
    y = b.conv2d(x, _w(2, 1, 1, 2), _w(2), range=(-5.0, 5.0))
    z = b.conv2d(x, _w(2, 1, 1, 2), _w(2), range=(-1.0, 9.0))
    c = b.concat([y, z], axis=3)
    p = b.max_pool2d(c, 2)
    r = b.reshape(b.pad(p, ((0, 0), (1, 1), (1, 1), (0, 0))), (1, -1))
    b.output(r)
    model = b.compile()
    group = {model.quant[v.id] for v in (y, z, c, p, r)}
    assert group == {activation_quant(-5.0, 9.0)}


def test_calibration_ranges_follow_the_float_forward() -> None:
    b = ModelBuilder("calib")
    x = b.input((1, 4), range=(0.0, 1.0))
    y = b.fully_connected(x, np.eye(4, dtype=np.float32) * 3.0, np.zeros(4, np.float32))
    b.output(y)
    data = np.full((2, 4), 0.5, np.float32)
    data[1] = 1.0
    model = b.compile(data)
    assert model.float_ranges[y.id] == pytest.approx((1.5, 3.0))
    assert model.quant[y.id] == activation_quant(0.0, 3.0)


def test_builder_rejects_shape_mismatches() -> None:
    b = ModelBuilder("bad")
    x = b.input((1, 4, 4, 3))
    with pytest.raises(ValueError, match="do not match"):
        b.conv2d(x, _w(2, 3, 3, 5))
    with pytest.raises(ValueError, match="activation"):
        b.conv2d(x, _w(2, 3, 3, 3), activation="tanh")
    with pytest.raises(ValueError, match="outputs"):
        b.build()
