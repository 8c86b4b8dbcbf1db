"""PyTorch oracles for the kernel tests: NHWC numpy arrays in, NHWC numpy arrays out.

An oracle is a function of torch tensors; ``run`` evaluates it and, given an upstream gradient,
returns the vector-Jacobian products of every input by autograd.

Tolerance. The C kernels and PyTorch sum the same products in different orders (PyTorch may
block, vectorize or use oneDNN). For a float32 sum of K terms the two results differ by at most
about K * 2^-24 * sum|terms| and typically by sqrt(K) * 2^-24 * sum|terms|. ``assert_close``
therefore bounds the difference element by element by REL * sum|terms|, where sum|terms| is the
same oracle evaluated on the absolute values of its inputs (exact for the multilinear ops:
convolutions, matrix products, pooling sums). REL = 1e-5 is ~84 float32 ulps of that magnitude,
well above rounding noise for the K <= a few hundred used here, and far below the size of any one
term (>= magnitude / K), so a missing, extra or misplaced product fails the test.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from kernel_lib import Window

REL = 1e-5


def run(fn: Callable[..., torch.Tensor], inputs: Sequence[np.ndarray | None],
        dout: np.ndarray | None = None) -> tuple[np.ndarray, list[np.ndarray | None]]:
    """fn(*inputs) and, when dout is given, d(fn)/d(input) . dout for every input not None."""
    tensors = [None if a is None else torch.tensor(np.asarray(a, dtype=np.float32), requires_grad=True)
               for a in inputs]
    out = fn(*tensors)
    if dout is None:
        return out.detach().numpy(), []
    present = [t for t in tensors if t is not None]
    grads = iter(torch.autograd.grad(out, present, torch.tensor(np.asarray(dout, dtype=np.float32))))
    return out.detach().numpy(), [None if t is None else next(grads).numpy() for t in tensors]


def magnitude(fn: Callable[..., torch.Tensor], inputs: Sequence[np.ndarray | None],
              dout: np.ndarray | None = None) -> tuple[np.ndarray, list[np.ndarray | None]]:
    """``run`` on absolute values: sum|terms| of every output and gradient of a multilinear fn."""
    absolute = [None if a is None else np.abs(a) for a in inputs]
    return run(fn, absolute, None if dout is None else np.abs(dout))


def assert_close(actual: np.ndarray, expected: np.ndarray, scale: np.ndarray | float,
                 what: str = "") -> None:
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    bound = REL * np.asarray(scale, dtype=np.float64) + 1e-30
    error = np.abs(actual.astype(np.float64) - expected.astype(np.float64))
    worst = np.unravel_index(np.argmax(error - bound), error.shape)
    assert np.all(error <= bound), (
        f"{what}: |C - torch| = {error[worst]:.3g} > {bound[worst] if np.ndim(bound) else bound:.3g}"
        f" at {worst} (C {actual[worst]!r}, torch {expected[worst]!r})")


# -- layout helpers

def nchw(x: torch.Tensor) -> torch.Tensor:
    return x.permute(0, 3, 1, 2)


def nhwc(x: torch.Tensor) -> torch.Tensor:
    return x.permute(0, 2, 3, 1)


def activation(z: torch.Tensor, act: str) -> torch.Tensor:
    return {"none": lambda t: t, "relu": F.relu, "relu6": F.relu6}[act](z)


def pad_window(x_nchw: torch.Tensor, win_h: Window, win_w: Window, value: float = 0.0) -> torch.Tensor:
    return F.pad(x_nchw, (win_w.pad_before, win_w.pad_after, win_h.pad_before, win_h.pad_after),
                 value=value)


# -- oracles (pre-activation outputs, NHWC)

def conv2d(stride: tuple[int, int], dilation: tuple[int, int], win_h: Window, win_w: Window):
    def fn(x, w, b):
        weight = w.permute(0, 3, 1, 2)  # OHWI -> OIHW
        z = F.conv2d(pad_window(nchw(x), win_h, win_w), weight, b, stride=stride, dilation=dilation)
        return nhwc(z)
    return fn


def depthwise_conv2d(stride: tuple[int, int], dilation: tuple[int, int], win_h: Window, win_w: Window,
                     channels: int):
    def fn(x, w, b):
        weight = w[0].permute(2, 0, 1).unsqueeze(1)  # [1, KH, KW, C*M] -> [C*M, 1, KH, KW]
        z = F.conv2d(pad_window(nchw(x), win_h, win_w), weight, b, stride=stride, dilation=dilation,
                     groups=channels)
        return nhwc(z)
    return fn


def fully_connected(out_shape: Sequence[int]):
    def fn(x, w, b):
        rows = x.numel() // w.shape[1]
        return F.linear(x.reshape(rows, w.shape[1]), w, b).reshape(tuple(out_shape))
    return fn


def avg_pool(filter_hw: tuple[int, int], stride: tuple[int, int], win_h: Window, win_w: Window):
    """Sum of the in-bounds elements divided by their count (TFLite's SAME average)."""
    def fn(x):
        xp = pad_window(nchw(x), win_h, win_w)
        total = F.avg_pool2d(xp, filter_hw, stride, divisor_override=1)
        count = F.avg_pool2d(pad_window(torch.ones_like(nchw(x)), win_h, win_w), filter_hw, stride,
                             divisor_override=1)
        return nhwc(total / count)
    return fn


def max_pool(filter_hw: tuple[int, int], stride: tuple[int, int], win_h: Window, win_w: Window):
    def fn(x):
        xp = pad_window(nchw(x), win_h, win_w, value=float("-inf"))
        return nhwc(F.max_pool2d(xp, filter_hw, stride))
    return fn
