"""numpy fp32 kernels, one per :class:`edgesdk.train.Compute`: the oracle the C kernels are held to.

Each kernel takes the node's ``attrs`` and its input arrays (in the node's input order) and returns
its output as float32; the executor reshapes it to the output value's shape. Inputs arrive in their
value's shape and are viewed as the kernel needs (FULLY_CONNECTED flattens to [rows, in], MEAN keeps
dims). Loss kernels return ``(gradient, loss)``. Update kernels change the parameter and state
arrays in place and return nothing. Everything is float32; convolutions accumulate one kernel tap at
a time (sum over taps of a matrix product over input channels), so a C kernel with another order
agrees to rounding, not bit for bit.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

import numpy as np

from edgesdk import ir
from edgesdk.train.graph import Compute

Attrs = Mapping[str, Any]
F32 = np.float32
C = Compute


def _f32(array: np.ndarray, shape: tuple[int, ...] | None = None) -> np.ndarray:
    out = np.asarray(array, dtype=F32)
    return out.reshape(shape) if shape is not None else out


def activate(z: np.ndarray, activation: ir.Activation) -> np.ndarray:
    if activation is ir.Activation.RELU:
        return np.maximum(z, F32(0))
    if activation is ir.Activation.RELU6:
        return np.minimum(np.maximum(z, F32(0)), F32(6))
    return z


# ---------------------------------------------------------------- window helpers


def _taps(attrs: Attrs):  # type: ignore[no-untyped-def]
    """(kernel row, kernel column, slice of the padded input it meets) for every tap."""
    _, oh, ow, _ = attrs["y_shape"]
    sh, sw = attrs["stride"]
    dh, dw = attrs.get("dilation", (1, 1))
    kh, kw = attrs["filter"] if "filter" in attrs else attrs["w_shape"][1:3]
    for i in range(kh):
        for j in range(kw):
            rows = slice(i * dh, i * dh + (oh - 1) * sh + 1, sh)
            cols = slice(j * dw, j * dw + (ow - 1) * sw + 1, sw)
            yield i, j, (slice(None), rows, cols, slice(None))


def _padded(x: np.ndarray, attrs: Attrs, value: float = 0.0) -> np.ndarray:
    top, bottom, left, right = attrs["pad"]
    n, h, w, c = x.shape
    _, oh, ow, _ = attrs["y_shape"]
    sh, sw = attrs["stride"]
    dh, dw = attrs.get("dilation", (1, 1))
    kh, kw = attrs["filter"] if "filter" in attrs else attrs["w_shape"][1:3]
    # rows/columns past what any window reads (VALID with leftovers) are not needed
    need_h = (oh - 1) * sh + (kh - 1) * dh + 1
    need_w = (ow - 1) * sw + (kw - 1) * dw + 1
    out = np.full((n, max(h + top + bottom, need_h), max(w + left + right, need_w), c), value, dtype=F32)
    out[:, top : top + h, left : left + w, :] = x
    return out


def _crop(padded: np.ndarray, attrs: Attrs) -> np.ndarray:
    top, _, left, _ = attrs["pad"]
    _, h, w, _ = attrs["x_shape"]
    return padded[:, top : top + h, left : left + w, :]


# ---------------------------------------------------------------- forward


def conv_2d_fwd(attrs: Attrs, x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None) -> np.ndarray:
    xp = _padded(_f32(x, attrs["x_shape"]), attrs)
    w = _f32(w)
    y = np.zeros(attrs["y_shape"], dtype=F32)
    for i, j, window in _taps(attrs):
        y += xp[window] @ w[:, i, j, :].T
    if b is not None:
        y += _f32(b)
    return activate(y, attrs["activation"])


def depthwise_conv_2d_fwd(
    attrs: Attrs, x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None
) -> np.ndarray:
    # output channel c*M + m reads input channel c
    xp = np.repeat(_padded(_f32(x, attrs["x_shape"]), attrs), attrs["depth_multiplier"], axis=3)
    w = _f32(w)
    y = np.zeros(attrs["y_shape"], dtype=F32)
    for i, j, window in _taps(attrs):
        y += xp[window] * w[0, i, j, :]
    if b is not None:
        y += _f32(b)
    return activate(y, attrs["activation"])


def fully_connected_fwd(
    attrs: Attrs, x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None
) -> np.ndarray:
    y = _f32(x, attrs["x_shape"]) @ _f32(w).T
    if b is not None:
        y += _f32(b)
    return activate(y, attrs["activation"])


def add_fwd(attrs: Attrs, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return activate(_f32(a, attrs["a_shape"]) + _f32(b, attrs["b_shape"]), attrs["activation"])


def logistic_fwd(attrs: Attrs, x: np.ndarray) -> np.ndarray:
    x = _f32(x)
    # 1 / (1 + exp(-x)) without overflow: exp of a non-positive number only
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, F32(1) / (F32(1) + e), e / (F32(1) + e)).astype(F32)


def _softmax_rows(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def softmax_fwd(attrs: Attrs, x: np.ndarray) -> np.ndarray:
    z = _f32(x, (attrs["rows"], attrs["classes"])) * F32(attrs["beta"])
    return _softmax_rows(z)


def _pool_counts(attrs: Attrs) -> np.ndarray:
    """In-bounds elements of every window (AVERAGE_POOL divides by these, as TFLite does)."""
    ones = _padded(np.ones((1, *attrs["x_shape"][1:3], 1), dtype=F32), attrs)
    counts = np.zeros((1, *attrs["y_shape"][1:3], 1), dtype=F32)
    for _, _, window in _taps(attrs):
        counts += ones[window]
    return counts


def average_pool_2d_fwd(attrs: Attrs, x: np.ndarray) -> np.ndarray:
    xp = _padded(_f32(x, attrs["x_shape"]), attrs)
    total = np.zeros(attrs["y_shape"], dtype=F32)
    for _, _, window in _taps(attrs):
        total += xp[window]
    return activate(total / _pool_counts(attrs), attrs["activation"])


def _max_windows(attrs: Attrs, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    xp = _padded(_f32(x, attrs["x_shape"]), attrs, value=-np.inf)
    best = np.full(attrs["y_shape"], -np.inf, dtype=F32)
    for _, _, window in _taps(attrs):
        best = np.maximum(best, xp[window])
    return xp, best


def max_pool_2d_fwd(attrs: Attrs, x: np.ndarray) -> np.ndarray:
    return activate(_max_windows(attrs, x)[1], attrs["activation"])


def mean_fwd(attrs: Attrs, x: np.ndarray) -> np.ndarray:
    x = _f32(x, attrs["x_shape"])
    return (x.sum(axis=attrs["axes"], keepdims=True, dtype=F32) / F32(attrs["count"])).astype(F32)


def pad_fwd(attrs: Attrs, x: np.ndarray) -> np.ndarray:
    return np.pad(_f32(x, attrs["x_shape"]), attrs["paddings"])


def concatenation_fwd(attrs: Attrs, *xs: np.ndarray) -> np.ndarray:
    parts = [_f32(x, shape) for x, shape in zip(xs, attrs["in_shapes"], strict=True)]
    return activate(np.concatenate(parts, axis=attrs["axis"]), attrs["activation"])


# ---------------------------------------------------------------- loss


def loss_softmax_xent(attrs: Attrs, logits: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, float]:
    rows, classes, beta = attrs["rows"], attrs["classes"], F32(attrs["beta"])
    z = _f32(logits, (rows, classes)) * beta
    labels = np.asarray(labels).reshape(rows).astype(np.int64)
    if labels.min(initial=0) < 0 or labels.max(initial=0) >= classes:
        raise ValueError(f"labels must lie in [0, {classes}), got {labels}")
    shifted = z - z.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    total = e.sum(axis=1, keepdims=True)
    picked = shifted[np.arange(rows), labels]
    loss = float(np.mean(np.log(total[:, 0]) - picked, dtype=F32))
    grad = e / total
    grad[np.arange(rows), labels] -= F32(1)
    return (grad * (beta / F32(rows))).astype(F32), loss


def loss_mse(attrs: Attrs, y: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, float]:
    diff = _f32(y) - _f32(target, np.shape(y))
    size = F32(attrs["size"])
    loss = float(np.sum(diff * diff, dtype=F32) / size)
    return (diff * (F32(2) / size)).astype(F32), loss


# ---------------------------------------------------------------- backward


def act_bwd(attrs: Attrs, y: np.ndarray, dy: np.ndarray) -> np.ndarray:
    y, dy = _f32(y), _f32(dy)
    activation = attrs["activation"]
    if activation is ir.Activation.RELU:
        return np.where(y > 0, dy, F32(0))
    if activation is ir.Activation.RELU6:
        return np.where((y > 0) & (y < 6), dy, F32(0))
    return dy


def conv_2d_bwd_in(attrs: Attrs, dz: np.ndarray, w: np.ndarray) -> np.ndarray:
    dz, w = _f32(dz, attrs["y_shape"]), _f32(w)
    n, h, wd, c = attrs["x_shape"]
    dxp = _padded(np.zeros((n, h, wd, c), dtype=F32), attrs)
    for i, j, window in _taps(attrs):
        dxp[window] += dz @ w[:, i, j, :]
    return _crop(dxp, attrs)


def conv_2d_bwd_w(attrs: Attrs, dz: np.ndarray, x: np.ndarray) -> np.ndarray:
    k = attrs["channels"]
    dz = _f32(dz, attrs["y_shape"])[..., :k].reshape(-1, k)
    xp = _padded(_f32(x, attrs["x_shape"]), attrs)
    o, kh, kw, c = attrs["w_shape"]
    dw = np.zeros((k, kh, kw, c), dtype=F32)
    for i, j, window in _taps(attrs):
        dw[:, i, j, :] = dz.T @ xp[window].reshape(-1, c)
    return dw


def _bias_bwd(attrs: Attrs, dz: np.ndarray) -> np.ndarray:
    channels = attrs["y_shape"][-1]
    return _f32(dz).reshape(-1, channels).sum(axis=0, dtype=F32)[: attrs["channels"]]


def depthwise_conv_2d_bwd_in(attrs: Attrs, dz: np.ndarray, w: np.ndarray) -> np.ndarray:
    dz, w = _f32(dz, attrs["y_shape"]), _f32(w)
    n, h, wd, c = attrs["x_shape"]
    m = attrs["depth_multiplier"]
    dxp = _padded(np.zeros((n, h, wd, c * m), dtype=F32), attrs)
    for i, j, window in _taps(attrs):
        dxp[window] += dz * w[0, i, j, :]
    dx_rep = _crop(dxp, attrs)
    return dx_rep.reshape(n, h, wd, c, m).sum(axis=4, dtype=F32)


def depthwise_conv_2d_bwd_w(attrs: Attrs, dz: np.ndarray, x: np.ndarray) -> np.ndarray:
    k = attrs["channels"]
    dz = _f32(dz, attrs["y_shape"])[..., :k]
    xp = np.repeat(_padded(_f32(x, attrs["x_shape"]), attrs), attrs["depth_multiplier"], axis=3)[..., :k]
    _, kh, kw, _ = attrs["w_shape"]
    dw = np.zeros((1, kh, kw, k), dtype=F32)
    for i, j, window in _taps(attrs):
        dw[0, i, j, :] = (dz * xp[window]).reshape(-1, k).sum(axis=0, dtype=F32)
    return dw


def fully_connected_bwd_in(attrs: Attrs, dz: np.ndarray, w: np.ndarray) -> np.ndarray:
    return _f32(dz, attrs["y_shape"]) @ _f32(w)


def fully_connected_bwd_w(attrs: Attrs, dz: np.ndarray, x: np.ndarray) -> np.ndarray:
    k = attrs["channels"]
    return _f32(dz, attrs["y_shape"])[:, :k].T @ _f32(x, attrs["x_shape"])


def logistic_bwd(attrs: Attrs, y: np.ndarray, dy: np.ndarray) -> np.ndarray:
    y = _f32(y)
    return _f32(dy) * y * (F32(1) - y)


def softmax_bwd(attrs: Attrs, y: np.ndarray, dy: np.ndarray) -> np.ndarray:
    shape = (attrs["rows"], attrs["classes"])
    y, dy = _f32(y, shape), _f32(dy, shape)
    inner = (dy * y).sum(axis=1, keepdims=True, dtype=F32)
    return (F32(attrs["beta"]) * y * (dy - inner)).astype(F32)


def average_pool_2d_bwd(attrs: Attrs, dz: np.ndarray) -> np.ndarray:
    share = _f32(dz, attrs["y_shape"]) / _pool_counts(attrs)
    dxp = _padded(np.zeros(attrs["x_shape"], dtype=F32), attrs)
    for _, _, window in _taps(attrs):
        dxp[window] += share
    return _crop(dxp, attrs)


def max_pool_2d_bwd(attrs: Attrs, x: np.ndarray, dz: np.ndarray) -> np.ndarray:
    # each window's gradient goes to its first maximum in row-major window order
    xp, best = _max_windows(attrs, x)
    dz = _f32(dz, attrs["y_shape"])
    dxp = np.zeros_like(xp)
    done = np.zeros(best.shape, dtype=bool)
    for _, _, window in _taps(attrs):
        hit = (xp[window] == best) & ~done
        dxp[window] += np.where(hit, dz, F32(0))
        done |= hit
    return _crop(dxp, attrs)


def mean_bwd(attrs: Attrs, dz: np.ndarray) -> np.ndarray:
    share = _f32(dz, attrs["y_shape"]) / F32(attrs["count"])
    return np.broadcast_to(share, attrs["x_shape"]).astype(F32)


def mean_act_bwd(attrs: Attrs, y: np.ndarray, dy: np.ndarray) -> np.ndarray:
    """The fused MEAN + activation backward: by definition the two kernels in sequence."""
    broadcast = mean_bwd(attrs["mean"], dy).reshape(np.shape(y))
    return act_bwd(attrs["act"], y, broadcast)


def pad_bwd(attrs: Attrs, dz: np.ndarray) -> np.ndarray:
    dz = _f32(dz, attrs["y_shape"])
    index = tuple(
        slice(b, b + size) for (b, _), size in zip(attrs["paddings"], attrs["x_shape"], strict=True)
    )
    return dz[index]


def concatenation_bwd(attrs: Attrs, dz: np.ndarray) -> np.ndarray:
    dz = _f32(dz, attrs["y_shape"])
    axis, offset = attrs["axis"], attrs["offset"]
    size = attrs["in_shapes"][attrs["input"]][axis]
    return np.take(dz, np.arange(offset, offset + size), axis=axis)


def grad_sum(attrs: Attrs, *parts: np.ndarray) -> np.ndarray:
    total = _f32(parts[0]).copy()
    for part in parts[1:]:
        total += _f32(part, total.shape)
    return total


# ---------------------------------------------------------------- optimizer updates


def _trainable_slice(attrs: Attrs) -> tuple[slice, ...]:
    """Index of the updated channels: the first ``channels`` along ``channel_axis``."""
    index = [slice(None)] * len(attrs["shape"])
    index[attrs["channel_axis"]] = slice(0, attrs["channels"])
    return tuple(index)


def _decayed(attrs: Attrs, w: np.ndarray, g: np.ndarray) -> np.ndarray:
    if attrs["weight_decay"] > 0:
        return g + F32(attrs["weight_decay"]) * w
    return g


def sgd_update(attrs: Attrs, param: np.ndarray, grad: np.ndarray, step: int) -> None:
    index = _trainable_slice(attrs)
    w = param[index]
    g = _decayed(attrs, w, _f32(grad))
    param[index] = w - F32(attrs["lr"]) * g


def momentum_update(attrs: Attrs, param: np.ndarray, grad: np.ndarray, v: np.ndarray, step: int) -> None:
    # v starts at zero, so the first step gives v = g, as in PyTorch
    index = _trainable_slice(attrs)
    w = param[index]
    g = _decayed(attrs, w, _f32(grad))
    v[...] = F32(attrs["momentum"]) * v + g
    param[index] = w - F32(attrs["lr"]) * v


def adam_update(
    attrs: Attrs, param: np.ndarray, grad: np.ndarray, m: np.ndarray, v: np.ndarray, step: int
) -> None:
    # bias corrections are computed in double from the 1-based step and rounded to float32 once
    index = _trainable_slice(attrs)
    w = param[index]
    g = _decayed(attrs, w, _f32(grad))
    beta1, beta2 = F32(attrs["beta1"]), F32(attrs["beta2"])
    m[...] = beta1 * m + (F32(1) - beta1) * g
    v[...] = beta2 * v + (F32(1) - beta2) * g * g
    m_hat = m / F32(1.0 - attrs["beta1"] ** step)
    v_hat = v / F32(1.0 - attrs["beta2"] ** step)
    param[index] = w - F32(attrs["lr"]) * m_hat / (np.sqrt(v_hat) + F32(attrs["eps"]))


KERNELS: Mapping[Compute, Callable[..., Any]] = MappingProxyType(
    {
        C.CONV_2D_FWD: conv_2d_fwd,
        C.DEPTHWISE_CONV_2D_FWD: depthwise_conv_2d_fwd,
        C.FULLY_CONNECTED_FWD: fully_connected_fwd,
        C.ADD_FWD: add_fwd,
        C.LOGISTIC_FWD: logistic_fwd,
        C.SOFTMAX_FWD: softmax_fwd,
        C.AVERAGE_POOL_2D_FWD: average_pool_2d_fwd,
        C.MAX_POOL_2D_FWD: max_pool_2d_fwd,
        C.MEAN_FWD: mean_fwd,
        C.PAD_FWD: pad_fwd,
        C.CONCATENATION_FWD: concatenation_fwd,
        C.LOSS_SOFTMAX_XENT: loss_softmax_xent,
        C.LOSS_MSE: loss_mse,
        C.ACT_BWD: act_bwd,
        C.CONV_2D_BWD_IN: conv_2d_bwd_in,
        C.CONV_2D_BWD_W: conv_2d_bwd_w,
        C.CONV_2D_BWD_B: _bias_bwd,
        C.DEPTHWISE_CONV_2D_BWD_IN: depthwise_conv_2d_bwd_in,
        C.DEPTHWISE_CONV_2D_BWD_W: depthwise_conv_2d_bwd_w,
        C.DEPTHWISE_CONV_2D_BWD_B: _bias_bwd,
        C.FULLY_CONNECTED_BWD_IN: fully_connected_bwd_in,
        C.FULLY_CONNECTED_BWD_W: fully_connected_bwd_w,
        C.FULLY_CONNECTED_BWD_B: _bias_bwd,
        C.LOGISTIC_BWD: logistic_bwd,
        C.SOFTMAX_BWD: softmax_bwd,
        C.AVERAGE_POOL_2D_BWD: average_pool_2d_bwd,
        C.MAX_POOL_2D_BWD: max_pool_2d_bwd,
        C.MEAN_BWD: mean_bwd,
        C.MEAN_ACT_BWD: mean_act_bwd,
        C.PAD_BWD: pad_bwd,
        C.CONCATENATION_BWD: concatenation_bwd,
        C.GRAD_SUM: grad_sum,
        C.SGD_UPDATE: sgd_update,
        C.MOMENTUM_UPDATE: momentum_update,
        C.ADAM_UPDATE: adam_update,
    }
)
