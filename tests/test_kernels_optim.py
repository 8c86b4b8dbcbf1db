"""SGD, SGD-momentum and Adam C kernels against torch.optim over several steps, whole-tensor and
sparse (first k output channels) updates.

Tolerance: PyTorch's vectorized CPU kernels fuse w + (-lr) * g into one multiply-add and write
Adam's moments as lerp / addcmul and its step as (lr / bc1) * m / (sqrt(v) / sqrt(bc2) + eps);
the C kernels round each operation separately in the documented order. Each step may therefore
differ by a couple of float32 ulps of the parameter; over the few steps here rtol 2e-6 (about
16 ulps) bounds that. A parameter that crosses zero is a difference of O(1) numbers, so its error
is measured against that O(1) scale: atol 4e-7 (a few ulps of values ~3, the largest here). A
wrong formula (missing bias correction, weight decay or momentum) moves parameters by orders of
magnitude more.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from kernel_lib import AdamParams, Kernels, OptimSpan, session_kernels

STEPS = 6
RTOL, ATOL = 2e-6, 4e-7


@pytest.fixture(scope="module")
def kernels(tmp_path_factory) -> Kernels:
    return session_kernels(tmp_path_factory)


def whole(count: int) -> OptimSpan:
    return OptimSpan(1, count, count, count)


def torch_steps(kind: str, hyper: dict, w0: np.ndarray, grads: list[np.ndarray]) -> list[np.ndarray]:
    """Parameter after each torch.optim step with the given gradients."""
    param = torch.nn.Parameter(torch.tensor(w0))
    optimizer = {"sgd": torch.optim.SGD, "momentum": torch.optim.SGD, "adam": torch.optim.Adam}[kind]
    opt = optimizer([param], **hyper)
    history = []
    for g in grads:
        param.grad = torch.tensor(g)
        opt.step()
        history.append(param.detach().numpy().copy())
    return history


class CState:
    """A parameter and its optimizer state driven through the C kernels."""

    def __init__(self, kernels: Kernels, kind: str, hyper: dict, param: np.ndarray, span: OptimSpan,
                 state_count: int):
        self.kernels, self.kind, self.hyper, self.span = kernels, kind, hyper, span
        self.param = param.copy()
        self.m = np.zeros(state_count, np.float32)
        self.v = np.zeros(state_count, np.float32)
        self.step = 0

    def update(self, grad: np.ndarray) -> None:
        h, k = self.hyper, self.kernels
        wd = h.get("weight_decay", 0.0)
        self.step += 1
        if self.kind == "sgd":
            self.param = k.sgd(h["lr"], wd, self.span, grad, self.param)
        elif self.kind == "momentum":
            self.m, self.param = k.momentum(h["lr"], h["momentum"], wd, self.span, grad, self.m,
                                            self.param)
        else:
            beta1, beta2 = h.get("betas", (0.9, 0.999))
            p = AdamParams(h["lr"], beta1, beta2, h.get("eps", 1e-8), wd)
            self.m, self.v, self.param = k.adam(p, self.step, self.span, grad, self.m, self.v,
                                                self.param)


OPTIMIZERS = [
    ("sgd", {"lr": 0.1}),
    ("sgd", {"lr": 0.05, "weight_decay": 0.01}),
    ("momentum", {"lr": 0.1, "momentum": 0.9}),
    ("momentum", {"lr": 0.05, "momentum": 0.5, "weight_decay": 0.02}),
    ("adam", {"lr": 0.01}),
    ("adam", {"lr": 0.003, "betas": (0.8, 0.99), "eps": 1e-6, "weight_decay": 0.01}),
]


@pytest.mark.parametrize("kind,hyper", OPTIMIZERS)
def test_whole_tensor_matches_torch_optim(kernels, kind, hyper):
    rng = np.random.default_rng(len(kind) + len(hyper))
    w0 = rng.standard_normal((4, 3, 3, 2)).astype(np.float32)
    grads = [rng.standard_normal(w0.shape).astype(np.float32) for _ in range(STEPS)]
    expected = torch_steps(kind, hyper, w0, grads)
    c = CState(kernels, kind, hyper, w0, whole(w0.size), w0.size)
    for step, (g, w_t) in enumerate(zip(grads, expected, strict=True), start=1):
        c.update(g)
        np.testing.assert_allclose(c.param, w_t, rtol=RTOL, atol=ATOL, err_msg=f"step {step}")
    assert not np.allclose(c.param, w0)


def _sparse_case(layout: str, rng) -> tuple[np.ndarray, int, OptimSpan, tuple]:
    """A weight, k, the span, and the index of its first-k-channels part."""
    if layout == "conv":  # OHWI, channels on dim 0: a contiguous prefix
        w = rng.standard_normal((6, 3, 3, 4)).astype(np.float32)
        k = 3
        count = k * 3 * 3 * 4
        return w, k, OptimSpan(1, count, count, count), np.s_[:k]
    if layout == "depthwise":  # [1, KH, KW, C*M], channels on the last dim: KH*KW rows of k
        w = rng.standard_normal((1, 3, 3, 8)).astype(np.float32)
        k = 3
        return w, k, OptimSpan(9, k, 8, k), np.s_[..., :k]
    w = rng.standard_normal(10).astype(np.float32)  # bias
    k = 4
    return w, k, OptimSpan(1, k, k, k), np.s_[:k]


@pytest.mark.parametrize("kind,hyper", [OPTIMIZERS[1], OPTIMIZERS[3], OPTIMIZERS[5]])
@pytest.mark.parametrize("layout", ["conv", "depthwise", "bias"])
def test_sparse_update_touches_only_the_first_k_channels(kernels, kind, hyper, layout):
    rng = np.random.default_rng(len(layout) * 7 + len(kind))
    w0, k, span, part = _sparse_case(layout, rng)
    part_shape = w0[part].shape
    # gradients are compact (the shape bwd_w produces for k channels), state compact too
    grads = [rng.standard_normal(part_shape).astype(np.float32) for _ in range(STEPS)]
    expected = torch_steps(kind, hyper, np.ascontiguousarray(w0[part]), grads)
    c = CState(kernels, kind, hyper, w0, span, int(np.prod(part_shape)))
    for step, (g, w_t) in enumerate(zip(grads, expected, strict=True), start=1):
        c.update(g)
        np.testing.assert_allclose(c.param[part], w_t, rtol=RTOL, atol=ATOL, err_msg=f"step {step}")
    untouched = np.ones(w0.shape, bool)
    untouched[part] = False
    assert untouched.any()
    np.testing.assert_array_equal(c.param[untouched].view(np.uint32), w0[untouched].view(np.uint32))


def test_gradient_row_stride_reads_a_full_size_gradient(kernels):
    """grad_stride lets a sparse update read a full-size [KH*KW, C*M] depthwise gradient."""
    rng = np.random.default_rng(11)
    w0 = rng.standard_normal((9, 8)).astype(np.float32)
    g_full = rng.standard_normal((9, 8)).astype(np.float32)
    w = kernels.sgd(0.5, 0.0, OptimSpan(9, 3, 8, 8), g_full, w0)
    expected = torch_steps("sgd", {"lr": 0.5}, np.ascontiguousarray(w0[:, :3]),
                           [np.ascontiguousarray(g_full[:, :3])])[0]
    np.testing.assert_allclose(w[:, :3], expected, rtol=RTOL, atol=ATOL)
    np.testing.assert_array_equal(w[:, 3:], w0[:, 3:])
