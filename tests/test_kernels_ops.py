"""Parameter-free ops, activations and losses (C kernels) against PyTorch.

Tolerances: sums use kernel_torch.assert_close (1e-5 of sum|terms|); pure data movement, max,
add and the activation backward must be bit-exact; ops with expf/logf (logistic, softmax, the
cross-entropy) allow a few float32 ulps because libm and PyTorch's vectorized exp differ in the
last bit and sum rows in different orders.
"""

from __future__ import annotations

import kernel_torch as kt
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from kernel_lib import ACTIVATIONS, Kernels, PoolParams, session_kernels, window

SETTINGS = settings(max_examples=40, deadline=None, derandomize=True)


@pytest.fixture(scope="module")
def kernels(tmp_path_factory) -> Kernels:
    return session_kernels(tmp_path_factory)


# -- pooling

def check_pools(kernels: Kernels, batch, in_hw, channels, filt, stride, padding, act, seed, ties=False):
    rng = np.random.default_rng(seed)
    win_h = window(in_hw[0], filt[0], stride[0], 1, padding)
    win_w = window(in_hw[1], filt[1], stride[1], 1, padding)
    shape = (batch, *in_hw, channels)
    x = (rng.integers(0, 3, shape) if ties else rng.uniform(-3, 8, shape)).astype(np.float32)
    out_shape = (batch, win_h.out, win_w.out, channels)
    dz = rng.uniform(-1, 1, out_shape).astype(np.float32)
    params = PoolParams(filt[0], filt[1], stride[0], stride[1], win_h.pad_before, win_w.pad_before,
                        ACTIVATIONS[act])

    avg = kt.avg_pool(filt, stride, win_h, win_w)
    z, (dx_t,) = kt.run(avg, [x], dz)
    z_mag, (dx_mag,) = kt.magnitude(avg, [x], dz)
    y_c = kernels.pool_fwd("avg", params, x, out_shape)
    kt.assert_close(y_c, kt.activation(torch.tensor(z), act).numpy(), z_mag, "avg pool fwd")
    kt.assert_close(kernels.avg_pool_bwd(params, dz, shape), dx_t, dx_mag, "avg pool bwd")

    mx = kt.max_pool(filt, stride, win_h, win_w)
    z, (dx_t,) = kt.run(mx, [x], dz)
    np.testing.assert_array_equal(kernels.pool_fwd("max", params, x, out_shape),
                                  kt.activation(torch.tensor(z), act).numpy())
    # windows that overlap send several dz to one element: sums of <= 4 terms of |dz| <= 1
    np.testing.assert_allclose(kernels.max_pool_bwd(params, x, dz), dx_t, rtol=0, atol=1e-6)


POOL_GRID = [
    ((7, 7), (3, 3), (2, 2), "same"),   # SAME with one padded row/column on each side
    ((6, 5), (2, 2), (2, 2), "same"),   # odd width: the extra padding goes after
    ((8, 8), (3, 3), (1, 1), "same"),   # overlapping windows, edges averaged over 4 or 6
    ((5, 6), (3, 2), (2, 1), "valid"),  # VALID with a skipped last row
    ((4, 4), (4, 4), (1, 1), "valid"),  # global pooling
    ((1, 1), (3, 3), (1, 1), "same"),   # a single pixel: every window is 8/9 padding
]


@pytest.mark.parametrize("in_hw,filt,stride,padding", POOL_GRID)
@pytest.mark.parametrize("batch", [1, 3])
def test_pools_grid(kernels, in_hw, filt, stride, padding, batch):
    act = ("none", "relu", "relu6")[(in_hw[0] + batch) % 3]
    check_pools(kernels, batch, in_hw, 3, filt, stride, padding, act, seed=in_hw[0] * 10 + batch)


@SETTINGS
@given(
    batch=st.integers(1, 3), ih=st.integers(1, 9), iw=st.integers(1, 9), channels=st.integers(1, 4),
    fh=st.integers(1, 4), fw=st.integers(1, 4), sh=st.sampled_from([1, 2, 3]),
    sw=st.sampled_from([1, 2]), padding=st.sampled_from(["same", "valid"]),
    act=st.sampled_from(list(ACTIVATIONS)), seed=st.integers(0, 2**31), ties=st.booleans(),
)
def test_pools_random(kernels, batch, ih, iw, channels, fh, fw, sh, sw, padding, act, seed, ties):
    if padding == "valid":
        ih, iw = max(ih, fh), max(iw, fw)
    check_pools(kernels, batch, (ih, iw), channels, (fh, fw), (sh, sw), padding, act, seed, ties)


