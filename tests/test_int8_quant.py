"""Closed-form facts of the fixed-point primitives and the refusals of int8 preparation."""

from __future__ import annotations

import numpy as np
import pytest
from edgesdk.errors import UnsupportedOpError
from edgesdk.ir import DType, Graph, Op, OpKind, Quant, Tensor
from edgesdk.quant.fixedpoint import (
    INT32_MAX,
    INT32_MIN,
    multiply_by_quantized_multiplier,
    quantize_multiplier,
    rounding_divide_by_pot,
    saturating_rounding_doubling_high_mul,
)
from edgesdk.quant.prepare import prepare_op


def test_quantize_multiplier_closed_forms():
    assert quantize_multiplier(1.0) == (1 << 30, 1)
    assert quantize_multiplier(0.5) == (1 << 30, 0)
    assert quantize_multiplier(0.75) == (3 << 29, 0)
    assert quantize_multiplier(0.0) == (0, 0)
    assert quantize_multiplier(2.0**-40) == (0, 0)  # flushed like TFLite below 2^-31
    assert quantize_multiplier(1.0 - 2.0**-40) == (1 << 30, 1)  # mantissa rounds up to 2^31


def test_rounding_primitives_round_half_away_from_zero():
    assert list(rounding_divide_by_pot(np.array([5, -5, 6, -6, 7, -7]), 1)) == [3, -3, 3, -3, 4, -4]
    assert int(saturating_rounding_doubling_high_mul(INT32_MIN, INT32_MIN)) == INT32_MAX
    assert int(saturating_rounding_doubling_high_mul(1 << 30, 1 << 30)) == 1 << 29
    x = np.arange(-1000, 1000)
    m, s = quantize_multiplier(0.3)
    got = multiply_by_quantized_multiplier(x, m, s)
    assert np.max(np.abs(got - x * 0.3)) <= 1.0  # two roundings (TFLite's double-rounding path)


def _softmax_graph(output_scale: float) -> Graph:
    x = Tensor(0, "x", (1, 10), DType.INT8, Quant([0.1], [0]))
    y = Tensor(1, "y", (1, 10), DType.INT8, Quant([output_scale], [-128]))
    return Graph("g", (x, y), (Op(0, OpKind.SOFTMAX, (0,), (1,), {"beta": 1.0}),), (0,), (1,))


def test_softmax_needs_the_fixed_output_quantization():
    assert prepare_op(_softmax_graph(1 / 256), _softmax_graph(1 / 256).ops[0]).input_left_shift > 0
    graph = _softmax_graph(0.01)
    with pytest.raises(UnsupportedOpError, match="1/256"):
        prepare_op(graph, graph.ops[0])


def test_float_activations_are_refused_with_advice():
    x = Tensor(0, "x", (1, 10), DType.FLOAT32)
    y = Tensor(1, "y", (1, 10), DType.INT8, Quant([1 / 256], [-128]))
    graph = Graph("g", (x, y), (Op(0, OpKind.SOFTMAX, (0,), (1,), {"beta": 1.0}),), (0,), (1,))
    with pytest.raises(UnsupportedOpError, match="fp32"):
        prepare_op(graph, graph.ops[0])
