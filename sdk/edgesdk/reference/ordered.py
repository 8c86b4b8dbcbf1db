"""float32 backward and loss kernels in the C runtime's summation order (docs/runtime.md).

:mod:`edgesdk.reference.kernels` sums with BLAS and numpy's pairwise reductions, which agrees with
the C to rounding. The kernels here add the terms of every output element one float32 operation at
a time, in the order the C kernels document, so the reference of an int8 training graph gives the
C's bits (a QAS step rounds ``lr * grad / s`` to an integer: a last-bit difference in a gradient
can change a weight). Orders, per output element, starting from +0:

| kernel | terms in this order |
| --- | --- |
| conv ``bwd_in`` | kh, kw, oc (taps whose window exists) |
| depthwise ``bwd_in`` | kh, kw, m |
| FC ``bwd_in`` | o |
| conv / depthwise ``bwd_w``, FC ``bwd_w`` | n, oh, ow (FC: rows) |
| bias gradient | n, h, w |
| max-pool ``bwd`` | windows in (n, oh, ow) order add to their first maximum (row-major, strict >) |
| softmax ``bwd`` | ``s = sum dy*y`` over c, then ``beta * (y * (dy - s))`` |
| softmax cross-entropy | per row max, ``es_expf(z - max)``, sum over k; ``(p - onehot) / N``; rows summed |
| MSE | ``sum (y - t)^2`` in order, one division; ``dy = (2 d) / count`` |

Window positions that fall in the padding contribute ``d * 0 = +-0``: adding a zero to a running
sum that started at +0 leaves its bits unchanged, so including them (vectorized) gives the same
bits as skipping them (the C). Each function takes float32 arrays and returns float32.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from edgesdk.reference.kernels import _crop, _padded, _taps
from edgesdk.reference.mathf32 import es_expf, es_logf

Attrs = Mapping[str, Any]
F32 = np.float32
_CHUNK = 1 << 22  # float32 terms materialized at once


def accumulate(acc: np.ndarray, terms: np.ndarray, axis: int) -> np.ndarray:
    """``acc + terms[0] + terms[1] + ...`` along ``axis``, one float32 addition at a time in index
    order (``np.add.accumulate`` is sequential, unlike ``np.sum``)."""
    acc = np.asarray(acc, dtype=F32)
    terms = np.asarray(terms, dtype=F32)
    length = terms.shape[axis]
    per_term = max(1, terms.size // max(length, 1))
    step = max(1, _CHUNK // per_term)
    for start in range(0, length, step):
        part = np.take(terms, np.arange(start, min(start + step, length)), axis=axis)
        stacked = np.concatenate([np.expand_dims(acc, axis), part], axis=axis)
        acc = np.take(np.add.accumulate(stacked, axis=axis, dtype=F32), -1, axis=axis)
    return acc


def _f32(array: np.ndarray, shape: tuple[int, ...] | None = None) -> np.ndarray:
    out = np.asarray(array, dtype=F32)
    return out.reshape(shape) if shape is not None else out


# ---------------------------------------------------------------- layers


def conv_2d_bwd_in(attrs: Attrs, dz: np.ndarray, w: np.ndarray) -> np.ndarray:
    dz, w = _f32(dz, attrs["y_shape"]), _f32(w)
    dxp = _padded(np.zeros(attrs["x_shape"], dtype=F32), attrs)
    for i, j, window in _taps(attrs):
        terms = dz[..., :, None] * w[:, i, j, :]  # [N, OH, OW, OC, IC]
        dxp[window] = accumulate(dxp[window], terms, axis=3)
    return _crop(dxp, attrs)


def conv_2d_bwd_w(attrs: Attrs, dz: np.ndarray, x: np.ndarray) -> np.ndarray:
    k = attrs["channels"]
    dz = _f32(dz, attrs["y_shape"])[..., :k].reshape(-1, k)  # rows in (n, oh, ow) order
    xp = _padded(_f32(x, attrs["x_shape"]), attrs)
    _, kh, kw, c = attrs["w_shape"]
    dw = np.zeros((k, kh, kw, c), dtype=F32)
    for i, j, window in _taps(attrs):
        taps = xp[window].reshape(-1, c)
        dw[:, i, j, :] = accumulate(np.zeros((k, c), F32), dz[:, :, None] * taps[:, None, :], axis=0)
    return dw


def depthwise_conv_2d_bwd_in(attrs: Attrs, dz: np.ndarray, w: np.ndarray) -> np.ndarray:
    dz, w = _f32(dz, attrs["y_shape"]), _f32(w)
    n, h, wd, c = attrs["x_shape"]
    m = attrs["depth_multiplier"]
    dxp = _padded(np.zeros((n, h, wd, c), dtype=F32), attrs)
    for i, j, window in _taps(attrs):
        terms = (dz * w[0, i, j, :]).reshape(*dz.shape[:3], c, m)
        dxp[window] = accumulate(dxp[window], terms, axis=4)
    return _crop(dxp, attrs)


def depthwise_conv_2d_bwd_w(attrs: Attrs, dz: np.ndarray, x: np.ndarray) -> np.ndarray:
    k = attrs["channels"]
    dz = _f32(dz, attrs["y_shape"])[..., :k].reshape(-1, k)
    xp = np.repeat(_padded(_f32(x, attrs["x_shape"]), attrs), attrs["depth_multiplier"], axis=3)[..., :k]
    _, kh, kw, _ = attrs["w_shape"]
    dw = np.zeros((1, kh, kw, k), dtype=F32)
    for i, j, window in _taps(attrs):
        dw[0, i, j, :] = accumulate(np.zeros(k, F32), dz * xp[window].reshape(-1, k), axis=0)
    return dw


def fully_connected_bwd_in(attrs: Attrs, dz: np.ndarray, w: np.ndarray) -> np.ndarray:
    dz, w = _f32(dz, attrs["y_shape"]), _f32(w)
    rows, in_features = attrs["x_shape"]
    return accumulate(np.zeros((rows, in_features), F32), dz[:, :, None] * w[None, :, :], axis=1)


def fully_connected_bwd_w(attrs: Attrs, dz: np.ndarray, x: np.ndarray) -> np.ndarray:
    k = attrs["channels"]
    dz, x = _f32(dz, attrs["y_shape"])[:, :k], _f32(x, attrs["x_shape"])
    return accumulate(np.zeros((k, x.shape[1]), F32), dz[:, :, None] * x[:, None, :], axis=0)


def bias_bwd(attrs: Attrs, dz: np.ndarray) -> np.ndarray:
    channels = attrs["y_shape"][-1]
    k = attrs["channels"]
    terms = _f32(dz).reshape(-1, channels)[:, :k]
    return accumulate(np.zeros(k, F32), terms, axis=0)


# ---------------------------------------------------------------- other ops


def max_pool_2d_bwd(attrs: Attrs, x: np.ndarray, dz: np.ndarray) -> np.ndarray:
    """Each window's gradient to its first maximum among in-bounds elements (row-major, strict >),
    added to ``dx`` window after window in (n, oh, ow, c) order. ``x`` may be float or int8."""
    x = np.asarray(x).reshape(attrs["x_shape"])
    low = -np.inf if x.dtype.kind == "f" else np.iinfo(np.int64).min
    values = x.astype(np.float64 if x.dtype.kind == "f" else np.int64)
    xp = _padded_any(values, attrs, low)
    where = _padded_any(np.arange(x.size, dtype=np.int64).reshape(x.shape), attrs, -1)
    best = np.full(attrs["y_shape"], low, dtype=values.dtype)
    best_at = np.full(attrs["y_shape"], -1, dtype=np.int64)
    for _, _, window in _taps(attrs):
        hit = xp[window] > best
        best = np.where(hit, xp[window], best)
        best_at = np.where(hit, where[window], best_at)
    dx = np.zeros(x.size, dtype=F32)
    np.add.at(dx, best_at.reshape(-1), _f32(dz, attrs["y_shape"]).reshape(-1))  # sequential, in order
    return dx.reshape(x.shape)


def _padded_any(x: np.ndarray, attrs: Attrs, value: float) -> np.ndarray:
    """:func:`edgesdk.reference.kernels._padded` for any dtype."""
    top, bottom, left, right = attrs["pad"]
    n, h, w, c = x.shape
    _, oh, ow, _ = attrs["y_shape"]
    sh, sw = attrs["stride"]
    kh, kw = attrs["filter"]
    need_h, need_w = (oh - 1) * sh + kh, (ow - 1) * sw + kw
    out = np.full((n, max(h + top + bottom, need_h), max(w + left + right, need_w), c), value, x.dtype)
    out[:, top : top + h, left : left + w, :] = x
    return out


def softmax_bwd(attrs: Attrs, y: np.ndarray, dy: np.ndarray) -> np.ndarray:
    shape = (attrs["rows"], attrs["classes"])
    y, dy = _f32(y, shape), _f32(dy, shape)
    s = accumulate(np.zeros(shape[0], F32), dy * y, axis=1)
    return F32(attrs["beta"]) * (y * (dy - s[:, None]))


# ---------------------------------------------------------------- losses


def softmax_xent(z: np.ndarray, labels: np.ndarray, beta: float) -> tuple[np.ndarray, float]:
    """The C's ``es_loss_softmax_xent_f32`` on logits ``z`` [rows, classes] (already multiplied by
    beta when beta != 1); the gradient is multiplied by beta afterwards when beta != 1."""
    rows, classes = z.shape
    labels = np.asarray(labels).reshape(rows).astype(np.int64)
    if labels.min(initial=0) < 0 or labels.max(initial=0) >= classes:
        raise ValueError(f"labels must lie in [0, {classes}), got {labels}")
    top = z.max(axis=1, keepdims=True)
    e = es_expf(z - top)
    total = accumulate(np.zeros(rows, F32), e, axis=1)
    p = e / total[:, None]
    onehot = np.arange(classes)[None, :] == labels[:, None]
    grad = np.where(onehot, p - F32(1), p) / F32(rows)
    if beta != 1.0:
        grad = grad * F32(beta)
    z_label = z[np.arange(rows), labels] - top[:, 0]
    loss = accumulate(F32(0), es_logf(total) - z_label, axis=0) / F32(rows)
    return grad.astype(F32), float(loss)


def loss_softmax_xent(attrs: Attrs, logits: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, float]:
    z = _f32(logits, (attrs["rows"], attrs["classes"]))
    beta = float(attrs["beta"])
    return softmax_xent(z * F32(beta) if beta != 1.0 else z, labels, beta)


def mse(y: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, float]:
    d = (_f32(y) - _f32(target, np.shape(y))).reshape(-1)
    count = F32(d.size)
    loss = accumulate(F32(0), d * d, axis=0) / count
    return ((F32(2) * d) / count).reshape(np.shape(y)).astype(F32), float(loss)


def loss_mse(attrs: Attrs, y: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, float]:
    return mse(y, target)