def test_max_pool_gradient_goes_to_the_first_maximum(kernels):
    """Ties: the whole gradient goes to the first maximum in row-major window order."""
    x = np.zeros((1, 2, 2, 1), np.float32)
    x[0, 0, 1, 0] = x[0, 1, 0, 0] = 5.0  # two equal maxima; (0, 1) comes first
    dx = kernels.max_pool_bwd(PoolParams(2, 2, 2, 2, 0, 0, 0), x, np.full((1, 1, 1, 1), 3.0, np.float32))
    expected = np.zeros_like(x)
    expected[0, 0, 1, 0] = 3.0
    np.testing.assert_array_equal(dx, expected)
    _, (dx_t,) = kt.run(kt.max_pool((2, 2), (2, 2), window(2, 2, 2, 1, "valid"),
                                    window(2, 2, 2, 1, "valid")), [x], np.full((1, 1, 1, 1), 3.0))
    np.testing.assert_array_equal(dx, dx_t)


# -- elementwise

@pytest.mark.parametrize("act", list(ACTIVATIONS))
def test_add(kernels, act):
    rng = np.random.default_rng(1)
    a = rng.uniform(-5, 8, (3, 4, 5, 6)).astype(np.float32)
    b = rng.uniform(-5, 8, (3, 4, 5, 6)).astype(np.float32)
    expected = kt.activation(torch.tensor(a) + torch.tensor(b), act).numpy()
    np.testing.assert_array_equal(kernels.add_fwd(act, a, b), expected)


@pytest.mark.parametrize("act", list(ACTIVATIONS))
def test_act_bwd_at_the_kinks(kernels, act):
    """dz from the saved output y alone equals torch's backward at z, including z = 0 and 6."""
    rng = np.random.default_rng(2)
    z = np.concatenate([rng.uniform(-9, 9, 200), [0.0, 6.0, -0.0, 5.999999, 6.000001, 1e-30]])
    z = z.astype(np.float32).reshape(2, -1)
    dy = rng.uniform(-1, 1, z.shape).astype(np.float32)
    y, (dz_t,) = kt.run(lambda t: kt.activation(t, act), [z], dy)
    np.testing.assert_array_equal(kernels.act_bwd(act, y, dy), dz_t)


def test_logistic(kernels):
    rng = np.random.default_rng(3)
    x = np.concatenate([rng.uniform(-12, 12, 300), [0.0, -90.0, 90.0]]).astype(np.float32).reshape(3, -1)
    dy = rng.uniform(-1, 1, x.shape).astype(np.float32)
    y_t, (dx_t,) = kt.run(torch.sigmoid, [x], dy)
    y_c = kernels.logistic_fwd(x)
    np.testing.assert_allclose(y_c, y_t, rtol=1e-6, atol=1e-30)  # a few ulps of expf
    np.testing.assert_allclose(kernels.logistic_bwd(y_c, dy), dx_t, rtol=1e-5, atol=1e-7)


def test_copy_and_accumulate(kernels):
    rng = np.random.default_rng(4)
    a = rng.standard_normal((2, 3, 4, 5)).astype(np.float32)
    b = rng.standard_normal((2, 3, 4, 5)).astype(np.float32)
    np.testing.assert_array_equal(kernels.copy(a), a)
    np.testing.assert_array_equal(kernels.accumulate(a, b), (torch.tensor(b) + torch.tensor(a)).numpy())


# -- MEAN, PAD, CONCATENATION

@pytest.mark.parametrize("shape", [(1, 4, 4, 3), (3, 5, 7, 2), (2, 1, 1, 8), (1, 9, 9, 1)])
def test_mean_hw(kernels, shape):
    rng = np.random.default_rng(sum(shape))
    x = rng.uniform(-2, 2, shape).astype(np.float32)
    dz = rng.uniform(-1, 1, (shape[0], 1, 1, shape[3])).astype(np.float32)
    fn = lambda t: t.mean(dim=(1, 2), keepdim=True)  # noqa: E731
    y_t, (dx_t,) = kt.run(fn, [x], dz)
    y_mag, (dx_mag,) = kt.magnitude(fn, [x], dz)
    kt.assert_close(kernels.mean_fwd(x), y_t, y_mag, "mean fwd")
    kt.assert_close(kernels.mean_bwd(dz, shape), dx_t, dx_mag, "mean bwd")


@pytest.mark.parametrize("before,after", [
    ((0, 1, 1, 0), (0, 1, 1, 0)),
    ((0, 0, 2, 0), (0, 3, 0, 0)),
    ((1, 0, 0, 2), (2, 0, 1, 1)),
    ((0, 0, 0, 0), (0, 0, 0, 0)),
])
def test_pad(kernels, before, after):
    rng = np.random.default_rng(sum(before) + 3 * sum(after))
    x = rng.standard_normal((2, 3, 4, 5)).astype(np.float32)
    torch_pad = []
    for axis in (3, 2, 1, 0):
        torch_pad += [before[axis], after[axis]]
    out_shape = tuple(d + b + a for d, b, a in zip(x.shape, before, after, strict=True))
    dy = rng.standard_normal(out_shape).astype(np.float32)
    y_t, (dx_t,) = kt.run(lambda t: F.pad(t, tuple(torch_pad)), [x], dy)
    np.testing.assert_array_equal(kernels.pad_fwd(before, after, x), y_t)
    np.testing.assert_array_equal(kernels.pad_bwd(before, after, dy, x.shape), dx_t)


