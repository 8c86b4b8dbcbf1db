"""Fixed-point primitives of TFLite's integer kernels (gemmlowp semantics), vectorized over numpy.

Every function takes Python ints or numpy integer arrays holding int32 values and returns int64
numpy arrays (or Python ints for the scalar helpers) holding int32 values. Where TFLite's C++
relies on two's-complement wrap-around (int32 overflow in a left shift or a sum), the result here
wraps the same way (:func:`wrap_int32`), so the integers equal what TFLite Micro computes on any
two's-complement machine.

Definitions (real numbers are implied by the fixed-point formats, all ints are int32):

- ``saturating_rounding_doubling_high_mul(a, b)`` = round-half-away(a * b / 2^31), with the one
  overflowing case a = b = -2^31 saturated to 2^31 - 1 (ARM's VQRDMULH).
- ``rounding_divide_by_pot(x, e)`` = x / 2^e rounded to nearest, ties away from zero, 0 <= e <= 31.
- ``multiply_by_quantized_multiplier(x, m, s)`` = x * m * 2^(s - 31), computed as TFLite's
  double-rounding path: a left shift by max(s, 0), the doubling high multiply, then a rounding
  right shift by max(-s, 0).
- ``quantize_multiplier(real)`` = (m, s) with real ~= m * 2^(s - 31), m in [2^30, 2^31): frexp of the
  double, mantissa rounded half away from zero to 31 bits (TFLite's QuantizeMultiplier).
"""

from __future__ import annotations

import math

import numpy as np

INT32_MIN = -(2**31)
INT32_MAX = 2**31 - 1
_TWO_31 = 2**31

IntArray = np.ndarray


def as_int64(x) -> IntArray:
    return np.asarray(x, dtype=np.int64)


def wrap_int32(x) -> IntArray:
    """Two's-complement wrap of int64 values into the int32 range (what an int32 overflow gives)."""
    x = as_int64(x)
    return ((x + _TWO_31) & 0xFFFFFFFF) - _TWO_31


def saturating_rounding_doubling_high_mul(a, b) -> IntArray:
    a, b = as_int64(a), as_int64(b)
    overflow = (a == b) & (a == INT32_MIN)
    product = a * b  # |a * b| <= 2^62: exact in int64
    nudged = product + np.where(product >= 0, 1 << 30, 1 - (1 << 30))
    # C's division truncates toward zero; >> floors, so divide the magnitude.
    quotient = np.where(nudged >= 0, nudged >> 31, -((-nudged) >> 31))
    return np.where(overflow, INT32_MAX, quotient)


def rounding_divide_by_pot(x, exponent) -> IntArray:
    x, exponent = as_int64(x), as_int64(exponent)
    if np.any((exponent < 0) | (exponent > 31)):
        raise ValueError("rounding_divide_by_pot needs 0 <= exponent <= 31")
    mask = (np.int64(1) << exponent) - 1
    remainder = x & mask
    threshold = (mask >> 1) + (x < 0)
    return (x >> exponent) + (remainder > threshold)


def saturating_left_shift(x, exponent: int) -> IntArray:
    """gemmlowp's SaturatingRoundingMultiplyByPOT for a positive exponent (a saturating x * 2^e)."""
    x = as_int64(x)
    threshold = (1 << (31 - exponent)) - 1
    shifted = wrap_int32(x << exponent)
    return np.where(x > threshold, INT32_MAX, np.where(x < -threshold, INT32_MIN, shifted))


def multiply_by_quantized_multiplier(x, multiplier, shift) -> IntArray:
    x, multiplier, shift = as_int64(x), as_int64(multiplier), as_int64(shift)
    left = np.maximum(shift, 0)
    right = np.maximum(-shift, 0)
    shifted = wrap_int32(x << left)  # x * (1 << left) in int32, wrapping like the C++
    return rounding_divide_by_pot(saturating_rounding_doubling_high_mul(shifted, multiplier), right)


def round_half_away(value: float) -> float:
    """std::round of a double: nearest integer, ties away from zero."""
    magnitude = math.floor(abs(value) + 0.5)
    if magnitude - 0.5 > abs(value):  # abs(value) + 0.5 rounded up across an integer
        magnitude -= 1
    return math.copysign(magnitude, value)


def round_half_away_f32(values) -> np.ndarray:
    """roundf over float32 values, in float32 (nearest, ties away from zero)."""
    values = np.asarray(values, dtype=np.float32)
    whole = np.trunc(values)
    with np.errstate(invalid="ignore"):  # inf - inf: NaN, never used (the step is 0 then)
        fraction = np.where(np.isfinite(values), values - whole, np.float32(0))
    up = (fraction >= np.float32(0.5)).astype(np.float32)
    down = (fraction <= np.float32(-0.5)).astype(np.float32)
    step = up - down
    return (whole + step).astype(np.float32)


def quantize_multiplier(real: float) -> tuple[int, int]:
    """TFLite's QuantizeMultiplier: (multiplier, shift) with real ~= multiplier * 2^(shift - 31)."""
    real = float(real)
    if real == 0.0:
        return 0, 0
    if not math.isfinite(real) or real < 0:
        raise ValueError(f"cannot quantize the multiplier {real!r}")
    mantissa, shift = math.frexp(real)
    fixed = int(round_half_away(mantissa * _TWO_31))
    if fixed == _TWO_31:
        fixed //= 2
        shift += 1
    if shift < -31:
        return 0, 0
    return fixed, shift


def to_f32(value: float) -> float:
    """A scale as TFLite stores it (float32), back as a Python float."""
    return float(np.float32(value))
