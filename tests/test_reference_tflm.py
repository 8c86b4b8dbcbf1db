"""The reference's fp32 forward (dequantized weights) against TFLite Micro's int8 inference.

Bounds, in units of a tensor's int8 quantization step ``s`` (its scale):

- per layer: every forward node, fed TFLite Micro's own (dequantized) inputs, matches TFLite
  Micro's dequantized output within ``LAYER_STEPS = 1`` step, after clipping ours to the int8
  range the output can represent. Rounding to the int8 grid costs half a step; TFLite Micro's
  fixed-point multipliers, its rounded pool/mean divisions and its softmax/logistic approximations
  stay within the other half. This checks every op's semantics (padding, strides, channel order,
  pool counts, the trailing softmax) on models the converter really emits.
- end to end: the model output (probabilities, or the logistic output) within ``OUTPUT_ABS = 0.06``,
  about 15 steps of 1/256, for the small models. Errors of int8 activations (rounding and, above
  all, saturation at the int8 range) accumulate over the layers; they are a property of the int8
  model, not of the reference. MobileNetV2 (65 ops, random weights) is checked per layer only: end
  to end its int8 probabilities differ from fp32 by up to ~0.25 (argmax agreeing on ~70 % of
  smooth random images), which says how far int8 drifts, not whether the reference is right.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from edgesdk import ir
from edgesdk.frontend import load_model
from edgesdk.reference import ReferenceTrainer
from edgesdk.testing.builder import ModelBuilder
from edgesdk.testing.tflm import run_tflm_batch
from edgesdk.train import ValueKind, build_training_graph

FIXTURES = Path(__file__).parent / "fixtures"
LAYER_STEPS = 1.0
OUTPUT_ABS = 0.06
SAMPLES = 4
RNG = np.random.default_rng(2024)


def _w(*shape: int, scale: float | None = None) -> np.ndarray:
    fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else shape[0]
    return RNG.normal(0.0, scale or np.sqrt(2.0 / fan_in), size=shape).astype(np.float32)


def built_cnn() -> bytes:
    """Every op training supports except LOGISTIC, int8 in and out."""
    b = ModelBuilder("built_cnn", seed=1)
    x = b.input((1, 12, 12, 3), range=(-1.0, 1.0))
    a = b.conv2d(x, _w(8, 3, 3, 3), _w(8, scale=0.1), stride=2, activation="relu6")
    d = b.depthwise_conv2d(
        a, _w(1, 3, 3, 16, scale=0.5), _w(16, scale=0.1), depth_multiplier=2, activation="relu"
    )
    c = b.conv2d(d, _w(8, 1, 1, 16), _w(8, scale=0.1))
    s = b.add(a, c, activation="relu")
    p = b.max_pool2d(s, 2, 1, padding="same")
    q = b.avg_pool2d(p, 3, 2, padding="same")
    q = b.pad(q, ((0, 0), (1, 0), (0, 1), (0, 0)))
    e1 = b.conv2d(q, _w(4, 3, 3, 8), _w(4, scale=0.1), padding="valid", activation="relu")
    e2 = b.conv2d(q, _w(4, 3, 3, 8), None, padding="valid", activation="relu6", per_channel=False)
    k = b.concat([e1, e2], axis=3)
    m = b.mean(k, keep_dims=True)
    f = b.fully_connected(b.reshape(m, (1, 8)), _w(6, 8), _w(6, scale=0.1), per_channel=False)
    b.output(b.softmax(f))
    return b.build()


def built_logistic() -> bytes:
    """Float input and output (QUANTIZE / DEQUANTIZE), a LOGISTIC inside and at the end."""
    b = ModelBuilder("built_logistic", seed=2)
    x = b.quantize(b.input((1, 6, 6, 2), range=(-1.0, 1.0), dtype="float32"))
    y = b.logistic(b.conv2d(x, _w(4, 3, 3, 2), _w(4, scale=0.1)))
    y = b.fully_connected(y, _w(3, 144, scale=0.2), _w(3, scale=0.1))
    b.output(b.dequantize(b.logistic(y)))
    return b.build()


MODELS = {
    "built_cnn": built_cnn,
    "built_logistic": built_logistic,
    "small_cnn_int8": lambda: (FIXTURES / "small_cnn_int8.tflite").read_bytes(),
    "small_cnn_float_io": lambda: (FIXTURES / "small_cnn_float_io.tflite").read_bytes(),
    "converter_patterns_int8": lambda: (FIXTURES / "converter_patterns_int8.tflite").read_bytes(),
    "mobilenetv2_035_96": lambda: (FIXTURES / "mobilenetv2_035_96.tflite").read_bytes(),
}


def _quant(t: ir.Tensor) -> tuple[float, int] | None:
    if t.quant is None or t.dtype is ir.DType.FLOAT32:
        return None
    return float(t.quant.scale[0]), int(t.quant.zero_point[0])


def _dequantize(t: ir.Tensor, array: np.ndarray) -> np.ndarray:
    q = _quant(t)
    if q is None:
        return np.asarray(array, np.float32)
    return ((np.asarray(array, np.float64) - q[1]) * q[0]).astype(np.float32)


def _smooth_images(t: ir.Tensor, count: int) -> np.ndarray:
    """Smooth random images over the input's representable range (in-distribution-ish inputs)."""
    _, h, w, c = t.shape
    q = _quant(t)
    low, high = (q[0] * (-128 - q[1]), q[0] * (127 - q[1])) if q else (0.0, 1.0)
    yy, xx = np.meshgrid(np.linspace(0, 1, h), np.linspace(0, 1, w), indexing="ij")
    images = np.zeros((count, h, w, c))
    for n in range(count):
        for channel in range(c):
            field = RNG.uniform(-0.5, 0.5) * xx + RNG.uniform(-0.5, 0.5) * yy
            for _ in range(3):
                cy, cx, width = RNG.uniform(0, 1, size=3) * (1, 1, 0.35) + (0, 0, 0.05)
                field += RNG.uniform(-1, 1) * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * width**2))
            images[n, :, :, channel] = field
        images[n] += RNG.normal(0.0, 0.05, size=(h, w, c))
    images -= images.min(axis=(1, 2, 3), keepdims=True)
    images /= images.max(axis=(1, 2, 3), keepdims=True)
    return (low + (high - low) * images).astype(np.float32)


