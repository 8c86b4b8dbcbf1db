"""Compute and scratch cost of one kernel call, from its resolved attributes alone.

MACs count multiply-accumulates for convolutions and matrix products (nominal: window positions
that fall in the padding are counted too). The other kernels get MAC-equivalents, one per element
operation, so the planner has a time proxy for them: pools one per window element, elementwise
kernels one per element, a gradient sum one per addition, optimizers 1 (SGD), 2 (momentum) or
4 (Adam) per updated element plus one for weight decay.

Workspace: every kernel of the portable runtime works in its inputs and output buffers alone, so
all scratch sizes are 0 -- except the fused int8 gradient + QAS update kernels, which hold one chunk
of the parameter gradient (one row of the update span, see docs/int8-training.md) in float32
scratch, and the fused convolution -> depthwise convolution, which holds a ring of the
convolution's output rows of one channel (int8). :func:`workspace_bytes` is the single place that
changes when a kernel needs scratch; the C kernel's ``_scratch_size()`` companion must return the
same number.

int8 kernels cost what their fp32 twins cost (requantization is not counted separately); a QAS
update costs 1 per updated element, 2 with a master copy or stochastic rounding; a fused update
the gradient's MACs plus the update's. A fused node of :mod:`edgesdk.train.fuse` costs the sum of
the two nodes it replaces.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from edgesdk.train.geometry import size_of
from edgesdk.train.graph import Compute

C = Compute
Attrs = Mapping[str, Any]


def _conv(attrs: Attrs) -> int:
    n, oh, ow, o = attrs["y_shape"]
    _, kh, kw, c = attrs["w_shape"]
    return n * oh * ow * o * kh * kw * c


def _conv_w(attrs: Attrs) -> int:
    n, oh, ow, _ = attrs["y_shape"]
    _, kh, kw, c = attrs["w_shape"]
    return n * oh * ow * attrs["channels"] * kh * kw * c


def _depthwise(attrs: Attrs) -> int:
    n, oh, ow, cm = attrs["y_shape"]
    _, kh, kw, _ = attrs["w_shape"]
    return n * oh * ow * cm * kh * kw


def _depthwise_w(attrs: Attrs) -> int:
    n, oh, ow, _ = attrs["y_shape"]
    _, kh, kw, _ = attrs["w_shape"]
    return n * oh * ow * attrs["channels"] * kh * kw


def _fc(attrs: Attrs) -> int:
    rows, in_features = attrs["x_shape"]
    return rows * in_features * attrs["w_shape"][0]


def _fc_w(attrs: Attrs) -> int:
    rows, in_features = attrs["x_shape"]
    return rows * in_features * attrs["channels"]


def _bias(attrs: Attrs) -> int:
    return size_of(attrs["y_shape"])


def _pool(attrs: Attrs) -> int:
    fh, fw = attrs["filter"]
    return size_of(attrs["y_shape"]) * fh * fw


def _y(attrs: Attrs) -> int:
    return size_of(attrs["y_shape"])


def _x(attrs: Attrs) -> int:
    return size_of(attrs["x_shape"])


def _size(attrs: Attrs) -> int:
    return int(attrs["size"])


def _softmax(attrs: Attrs) -> int:
    return int(attrs["rows"]) * int(attrs["classes"])


def _concat_bwd(attrs: Attrs) -> int:
    return size_of(attrs["in_shapes"][attrs["input"]])


def _grad_sum(attrs: Attrs) -> int:
    return int(attrs["size"]) * (int(attrs["count"]) - 1)


def _mean_act(attrs: Attrs) -> int:
    """A fused MEAN + activation backward: the pair's element operations."""
    return _x(attrs["mean"]) + _size(attrs["act"])


def _update(per_element: int) -> Callable[[Attrs], int]:
    def cost(attrs: Attrs) -> int:
        extra = 1 if attrs["weight_decay"] > 0 else 0
        return int(attrs["size"]) * (per_element + extra)

    return cost


MACS: Mapping[Compute, Callable[[Attrs], int]] = MappingProxyType(
    {
        C.CONV_2D_FWD: _conv,
        C.DEPTHWISE_CONV_2D_FWD: _depthwise,
        C.FULLY_CONNECTED_FWD: _fc,
        C.ADD_FWD: _y,
        C.LOGISTIC_FWD: _size,
        C.SOFTMAX_FWD: _softmax,
        C.AVERAGE_POOL_2D_FWD: _pool,
        C.MAX_POOL_2D_FWD: _pool,
        C.MEAN_FWD: _x,
        C.PAD_FWD: _y,
        C.CONCATENATION_FWD: _y,
        C.LOSS_SOFTMAX_XENT: _softmax,
        C.LOSS_MSE: _size,
        C.ACT_BWD: _size,
        C.CONV_2D_BWD_IN: _conv,
        C.CONV_2D_BWD_W: _conv_w,
        C.CONV_2D_BWD_B: _bias,
        C.DEPTHWISE_CONV_2D_BWD_IN: _depthwise,
        C.DEPTHWISE_CONV_2D_BWD_W: _depthwise_w,
        C.DEPTHWISE_CONV_2D_BWD_B: _bias,
        C.FULLY_CONNECTED_BWD_IN: _fc,
        C.FULLY_CONNECTED_BWD_W: _fc_w,
        C.FULLY_CONNECTED_BWD_B: _bias,
        C.LOGISTIC_BWD: _size,
        C.SOFTMAX_BWD: _softmax,
        C.AVERAGE_POOL_2D_BWD: _pool,
        C.MAX_POOL_2D_BWD: _pool,
        C.MEAN_BWD: _x,
        C.PAD_BWD: _x,
        C.CONCATENATION_BWD: _concat_bwd,
        C.MEAN_ACT_BWD: _mean_act,
        C.GRAD_SUM: _grad_sum,
        C.SGD_UPDATE: _update(1),
        C.MOMENTUM_UPDATE: _update(2),
        C.ADAM_UPDATE: _update(4),
    }
)


