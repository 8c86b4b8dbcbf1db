"""int8 quantization arithmetic shared by the reference kernels, code generation and training.

- :mod:`edgesdk.quant.fixedpoint`: TFLite's fixed-point primitives (multiplier quantization,
  rounding doubling high multiply, rounding divide by a power of two).
- :mod:`edgesdk.quant.fixedmath`: gemmlowp's exp, 1/(1+x) and logistic in fixed point.
- :mod:`edgesdk.quant.params` / :mod:`edgesdk.quant.prepare`: every constant of an int8 op,
  computed from the IR as TFLite Micro's Prepare does (``prepare_op(graph, op)``).
- :mod:`edgesdk.quant.qas`: quantization-aware-scaled updates of int8 weights / int32 biases.
"""

from edgesdk.quant.fixedpoint import multiply_by_quantized_multiplier, quantize_multiplier
from edgesdk.quant.prepare import activation_range, prepare_op

__all__ = ["activation_range", "multiply_by_quantized_multiplier", "prepare_op", "quantize_multiplier"]