@pytest.fixture(scope="module")
def runs() -> dict[str, tuple[ir.Graph, np.ndarray, dict[int, np.ndarray]]]:
    """Per model: its IR, the real-valued input batch, and TFLite Micro's tensors (one child process)."""
    prepared = []
    for name, make in MODELS.items():
        blob = make()
        graph = load_model(blob)
        t = graph.tensor(graph.inputs[0])
        real = _smooth_images(t, SAMPLES)
        q = _quant(t)
        if q is None:
            feed = real
        else:
            feed = np.clip(np.round(real / q[0]) + q[1], -128, 127).astype(np.int8)
            real = _dequantize(t, feed)
        prepared.append((name, blob, graph, real, feed))
    results = run_tflm_batch([(blob, feed) for _, blob, _, _, feed in prepared])
    return {
        name: (graph, real, values)
        for (name, _, graph, real, _), values in zip(prepared, results, strict=True)
    }


@pytest.mark.parametrize("name", list(MODELS))
def test_every_layer_within_one_quantization_step(runs, name):  # type: ignore[no-untyped-def]
    graph, real, tflm = runs[name]
    tg = build_training_graph(graph, batch=SAMPLES, loss="mse")
    trainer = ReferenceTrainer(tg)
    checked = 0
    for node in tg.inference_nodes:
        op = graph.ops[node.op]  # type: ignore[index]
        values: dict[str, np.ndarray] = {}
        for position, value_name in enumerate(node.inputs):
            value = tg.values[value_name]
            if value.kind in (ValueKind.ACTIVATION, ValueKind.INPUT):
                tensor = graph.tensor(op.inputs[position])  # what the op itself read in TFLite Micro
                values[value_name] = _dequantize(tensor, tflm[tensor.index]).reshape(value.shape)
        trainer.run_node(node, values)
        ours = values[node.output]  # type: ignore[index]
        out = graph.tensor(op.outputs[0])
        q = _quant(out)
        assert q is not None, f"{name}: {node.name} output is not int8"
        scale, zero_point = q
        clipped = np.clip(ours, scale * (-128 - zero_point), scale * (127 - zero_point))
        expected = _dequantize(out, tflm[out.index]).reshape(ours.shape)
        steps = np.abs(clipped - expected).max() / scale
        assert steps <= LAYER_STEPS, f"{name}: {node.name} is {steps:.2f} steps off TFLite Micro"
        checked += 1
    assert checked == len(tg.inference_nodes) >= 2


@pytest.mark.parametrize("name", [name for name in MODELS if name != "mobilenetv2_035_96"])
def test_model_output_within_quantization_error(runs, name):  # type: ignore[no-untyped-def]
    graph, real, tflm = runs[name]
    tg = build_training_graph(graph, batch=SAMPLES)
    ours = ReferenceTrainer(tg).infer(real)
    out = graph.tensor(graph.outputs[0])
    expected = tflm[out.index]
    if out.dtype is not ir.DType.FLOAT32:
        expected = _dequantize(out, expected)
    expected = expected.reshape(ours.shape)
    assert np.abs(ours - expected).max() <= OUTPUT_ABS, f"{name}: {np.abs(ours - expected).max():.4f}"
    assert np.abs(expected).max() > 0  # TFLite Micro computed something