def _qas(attrs: Attrs) -> int:
    extra = 1 if attrs["master"] or attrs["rounding"].value == "stochastic" else 0
    return int(attrs["size"]) * (1 + extra)


def _fused(gradient: Callable[[Attrs], int]) -> Callable[[Attrs], int]:
    def cost(attrs: Attrs) -> int:
        return gradient(attrs) + _qas(attrs)

    return cost


def _conv_depthwise(attrs: Attrs) -> int:
    return _conv(attrs["conv"]) + _depthwise(attrs["depthwise"])


def _bias_fused(attrs: Attrs) -> int:
    return size_of(attrs["y_shape"]) // attrs["y_shape"][-1] * attrs["channels"] + _qas(attrs)


INT8_MACS: Mapping[Compute, Callable[[Attrs], int]] = MappingProxyType(
    {
        C.CONV_2D_INT8_FWD: _conv,
        C.DEPTHWISE_CONV_2D_INT8_FWD: _depthwise,
        C.FULLY_CONNECTED_INT8_FWD: _fc,
        C.ADD_INT8_FWD: _y,
        C.LOGISTIC_INT8_FWD: _size,
        C.SOFTMAX_INT8_FWD: _softmax,
        C.AVERAGE_POOL_2D_INT8_FWD: _pool,
        C.MAX_POOL_2D_INT8_FWD: _pool,
        C.MEAN_INT8_FWD: _x,
        C.PAD_INT8_FWD: _y,
        C.CONCATENATION_INT8_FWD: _y,
        C.QUANTIZE_INT8_FWD: _size,
        C.REQUANTIZE_INT8_FWD: _size,
        C.DEQUANTIZE_INT8_FWD: _size,
        C.LOSS_SOFTMAX_XENT_INT8: _softmax,
        C.LOSS_MSE_INT8: _size,
        C.ACT_BWD_INT8: _size,
        C.CONV_2D_BWD_IN_INT8: _conv,
        C.CONV_2D_BWD_W_INT8: _conv_w,
        C.DEPTHWISE_CONV_2D_BWD_IN_INT8: _depthwise,
        C.DEPTHWISE_CONV_2D_BWD_W_INT8: _depthwise_w,
        C.FULLY_CONNECTED_BWD_IN_INT8: _fc,
        C.FULLY_CONNECTED_BWD_W_INT8: _fc_w,
        C.LOGISTIC_BWD_INT8: _size,
        C.SOFTMAX_BWD_INT8: _softmax,
        C.MAX_POOL_2D_BWD_INT8: _pool,
        C.QAS_UPDATE_INT8: _qas,
        C.QAS_UPDATE_INT32: _qas,
        C.CONV_2D_BWD_W_QAS: _fused(_conv_w),
        C.DEPTHWISE_CONV_2D_BWD_W_QAS: _fused(_depthwise_w),
        C.FULLY_CONNECTED_BWD_W_QAS: _fused(_fc_w),
        C.BIAS_BWD_QAS: _bias_fused,
        C.CONV_DEPTHWISE_INT8_FWD: _conv_depthwise,
        C.MEAN_ACT_BWD_INT8: _mean_act,
    }
)

_FUSED_KERNELS = frozenset(
    {C.CONV_2D_BWD_W_QAS, C.DEPTHWISE_CONV_2D_BWD_W_QAS, C.FULLY_CONNECTED_BWD_W_QAS, C.BIAS_BWD_QAS}
)


def macs(compute: Compute, attrs: Attrs) -> int:
    table = MACS if compute in MACS else INT8_MACS
    return int(table[compute](attrs))


def workspace_bytes(compute: Compute, attrs: Attrs) -> int:
    """Scratch bytes the kernel needs: 0 for every portable kernel, one float32 chunk of the
    parameter gradient for a fused int8 update (see the module docstring)."""
    if compute in _FUSED_KERNELS:
        return 4 * chunk_elements(compute, attrs)
    if compute is C.CONV_DEPTHWISE_INT8_FWD:
        return ring_rows(attrs["depthwise"]) * int(attrs["depthwise"]["x_shape"][2])
    return 0


def ring_rows(depthwise: Attrs) -> int:
    """Rows of the convolution's output a depthwise output row reads: ``(KH - 1) * dilation_h + 1``
    (the ring of es_conv_depthwise_int8_fwd, one channel of ``W`` int8 values per row)."""
    return (int(depthwise["w_shape"][1]) - 1) * int(depthwise["dilation"][0]) + 1


def chunk_elements(compute: Compute, attrs: Attrs) -> int:
    """Elements of one chunk of a fused update: one row of its update span -- an (oc, kh, kw) row
    of IC conv weights, an FC output row of IN weights, one depthwise tap of the k trainable
    channels, or the k bias channels."""
    if compute is C.CONV_2D_BWD_W_QAS:
        return int(attrs["w_shape"][3])
    if compute is C.FULLY_CONNECTED_BWD_W_QAS:
        return int(attrs["w_shape"][1])
    return int(attrs["channels"])
