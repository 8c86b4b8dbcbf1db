"""numpy int8 forward kernels giving TFLite Micro's integers, and an executor over an ir.Graph.

One function per ir.OpKind, each taking int8 numpy arrays (int32 for biases) and the op's
parameters from :mod:`edgesdk.quant.prepare`, and returning the int8 result (float32 for
DEQUANTIZE). Arithmetic is TFLite Micro's reference kernels' (see docs/int8.md): int32
accumulation of w * (x - zx) (wrapping on overflow, as on every two's-complement target), bias
added in int32, per-channel requantization by
:func:`edgesdk.quant.fixedpoint.multiply_by_quantized_multiplier`, output zero point added, then
the clamp to [act_min, act_max]. Sums are computed in float64 where every partial sum is an
integer below 2^53 (so exact), then wrapped to int32.

    values = run_int8(graph, x_int8)          # {IR tensor index: array}, like run_tflm
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np

from edgesdk.ir import NO_TENSOR, DType, Graph, Op, OpKind
from edgesdk.quant.fixedmath import exp_on_negative_values, logistic, reciprocal
from edgesdk.quant.fixedpoint import (
    multiply_by_quantized_multiplier,
    round_half_away_f32,
    rounding_divide_by_pot,
    saturating_rounding_doubling_high_mul,
    wrap_int32,
)
from edgesdk.quant.params import (
    AddInt8Params,
    ConcatInt8Params,
    ConvInt8Params,
    DepthwiseInt8Params,
    DequantizeInt8Params,
    FullyConnectedInt8Params,
    LogisticInt8Params,
    MeanInt8Params,
    PadInt8Params,
    PoolInt8Params,
    QuantizeInt8Params,
    RequantizeInt8Params,
    SoftmaxInt8Params,
)
from edgesdk.quant.prepare import (
    LOGISTIC_INPUT_INTEGER_BITS,
    SOFTMAX_DIFF_INTEGER_BITS,
    prepare_op,
)

_ACCUMULATION_BITS = 12  # softmax's sum of exponentials, Q12


def _output(acc: np.ndarray, multiplier, shift, offset: int, low: int, high: int) -> np.ndarray:
    scaled = wrap_int32(multiply_by_quantized_multiplier(acc, multiplier, shift) + offset)  # int32 sum
    return np.clip(scaled, low, high).astype(np.int8)


def _padded(x: np.ndarray, value: int, top: int, left: int, rows: int, cols: int) -> np.ndarray:
    """x [N, H, W, C] as int64 with ``top``/``left`` rows/columns of ``value`` before it and enough
    after it that the window grid of ``rows`` x ``cols`` input rows/columns fits."""
    bottom = max(rows - top - x.shape[1], 0)
    right = max(cols - left - x.shape[2], 0)
    return np.pad(x.astype(np.int64), ((0, 0), (top, bottom), (left, right), (0, 0)), constant_values=value)


def _taps(xp: np.ndarray, kh: int, kw: int, stride, dilation, out_hw) -> np.ndarray:
    """The input slice that tap (kh, kw) of every output pixel reads: [N, OH, OW, C]."""
    r0, c0 = kh * dilation[0], kw * dilation[1]
    return xp[:, r0 : r0 + (out_hw[0] - 1) * stride[0] + 1 : stride[0],
              c0 : c0 + (out_hw[1] - 1) * stride[1] + 1 : stride[1], :]


def _grid(p, kernel_hw) -> tuple[int, int]:
    dilation = getattr(p, "dilation", (1, 1))
    return ((p.out_hw[0] - 1) * p.stride[0] + (kernel_hw[0] - 1) * dilation[0] + 1,
            (p.out_hw[1] - 1) * p.stride[1] + (kernel_hw[1] - 1) * dilation[1] + 1)


def _add_bias(acc: np.ndarray, bias: np.ndarray | None) -> np.ndarray:
    acc = wrap_int32(np.rint(acc).astype(np.int64))
    if bias is None:
        return acc
    return wrap_int32(acc + bias.astype(np.int64))


# -- layers with parameters -----------------------------------------------------------------------

def conv2d(x: np.ndarray, w: np.ndarray, bias: np.ndarray | None, p: ConvInt8Params) -> np.ndarray:
    """x [N, H, W, IC] int8, w [OC, KH, KW, IC] int8, bias [OC] int32 or None -> [N, OH, OW, OC].
    Taps outside the input contribute nothing (they read the input zero point here)."""
    _, kh_size, kw_size, _ = w.shape
    xp = _padded(x, -p.input_offset, p.pad_top, p.pad_left, *_grid(p, (kh_size, kw_size)))
    acc = np.zeros((x.shape[0], *p.out_hw, w.shape[0]), np.float64)
    for kh in range(kh_size):
        for kw in range(kw_size):
            tap = (_taps(xp, kh, kw, p.stride, p.dilation, p.out_hw) + p.input_offset).astype(np.float64)
            acc += tap @ w[:, kh, kw, :].astype(np.float64).T
    return _output(_add_bias(acc, bias), np.array(p.multiplier), np.array(p.shift), p.output_offset,
                   p.act_min, p.act_max)


def depthwise_conv2d(x: np.ndarray, w: np.ndarray, bias: np.ndarray | None,
                     p: DepthwiseInt8Params) -> np.ndarray:
    """x [N, H, W, IC], w [1, KH, KW, IC * M] -> [N, OH, OW, IC * M]; output channel ic * M + m
    reads input channel ic."""
    _, kh_size, kw_size, channels = w.shape
    xp = _padded(x, -p.input_offset, p.pad_top, p.pad_left, *_grid(p, (kh_size, kw_size)))
    acc = np.zeros((x.shape[0], *p.out_hw, channels), np.int64)
    for kh in range(kh_size):
        for kw in range(kw_size):
            tap = _taps(xp, kh, kw, p.stride, p.dilation, p.out_hw) + p.input_offset
            acc += np.repeat(tap, p.depth_multiplier, axis=3) * w[0, kh, kw, :].astype(np.int64)
    return _output(_add_bias(acc, bias), np.array(p.multiplier), np.array(p.shift), p.output_offset,
                   p.act_min, p.act_max)


def fully_connected(x: np.ndarray, w: np.ndarray, bias: np.ndarray | None,
                    p: FullyConnectedInt8Params) -> np.ndarray:
    """x [..., K] (any shape whose size is a multiple of K), w [OUT, K] -> [rows, OUT]."""
    rows = x.reshape(-1, w.shape[1]).astype(np.float64) + p.input_offset
    acc = rows @ (w.astype(np.float64) + p.weights_offset).T
    return _output(_add_bias(acc, bias), np.array(p.multiplier), np.array(p.shift), p.output_offset,
                   p.act_min, p.act_max)


# -- elementwise ----------------------------------------------------------------------------------

def add(a: np.ndarray, b: np.ndarray, p: AddInt8Params) -> np.ndarray:
    """a + b with numpy broadcasting (TFLite's broadcast rules are the same)."""
    a64, b64 = np.broadcast_arrays(a.astype(np.int64), b.astype(np.int64))
    scaled_a = multiply_by_quantized_multiplier(wrap_int32((a64 + p.input1_offset) << p.left_shift),
                                                p.input1_multiplier, p.input1_shift)
    scaled_b = multiply_by_quantized_multiplier(wrap_int32((b64 + p.input2_offset) << p.left_shift),
                                                p.input2_multiplier, p.input2_shift)
    total = wrap_int32(scaled_a + scaled_b)
    return _output(total, p.output_multiplier, p.output_shift, p.output_offset, p.act_min, p.act_max)


def softmax(x: np.ndarray, p: SoftmaxInt8Params) -> np.ndarray:
    """Over the last axis; output scale 1/256, zero point -128."""
    x64 = x.astype(np.int64)
    diff = x64 - x64.max(axis=-1, keepdims=True)
    used = diff >= p.diff_min
    rescaled = saturating_rounding_doubling_high_mul(wrap_int32(diff << p.input_left_shift),
                                                     p.input_multiplier)
    exps = exp_on_negative_values(np.where(used, rescaled, 0), SOFTMAX_DIFF_INTEGER_BITS)
    terms = np.where(used, rounding_divide_by_pot(exps, _ACCUMULATION_BITS), 0)
    total = wrap_int32(terms.sum(axis=-1, keepdims=True))
    scale, bits_over_unit = reciprocal(total, _ACCUMULATION_BITS)
    exponent = bits_over_unit + 31 - 8
    out = rounding_divide_by_pot(saturating_rounding_doubling_high_mul(scale, exps), exponent) - 128
    return np.where(used, np.clip(out, -128, 127), -128).astype(np.int8)


def logistic_int8(x: np.ndarray, p: LogisticInt8Params) -> np.ndarray:
    """Output scale 1/256, zero point -128."""
    centered = x.astype(np.int64) - p.input_zero_point
    inside = (centered > -p.input_range_radius) & (centered < p.input_range_radius)
    q4 = multiply_by_quantized_multiplier(np.where(inside, centered, 0), p.input_multiplier,
                                          p.input_left_shift)
    out = rounding_divide_by_pot(logistic(q4, LOGISTIC_INPUT_INTEGER_BITS), 31 - 8) - 128
    out = np.clip(out, -128, 127)
    out = np.where(centered <= -p.input_range_radius, -128, out)
    return np.where(centered >= p.input_range_radius, 127, out).astype(np.int8)


# -- pooling and reductions -----------------------------------------------------------------------

def average_pool2d(x: np.ndarray, p: PoolInt8Params) -> np.ndarray:
    """Mean of the in-bounds window elements, rounded half away from zero (integer division)."""
    grid = _grid(p, p.filter)
    xp = _padded(x, 0, p.pad_top, p.pad_left, *grid)
    inside = _padded(np.ones_like(x[..., :1]), 0, p.pad_top, p.pad_left, *grid)
    total = np.zeros((x.shape[0], *p.out_hw, x.shape[3]), np.int64)
    count = np.zeros((x.shape[0], *p.out_hw, 1), np.int64)
    for kh in range(p.filter[0]):
        for kw in range(p.filter[1]):
            total += _taps(xp, kh, kw, p.stride, (1, 1), p.out_hw)
            count += _taps(inside, kh, kw, p.stride, (1, 1), p.out_hw)
    half = count // 2
    mean = np.where(total > 0, (total + half) // count, -((half - total) // count))
    return np.clip(mean, p.act_min, p.act_max).astype(np.int8)


def max_pool2d(x: np.ndarray, p: PoolInt8Params) -> np.ndarray:
    xp = _padded(x, -128, p.pad_top, p.pad_left, *_grid(p, p.filter))
    best = np.full((x.shape[0], *p.out_hw, x.shape[3]), -128, np.int64)
    for kh in range(p.filter[0]):
        for kw in range(p.filter[1]):
            best = np.maximum(best, _taps(xp, kh, kw, p.stride, (1, 1), p.out_hw))
    return np.clip(best, p.act_min, p.act_max).astype(np.int8)


def mean(x: np.ndarray, p: MeanInt8Params) -> np.ndarray:
    total = wrap_int32(x.astype(np.int64).sum(axis=p.axes, keepdims=p.keep_dims))
    centered = wrap_int32(total - p.input_zero_point * p.count)
    return _output(centered, p.multiplier, p.shift, p.output_zero_point, -128, 127)


# -- data movement and precision ------------------------------------------------------------------

def pad(x: np.ndarray, p: PadInt8Params) -> np.ndarray:
    return np.pad(x, p.paddings, constant_values=p.pad_value).astype(np.int8)


def requantize(x: np.ndarray, p: RequantizeInt8Params, low: int = -128, high: int = 127) -> np.ndarray:
    return _output(x.astype(np.int64) + p.input_offset, p.multiplier, p.shift, p.output_offset, low, high)


def requantize_uint8(x: np.ndarray, p: RequantizeInt8Params) -> np.ndarray:
    """int8 -> uint8 QUANTIZE (a streaming model's probability output): the same arithmetic, clamped to
    [0, 255]."""
    scaled = wrap_int32(multiply_by_quantized_multiplier(x.astype(np.int64) + p.input_offset, p.multiplier,
                                                         p.shift) + p.output_offset)
    return np.clip(scaled, 0, 255).astype(np.uint8)


def slice_copy(x: np.ndarray, begin: Sequence[int], end: Sequence[int], strides: Sequence[int],
               batched: bool = False) -> np.ndarray:
    """``x[begin:end:strides]`` per dimension (axis 0 kept whole when ``batched``)."""
    index = tuple(slice(None) if batched and axis == 0 else slice(b, e, s)
                  for axis, (b, e, s) in enumerate(zip(begin, end, strides, strict=True)))
    return np.ascontiguousarray(x[index])


def concatenation(xs: Sequence[np.ndarray], p: ConcatInt8Params) -> np.ndarray:
    parts = [requantize(x, q, p.act_min, p.act_max) for x, q in zip(xs, p.inputs, strict=True)]
    return np.concatenate(parts, axis=p.axis)


def quantize(x: np.ndarray, p: QuantizeInt8Params) -> np.ndarray:
    """float32 -> int8: roundf(x / scale) in float32, plus the zero point, clamped."""
    q = round_half_away_f32(np.asarray(x, np.float32) / np.float32(p.scale))
    q = np.where(np.isnan(q), 0, np.clip(q, -256, 256))  # the int8 clamp gives the same result
    return np.clip(q.astype(np.int64) + p.zero_point, -128, 127).astype(np.int8)


def dequantize(x: np.ndarray, p: DequantizeInt8Params) -> np.ndarray:
    """(float)(scale * (q - zero_point)): exact product in double, one rounding to float32."""
    return (np.float64(p.scale) * (x.astype(np.float64) - p.zero_point)).astype(np.float32)


# -- executor -------------------------------------------------------------------------------------

def _constant(graph: Graph, index: int) -> np.ndarray | None:
    return None if index == NO_TENSOR else graph.tensor(index).data


def _layer(kernel: Callable) -> Callable:
    def run(graph: Graph, op: Op, args: list[np.ndarray], params) -> np.ndarray:
        bias = _constant(graph, op.inputs[2]) if len(op.inputs) > 2 else None
        return kernel(args[0], graph.tensor(op.inputs[1]).data, bias, params)

    return run


def _unary(kernel: Callable) -> Callable:
    def run(graph: Graph, op: Op, args: list[np.ndarray], params) -> np.ndarray:
        return kernel(args[0], params)

    return run


def _quantize_op(graph: Graph, op: Op, args: list[np.ndarray], params) -> np.ndarray:
    if isinstance(params, QuantizeInt8Params):
        return quantize(args[0], params)
    if graph.tensor(op.outputs[0]).dtype is DType.UINT8:
        return requantize_uint8(args[0], params)
    return requantize(args[0], params)


KERNELS: Mapping[OpKind, Callable] = {
    OpKind.CONV_2D: _layer(conv2d),
    OpKind.DEPTHWISE_CONV_2D: _layer(depthwise_conv2d),
    OpKind.FULLY_CONNECTED: _layer(fully_connected),
    OpKind.ADD: lambda graph, op, args, params: add(args[0], args[1], params),
    OpKind.LOGISTIC: _unary(logistic_int8),
    OpKind.SOFTMAX: _unary(softmax),
    OpKind.AVERAGE_POOL_2D: _unary(average_pool2d),
    OpKind.MAX_POOL_2D: _unary(max_pool2d),
    OpKind.MEAN: _unary(mean),
    OpKind.PAD: _unary(pad),
    OpKind.CONCATENATION: lambda graph, op, args, params: concatenation(args, params),
    OpKind.QUANTIZE: _quantize_op,
    OpKind.DEQUANTIZE: _unary(dequantize),
}


def _batched_shape(shape: tuple[int, ...], batch: int) -> tuple[int, ...]:
    if batch == 1 or not shape or shape[0] != 1:
        return shape
    return (batch, *shape[1:])


def run_op(graph: Graph, op: Op, args: Sequence[np.ndarray], params=None) -> np.ndarray:
    """One op on its activation inputs (in ``op.inputs`` order, constants read from the graph)."""
    out = graph.tensor(op.outputs[0])
    batch = args[0].shape[0] if args[0].ndim and out.shape and out.shape[0] == 1 else 1
    if op.kind is OpKind.RESHAPE:
        return args[0].reshape(_batched_shape(out.shape, batch))
    if op.kind is OpKind.SLICE:
        a = op.attrs
        return slice_copy(args[0], a["begin"], a["end"], a["strides"], batch > 1).reshape(
            _batched_shape(out.shape, batch))
    params = prepare_op(graph, op) if params is None else params
    result = KERNELS[op.kind](graph, op, list(args), params)
    return result.reshape(_batched_shape(out.shape, batch))


def run_int8(graph: Graph, inputs: np.ndarray | Sequence[np.ndarray],
             states: Sequence[np.ndarray] | None = None) -> dict[int, np.ndarray]:
    """Every activation tensor after one forward pass, keyed by IR tensor index.

    ``inputs``: one array per graph input, shaped as the input tensor or with N samples on axis
    0 where the model's batch is 1 (every batch-1 tensor then carries N on axis 0).
    ``states``: for a streaming model, the value of each ``graph.states`` read tensor (default:
    their initial values; a batch-1 state is repeated for N samples). The new states are the
    values of the ``write`` tensors (:mod:`edgesdk.reference.streaming` runs frame after frame).
    """
    arrays = [inputs] if isinstance(inputs, np.ndarray) else list(inputs)
    if len(arrays) != len(graph.inputs):
        raise ValueError(f"the graph has {len(graph.inputs)} inputs, {len(arrays)} arrays given")
    values: dict[int, np.ndarray] = {}
    for index, array in zip(graph.inputs, arrays, strict=True):
        tensor = graph.tensor(index)
        values[index] = np.asarray(array).astype(DType.FLOAT32.numpy if tensor.dtype is DType.FLOAT32
                                                 else tensor.dtype.numpy)
    state_values = [s.initial for s in graph.states] if states is None else list(states)
    if len(state_values) != len(graph.states):
        raise ValueError(f"the graph has {len(graph.states)} states, {len(state_values)} arrays given")
    batch = next((values[i].shape[0] for i in graph.inputs
                  if values[i].ndim and graph.tensor(i).shape and graph.tensor(i).shape[0] == 1), 1)
    for state, value in zip(graph.states, state_values, strict=True):
        value = np.asarray(value).astype(graph.tensor(state.read).dtype.numpy)
        if batch > 1 and value.shape[0] == 1:
            value = np.repeat(value, batch, axis=0)
        values[state.read] = value
    for op in graph.ops:
        args = [values[i] for i in op.inputs if i != NO_TENSOR and not graph.tensor(i).is_constant]
        results = run_op(graph, op, args)
        values[op.outputs[0]] = results
    return values
