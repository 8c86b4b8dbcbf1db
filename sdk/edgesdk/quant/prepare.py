"""ir.Op -> int8 kernel parameters, computed exactly as TFLite Micro's Prepare step does.

Scales are float32 in a ``.tflite`` file and TFLite Micro does its preparation arithmetic in
double from those float32 values, with a few expressions in float32; each function here repeats
the expression of the TFLite Micro kernel it mirrors (the comment names it), so the multipliers
and shifts are the same integers. Preparation refuses (with :class:`edgesdk.errors` types) what
TFLite Micro would refuse or abort on, saying what to change.

    params = prepare_op(graph, op)        # one of edgesdk.quant.params, None for RESHAPE / SLICE
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

import numpy as np

from edgesdk.errors import ModelError, UnsupportedOpError
from edgesdk.ir import NO_TENSOR, Activation, DType, Graph, Op, OpKind, Padding, Tensor
from edgesdk.quant.fixedpoint import quantize_multiplier, round_half_away, round_half_away_f32, to_f32
from edgesdk.quant.params import (
    AddInt8Params,
    ConcatInt8Params,
    ConvInt8Params,
    DepthwiseInt8Params,
    DequantizeInt8Params,
    FullyConnectedInt8Params,
    Int8Params,
    LogisticInt8Params,
    MeanInt8Params,
    PadInt8Params,
    PoolInt8Params,
    QuantizeInt8Params,
    RequantizeInt8Params,
    SoftmaxInt8Params,
)

INT8_MIN, INT8_MAX = -128, 127
ADD_LEFT_SHIFT = 20  # TFLite's headroom for int8 ADD
SOFTMAX_DIFF_INTEGER_BITS = 5  # exp() input format Q5.26
LOGISTIC_INPUT_INTEGER_BITS = 4  # logistic input format Q4.27
MAX_SHIFT = 30  # x * 2^shift must stay an int32 shift


def _label(op: Op) -> str:
    return f"op {op.index} ({op.kind.value})"


def per_tensor(graph: Graph, index: int, op: Op) -> tuple[float, int]:
    """(float32 scale, zero point) of an int8 activation tensor."""
    tensor = graph.tensor(index)
    if tensor.dtype is not DType.INT8:
        raise UnsupportedOpError(f"{_label(op)}: tensor {tensor.name!r} is {tensor.dtype.value}; the int8 "
                                 f"kernels take int8 activations (use --precision fp32 for float models)")
    if tensor.quant is None:
        raise ModelError(f"{_label(op)}: int8 tensor {tensor.name!r} has no quantization parameters")
    if tensor.quant.scale.size != 1:
        raise UnsupportedOpError(f"{_label(op)}: activation {tensor.name!r} is quantized per channel")
    return to_f32(tensor.quant.scale[0]), int(tensor.quant.zero_point[0])


def _weight_scales(tensor: Tensor, channels: int, op: Op) -> list[float]:
    if tensor.quant is None or tensor.dtype is not DType.INT8:
        raise UnsupportedOpError(f"{_label(op)}: weights {tensor.name!r} must be int8 with quantization "
                                 f"parameters")
    scales = [to_f32(s) for s in tensor.quant.scale]
    if len(scales) == 1:
        return scales * channels
    if len(scales) != channels:
        raise ModelError(f"{_label(op)}: weights {tensor.name!r} have {len(scales)} scales for {channels} "
                         f"channels")
    return scales


def _checked(op: Op, real: float) -> tuple[int, int]:
    multiplier, shift = quantize_multiplier(real)
    if shift > MAX_SHIFT:
        raise UnsupportedOpError(f"{_label(op)}: the rescaling factor {real:.3g} is too large for int8 "
                                 f"kernels; the output scale is too small for its inputs (requantize "
                                 f"the model)")
    return multiplier, shift


def _smaller_than_one(op: Op, real: float, what: str) -> tuple[int, int]:
    """TFLite's QuantizeMultiplierSmallerThanOneExp, which aborts outside (0, 1)."""
    if not 0.0 < real < 1.0:
        raise UnsupportedOpError(f"{_label(op)}: the {what} rescaling factor is {real:.6g}, TFLite needs it "
                                 f"in (0, 1); the output scale is too small for the inputs' scales")
    return quantize_multiplier(real)


def activation_range(activation: Activation, scale: float, zero_point: int) -> tuple[int, int]:
    """TFLite's CalculateActivationRangeQuantized for an int8 output (0 and 6 quantized in float32)."""
    if activation is Activation.NONE:
        return INT8_MIN, INT8_MAX

    def quantize(real: float) -> int:
        return zero_point + int(round_half_away_f32(np.float32(real) / np.float32(scale)))

    low = max(INT8_MIN, quantize(0.0))
    if activation is Activation.RELU:
        return low, INT8_MAX
    return low, min(INT8_MAX, quantize(6.0))


