"""Quantization-aware scaling (QAS, MCUNetV3): SGD steps applied to int8 weights / int32 biases.

The float32 backward gives ``grad``, the gradient with respect to the real (dequantized)
parameter. With ``w = s_w * q`` (int8 weights) and ``b = s_w * s_x * q`` (int32 biases) the
gradient with respect to the integers is ``s * grad``; QAS multiplies it by ``s^-2``, so the
step in integer units is ``lr * grad / s`` -- the float32 SGD step, expressed in the integers.
Without QAS the step is ``lr * grad * s``. Per element, in float32 and in this order::

    d = (grad * factor[channel]) * lr
    k = roundf(d)                   nearest (ties away from zero)
    k = floorf(d + u)               stochastic, u = (r >> 8) * 2^-24, r the next xorshift32 state
    k -> int32 (saturated, NaN -> 0);  q = saturate(q - k)   to [-127, 127] (weights) or int32

This is bit-exact with ``es_qas_int8_update`` / ``es_qas_int32_update`` (runtime_c, qas_int8.h):
same span (which elements, which channel each belongs to), same order of random draws.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edgesdk.quant.fixedpoint import INT32_MAX, INT32_MIN, round_half_away_f32

NEAREST = "nearest"
STOCHASTIC = "stochastic"
WEIGHT_RANGE = (-127, 127)  # TFLite's symmetric int8 weights
BIAS_RANGE = (INT32_MIN, INT32_MAX)


@dataclass(frozen=True)
class QasSpan:
    """The elements an update touches (es_qas_span): ``rows`` rows of ``cols`` elements; element
    (r, j) is param[r * param_stride + j] and grad[r * grad_stride + j]; its channel is
    j // per_channel."""

    rows: int
    cols: int
    param_stride: int
    grad_stride: int
    per_channel: int

    @property
    def channels(self) -> int:
        return -(-self.cols // self.per_channel)


def output_channel_span(weight_shape: tuple[int, ...], k: int | None = None) -> QasSpan:
    """CONV_2D [OC, KH, KW, IC] or FULLY_CONNECTED [OUT, IN] weights: the first k output channels
    (all when k is None); the gradient is the compact [k, ...] prefix."""
    per_channel = int(np.prod(weight_shape[1:], dtype=np.int64))
    count = (weight_shape[0] if k is None else k) * per_channel
    total = int(np.prod(weight_shape, dtype=np.int64))
    return QasSpan(1, count, total, count, per_channel)


def depthwise_span(weight_shape: tuple[int, ...], k: int | None = None) -> QasSpan:
    """DEPTHWISE_CONV_2D weights [1, KH, KW, C]: the first k channels of every tap; the gradient
    is compact [KH, KW, k]."""
    _, kh, kw, channels = weight_shape
    k = channels if k is None else k
    return QasSpan(kh * kw, k, channels, k, 1)


def bias_span(channels: int, k: int | None = None) -> QasSpan:
    k = channels if k is None else k
    return QasSpan(1, k, k, k, 1)


def qas_factors(weight_scales, input_scale: float, *, qas: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """(weight factors, bias factors), float32 per channel: 1/s_w and 1/(s_w s_x) with QAS
    (computed in double, rounded once), s_w and s_w s_x without."""
    s_w = np.asarray(weight_scales, np.float64).reshape(-1)
    s_b = s_w * float(input_scale)
    if qas:
        return (1.0 / s_w).astype(np.float32), (1.0 / s_b).astype(np.float32)
    return s_w.astype(np.float32), s_b.astype(np.float32)


def xorshift32(state: int) -> int:
    """One step of Marsaglia's xorshift32 (13, 17, 5)."""
    state ^= (state << 13) & 0xFFFFFFFF
    state ^= state >> 17
    state ^= (state << 5) & 0xFFFFFFFF
    return state


def uniforms(state: int, count: int) -> tuple[np.ndarray, int]:
    """``count`` float32 uniforms in [0, 1) (24 bits each) and the state after them."""
    draws = np.empty(count, np.uint32)
    for i in range(count):
        state = xorshift32(state)
        draws[i] = state
    return (draws >> 8).astype(np.float32) * np.float32(1.0 / 16777216.0), state


def _gather(array: np.ndarray, span: QasSpan, stride: int) -> np.ndarray:
    flat = np.asarray(array).reshape(-1)
    index = (np.arange(span.rows)[:, None] * stride + np.arange(span.cols)[None, :]).reshape(-1)
    return flat[index], index


def integer_steps(grad: np.ndarray, factor: np.ndarray, lr: float, span: QasSpan, rounding: str,
                  rng_state: int | None) -> tuple[np.ndarray, int | None]:
    """k per updated element (row-major over the span) and the new RNG state."""
    g, _ = _gather(np.asarray(grad, np.float32), span, span.grad_stride)
    channel = np.tile(np.arange(span.cols) // span.per_channel, span.rows)
    d = (g * np.asarray(factor, np.float32)[channel]).astype(np.float32) * np.float32(lr)
    if rounding == STOCHASTIC:
        if not rng_state:
            raise ValueError("stochastic rounding needs a nonzero xorshift32 state")
        u, rng_state = uniforms(int(rng_state), d.size)
        k = np.floor((d + u).astype(np.float32))
    elif rounding == NEAREST:
        k = round_half_away_f32(d)
    else:
        raise ValueError(f"rounding must be {NEAREST!r} or {STOCHASTIC!r}")
    k = np.where(np.isnan(k), 0.0, k)
    k = np.clip(k.astype(np.float64), INT32_MIN, INT32_MAX)  # saturated to int32
    return k.astype(np.int64), rng_state


def qas_update(param: np.ndarray, grad: np.ndarray, factor: np.ndarray, lr: float, span: QasSpan,
               rounding: str = NEAREST, rng_state: int | None = None) -> tuple[np.ndarray, int | None]:
    """The updated parameter (a new array, same shape and dtype: int8 weights or int32 biases)
    and the xorshift32 state after the update."""
    param = np.asarray(param)
    low, high = WEIGHT_RANGE if param.dtype == np.int8 else BIAS_RANGE
    k, rng_state = integer_steps(grad, factor, lr, span, rounding, rng_state)
    values, index = _gather(param, span, span.param_stride)
    updated = param.reshape(-1).copy()
    updated[index] = np.clip(values.astype(np.int64) - k, low, high).astype(param.dtype)
    return updated.reshape(param.shape), rng_state
