"""gemmlowp's fixed-point transcendental functions, as TFLite's int8 SOFTMAX and LOGISTIC use them.

A value in format Q(m) is a raw int32 r meaning r / 2^(31 - m) (m integer bits besides the sign).
Products of two fixed-point values are :func:`saturating_rounding_doubling_high_mul` of the raws
(formats add up); additions are plain int32 additions (wrapping). The constants are the raw
int32 encodings of the named real numbers, as published with gemmlowp's algorithms:

- exp on [-1/4, 0): a 4th-order Taylor expansion around -1/8,
  exp(-1/8) = 1895147668 / 2^31, 1/3 = 715827883 / 2^31;
- exp on negative values: the argument split as (a mod 1/4) - 1/4 plus a sum of powers of two
  2^k (k = -2 .. 4), each applied as a multiplication by exp(-2^k):
  1672461947, 1302514674, 790015084, 290630308, 39332535, 720401, 242 (all / 2^31);
- 1 / (1 + x) on [0, 1): three Newton-Raphson steps from 48/17 - 32/17 * d (Q2 constants
  1515870810 and -1010580540), d = (1 + x) / 2.
"""

from __future__ import annotations

import numpy as np

from edgesdk.quant.fixedpoint import (
    INT32_MAX,
    as_int64,
    rounding_divide_by_pot,
    saturating_left_shift,
    saturating_rounding_doubling_high_mul,
    wrap_int32,
)

_srdhm = saturating_rounding_doubling_high_mul

_EXP_MINUS_ONE_EIGHTH = 1895147668
_ONE_THIRD = 715827883
_EXP_OF_MINUS_POWERS = ((-2, 1672461947), (-1, 1302514674), (0, 790015084), (1, 290630308),
                        (2, 39332535), (3, 720401), (4, 242))
_FORTY_EIGHT_SEVENTEENTHS_Q2 = 1515870810
_MINUS_THIRTY_TWO_SEVENTEENTHS_Q2 = -1010580540


def _add(a, b) -> np.ndarray:
    return wrap_int32(as_int64(a) + as_int64(b))


def rescale(raw, from_bits: int, to_bits: int) -> np.ndarray:
    """Change the format Q(from_bits) -> Q(to_bits): saturating left or rounding right shift."""
    exponent = from_bits - to_bits
    if exponent > 0:
        return saturating_left_shift(raw, exponent)
    if exponent < 0:
        return rounding_divide_by_pot(raw, -exponent)
    return as_int64(raw)


def exp_on_interval_minus_quarter_to_zero(a) -> np.ndarray:
    """exp(a) for a in [-1/4, 0), a and the result in Q0."""
    x = _add(a, 1 << 28)  # a + 1/8
    x2 = _srdhm(x, x)
    x3 = _srdhm(x2, x)
    x4 = _srdhm(x2, x2)
    x4_over_4 = rounding_divide_by_pot(x4, 2)
    poly = rounding_divide_by_pot(_add(_srdhm(_add(x4_over_4, x3), _ONE_THIRD), x2), 1)
    return _add(_EXP_MINUS_ONE_EIGHTH, _srdhm(_EXP_MINUS_ONE_EIGHTH, _add(x, poly)))


def exp_on_negative_values(a, integer_bits: int) -> np.ndarray:
    """exp(a) for a <= 0 given in Q(integer_bits); the result in Q0 (exp(0) = 2^31 - 1)."""
    a = as_int64(a)
    fractional_bits = 31 - integer_bits
    one_quarter = 1 << (fractional_bits - 2)
    a_mod_quarter_minus_quarter = _add(a & (one_quarter - 1), -one_quarter)
    result = exp_on_interval_minus_quarter_to_zero(rescale(a_mod_quarter_minus_quarter, integer_bits, 0))
    remainder = _add(a_mod_quarter_minus_quarter, -a)
    for exponent, multiplier in _EXP_OF_MINUS_POWERS:
        if integer_bits > exponent:
            bit = 1 << (fractional_bits + exponent)
            result = np.where((remainder & bit) != 0, _srdhm(result, multiplier), result)
    if integer_bits > 5:
        result = np.where(a < -(1 << (36 - integer_bits)), 0, result)
    return np.where(a == 0, INT32_MAX, result)


def one_over_one_plus_x_for_x_in_0_1(a) -> np.ndarray:
    """1 / (1 + a) for a in [0, 1), both in Q0."""
    a = as_int64(a)
    total = a + INT32_MAX
    half_denominator = np.where(total >= 0, (total + 1) // 2, -((-(total - 1)) // 2))
    x = _add(_FORTY_EIGHT_SEVENTEENTHS_Q2, _srdhm(half_denominator, _MINUS_THIRTY_TWO_SEVENTEENTHS_Q2))
    one_q2 = 1 << 29  # 1.0 in Q2
    for _ in range(3):
        half_denominator_times_x = _srdhm(half_denominator, x)
        one_minus = _add(one_q2, -half_denominator_times_x)
        x = _add(x, rescale(_srdhm(x, one_minus), 4, 2))
    return rescale(x, 1, 0)  # x / 2 read as Q1, then to Q0


def logistic(a, integer_bits: int) -> np.ndarray:
    """1 / (1 + exp(-a)) for a in Q(integer_bits); the result in Q0."""
    a = as_int64(a)
    positive = a > 0
    magnitude = np.where(positive, a, wrap_int32(-a))
    exp_minus = exp_on_negative_values(wrap_int32(-magnitude), integer_bits)
    if_positive = one_over_one_plus_x_for_x_in_0_1(exp_minus)
    if_negative = _add(INT32_MAX, -if_positive)
    return np.where(a == 0, 1 << 30, np.where(positive, if_positive, if_negative))


def count_leading_zeros32(x) -> np.ndarray:
    """Leading zero bits of x read as uint32 (32 for 0)."""
    value = as_int64(x) & 0xFFFFFFFF
    zeros = np.zeros_like(value)
    for shift in (16, 8, 4, 2, 1):
        top_clear = value < (np.int64(1) << (32 - shift))
        zeros = np.where(top_clear, zeros + shift, zeros)
        value = np.where(top_clear, value << shift, value)
    return np.where((as_int64(x) & 0xFFFFFFFF) == 0, 32, zeros)


def reciprocal(x, integer_bits: int) -> tuple[np.ndarray, np.ndarray]:
    """TFLite's GetReciprocal: (1/x scaled to Q0, num_bits_over_unit) for x > 0 in Q(integer_bits)."""
    x = as_int64(x)
    headroom_plus_one = count_leading_zeros32(x)
    bits_over_unit = integer_bits - headroom_plus_one
    shifted_minus_one = wrap_int32(((x & 0xFFFFFFFF) << headroom_plus_one) - (1 << 31))
    return one_over_one_plus_x_for_x_in_0_1(shifted_minus_one), bits_over_unit
