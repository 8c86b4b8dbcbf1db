"""The numpy int8 reference against TFLite Micro: every intermediate tensor, bit for bit.

Models: builder-made edge cases (per-channel / per-tensor weights, no bias, strides, dilation,
SAME / VALID, depth multiplier, fused RELU / RELU6, ADD of differently scaled inputs with
broadcasting, MEAN over several axis sets, PAD, pools, SOFTMAX with beta, LOGISTIC, QUANTIZE and
DEQUANTIZE, odd shapes, asymmetric zero points), the committed converter fixtures, and the layers
of the pretrained microWakeWord models. All TFLite Micro runs share one child process.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from edgesdk.frontend import import_model
from edgesdk.frontend.ops import CONVERTERS, OpContext
from edgesdk.frontend.reader import RawTensor, read_flatbuffer
from edgesdk.ir import NO_TENSOR, DType, Graph, Op, OpKind, Quant, Tensor
from edgesdk.quant import prepare_op
from edgesdk.quant.params import ConcatInt8Params, RequantizeInt8Params
from edgesdk.reference import int8 as ref
from edgesdk.testing.builder import ModelBuilder
from edgesdk.testing.tflm import run_tflm_batch, run_tflm_raw_batch

FIXTURES = Path(__file__).resolve().parent / "fixtures"
SAMPLES = 4


def _weights(rng: np.random.Generator, *shape: int, scale: float = 0.4) -> np.ndarray:
    return rng.normal(0.0, scale, size=shape).astype(np.float32)


def layers_model() -> ModelBuilder:
    """Conv / depthwise / FC variants, pools, PAD, MEAN, ADD (broadcast, two scales), heads."""
    rng = np.random.default_rng(7)
    b = ModelBuilder("int8_layers", seed=1)
    x = b.input((1, 9, 7, 3), range=(-1.0, 2.5))
    c1 = b.conv2d(x, _weights(rng, 5, 3, 3, 3), _weights(rng, 5), stride=2, padding="same",
                  activation="relu6", range=(-1.0, 8.0))  # RELU6 clamps inside the int8 range
    c2 = b.conv2d(x, _weights(rng, 4, 2, 3, 3), None, stride=(1, 2), dilation=(2, 1), padding="valid",
                  activation="relu", per_channel=False)
    e1 = b.conv2d(x, _weights(rng, 5, 1, 1, 3, scale=2.0), _weights(rng, 5), stride=2, padding="same")
    s1 = b.add(c1, e1, activation="relu6")  # two very different input scales
    d1 = b.depthwise_conv2d(s1, _weights(rng, 1, 3, 3, 10), _weights(rng, 10), depth_multiplier=2,
                            padding="same", activation="relu6")
    # (TFLite Micro's DEPTHWISE_CONV_2D crashes without a bias; the C tests cover that case)
    d2 = b.depthwise_conv2d(s1, _weights(rng, 1, 2, 2, 5), _weights(rng, 5), stride=2, padding="valid",
                            per_channel=False)
    d3 = b.depthwise_conv2d(c2, _weights(rng, 1, 3, 2, 4), _weights(rng, 4), dilation=(2, 1),
                            padding="same", activation="relu")
    p = b.pad(d1, ((0, 0), (1, 2), (0, 1), (0, 0)))
    mp = b.max_pool2d(p, 3, 2, padding="same")
    ap = b.avg_pool2d(p, (2, 3), (1, 2), padding="same")
    ap2 = b.avg_pool2d(d1, 2, padding="valid")
    m_keep = b.mean(d1, (1, 2), keep_dims=True)
    broadcast = b.add(d1, m_keep)
    m_flat = b.mean(mp, (1, 2))
    m_w = b.mean(ap, (2,), keep_dims=True)
    m_c = b.mean(d3, (3,))
    fc1 = b.fully_connected(m_flat, _weights(rng, 6, 10), _weights(rng, 6))
    fc2 = b.fully_connected(m_flat, _weights(rng, 6, 10), None, activation="relu", per_channel=False)
    fc3 = b.fully_connected(d2, _weights(rng, 3, 5), _weights(rng, 3), keep_num_dims=True,
                            activation="relu6", per_channel=False)
    flat = b.reshape(ap2, (1, -1))
    fc4 = b.fully_connected(flat, _weights(rng, 7, 40, scale=0.1), _weights(rng, 7))
    b.output(b.softmax(fc1, beta=0.7), b.logistic(fc2), fc3, fc4, broadcast, m_w, m_c, b.softmax(fc4))
    return b


def float_io_model() -> ModelBuilder:
    """float input -> QUANTIZE -> layers -> int8 -> int8 requantize -> DEQUANTIZE."""
    rng = np.random.default_rng(8)
    b = ModelBuilder("int8_float_io", seed=2)
    x = b.input((1, 6, 5, 2), range=(-3.0, 1.0), dtype="float32")
    q = b.quantize(x)
    c = b.conv2d(q, _weights(rng, 3, 3, 3, 2), _weights(rng, 3), activation="relu")
    narrowed = b.quantize(c, range=(-0.5, 1.5))  # int8 -> int8 with a new scale and zero point
    widened = b.quantize(c, range=(-20.0, 3.0))
    b.output(b.dequantize(narrowed), b.dequantize(widened))
    return b


def concat_model() -> ModelBuilder:
    """Two differently scaled branches requantized by explicit QUANTIZE ops then concatenated:
    the oracle for a CONCATENATION that requantizes its inputs itself (TFLite Micro refuses
    int8 concatenation of differently quantized inputs)."""
    rng = np.random.default_rng(9)
    b = ModelBuilder("int8_concat", seed=3)
    x = b.input((1, 5, 5, 2), range=(-1.0, 1.0))
    left = b.conv2d(x, _weights(rng, 3, 3, 3, 2), _weights(rng, 3), activation="relu")
    right = b.conv2d(x, _weights(rng, 2, 1, 1, 2, scale=3.0), None)
    joined = b.concat([b.quantize(left, range=(-4.0, 4.0)), b.quantize(right, range=(-4.0, 4.0))], axis=3)
    b.output(joined)
    return b


def unary_model() -> ModelBuilder:
    """LOGISTIC and SOFTMAX (two betas) over inputs that hold every int8 value once."""
    b = ModelBuilder("int8_unary", seed=4)
    x = b.input((1, 4, 64), range=(-6.0, 9.0))
    b.output(b.logistic(x), b.softmax(x), b.softmax(x, beta=0.3))
    return b


def _samples(graph: Graph, rng: np.random.Generator) -> list[np.ndarray]:
    arrays = []
    for index in graph.inputs:
        tensor = graph.tensor(index)
        shape = (SAMPLES, *tensor.shape[1:])
        if tensor.dtype is DType.FLOAT32:
            arrays.append(rng.uniform(-4.0, 2.0, size=shape).astype(np.float32))
        else:
            data = rng.integers(-128, 128, size=shape).astype(np.int8)
            data[0] = -128  # the extremes
            data[1] = 127
            if tensor.size == 256:
                data[2] = np.arange(-128, 128).reshape(tensor.shape[1:])  # every value
            arrays.append(data)
    return arrays


def _models() -> dict[str, bytes]:
    blobs = {name: make().build() for name, make in
             (("layers", layers_model), ("float_io", float_io_model), ("concat", concat_model),
                  ("unary", unary_model))}
    for path in sorted(FIXTURES.glob("*.tflite")):
        blobs[path.name] = path.read_bytes()
    return blobs


@pytest.fixture(scope="module")
def oracle() -> dict[str, tuple[Graph, list[np.ndarray], dict[int, np.ndarray]]]:
    rng = np.random.default_rng(2024)
    blobs = _models()
    graphs = {name: import_model(blob).graph for name, blob in blobs.items()}
    inputs = {name: _samples(graph, rng) for name, graph in graphs.items()}
    results = run_tflm_batch([(blobs[name], inputs[name]) for name in blobs])
    return {name: (graphs[name], inputs[name], result) for name, result in zip(blobs, results, strict=True)}


def assert_all_tensors_equal(graph: Graph, mine: dict[int, np.ndarray], theirs: dict[int, np.ndarray]) -> int:
    """Every op output, same dtype, shape and bits; returns how many tensors were compared."""
    for op in graph.ops:
        index = op.outputs[0]
        a, b = mine[index], theirs[index]
        assert (a.dtype, a.shape) == (b.dtype, b.shape), (op.index, op.kind, a.dtype, b.dtype)
        differ = np.flatnonzero(a.view(np.uint8).ravel() != b.view(np.uint8).ravel())
        assert differ.size == 0, (f"op {op.index} {op.kind.value} {graph.tensor(index).name!r}: "
                                  f"{differ.size} bytes differ, e.g. {a.ravel()[differ[:5] // a.itemsize]} "
                                  f"vs {b.ravel()[differ[:5] // b.itemsize]}")
    return len(graph.ops)


EXPECTED_KINDS = {
    "layers": {OpKind.CONV_2D, OpKind.DEPTHWISE_CONV_2D, OpKind.FULLY_CONNECTED, OpKind.ADD, OpKind.PAD,
               OpKind.MAX_POOL_2D, OpKind.AVERAGE_POOL_2D, OpKind.MEAN, OpKind.SOFTMAX, OpKind.LOGISTIC,
               OpKind.RESHAPE},
    "float_io": {OpKind.QUANTIZE, OpKind.CONV_2D, OpKind.DEQUANTIZE},
    "concat": {OpKind.CONV_2D, OpKind.QUANTIZE, OpKind.CONCATENATION},
    "unary": {OpKind.LOGISTIC, OpKind.SOFTMAX},
}


@pytest.mark.parametrize("name", ["layers", "float_io", "concat", "unary",
                                  *sorted(p.name for p in FIXTURES.glob("*.tflite"))])
def test_every_intermediate_tensor_matches_tflite_micro(oracle, name):
    graph, inputs, theirs = oracle[name]
    assert EXPECTED_KINDS.get(name, set()) <= {op.kind for op in graph.ops}
    mine = ref.run_int8(graph, inputs)
    assert assert_all_tensors_equal(graph, mine, theirs) >= 3
    for index in graph.outputs:  # a model whose outputs do not move would prove little
        assert len(np.unique(theirs[index])) > 1


def test_layers_model_exercises_the_edge_cases(oracle):
    graph, _, _ = oracle["layers"]
    by_kind: dict[OpKind, list] = {}
    for op in graph.ops:
        by_kind.setdefault(op.kind, []).append((op, prepare_op(graph, op)))
    fcs = [graph.tensor(op.inputs[1]).quant for op, _ in by_kind[OpKind.FULLY_CONNECTED]]
    assert any(q.per_channel for q in fcs) and any(not q.per_channel for q in fcs)
    assert any(op.inputs[2] == NO_TENSOR for op, _ in by_kind[OpKind.FULLY_CONNECTED])
    assert any(p.depth_multiplier == 2 for _, p in by_kind[OpKind.DEPTHWISE_CONV_2D])
    assert any(p.act_max < 127 and p.act_min > -128 for _, p in by_kind[OpKind.CONV_2D])  # RELU6
    adds = [p for _, p in by_kind[OpKind.ADD]]
    assert any(p.input1_multiplier != p.input2_multiplier or p.input1_shift != p.input2_shift for p in adds)
    assert {p.axes for _, p in by_kind[OpKind.MEAN]} >= {(1, 2), (2,), (3,)}
    zero_points = {int(graph.tensor(op.outputs[0]).quant.zero_point[0]) for op in graph.ops}
    assert len(zero_points) > 3  # asymmetric, varied


def test_concatenation_requantizes_like_quantize_ops(oracle):
    """Our CONCATENATION of the raw branches equals TFLite Micro's QUANTIZE + CONCATENATION."""
    graph, _, theirs = oracle["concat"]
    concat = next(op for op in graph.ops if op.kind is OpKind.CONCATENATION)
    quantizes = [graph.producer(i) for i in concat.inputs]
    branches = [q.inputs[0] for q in quantizes]
    fused = Op(0, OpKind.CONCATENATION, tuple(branches), concat.outputs, concat.attrs)
    params = prepare_op(graph, fused)
    assert isinstance(params, ConcatInt8Params)
    assert all(isinstance(p, RequantizeInt8Params) and (p.multiplier, p.shift) != (1 << 30, 1)
               for p in params.inputs)
    result = ref.concatenation([theirs[i] for i in branches], params)
    np.testing.assert_array_equal(result, theirs[concat.outputs[0]])