def window(size: int, kernel: int, stride: int, dilation: int, padding: Padding) -> tuple[int, int]:
    """(output size, pad before) along one axis, TFLite's ComputePaddingHeightWidth."""
    effective = (kernel - 1) * dilation + 1
    if padding is Padding.SAME:
        out = (size + stride - 1) // stride
    else:
        out = (size - effective + stride) // stride
    total = max((out - 1) * stride + effective - size, 0)
    return out, total // 2


def _per_channel(op: Op, input_scale: float, output_scale: float,
                 weight_scales: list[float]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    # PopulateConvolutionQuantizationParams: (double)s_in * (double)s_w / (double)s_out
    pairs = [_checked(op, input_scale * s / output_scale) for s in weight_scales]
    return tuple(m for m, _ in pairs), tuple(s for _, s in pairs)


def _spatial(graph: Graph, op: Op, kernel_hw: tuple[int, int]) -> tuple[int, int, tuple[int, int]]:
    x = graph.tensor(op.inputs[0])
    y = graph.tensor(op.outputs[0])
    dilation = op.attrs.get("dilation", (1, 1))
    stride, padding = op.attrs["stride"], op.attrs["padding"]
    out_h, pad_top = window(x.shape[1], kernel_hw[0], stride[0], dilation[0], padding)
    out_w, pad_left = window(x.shape[2], kernel_hw[1], stride[1], dilation[1], padding)
    if (out_h, out_w) != tuple(y.shape[1:3]):
        raise ModelError(f"{_label(op)}: output {y.name!r} is {list(y.shape)}, the window gives "
                         f"{out_h}x{out_w}")
    return pad_top, pad_left, (out_h, out_w)


def prepare_conv(graph: Graph, op: Op) -> ConvInt8Params:
    s_in, zp_in = per_tensor(graph, op.inputs[0], op)
    s_out, zp_out = per_tensor(graph, op.outputs[0], op)
    w = graph.tensor(op.inputs[1])
    multiplier, shift = _per_channel(op, s_in, s_out, _weight_scales(w, w.shape[0], op))
    pad_top, pad_left, out_hw = _spatial(graph, op, (w.shape[1], w.shape[2]))
    act_min, act_max = activation_range(op.activation, s_out, zp_out)
    return ConvInt8Params(tuple(op.attrs["stride"]), tuple(op.attrs["dilation"]), pad_top, pad_left, out_hw,
                          -zp_in, zp_out, multiplier, shift, act_min, act_max)


def prepare_depthwise(graph: Graph, op: Op) -> DepthwiseInt8Params:
    s_in, zp_in = per_tensor(graph, op.inputs[0], op)
    s_out, zp_out = per_tensor(graph, op.outputs[0], op)
    w = graph.tensor(op.inputs[1])
    multiplier, shift = _per_channel(op, s_in, s_out, _weight_scales(w, w.shape[3], op))
    pad_top, pad_left, out_hw = _spatial(graph, op, (w.shape[1], w.shape[2]))
    act_min, act_max = activation_range(op.activation, s_out, zp_out)
    return DepthwiseInt8Params(tuple(op.attrs["stride"]), tuple(op.attrs["dilation"]), pad_top, pad_left,
                               out_hw, int(op.attrs["depth_multiplier"]), -zp_in, zp_out, multiplier, shift,
                               act_min, act_max)


def prepare_fully_connected(graph: Graph, op: Op) -> FullyConnectedInt8Params:
    s_in, zp_in = per_tensor(graph, op.inputs[0], op)
    s_out, zp_out = per_tensor(graph, op.outputs[0], op)
    w = graph.tensor(op.inputs[1])
    scales = _weight_scales(w, w.shape[0], op)
    assert w.quant is not None
    if w.quant.per_channel:
        multiplier, shift = _per_channel(op, s_in, s_out, scales)
        weights_offset = 0
    else:
        # GetQuantizedConvolutionMultipler: the product of the two scales is taken in float32
        real = float(np.float32(s_in) * np.float32(scales[0])) / s_out
        m, s = _checked(op, real)
        multiplier, shift = (m,) * w.shape[0], (s,) * w.shape[0]
        weights_offset = -int(w.quant.zero_point[0])
    act_min, act_max = activation_range(op.activation, s_out, zp_out)
    return FullyConnectedInt8Params(-zp_in, weights_offset, zp_out, multiplier, shift, act_min, act_max)


def prepare_add(graph: Graph, op: Op) -> AddInt8Params:
    s1, zp1 = per_tensor(graph, op.inputs[0], op)
    s2, zp2 = per_tensor(graph, op.inputs[1], op)
    s_out, zp_out = per_tensor(graph, op.outputs[0], op)
    twice_max = 2.0 * max(s1, s2)
    m1, sh1 = _smaller_than_one(op, s1 / twice_max, "first input's")
    m2, sh2 = _smaller_than_one(op, s2 / twice_max, "second input's")
    m_out, sh_out = _smaller_than_one(op, twice_max / ((1 << ADD_LEFT_SHIFT) * s_out), "output")
    act_min, act_max = activation_range(op.activation, s_out, zp_out)
    return AddInt8Params(-zp1, -zp2, zp_out, ADD_LEFT_SHIFT, m1, sh1, m2, sh2, m_out, sh_out,
                         act_min, act_max)


def prepare_pool(graph: Graph, op: Op) -> PoolInt8Params:
    s_in, zp_in = per_tensor(graph, op.inputs[0], op)
    s_out, zp_out = per_tensor(graph, op.outputs[0], op)
    if abs(np.float32(s_in) - np.float32(s_out)) > 1e-6 or zp_in != zp_out:
        raise UnsupportedOpError(f"{_label(op)}: int8 pooling needs the input's quantization on its output "
                                 f"(input {s_in:.6g}/{zp_in}, output {s_out:.6g}/{zp_out})")
    pad_top, pad_left, out_hw = _spatial(graph, op, tuple(op.attrs["filter"]))
    act_min, act_max = activation_range(op.activation, s_out, zp_out)
    return PoolInt8Params(tuple(op.attrs["filter"]), tuple(op.attrs["stride"]), pad_top, pad_left, out_hw,
                          act_min, act_max)


def fold_mean_multiplier(multiplier: int, shift: int, count: int) -> tuple[int, int]:
    """TFLite's QuantizedMeanOrSum: fold 1/count into (multiplier, shift) with up to 32 extra bits."""
    extra = min(count.bit_length() - 1, 32, 31 + shift)
    return (multiplier << extra) // count, shift - extra


def prepare_mean(graph: Graph, op: Op) -> MeanInt8Params:
    s_in, zp_in = per_tensor(graph, op.inputs[0], op)
    s_out, zp_out = per_tensor(graph, op.outputs[0], op)
    x = graph.tensor(op.inputs[0])
    axes = tuple(int(a) for a in op.attrs["axes"])
    count = int(np.prod([x.shape[a] for a in axes], dtype=np.int64))
    multiplier, shift = fold_mean_multiplier(*quantize_multiplier(s_in / s_out), count)
    return MeanInt8Params(axes, bool(op.attrs["keep_dims"]), count, zp_in, zp_out, multiplier, shift)


def prepare_pad(graph: Graph, op: Op) -> PadInt8Params:
    _, zp_out = per_tensor(graph, op.outputs[0], op)
    return PadInt8Params(tuple(tuple(p) for p in op.attrs["paddings"]), zp_out)


def requantize_params(op: Op, input_scale: float, input_zero_point: int, output_scale: float,
                      output_zero_point: int) -> RequantizeInt8Params:
    multiplier, shift = _checked(op, input_scale / output_scale)
    return RequantizeInt8Params(-input_zero_point, output_zero_point, multiplier, shift)


def prepare_concat(graph: Graph, op: Op) -> ConcatInt8Params:
    s_out, zp_out = per_tensor(graph, op.outputs[0], op)
    inputs = tuple(requantize_params(op, *per_tensor(graph, i, op), s_out, zp_out) for i in op.inputs)
    act_min, act_max = activation_range(op.activation, s_out, zp_out)
    return ConcatInt8Params(int(op.attrs["axis"]), inputs, act_min, act_max)


def _fixed_unit_output(graph: Graph, op: Op) -> None:
    s_out, zp_out = per_tensor(graph, op.outputs[0], op)
    if zp_out != -128 or (op.kind is OpKind.SOFTMAX and np.float32(s_out) != np.float32(1.0 / 256)):
        raise UnsupportedOpError(f"{_label(op)}: int8 {op.kind.value} needs output scale 1/256 and zero "
                                 f"point -128 (got {s_out:.6g}, {zp_out}); reconvert the model")


def prepare_softmax(graph: Graph, op: Op) -> SoftmaxInt8Params:
    s_in, _ = per_tensor(graph, op.inputs[0], op)
    _fixed_unit_output(graph, op)
    beta = to_f32(op.attrs["beta"])
    # PreprocessSoftmaxScaling: beta * s_in * 2^(31 - 5), capped, as a multiplier greater than one
    real = min(beta * s_in * float(1 << (31 - SOFTMAX_DIFF_INTEGER_BITS)), float((1 << 31) - 1))
    if real <= 1.0:
        raise UnsupportedOpError(f"{_label(op)}: input scale {s_in:.6g} x beta {beta:.6g} is too small for "
                                 f"TFLite's int8 softmax (needs > 2^-26)")
    multiplier, left_shift = quantize_multiplier(real)
    # CalculateInputRadius(5, left_shift, 31), negated
    radius = math.floor(1.0 * ((1 << SOFTMAX_DIFF_INTEGER_BITS) - 1)
                        * (1 << (31 - SOFTMAX_DIFF_INTEGER_BITS)) / (1 << left_shift))
    return SoftmaxInt8Params(multiplier, left_shift, -radius)


def prepare_logistic(graph: Graph, op: Op) -> LogisticInt8Params:
    s_in, zp_in = per_tensor(graph, op.inputs[0], op)
    _fixed_unit_output(graph, op)
    real = s_in * float(1 << (31 - LOGISTIC_INPUT_INTEGER_BITS))
    mantissa, left_shift = math.frexp(real)
    if left_shift < 0:
        raise UnsupportedOpError(f"{_label(op)}: input scale {s_in:.6g} is too small for TFLite's int8 "
                                 f"logistic")
    # TFLite rounds the mantissa without the 2^31 fix-up of QuantizeMultiplier; keep its int32 cast
    multiplier = int(round_half_away(mantissa * 2.0**31))
    multiplier = multiplier - (1 << 32) if multiplier >= 1 << 31 else multiplier
    radius = math.floor(1.0 * ((1 << LOGISTIC_INPUT_INTEGER_BITS) - 1)
                        * (1 << (31 - LOGISTIC_INPUT_INTEGER_BITS)) / (1 << left_shift))
    return LogisticInt8Params(zp_in, radius, multiplier, left_shift)


def prepare_quantize(graph: Graph, op: Op) -> QuantizeInt8Params | RequantizeInt8Params:
    out = graph.tensor(op.outputs[0])
    if out.dtype is DType.UINT8 and out.quant is not None and out.quant.scale.size == 1:
        # int8 -> uint8 (a streaming model's probability output): the same requantization
        s_out, zp_out = to_f32(out.quant.scale[0]), int(out.quant.zero_point[0])
    else:
        s_out, zp_out = per_tensor(graph, op.outputs[0], op)
    source = graph.tensor(op.inputs[0])
    if source.dtype is DType.FLOAT32:
        return QuantizeInt8Params(s_out, zp_out)
    return requantize_params(op, *per_tensor(graph, op.inputs[0], op), s_out, zp_out)


def prepare_dequantize(graph: Graph, op: Op) -> DequantizeInt8Params:
    s_in, zp_in = per_tensor(graph, op.inputs[0], op)
    return DequantizeInt8Params(s_in, zp_in)


PREPARERS: Mapping[OpKind, Callable[[Graph, Op], Int8Params]] = {
    OpKind.CONV_2D: prepare_conv,
    OpKind.DEPTHWISE_CONV_2D: prepare_depthwise,
    OpKind.FULLY_CONNECTED: prepare_fully_connected,
    OpKind.ADD: prepare_add,
    OpKind.AVERAGE_POOL_2D: prepare_pool,
    OpKind.MAX_POOL_2D: prepare_pool,
    OpKind.MEAN: prepare_mean,
    OpKind.PAD: prepare_pad,
    OpKind.CONCATENATION: prepare_concat,
    OpKind.SOFTMAX: prepare_softmax,
    OpKind.LOGISTIC: prepare_logistic,
    OpKind.QUANTIZE: prepare_quantize,
    OpKind.DEQUANTIZE: prepare_dequantize,
}


def prepare_op(graph: Graph, op: Op) -> Int8Params | None:
    """The int8 parameters of ``op`` (None for RESHAPE and SLICE, which only move the data)."""
    if op.kind in (OpKind.RESHAPE, OpKind.SLICE):
        return None
    bias = op.inputs[2] if len(op.inputs) > 2 and op.kind in (OpKind.CONV_2D, OpKind.DEPTHWISE_CONV_2D,
                                                              OpKind.FULLY_CONNECTED) else NO_TENSOR
    if bias != NO_TENSOR and graph.tensor(bias).dtype is not DType.INT32:
        raise UnsupportedOpError(f"{_label(op)}: bias {graph.tensor(bias).name!r} is "
                                 f"{graph.tensor(bias).dtype.value}; int8 layers need int32 biases")
    return PREPARERS[op.kind](graph, op)
