"""Compute and scratch cost of one kernel call, from its resolved attributes alone.

MACs count multiply-accumulates for convolutions and matrix products (nominal: window positions
that fall in the padding are counted too). The other kernels get MAC-equivalents, one per element
operation, so the planner has a time proxy for them: pools one per window element, elementwise
kernels one per element, a gradient sum one per addition, optimizers 1 (SGD), 2 (momentum) or
4 (Adam) per updated element plus one for weight decay.

Workspace: every kernel of the portable runtime works in its inputs and output buffers alone, so
all scratch sizes are 0. This function is the single place that changes when a kernel needs scratch;
the C kernel's ``_scratch_size()`` companion must return the same number.
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
        C.GRAD_SUM: _grad_sum,
        C.SGD_UPDATE: _update(1),
        C.MOMENTUM_UPDATE: _update(2),
        C.ADAM_UPDATE: _update(4),
    }
)


def macs(compute: Compute, attrs: Attrs) -> int:
    return int(MACS[compute](attrs))


def workspace_bytes(compute: Compute, attrs: Attrs) -> int:
    """Scratch bytes the kernel needs (0 for every portable kernel; see the module docstring)."""
    return 0
