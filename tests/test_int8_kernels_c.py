"""The int8 C kernels against the numpy int8 reference, bit for bit.

The reference equals TFLite Micro (tests/test_int8_tflm.py); here the C equals the reference:
on every layer of the fixtures and builder models (fed the reference's own inputs), and on
random shapes and parameters for every kernel, including extreme multipliers, shifts and int32
biases where TFLite's int32 arithmetic wraps. Also: the QAS updates (Python == C, both
roundings, sparse spans), a Cortex-M7 build, an AddressSanitizer + UndefinedBehaviorSanitizer
run of every kernel, and refused parameters.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import int8_lib as il
import numpy as np
import pytest
from edgesdk.frontend import import_model
from edgesdk.ir import NO_TENSOR, DType, OpKind
from edgesdk.quant import params as qp
from edgesdk.quant import qas
from edgesdk.quant.prepare import activation_range, fold_mean_multiplier, window
from edgesdk.reference import int8 as ref
from test_int8_tflm import FIXTURES, concat_model, float_io_model, layers_model, unary_model, wakeword_models

HERE = Path(__file__).resolve().parent
DRIVER = HERE / "c" / "int8_sanitize.c"
CASES = 60


@pytest.fixture(scope="module")
def kernels(tmp_path_factory) -> il.Int8Kernels:
    return il.Int8Kernels(il.load(il.build(tmp_path_factory.mktemp("int8"))))


# -- every layer of real models --------------------------------------------------------------------


def _graphs():
    for make in (layers_model, float_io_model, concat_model, unary_model):
        yield make().build()
    for path in [*sorted(FIXTURES.glob("*.tflite")), *wakeword_models()]:  # + streaming: SLICE, uint8 out
        yield path.read_bytes()


def test_c_matches_reference_on_every_model_layer(kernels):
    rng = np.random.default_rng(11)
    kinds = set()
    for blob in _graphs():
        graph = import_model(blob).graph
        inputs = []
        for index in graph.inputs:
            tensor = graph.tensor(index)
            shape = (2, *tensor.shape[1:])
            inputs.append(
                rng.uniform(-3, 3, shape).astype(np.float32)
                if tensor.dtype is DType.FLOAT32
                else rng.integers(-128, 128, shape).astype(np.int8)
            )
        values = ref.run_int8(graph, inputs)
        for op in graph.ops:
            if op.kind is OpKind.RESHAPE or (op.kind is OpKind.MEAN and op.attrs["axes"] != (1, 2)):
                continue
            args = [values[i] for i in op.inputs if i != NO_TENSOR and not graph.tensor(i).is_constant]
            params = ref.prepare_op(graph, op)
            expected = values[op.outputs[0]]
            got = kernels.run_op(graph, op, args, params)
            np.testing.assert_array_equal(
                got.reshape(expected.shape), expected, err_msg=f"{graph.name} op {op.index}"
            )
            kinds.add(op.kind)
    assert kinds == set(OpKind) - {OpKind.RESHAPE}


# -- random shapes and parameters --------------------------------------------------------------------


def test_slice_matches_reference_on_random_windows(kernels):
    rng = np.random.default_rng(16)
    for case in range(CASES):
        rank = int(rng.integers(1, 5))
        shape = tuple(int(d) for d in rng.integers(1, 7, rank))
        x = rng.integers(-128, 128, shape).astype(np.int8)
        begin = [int(rng.integers(0, d)) for d in shape]
        end = [int(rng.integers(b + 1, d + 1)) for b, d in zip(begin, shape, strict=True)]
        strides = [int(rng.integers(1, 4)) for _ in shape]
        expected = ref.slice_copy(x, begin, end, strides)
        np.testing.assert_array_equal(kernels.slice(x, begin, end, strides), expected, err_msg=f"case {case}")


def test_slice_refuses_a_window_outside_its_input(kernels):
    x = np.zeros((1, 4, 1, 3), np.int8)
    out = np.zeros(64, np.int8)

    def status(begin, stride, out_shape) -> int:
        params = il.SliceParams((il.i32 * 4)(*begin), (il.i32 * 4)(*stride))
        return int(kernels.lib.es_slice_int8_fwd(params, il.dims(x.shape), il.ptr(x), il.dims(out_shape),
                                                 il.ptr(out)))

    assert status((0, 2, 0, 0), (1, 1, 1, 1), (1, 2, 1, 3)) == 0  # rows 2..3 of 4
    assert status((0, 3, 0, 0), (1, 2, 1, 1), (1, 1, 1, 3)) == 0  # row 3 alone, stride 2
    assert status((0, 2, 0, 0), (1, 1, 1, 1), (1, 3, 1, 3)) != 0  # rows 2..4 of 4
    assert status((0, 1, 0, 0), (1, 2, 1, 1), (1, 2, 1, 3)) == 0  # rows 1 and 3
    assert status((0, 1, 0, 0), (1, 2, 1, 1), (1, 3, 1, 3)) != 0  # rows 1, 3 and 5 of 4
    assert status((0, 0, 0, 0), (1, 0, 1, 1), (1, 1, 1, 3)) != 0  # stride 0
    assert status((0, -1, 0, 0), (1, 1, 1, 1), (1, 1, 1, 3)) != 0  # negative begin
    assert status((0, 0, 0, 4), (1, 1, 1, 1), (1, 1, 1, 1)) != 0  # begin past the channels


def _requant(rng: np.random.Generator, count: int, extreme: bool) -> tuple[tuple[int, ...], tuple[int, ...]]:
    if extreme:  # any multiplier, shifts that make TFLite's int32 arithmetic wrap
        multiplier = rng.integers(0, 2**31, count)
        shift = rng.integers(-31, 31, count)
    else:
        multiplier = rng.integers(2**30, 2**31, count)
        shift = rng.integers(-14, 1, count)
    return tuple(int(m) for m in multiplier), tuple(int(s) for s in shift)


def _act(rng: np.random.Generator) -> tuple[int, int]:
    low, high = sorted(int(v) for v in rng.integers(-128, 128, 2))
    return (low, high) if rng.random() < 0.5 else (-128, 127)


def _bias(rng: np.random.Generator, count: int, extreme: bool) -> np.ndarray | None:
    if rng.random() < 0.25:
        return None
    if extreme:
        return rng.integers(-(2**31), 2**31, count).astype(np.int32)
    return rng.integers(-5000, 5000, count).astype(np.int32)


def _geometry(rng: np.random.Generator, size: int, kernel: int, dilation: int = 1):
    stride = int(rng.integers(1, 4))
    padding = "same" if rng.random() < 0.5 else "valid"
    from edgesdk.ir import Padding

    out, pad = window(size, kernel, stride, dilation, Padding(padding))
    return stride, out, pad


def _conv_case(rng: np.random.Generator, depthwise: bool):
    while True:
        n, h, w, ic = (
            int(v) for v in (rng.integers(1, 3), rng.integers(1, 9), rng.integers(1, 9), rng.integers(1, 6))
        )
        kh, kw = (int(v) for v in rng.integers(1, 5, 2))
        dh, dw = (int(v) for v in rng.integers(1, 3, 2))
        sh, oh, pt = _geometry(rng, h, kh, dh)
        sw, ow, pl = _geometry(rng, w, kw, dw)
        if oh >= 1 and ow >= 1:
            break
    extreme = rng.random() < 0.4
    act_min, act_max = _act(rng)
    offsets = (int(rng.integers(-127, 129)), int(rng.integers(-128, 128)))
    x = rng.integers(-128, 128, (n, h, w, ic)).astype(np.int8)
    if depthwise:
        m = int(rng.integers(1, 4))
        weights = rng.integers(-127, 128, (1, kh, kw, ic * m)).astype(np.int8)
        mult, shift = _requant(rng, ic * m, extreme)
        p = qp.DepthwiseInt8Params(
            (sh, sw), (dh, dw), pt, pl, (oh, ow), m, *offsets, mult, shift, act_min, act_max
        )
        return x, weights, _bias(rng, ic * m, extreme), p
    oc = int(rng.integers(1, 6))
    weights = rng.integers(-127, 128, (oc, kh, kw, ic)).astype(np.int8)
    mult, shift = _requant(rng, oc, extreme)
    p = qp.ConvInt8Params((sh, sw), (dh, dw), pt, pl, (oh, ow), *offsets, mult, shift, act_min, act_max)
    return x, weights, _bias(rng, oc, extreme), p


def test_conv2d_random(kernels):
    for seed in range(CASES):
        x, w, b, p = _conv_case(np.random.default_rng(seed), depthwise=False)
        np.testing.assert_array_equal(kernels.conv2d(x, w, b, p), ref.conv2d(x, w, b, p), err_msg=str(p))


def test_depthwise_conv2d_random(kernels):
    for seed in range(CASES):
        x, w, b, p = _conv_case(np.random.default_rng(1000 + seed), depthwise=True)
        np.testing.assert_array_equal(
            kernels.depthwise_conv2d(x, w, b, p), ref.depthwise_conv2d(x, w, b, p), err_msg=str(p)
        )


def test_fully_connected_random(kernels):
    for seed in range(CASES):
        rng = np.random.default_rng(2000 + seed)
        rows, k, out = (int(v) for v in (rng.integers(1, 4), rng.integers(1, 40), rng.integers(1, 9)))
        extreme = rng.random() < 0.4
        mult, shift = _requant(rng, out, extreme)
        per_tensor = rng.random() < 0.3
        if per_tensor:
            mult, shift = (mult[0],) * out, (shift[0],) * out
        p = qp.FullyConnectedInt8Params(
            int(rng.integers(-127, 129)),
            int(rng.integers(-127, 129)) if per_tensor else 0,
            int(rng.integers(-128, 128)),
            mult,
            shift,
            *_act(rng),
        )
        x = rng.integers(-128, 128, (rows, k)).astype(np.int8)
        w = rng.integers(-127, 128, (out, k)).astype(np.int8)
        b = _bias(rng, out, extreme)
        np.testing.assert_array_equal(kernels.fully_connected(x, w, b, p), ref.fully_connected(x, w, b, p))


def test_add_random_with_broadcasting(kernels):
    for seed in range(CASES):
        rng = np.random.default_rng(3000 + seed)
        shape = tuple(int(v) for v in rng.integers(1, 5, 4))
        a_shape = tuple(d if rng.random() < 0.7 else 1 for d in shape)
        b_shape = tuple(d if rng.random() < 0.7 else 1 for d in shape)[int(rng.integers(0, 3)) :]
        if np.broadcast_shapes(a_shape, b_shape) != shape:
            a_shape = shape
        extreme = rng.random() < 0.3
        (m1, m2, m3), (s1, s2, s3) = _requant(rng, 3, False)
        if extreme:
            (m1, m2, m3), _ = _requant(rng, 3, True)
            s1, s2, s3 = (int(v) for v in rng.integers(-31, 1, 3))
        p = qp.AddInt8Params(
            int(rng.integers(-127, 129)),
            int(rng.integers(-127, 129)),
            int(rng.integers(-128, 128)),
            20,
            m1,
            s1,
            m2,
            s2,
            m3,
            s3,
            *_act(rng),
        )
        a = rng.integers(-128, 128, a_shape).astype(np.int8)
        b = rng.integers(-128, 128, b_shape).astype(np.int8)
        np.testing.assert_array_equal(kernels.add(a, b, p), ref.add(a, b, p))


def test_pools_random(kernels):
    for seed in range(CASES):
        rng = np.random.default_rng(4000 + seed)
        while True:
            n, h, w, c = (
                int(v)
                for v in (rng.integers(1, 3), rng.integers(1, 9), rng.integers(1, 9), rng.integers(1, 4))
            )
            fh, fw = (int(v) for v in rng.integers(1, 4, 2))
            sh, oh, pt = _geometry(rng, h, fh)
            sw, ow, pl = _geometry(rng, w, fw)
            if oh >= 1 and ow >= 1:
                break
        p = qp.PoolInt8Params((fh, fw), (sh, sw), pt, pl, (oh, ow), *_act(rng))
        x = rng.integers(-128, 128, (n, h, w, c)).astype(np.int8)
        np.testing.assert_array_equal(kernels.pool("avg", x, p), ref.average_pool2d(x, p))
        np.testing.assert_array_equal(kernels.pool("max", x, p), ref.max_pool2d(x, p))


def test_mean_random(kernels):
    for seed in range(CASES):
        rng = np.random.default_rng(5000 + seed)
        n, h, w, c = (
            int(v) for v in (rng.integers(1, 3), rng.integers(1, 12), rng.integers(1, 12), rng.integers(1, 5))
        )
        (m,), (s,) = _requant(rng, 1, rng.random() < 0.3)
        m, s = fold_mean_multiplier(m, s, h * w)
        p = qp.MeanInt8Params(
            (1, 2), True, h * w, int(rng.integers(-128, 128)), int(rng.integers(-128, 128)), m, s
        )
        x = rng.integers(-128, 128, (n, h, w, c)).astype(np.int8)
        np.testing.assert_array_equal(kernels.mean_hw(x, p), ref.mean(x, p))


def test_pad_concat_requantize_random(kernels):
    for seed in range(CASES):
        rng = np.random.default_rng(6000 + seed)
        rank = int(rng.integers(2, 5))
        shape = tuple(int(v) for v in rng.integers(1, 5, rank))
        x = rng.integers(-128, 128, shape).astype(np.int8)
        pads = qp.PadInt8Params(
            tuple((int(a), int(b)) for a, b in rng.integers(0, 3, (rank, 2))), int(rng.integers(-128, 128))
        )
        np.testing.assert_array_equal(kernels.pad(x, pads), ref.pad(x, pads))
        axis = int(rng.integers(0, rank))
        parts = []
        for _ in range(int(rng.integers(1, 4))):
            part_shape = list(shape)
            part_shape[axis] = int(rng.integers(1, 4))
            parts.append(rng.integers(-128, 128, part_shape).astype(np.int8))
        requants = []
        for _ in parts:
            (m,), (s,) = _requant(rng, 1, rng.random() < 0.3)
            identity = rng.random() < 0.3
            requants.append(
                qp.RequantizeInt8Params(
                    int(rng.integers(-127, 129)),
                    int(rng.integers(-128, 128)),
                    1 << 30 if identity else m,
                    1 if identity else s,
                )
            )
        cp = qp.ConcatInt8Params(axis, tuple(requants), *_act(rng))
        np.testing.assert_array_equal(kernels.concatenation(parts, cp), ref.concatenation(parts, cp))
        np.testing.assert_array_equal(kernels.requantize(x, requants[0]), ref.requantize(x, requants[0]))


def test_concatenation_of_same_quantization_copies_bits(kernels):
    rng = np.random.default_rng(7)
    parts = [rng.integers(-128, 128, (1, 3, 2, c)).astype(np.int8) for c in (2, 5)]
    same = qp.RequantizeInt8Params(-17, 17, 1 << 30, 1)  # TFLite's QuantizeMultiplier(1.0)
    got = kernels.concatenation(parts, qp.ConcatInt8Params(3, (same, same), -128, 127))
    np.testing.assert_array_equal(got, np.concatenate(parts, axis=3))


def test_softmax_logistic_random(kernels):
    from edgesdk.quant.fixedpoint import quantize_multiplier

    for seed in range(CASES):
        rng = np.random.default_rng(7000 + seed)
        shape = tuple(int(v) for v in rng.integers(1, 6, 2)) + (int(rng.integers(1, 40)),)
        x = rng.integers(-128, 128, shape).astype(np.int8)
        scale = float(np.float32(10 ** rng.uniform(-3, 0)))
        real = min(scale * 2.0**26 * float(np.float32(rng.uniform(0.1, 2))), 2.0**31 - 1)
        m, left = quantize_multiplier(real)
        radius = int(np.floor(31.0 * 2**26 / 2**left))
        sp = qp.SoftmaxInt8Params(m, left, -radius)
        np.testing.assert_array_equal(kernels.softmax(x, sp), ref.softmax(x, sp), err_msg=str(sp))
        mantissa, shift = np.frexp(scale * 2.0**27)
        lp = qp.LogisticInt8Params(
            int(rng.integers(-128, 128)),
            int(np.floor(15.0 * 2**27 / 2.0**shift)),
            int(round(mantissa * 2**31)),
            int(shift),
        )
        np.testing.assert_array_equal(kernels.logistic(x, lp), ref.logistic_int8(x, lp), err_msg=str(lp))


def test_quantize_dequantize_random(kernels):
    for seed in range(CASES):
        rng = np.random.default_rng(8000 + seed)
        scale = float(np.float32(10 ** rng.uniform(-3, 1)))
        zero_point = int(rng.integers(-128, 128))
        x = (rng.standard_normal(50) * scale * rng.uniform(1, 300)).astype(np.float32)
        x[:4] = [np.nan, np.inf, -np.inf, 0.5 * scale]  # edge values, and a tie
        p = qp.QuantizeInt8Params(scale, zero_point)
        np.testing.assert_array_equal(kernels.quantize(x, p), ref.quantize(x, p))
        q = rng.integers(-128, 128, 64).astype(np.int8)
        d = qp.DequantizeInt8Params(scale, zero_point)
        np.testing.assert_array_equal(
            kernels.dequantize(q, d).view(np.uint32), ref.dequantize(q, d).view(np.uint32)
        )


def test_activation_range_matches_tflite_rule():
    assert activation_range(qp_act("relu6"), 6.0 / 255.0, -128) == (-128, 127)
    assert activation_range(qp_act("relu6"), 0.05, -10) == (-10, 110)
    assert activation_range(qp_act("relu"), 0.1, 3) == (3, 127)
    assert activation_range(qp_act("none"), 0.1, 3) == (-128, 127)


def qp_act(name: str):
    from edgesdk.ir import Activation

    return Activation(name)


# -- QAS ---------------------------------------------------------------------------------------------


def _qas_case(rng: np.random.Generator):
    kind = ["conv", "depthwise", "fc", "bias"][int(rng.integers(0, 4))]
    if kind == "conv":
        shape = (
            int(rng.integers(1, 6)),
            int(rng.integers(1, 4)),
            int(rng.integers(1, 4)),
            int(rng.integers(1, 5)),
        )
    elif kind == "depthwise":
        shape = (1, int(rng.integers(1, 4)), int(rng.integers(1, 4)), int(rng.integers(1, 9)))
    elif kind == "fc":
        shape = (int(rng.integers(1, 8)), int(rng.integers(1, 30)))
    else:
        shape = (int(rng.integers(1, 10)),)
    channels = shape[3] if kind == "depthwise" else shape[0]
    k = int(rng.integers(1, channels + 1))  # sparse: the first k channels
    if kind == "depthwise":
        span = qas.depthwise_span(shape, k)
        grad = rng.standard_normal((shape[1], shape[2], k)).astype(np.float32)
    elif kind == "bias":
        span = qas.bias_span(channels, k)
        grad = rng.standard_normal(k).astype(np.float32)
    else:
        span = qas.output_channel_span(shape, k)
        grad = rng.standard_normal((k, *shape[1:])).astype(np.float32)
    if kind == "bias":
        param = rng.integers(-(2**31), 2**31, shape).astype(np.int32)
        param[:2] = [2**31 - 1, -(2**31)]  # saturation at the int32 ends
    else:
        param = rng.integers(-127, 128, shape).astype(np.int8)
    scales = (10 ** rng.uniform(-3, -1, channels)).astype(np.float32)
    w_factor, b_factor = qas.qas_factors(scales, float(np.float32(0.02)), qas=rng.random() < 0.8)
    factor = b_factor if kind == "bias" else w_factor
    return param, grad, factor, float(np.float32(10 ** rng.uniform(-3, 0))), span


@pytest.mark.parametrize("rounding", [qas.NEAREST, qas.STOCHASTIC])
def test_qas_update_python_equals_c(kernels, rounding):
    for seed in range(CASES):
        rng = np.random.default_rng(9000 + seed)
        param, grad, factor, lr, span = _qas_case(rng)
        state = int(rng.integers(1, 2**32)) if rounding == qas.STOCHASTIC else None
        ours, our_state = qas.qas_update(param, grad, factor, lr, span, rounding, state)
        theirs, their_state = kernels.qas_update(param, grad, factor, lr, span, rounding, state)
        np.testing.assert_array_equal(ours, theirs, err_msg=f"{span} {rounding}")
        assert our_state == their_state
        untouched = np.ones(param.size, bool)
        for r in range(span.rows):
            untouched[r * span.param_stride : r * span.param_stride + span.cols] = False
        np.testing.assert_array_equal(ours.reshape(-1)[untouched], param.reshape(-1)[untouched])


def test_qas_step_is_the_float_sgd_step_in_integer_units():
    """With QAS, q_new * s_w == w - lr * grad up to the rounding of one integer step."""
    rng = np.random.default_rng(3)
    s_w = np.array([0.01, 0.002, 0.05], np.float32)
    q = rng.integers(-60, 60, (3, 4)).astype(np.int8)
    grad = rng.standard_normal((3, 4)).astype(np.float32)
    factor, _ = qas.qas_factors(s_w, 0.1)
    new, _ = qas.qas_update(q, grad, factor, 0.05, qas.output_channel_span(q.shape))
    real_sgd = q * s_w[:, None] - 0.05 * grad
    assert np.all(np.abs(new * s_w[:, None] - real_sgd) <= 0.5 * s_w[:, None] + 1e-6)


def test_stochastic_rounding_is_unbiased_and_reproducible():
    q = np.zeros(20000, np.int8)
    grad = np.full(20000, -0.3, np.float32)  # step d = +0.3 integer units per element
    span = qas.bias_span(20000)
    new, state = qas.qas_update(q, grad, np.ones(20000, np.float32), 1.0, span, qas.STOCHASTIC, 12345)
    assert abs(new.astype(np.float64).mean() - 0.3) < 0.01
    assert set(np.unique(new)) == {0, 1}
    again, state2 = qas.qas_update(q, grad, np.ones(20000, np.float32), 1.0, span, qas.STOCHASTIC, 12345)
    np.testing.assert_array_equal(new, again)
    assert state == state2 != 12345
    nearest, _ = qas.qas_update(q, grad, np.ones(20000, np.float32), 1.0, span, qas.NEAREST)
    assert not nearest.any()  # round-to-nearest never moves a 0.3 step: the reason for stochastic


def test_xorshift32_matches_c(kernels):
    state = 2463534242
    for _ in range(100):
        assert qas.xorshift32(state) == kernels.lib.es_xorshift32(state)
        state = qas.xorshift32(state)


# -- build, sanitizers, refusals ---------------------------------------------------------------------


def int8_kernel_names() -> set[str]:
    umbrella = il.INCLUDE_DIR / "edgesdk" / "kernels_int8.h"
    found: set[str] = set()
    for name in re.findall(r'#include "edgesdk/(\w+\.h)"', umbrella.read_text()):
        text = (il.INCLUDE_DIR / "edgesdk" / name).read_text()
        found |= set(re.findall(r"^es_status\s+(es_\w+)\(", text, flags=re.M))
    return found


def test_every_int8_kernel_is_wrapped():
    assert int8_kernel_names() == set(il.SIGNATURES)


def test_builds_for_cortex_m7_without_data_or_libcalls(tmp_path):
    for source in il.int8_sources():
        obj = tmp_path / (source.stem + ".o")
        result = subprocess.run(
            [
                "arm-none-eabi-gcc",
                *il.ARM_FLAGS,
                *il.C_FLAGS,
                f"-I{il.INCLUDE_DIR}",
                f"-I{il.SOURCE_DIR}",
                "-c",
                str(source),
                "-o",
                str(obj),
            ],
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, result.stderr
        symbols = subprocess.run(["arm-none-eabi-nm", str(obj)], capture_output=True, text=True).stdout
        for line in symbols.splitlines():
            kind, name = line.split()[-2:]
            assert kind not in "BbDdCGgSs", (source.name, name)
            if kind == "U":
                assert name in {"memcpy", "memset"}, (source.name, name)  # no soft-float, no 64-bit division


@pytest.fixture(scope="module")
def sanitized(tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp("int8_asan") / "int8_sanitize"
    return il.build_sanitized(DRIVER, target, il.int8_sources())


def test_every_int8_kernel_runs_clean_under_asan_and_ubsan(sanitized):
    result = il.run_clean(sanitized)
    called = set(re.findall(r"^called (\w+)$", result.stdout, flags=re.M))
    assert called == int8_kernel_names(), called ^ int8_kernel_names()


@pytest.mark.parametrize("mode,marker", [("overflow", "heap-buffer-overflow"), ("signed", "runtime error")])
def test_sanitizers_are_live(sanitized, mode, marker):
    """Controls: a kernel writing past a short output and a signed overflow must be reported."""
    result = subprocess.run([str(sanitized), mode], capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert marker in result.stderr


def test_bad_parameters_are_refused_without_writing(kernels):
    x = np.zeros((1, 4, 4, 2), np.int8)
    w = np.zeros((3, 3, 3, 2), np.int8)
    m, s = il.i32_array([1 << 30] * 3), il.i32_array([0] * 3)
    lib = kernels.lib

    def conv(**changes) -> int:
        fields = dict(
            stride_h=1,
            stride_w=1,
            dilation_h=1,
            dilation_w=1,
            pad_top=1,
            pad_left=1,
            input_offset=0,
            output_offset=0,
            act_min=-128,
            act_max=127,
        )
        fields.update(changes)
        out = il.Guarded((1, 4, 4, 3), fill=np.int8(77))
        status = lib.es_conv2d_int8_fwd(
            il.ConvParams(**fields, multiplier=il.ptr(m, il.i32), shift=il.ptr(s, il.i32)),
            il.dims(x.shape),
            il.ptr(x),
            il.dims(w.shape),
            il.ptr(w),
            None,
            il.dims((1, 4, 4, 3)),
            out.ptr(),
        )
        out.check()
        if status:
            assert np.all(out.array == 77)
        return status

    assert conv() == 0
    assert conv(act_min=5, act_max=4) == 1
    assert conv(output_offset=128) == 1
    assert conv(input_offset=-128) == 1
    assert conv(stride_h=0) == 1
    assert conv(pad_top=3) == 2
    s[1] = 32
    assert conv() == 1