def test_mean_folds_the_count_into_the_multiplier(oracle):
    """Not a power of two: 5 x 4 elements (the folded multiplier is not a plain shift)."""
    graph, _, _ = oracle["layers"]
    means = [prepare_op(graph, op) for op in graph.ops if op.kind is OpKind.MEAN]
    assert any(p.count % 2 == 1 or p.count & (p.count - 1) for p in means)


# -- pretrained microWakeWord models: each covered layer fed TFLite Micro's own inputs ---------------

COVERED = {"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "LOGISTIC", "CONCATENATION", "QUANTIZE"}


def wakeword_models() -> list[Path]:
    spec = importlib.util.find_spec("pymicro_wakeword")
    assert spec is not None and spec.submodule_search_locations, "pip install pymicro-wakeword"
    models = sorted((Path(next(iter(spec.submodule_search_locations))) / "models").glob("*.tflite"))
    assert len(models) >= 4, models
    return models


def _ir_tensor(raw: RawTensor, index: int) -> Tensor:
    quant = None
    if raw.quant is not None:
        per_channel = raw.quant.scale.size > 1
        quant = Quant(raw.quant.scale, raw.quant.zero_point, raw.quant.axis if per_channel else None)
    return Tensor(index, raw.name, raw.shape, DType(raw.dtype), quant, raw.data)


def single_op_graph(raw_model, op) -> Graph:
    """One TFLite operator as a self-contained IR graph (tensors renumbered from 0)."""
    constants = {t.index: t.data for t in raw_model.tensors if t.data is not None}
    converted = CONVERTERS[op.name](OpContext(op, raw_model.tensors, constants))
    order = [i for i in converted.inputs if i != NO_TENSOR] + list(op.outputs)
    new = {old: position for position, old in enumerate(order)}
    tensors = tuple(_ir_tensor(raw_model.tensors[old], new[old]) for old in order)
    inputs = tuple(NO_TENSOR if i == NO_TENSOR else new[i] for i in converted.inputs)
    ir_op = Op(0, converted.kind, inputs, tuple(new[o] for o in op.outputs), converted.attrs)
    activations = tuple(new[i] for i in converted.inputs if i != NO_TENSOR and i not in constants)
    return Graph(op.name, tensors, (ir_op,), activations, ir_op.outputs)


def test_wakeword_layers_match_tflite_micro():
    rng = np.random.default_rng(5)
    models = wakeword_models()
    blobs = [path.read_bytes() for path in models]
    jobs = []
    for blob in blobs:
        shape = read_flatbuffer(blob).tensors[read_flatbuffer(blob).inputs[0]].shape
        jobs.append((blob, rng.integers(-128, 128, size=(3, *shape[1:])).astype(np.int8)))  # 3 samples
    results = run_tflm_raw_batch(jobs)  # reset before each sample: every layer sees fresh states
    checked: dict[str, int] = {}
    for path, blob, samples in zip(models, blobs, results, strict=True):
        raw_model = read_flatbuffer(blob)
        for op in raw_model.ops:
            if op.name not in COVERED or raw_model.tensors[op.outputs[0]].dtype != "int8":
                continue
            graph = single_op_graph(raw_model, op)
            old_inputs = [i for i in op.inputs if i != NO_TENSOR and raw_model.tensors[i].data is None]
            for sample in samples:
                args = [sample[i] for i in old_inputs]
                mine = ref.run_op(graph, graph.ops[0], args)
                expected = sample[op.outputs[0]]
                assert np.array_equal(mine.reshape(expected.shape), expected), (path.name, op.index, op.name)
            checked[op.name] = checked.get(op.name, 0) + 1
    assert checked.get("CONV_2D", 0) >= 20 and checked.get("DEPTHWISE_CONV_2D", 0) >= 16, checked
    assert checked.get("FULLY_CONNECTED", 0) == 4 and checked.get("LOGISTIC", 0) == 4, checked
