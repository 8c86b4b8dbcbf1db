"""float32 parameters (fp32 training) -> the int8 weights / int32 biases a ``.tflite`` stores.

Two ways, per layer:

- **keep** (default): the model's own scales. ``q = round(w / s_w[c]) + zp`` clamped to
  [-127, 127] (TFLite's symmetric int8 weights), ``q_b = round(b / s_b[c])`` saturated to int32,
  with ``s_b`` the bias tensor's stored scale (the one its float value was read with). The
  quantized graph is unchanged; values outside the old range saturate.
- **refit**: new weight scales, ``s_w[c] = max |w[c]| / 127`` per output channel (per tensor when
  the model quantizes the weights per tensor), the bias re-expressed in ``s_b[c] = s_x * s_w[c]``
  (float32, as TFLite's converter sets it) so the bias stays consistent with the weights; TFLite
  Micro recomputes its requantization multipliers from the new scales when it loads the model.
  A channel that is all zeros keeps its old scale.

Rounding is half away from zero, as TFLite's quantizer.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edgesdk import ir
from edgesdk.errors import ExportError

WEIGHT_MIN, WEIGHT_MAX = -127, 127
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1


def round_half_away(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, np.float64)
    return np.sign(x) * np.floor(np.abs(x) + 0.5)


def _view(scales: np.ndarray, ndim: int, axis: int) -> np.ndarray:
    shape = [1] * ndim
    shape[axis] = -1
    return scales.reshape(shape)


@dataclass(frozen=True)
class Quantized:
    data: np.ndarray  # stored dtype, the tensor's shape
    scale: np.ndarray | None = None  # float32 new scales (refit), None to keep the file's


def weight_scales(tensor: ir.Tensor) -> np.ndarray:
    assert tensor.quant is not None
    return np.float32(tensor.quant.scale).astype(np.float64)


def quantize_weight(values: np.ndarray, tensor: ir.Tensor, axis: int, refit: bool) -> Quantized:
    """int8 weights of ``tensor`` (output channels along ``axis``) for the float ``values``."""
    if tensor.quant is None:
        raise ExportError(f"weights {tensor.name!r} are {tensor.dtype.value} without quantization parameters")
    scales = weight_scales(tensor)
    zero = tensor.quant.zero_point.astype(np.int64)
    per_channel = scales.size > 1
    new_scale = None
    if refit:
        if np.any(zero != 0):
            raise ExportError(
                f"weights {tensor.name!r} have a nonzero zero point; re-fitting scales needs "
                "symmetric weights (export without --refit-scales)"
            )
        reduce = tuple(d for d in range(values.ndim) if d != axis) if per_channel else None
        peak = np.abs(values.astype(np.float64)).max(axis=reduce)
        fitted = np.float32(np.where(peak > 0, peak / WEIGHT_MAX, scales)).astype(np.float64)
        scales = np.asarray(fitted, np.float64).reshape(-1)
        new_scale = scales.astype(np.float32)
    view = _view(scales, values.ndim, axis) if per_channel else scales.reshape((1,) * values.ndim)
    zview = _view(zero, values.ndim, axis) if per_channel else zero.reshape((1,) * values.ndim)
    q = round_half_away(values.astype(np.float64) / view) + zview
    return Quantized(np.clip(q, WEIGHT_MIN, WEIGHT_MAX).astype(np.int8), new_scale)


def quantize_bias(values: np.ndarray, tensor: ir.Tensor, scales: np.ndarray | None) -> Quantized:
    """int32 bias for the float ``values``: in the bias tensor's own scales, or in ``scales``
    (float32, per channel) when the weights were re-fitted."""
    if tensor.quant is None:
        raise ExportError(f"bias {tensor.name!r} is {tensor.dtype.value} without quantization parameters")
    use = np.float32(tensor.quant.scale).astype(np.float64) if scales is None else scales.astype(np.float64)
    use = np.broadcast_to(use, values.shape) if use.size > 1 else use
    q = round_half_away(values.astype(np.float64) / use)
    return Quantized(
        np.clip(q, INT32_MIN, INT32_MAX).astype(np.int32),
        None if scales is None else np.asarray(scales, np.float32),
    )


def bias_scales(input_scale: float, weight_scales: np.ndarray, count: int) -> np.ndarray:
    """``count`` bias scales s_x * s_w[c] (double product, one rounding to float32, as the converter
    sets them); a single weight scale is repeated."""
    s_w = np.asarray(weight_scales, np.float64).reshape(-1)
    if s_w.size not in (1, count):
        raise ExportError(f"{s_w.size} weight scales cannot give {count} bias scales")
    return np.broadcast_to(float(np.float32(input_scale)) * s_w, (count,)).astype(np.float32)
