"""Float32 numpy versions of the builder's layers (NHWC, TFLite's padding and layout rules).

Used by :mod:`edgesdk.testing.builder` to infer output shapes and to calibrate activation
ranges. Plain loops over the kernel window, vectorized over positions: small and obviously right.
"""

from __future__ import annotations

import math

import numpy as np

ACTIVATIONS = ("none", "relu", "relu6")


def apply_activation(x: np.ndarray, activation: str) -> np.ndarray:
    if activation == "relu":
        return np.maximum(x, 0.0)
    if activation == "relu6":
        return np.clip(x, 0.0, 6.0)
    if activation != "none":
        raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")
    return x


def output_size(size: int, kernel: int, stride: int, dilation: int, padding: str) -> int:
    """TFLite's output length along one spatial axis."""
    effective = (kernel - 1) * dilation + 1
    if padding == "same":
        return math.ceil(size / stride)
    if padding == "valid":
        return (size - effective) // stride + 1
    raise ValueError(f"padding must be 'same' or 'valid', got {padding!r}")


def pad_amounts(size: int, kernel: int, stride: int, dilation: int, padding: str) -> tuple[int, int]:
    """(before, after) padding TFLite applies along one spatial axis."""
    if padding == "valid":
        return (0, 0)
    out = output_size(size, kernel, stride, dilation, padding)
    total = max((out - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)
    return (total // 2, total - total // 2)


def _windows(
    x: np.ndarray,
    kernel: tuple[int, int],
    stride: tuple[int, int],
    dilation: tuple[int, int],
    padding: str,
    fill: float,
):
    """Yield (i, j, slice of x for kernel tap (i, j)) over the padded input; also the output size."""
    _, height, width, _ = x.shape
    out_h = output_size(height, kernel[0], stride[0], dilation[0], padding)
    out_w = output_size(width, kernel[1], stride[1], dilation[1], padding)
    if out_h <= 0 or out_w <= 0:
        raise ValueError(f"window {kernel} does not fit input {x.shape[1:3]} with {padding} padding")
    pad_h = pad_amounts(height, kernel[0], stride[0], dilation[0], padding)
    pad_w = pad_amounts(width, kernel[1], stride[1], dilation[1], padding)
    padded = np.pad(x, ((0, 0), pad_h, pad_w, (0, 0)), constant_values=fill)
    for i in range(kernel[0]):
        for j in range(kernel[1]):
            top, left = i * dilation[0], j * dilation[1]
            window = padded[
                :,
                top : top + stride[0] * (out_h - 1) + 1 : stride[0],
                left : left + stride[1] * (out_w - 1) + 1 : stride[1],
                :,
            ]
            yield i, j, window


def conv2d(x, weights, bias, stride, dilation, padding) -> np.ndarray:
    """x [N,H,W,I], weights [O,kh,kw,I], bias [O] or None."""
    out = None
    for i, j, window in _windows(x, weights.shape[1:3], stride, dilation, padding, 0.0):
        term = window @ weights[:, i, j, :].T
        out = term if out is None else out + term
    assert out is not None
    return out + (0.0 if bias is None else bias)


def depthwise_conv2d(x, weights, bias, stride, dilation, padding, depth_multiplier) -> np.ndarray:
    """x [N,H,W,C], weights [1,kh,kw,C*m], bias [C*m] or None."""
    out = None
    for i, j, window in _windows(x, weights.shape[1:3], stride, dilation, padding, 0.0):
        term = np.repeat(window, depth_multiplier, axis=-1) * weights[0, i, j, :]
        out = term if out is None else out + term
    assert out is not None
    return out + (0.0 if bias is None else bias)


def max_pool2d(x, filter_hw, stride, padding) -> np.ndarray:
    out = None
    for _, _, window in _windows(x, filter_hw, stride, (1, 1), padding, -np.inf):
        out = window if out is None else np.maximum(out, window)
    assert out is not None
    return out


def avg_pool2d(x, filter_hw, stride, padding) -> np.ndarray:
    """Average over the window's in-bounds elements only (TFLite does not count padding)."""
    total = None
    count = None
    ones = np.ones_like(x[..., :1])
    for (_, _, window), (_, _, valid) in zip(
        _windows(x, filter_hw, stride, (1, 1), padding, 0.0),
        _windows(ones, filter_hw, stride, (1, 1), padding, 0.0),
        strict=True,
    ):
        total = window if total is None else total + window
        count = valid if count is None else count + valid
    assert total is not None and count is not None
    return total / count


def fully_connected(x, weights, bias, keep_num_dims: bool) -> np.ndarray:
    """weights [O, I]; x is flattened to rows of I (TFLite's rule)."""
    in_features = weights.shape[1]
    if x.size % in_features:
        raise ValueError(f"input of {x.size} elements does not split into rows of {in_features}")
    out = x.reshape(-1, in_features) @ weights.T + (0.0 if bias is None else bias)
    if keep_num_dims:
        return out.reshape(*x.shape[:-1], weights.shape[0])
    return out


def softmax(x, beta: float) -> np.ndarray:
    z = beta * (x - x.max(axis=-1, keepdims=True))
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def logistic(x) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))
