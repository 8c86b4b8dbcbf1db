"""The kernels of an int8 training graph, one per :class:`edgesdk.train.Compute` it can contain.

- forward: :mod:`edgesdk.reference.int8` (TFLite Micro's integers) with ``attrs["params"]``;
- backward: float32 in the C runtime's summation order (:mod:`edgesdk.reference.ordered`); an
  ``_int8`` kernel first dequantizes the int8 buffer it reads, element by element,
  ``x = scale * (float)(q - zero_point)`` in float32 (one correctly rounded product: the C's bits),
  weights with one scale per output channel;
- updates: QAS steps (:mod:`edgesdk.quant.qas`, bit-exact with ``es_qas_*``), from a gradient
  buffer or fused with the gradient computation (same bits: the fused kernels compute the same
  per-element sums and update the elements in the same order, so the random draws are the same).

Kernel signature: ``kernel(attrs, *inputs)`` in the node's input order; forward, backward and loss
kernels return their output (losses ``(gradient, loss)``); updates change the parameter, master
copy and xorshift32 state arrays in place and return nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

import numpy as np

from edgesdk import ir
from edgesdk.quant import qas
from edgesdk.quant.fixedpoint import INT32_MAX, INT32_MIN, round_half_away_f32
from edgesdk.quant.params import QuantizeInt8Params
from edgesdk.quant.qas import BIAS_RANGE, WEIGHT_RANGE, QasSpan
from edgesdk.reference import int8 as q8
from edgesdk.reference import kernels as fp
from edgesdk.reference import ordered
from edgesdk.train.graph import Compute

Attrs = Mapping[str, Any]
F32 = np.float32
C = Compute


# ---------------------------------------------------------------- dequantization


def dequantize(q: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    """``scale * (q - zero_point)`` in float32 (the difference is exact, one rounding)."""
    return F32(scale) * (np.asarray(q, np.int64) - int(zero_point)).astype(F32)


def dequantize_weights(q: np.ndarray, scales, zero_point: int, axis: int) -> np.ndarray:
    shape = [1] * q.ndim
    shape[axis] = -1
    return np.asarray(scales, F32).reshape(shape) * (np.asarray(q, np.int64) - int(zero_point)).astype(F32)


def _x(attrs: Attrs, q: np.ndarray) -> np.ndarray:
    return dequantize(q, attrs["x_scale"], attrs["x_zero_point"])


def _y(attrs: Attrs, q: np.ndarray) -> np.ndarray:
    return dequantize(q, attrs["y_scale"], attrs["y_zero_point"])


def _w(attrs: Attrs, q: np.ndarray, axis: int) -> np.ndarray:
    return dequantize_weights(q, attrs["w_scale"], attrs["w_zero_point"], axis)


# ---------------------------------------------------------------- forward


def _view(attrs: Attrs, x: np.ndarray) -> np.ndarray:
    """An input buffer in the shape the kernel reads (a folded RESHAPE leaves the producer's)."""
    if "x_shape" in attrs:
        return x.reshape(attrs["x_shape"])
    if "rows" in attrs:
        return x.reshape(attrs["rows"], attrs["classes"])
    return x


def _layer(kernel: Callable[..., np.ndarray]) -> Callable[..., np.ndarray]:
    def run(attrs: Attrs, x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None) -> np.ndarray:
        return kernel(_view(attrs, x), w, b, attrs["params"])

    return run


def _unary(kernel: Callable[..., np.ndarray]) -> Callable[..., np.ndarray]:
    def run(attrs: Attrs, x: np.ndarray) -> np.ndarray:
        return kernel(_view(attrs, x), attrs["params"])

    return run


def conv_depthwise_int8_fwd(attrs: Attrs, x: np.ndarray, *parameters: np.ndarray) -> np.ndarray:
    """The fused convolution -> depthwise convolution: by definition the two int8 kernels in
    sequence (the C computes the middle tensor one channel's rows at a time, same integers)."""
    conv, depthwise = attrs["conv"], attrs["depthwise"]
    split = 2 if conv["has_bias"] else 1
    middle = _layer(q8.conv2d)(conv, x, *parameters[:split])
    return _layer(q8.depthwise_conv2d)(depthwise, middle, *parameters[split:])


def _add(attrs: Attrs, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return q8.add(a.reshape(attrs["a_shape"]), b.reshape(attrs["b_shape"]), attrs["params"])


def _concat(attrs: Attrs, *xs: np.ndarray) -> np.ndarray:
    parts = [x.reshape(shape) for x, shape in zip(xs, attrs["in_shapes"], strict=True)]
    return q8.concatenation(parts, attrs["params"])


# ---------------------------------------------------------------- loss


def loss_softmax_xent_int8(attrs: Attrs, logits: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, float]:
    """z = s * (q - zp) (then * beta when beta != 1), the C's cross-entropy, gradient * beta."""
    z = dequantize(logits, attrs["scale"], attrs["zero_point"]).reshape(attrs["rows"], attrs["classes"])
    beta = float(attrs["beta"])
    return ordered.softmax_xent(z * F32(beta) if beta != 1.0 else z, labels, beta)


def loss_mse_int8(attrs: Attrs, y: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, float]:
    return ordered.mse(dequantize(y, attrs["scale"], attrs["zero_point"]), target)


# ---------------------------------------------------------------- backward reading int8


def act_bwd_int8(attrs: Attrs, y: np.ndarray, dy: np.ndarray) -> np.ndarray:
    """The gradient passes where the int8 output lies strictly inside the fused activation's clamp
    bounds ``(act_min, act_max)`` (quantized domain)."""
    q = np.asarray(y, np.int64)
    inside = (q > attrs["act_min"]) & (q < attrs["act_max"])
    return np.where(inside.reshape(np.shape(dy)), np.asarray(dy, F32), F32(0))


def mean_act_bwd_int8(attrs: Attrs, y: np.ndarray, dy: np.ndarray) -> np.ndarray:
    """The fused MEAN + int8 activation backward: by definition MEAN's backward then
    :func:`act_bwd_int8` (the C computes each element's share and mask without the broadcast)."""
    broadcast = fp.mean_bwd(attrs["mean"], dy).reshape(np.shape(y))
    return act_bwd_int8(attrs["act"], y, broadcast)


def conv_2d_bwd_in_int8(attrs: Attrs, dz: np.ndarray, w: np.ndarray) -> np.ndarray:
    return ordered.conv_2d_bwd_in(attrs, dz, _w(attrs, w, 0))


def conv_2d_bwd_w_int8(attrs: Attrs, dz: np.ndarray, x: np.ndarray) -> np.ndarray:
    return ordered.conv_2d_bwd_w(attrs, dz, _x(attrs, x))


def depthwise_conv_2d_bwd_in_int8(attrs: Attrs, dz: np.ndarray, w: np.ndarray) -> np.ndarray:
    return ordered.depthwise_conv_2d_bwd_in(attrs, dz, _w(attrs, w, 3))


def depthwise_conv_2d_bwd_w_int8(attrs: Attrs, dz: np.ndarray, x: np.ndarray) -> np.ndarray:
    return ordered.depthwise_conv_2d_bwd_w(attrs, dz, _x(attrs, x))


def fully_connected_bwd_in_int8(attrs: Attrs, dz: np.ndarray, w: np.ndarray) -> np.ndarray:
    return ordered.fully_connected_bwd_in(attrs, dz, _w(attrs, w, 0))


def fully_connected_bwd_w_int8(attrs: Attrs, dz: np.ndarray, x: np.ndarray) -> np.ndarray:
    return ordered.fully_connected_bwd_w(attrs, dz, _x(attrs, x))


def logistic_bwd_int8(attrs: Attrs, y: np.ndarray, dy: np.ndarray) -> np.ndarray:
    return fp.logistic_bwd(attrs, _y(attrs, y), dy)


def softmax_bwd_int8(attrs: Attrs, y: np.ndarray, dy: np.ndarray) -> np.ndarray:
    return ordered.softmax_bwd(attrs, _y(attrs, y), dy)


# ---------------------------------------------------------------- QAS updates


def _state(attrs: Attrs, state: tuple[np.ndarray, ...]) -> tuple[np.ndarray | None, np.ndarray | None]:
    """(master copy, xorshift32 state) among an update's trailing inputs."""
    rest = list(state)
    master = rest.pop(0) if attrs["master"] else None
    rng = rest.pop(0) if attrs["rounding"].value == "stochastic" else None
    return master, rng


def _span_index(span: QasSpan, stride: int) -> np.ndarray:
    return (np.arange(span.rows)[:, None] * stride + np.arange(span.cols)[None, :]).reshape(-1)


def apply_qas(attrs: Attrs, param: np.ndarray, grad: np.ndarray, *state: np.ndarray) -> None:
    """The QAS step of ``grad`` (compact, the trainable channels) applied to ``param`` in place.

    Without a master copy: :func:`edgesdk.quant.qas.qas_update` (``q -= round(d)``). With one
    (float32, integer units, laid out like the gradient): ``m -= d``, then ``q = saturate(roundf(m))``
    for the span's elements, with ``d = (grad * factor[channel]) * lr`` as in the plain update."""
    master, rng = _state(attrs, state)
    span: QasSpan = attrs["span"]
    factor = np.asarray(attrs["factor"], F32)
    if master is None:
        seed = int(rng[0]) if rng is not None else None
        updated, seed = qas.qas_update(param, grad, factor, attrs["lr"], span, attrs["rounding"].value, seed)
        param[...] = updated
        if rng is not None:
            rng[0] = np.uint32(seed)
        return
    grad_index = _span_index(span, span.grad_stride)
    channel = np.tile(np.arange(span.cols) // span.per_channel, span.rows)
    g = np.asarray(grad, F32).reshape(-1)[grad_index]
    d = (g * factor[channel]).astype(F32) * F32(attrs["lr"])
    flat_master = master.reshape(-1)
    flat_master[grad_index] = flat_master[grad_index] - d
    low, high = WEIGHT_RANGE if param.dtype == np.int8 else BIAS_RANGE
    rounded = round_half_away_f32(flat_master[grad_index]).astype(np.float64)
    rounded = np.clip(np.nan_to_num(rounded, nan=0.0), INT32_MIN, INT32_MAX)
    flat_param = param.reshape(-1)
    flat_param[_span_index(span, span.param_stride)] = np.clip(rounded.astype(np.int64), low, high)


def qas_update(
    attrs: Attrs, param: np.ndarray, grad: np.ndarray, *state: np.ndarray, step: int = 1
) -> None:
    apply_qas(attrs, param, grad, *state)


def _fused(gradient: Callable[..., np.ndarray]) -> Callable[..., None]:
    def run(attrs: Attrs, param: np.ndarray, dz: np.ndarray, x: np.ndarray, *state: np.ndarray,
            step: int = 1) -> None:
        apply_qas(attrs, param, gradient(attrs, dz, x), *state)

    return run


def bias_bwd_qas(attrs: Attrs, param: np.ndarray, dz: np.ndarray, *state: np.ndarray, step: int = 1) -> None:
    apply_qas(attrs, param, ordered.bias_bwd(attrs, dz), *state)


KERNELS: Mapping[Compute, Callable[..., Any]] = MappingProxyType(
    {
        # forward
        C.CONV_2D_INT8_FWD: _layer(q8.conv2d),
        C.DEPTHWISE_CONV_2D_INT8_FWD: _layer(q8.depthwise_conv2d),
        C.CONV_DEPTHWISE_INT8_FWD: conv_depthwise_int8_fwd,
        C.FULLY_CONNECTED_INT8_FWD: _layer(q8.fully_connected),
        C.ADD_INT8_FWD: _add,
        C.LOGISTIC_INT8_FWD: _unary(q8.logistic_int8),
        C.SOFTMAX_INT8_FWD: _unary(q8.softmax),
        C.AVERAGE_POOL_2D_INT8_FWD: _unary(q8.average_pool2d),
        C.MAX_POOL_2D_INT8_FWD: _unary(q8.max_pool2d),
        C.MEAN_INT8_FWD: _unary(q8.mean),
        C.PAD_INT8_FWD: _unary(q8.pad),
        C.CONCATENATION_INT8_FWD: _concat,
        C.QUANTIZE_INT8_FWD: _unary(q8.quantize),
        C.REQUANTIZE_INT8_FWD: _unary(q8.requantize),
        C.DEQUANTIZE_INT8_FWD: _unary(q8.dequantize),
        # loss
        C.LOSS_SOFTMAX_XENT_INT8: loss_softmax_xent_int8,
        C.LOSS_MSE_INT8: loss_mse_int8,
        C.LOSS_SOFTMAX_XENT: ordered.loss_softmax_xent,
        C.LOSS_MSE: ordered.loss_mse,
        # backward reading int8
        C.ACT_BWD_INT8: act_bwd_int8,
        C.MEAN_ACT_BWD_INT8: mean_act_bwd_int8,
        C.CONV_2D_BWD_IN_INT8: conv_2d_bwd_in_int8,
        C.CONV_2D_BWD_W_INT8: conv_2d_bwd_w_int8,
        C.DEPTHWISE_CONV_2D_BWD_IN_INT8: depthwise_conv_2d_bwd_in_int8,
        C.DEPTHWISE_CONV_2D_BWD_W_INT8: depthwise_conv_2d_bwd_w_int8,
        C.FULLY_CONNECTED_BWD_IN_INT8: fully_connected_bwd_in_int8,
        C.FULLY_CONNECTED_BWD_W_INT8: fully_connected_bwd_w_int8,
        C.LOGISTIC_BWD_INT8: logistic_bwd_int8,
        C.SOFTMAX_BWD_INT8: softmax_bwd_int8,
        C.MAX_POOL_2D_BWD_INT8: ordered.max_pool_2d_bwd,
        # float backward, in the C's order
        C.ACT_BWD: fp.act_bwd,
        C.CONV_2D_BWD_B: ordered.bias_bwd,
        C.DEPTHWISE_CONV_2D_BWD_B: ordered.bias_bwd,
        C.FULLY_CONNECTED_BWD_B: ordered.bias_bwd,
        C.LOGISTIC_BWD: fp.logistic_bwd,
        C.SOFTMAX_BWD: ordered.softmax_bwd,
        C.AVERAGE_POOL_2D_BWD: fp.average_pool_2d_bwd,  # per element: kh, kw terms dz / count
        C.MAX_POOL_2D_BWD: ordered.max_pool_2d_bwd,
        C.MEAN_BWD: fp.mean_bwd,
        C.MEAN_ACT_BWD: fp.mean_act_bwd,
        C.PAD_BWD: fp.pad_bwd,
        C.CONCATENATION_BWD: fp.concatenation_bwd,
        C.GRAD_SUM: fp.grad_sum,
        # updates
        C.QAS_UPDATE_INT8: qas_update,
        C.QAS_UPDATE_INT32: qas_update,
        C.CONV_2D_BWD_W_QAS: _fused(conv_2d_bwd_w_int8),
        C.DEPTHWISE_CONV_2D_BWD_W_QAS: _fused(depthwise_conv_2d_bwd_w_int8),
        C.FULLY_CONNECTED_BWD_W_QAS: _fused(fully_connected_bwd_w_int8),
        C.BIAS_BWD_QAS: bias_bwd_qas,
    }
)


def quantize_input(x: np.ndarray, tensor: ir.Tensor) -> np.ndarray:
    """A real-valued batch as the int8 model input (TFLite's QUANTIZE: roundf(x / s) + zp)."""
    assert tensor.quant is not None
    params = QuantizeInt8Params(float(np.float32(tensor.quant.scale[0])), int(tensor.quant.zero_point[0]))
    return q8.quantize(np.asarray(x, F32), params)
