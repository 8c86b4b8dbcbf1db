"""Per-op int8 parameters: every constant an int8 kernel needs, computed once at build time.

One frozen dataclass per kernel family. Field names follow the C structs of
``runtime_c/include/edgesdk/*_int8.h`` so code generation can emit them as they are:
offsets are *added* to the raw int8 values (input_offset = -zero_point), output_offset is the
output zero point, multiplier/shift pairs mean ``x * multiplier * 2^(shift - 31)``
(:func:`edgesdk.quant.fixedpoint.multiply_by_quantized_multiplier`), act_min/act_max clamp the
int8 result (the fused activation folded into the output range).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ConvInt8Params:
    """CONV_2D, per output channel requantization."""

    stride: tuple[int, int]  # (h, w)
    dilation: tuple[int, int]  # (h, w)
    pad_top: int  # resolved pad before, rows
    pad_left: int  # resolved pad before, columns
    out_hw: tuple[int, int]  # output rows, columns
    input_offset: int  # -input zero point
    output_offset: int  # output zero point
    multiplier: tuple[int, ...]  # [OC]
    shift: tuple[int, ...]  # [OC]
    act_min: int
    act_max: int


@dataclass(frozen=True)
class DepthwiseInt8Params:
    """DEPTHWISE_CONV_2D: CONV_2D's fields plus the depth multiplier; channels are IC * M."""

    stride: tuple[int, int]
    dilation: tuple[int, int]
    pad_top: int
    pad_left: int
    out_hw: tuple[int, int]
    depth_multiplier: int
    input_offset: int
    output_offset: int
    multiplier: tuple[int, ...]  # [IC * M]
    shift: tuple[int, ...]  # [IC * M]
    act_min: int
    act_max: int


@dataclass(frozen=True)
class FullyConnectedInt8Params:
    """FULLY_CONNECTED. Per-tensor weights get the one multiplier repeated per output."""

    input_offset: int
    weights_offset: int  # -weights zero point (TFLite applies it for per-tensor weights only)
    output_offset: int
    multiplier: tuple[int, ...]  # [OUT]
    shift: tuple[int, ...]  # [OUT]
    act_min: int
    act_max: int


@dataclass(frozen=True)
class AddInt8Params:
    """ADD with TFLite's scheme: both inputs shifted left by left_shift (20), rescaled to a
    common scale 2 * max(s1, s2), summed, then rescaled to the output."""

    input1_offset: int
    input2_offset: int
    output_offset: int
    left_shift: int
    input1_multiplier: int
    input1_shift: int
    input2_multiplier: int
    input2_shift: int
    output_multiplier: int
    output_shift: int
    act_min: int
    act_max: int


@dataclass(frozen=True)
class PoolInt8Params:
    """AVERAGE_POOL_2D / MAX_POOL_2D (input and output share one quantization)."""

    filter: tuple[int, int]
    stride: tuple[int, int]
    pad_top: int
    pad_left: int
    out_hw: tuple[int, int]
    act_min: int
    act_max: int


@dataclass(frozen=True)
class MeanInt8Params:
    """MEAN: sum over ``axes`` minus count * input zero point, one requantization that already
    includes the division by ``count`` (TFLite's folded multiplier), plus the output zero point."""

    axes: tuple[int, ...]
    keep_dims: bool
    count: int  # elements averaged per output
    input_zero_point: int
    output_zero_point: int
    multiplier: int
    shift: int


@dataclass(frozen=True)
class PadInt8Params:
    paddings: tuple[tuple[int, int], ...]  # (before, after) per dimension
    pad_value: int  # the output zero point (real 0)


@dataclass(frozen=True)
class RequantizeInt8Params:
    """int8 -> int8 with a new scale / zero point (QUANTIZE of an int8 tensor)."""

    input_offset: int
    output_offset: int
    multiplier: int
    shift: int


@dataclass(frozen=True)
class ConcatInt8Params:
    """CONCATENATION: each input requantized to the output (the identity when they share it)."""

    axis: int
    inputs: tuple[RequantizeInt8Params, ...]
    act_min: int
    act_max: int


@dataclass(frozen=True)
class SoftmaxInt8Params:
    """SOFTMAX over the last axis; output quantization fixed at scale 1/256, zero point -128."""

    input_multiplier: int
    input_left_shift: int
    diff_min: int


@dataclass(frozen=True)
class LogisticInt8Params:
    """LOGISTIC; output quantization fixed at scale 1/256, zero point -128."""

    input_zero_point: int
    input_range_radius: int
    input_multiplier: int
    input_left_shift: int


@dataclass(frozen=True)
class QuantizeInt8Params:
    """float32 -> int8: q = clamp(roundf(x / scale) + zero_point)."""

    scale: float  # a float32 value
    zero_point: int


@dataclass(frozen=True)
class DequantizeInt8Params:
    """int8 -> float32: x = (float)(scale * (q - zero_point))."""

    scale: float  # a float32 value
    zero_point: int


Int8Params = (ConvInt8Params | DepthwiseInt8Params | FullyConnectedInt8Params | AddInt8Params
              | PoolInt8Params | MeanInt8Params | PadInt8Params | ConcatInt8Params | SoftmaxInt8Params
              | LogisticInt8Params | QuantizeInt8Params | RequantizeInt8Params | DequantizeInt8Params)