@pytest.mark.parametrize("shapes,axis", [
    ([(2, 3, 4, 5), (2, 3, 4, 2)], 3),
    ([(2, 3, 4, 5), (2, 3, 1, 5), (2, 3, 2, 5)], 2),
    ([(1, 2, 2, 3), (1, 5, 2, 3)], 1),
    ([(1, 2, 2, 3), (2, 2, 2, 3)], 0),
    ([(3, 4), (3, 6)], 3),  # rank-2 [N, K] features map onto the c axis
])
@pytest.mark.parametrize("act", ["none", "relu6"])
def test_concat(kernels, shapes, axis, act):
    rng = np.random.default_rng(len(shapes) * 10 + axis)
    xs = [rng.uniform(-3, 8, s).astype(np.float32) for s in shapes]
    torch_axis = axis if len(shapes[0]) == 4 else 1
    cat = lambda *ts: torch.cat(ts, dim=torch_axis)  # noqa: E731
    y_t, _ = kt.run(cat, xs)
    y_c = kernels.concat_fwd(axis, act, xs, y_t.shape)
    np.testing.assert_array_equal(y_c, kt.activation(torch.tensor(y_t), act).numpy())
    dy = rng.standard_normal(y_c.shape).astype(np.float32)
    _, grads = kt.run(cat, xs, dy)
    offset = 0
    for x, grad in zip(xs, grads, strict=True):
        np.testing.assert_array_equal(kernels.concat_bwd(axis, offset, dy, x.shape), grad)
        offset += x.shape[torch_axis]


# -- SOFTMAX and losses

@pytest.mark.parametrize("shape", [(1, 10), (4, 7), (2, 3, 3, 5)])
@pytest.mark.parametrize("beta", [1.0, 0.5, 2.0])
def test_softmax(kernels, shape, beta):
    rng = np.random.default_rng(len(shape) + int(beta * 10))
    x = rng.uniform(-6, 6, shape).astype(np.float32)
    dy = rng.uniform(-1, 1, shape).astype(np.float32)
    y_t, (dx_t,) = kt.run(lambda t: torch.softmax(beta * t, dim=-1), [x], dy)
    y_c = kernels.softmax_fwd(beta, x)
    np.testing.assert_allclose(y_c, y_t, rtol=1e-5, atol=1e-8)
    dx_c = kernels.softmax_bwd(beta, y_c, dy)
    # scale of dx_i = beta * y_i * (dy_i - sum_j dy_j y_j) in absolute terms
    scale = beta * y_c * (np.abs(dy) + np.sum(np.abs(dy) * y_c, axis=-1, keepdims=True))
    kt.assert_close(dx_c, dx_t, 2 * scale, "softmax bwd")


@pytest.mark.parametrize("batch,classes,spread", [(1, 10, 3.0), (5, 4, 3.0), (8, 10, 100.0), (3, 1, 1.0)])
def test_softmax_cross_entropy(kernels, batch, classes, spread):
    """Large spreads (logits ~ +-100) check the max-subtraction: no overflow, no NaN."""
    rng = np.random.default_rng(batch * classes)
    z = rng.uniform(-spread, spread, (batch, classes)).astype(np.float32)
    labels = rng.integers(0, classes, batch)
    loss_t = None

    def fn(t):
        nonlocal loss_t
        loss_t = F.cross_entropy(t, torch.tensor(labels))
        return loss_t

    _, (grad_t,) = kt.run(fn, [z], np.float32(1.0))
    loss_c, grad_c = kernels.softmax_xent(z, labels)
    assert np.isfinite(loss_c)
    np.testing.assert_allclose(loss_c, loss_t.item(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(grad_c, grad_t, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("shape", [(1, 1), (4, 3), (2, 3, 3, 2)])
def test_mse(kernels, shape):
    rng = np.random.default_rng(len(shape))
    y = rng.standard_normal(shape).astype(np.float32)
    target = rng.standard_normal(shape).astype(np.float32)
    loss_t, (grad_t, _) = kt.run(F.mse_loss, [y, target], np.float32(1.0))
    loss_c, grad_c = kernels.mse(y, target)
    np.testing.assert_allclose(loss_c, loss_t, rtol=1e-6)
    np.testing.assert_allclose(grad_c, grad_t, rtol=1e-6, atol=1e-9)


def test_argmax_first_of_ties(kernels):
    x = np.array([[1, 3, 3, 0], [7, 7, 7, 7], [0, 0, 0, 1]], np.float32)
    np.testing.assert_array_equal(kernels.argmax(x), torch.argmax(torch.tensor(x), dim=1).numpy())
    np.testing.assert_array_equal(kernels.argmax(x), [1, 0, 3])
