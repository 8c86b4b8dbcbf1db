"""CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED C kernels (forward, bwd_in, bwd_w, bias grad,
fused activation backward) against PyTorch autograd. Tolerances: see kernel_torch's docstring."""

from __future__ import annotations

from dataclasses import dataclass

import kernel_torch as kt
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from kernel_lib import ACTIVATIONS, ConvParams, DepthwiseParams, Kernels, session_kernels, window

SETTINGS = settings(max_examples=40, deadline=None, derandomize=True)


@pytest.fixture(scope="module")
def kernels(tmp_path_factory) -> Kernels:
    return session_kernels(tmp_path_factory)


@dataclass(frozen=True)
class ConvCase:
    batch: int
    in_hw: tuple[int, int]
    channels: int  # input channels
    out_channels: int  # CONV_2D output channels, or the depth multiplier for DEPTHWISE
    kernel: tuple[int, int]
    stride: tuple[int, int]
    dilation: tuple[int, int]
    padding: str
    act: str
    bias: bool
    seed: int


def _act_backward_matches(kernels: Kernels, act: str, z: np.ndarray, y_c: np.ndarray, rng) -> None:
    """es_act_f32_bwd from the saved output equals torch's activation backward at z."""
    dy = rng.uniform(-1, 1, z.shape).astype(np.float32)
    _, (dz_t,) = kt.run(lambda t: kt.activation(t, act), [z], dy)
    np.testing.assert_array_equal(kernels.act_bwd(act, y_c, dy), dz_t)


def check_conv2d(kernels: Kernels, case: ConvCase) -> None:
    rng = np.random.default_rng(case.seed)
    (ih, iw), (kh, kw) = case.in_hw, case.kernel
    win_h = window(ih, kh, case.stride[0], case.dilation[0], case.padding)
    win_w = window(iw, kw, case.stride[1], case.dilation[1], case.padding)
    x = rng.uniform(-2, 2, (case.batch, ih, iw, case.channels)).astype(np.float32)
    w = rng.uniform(-1, 1, (case.out_channels, kh, kw, case.channels)).astype(np.float32)
    b = rng.uniform(-1, 1, case.out_channels).astype(np.float32) if case.bias else None
    out_shape = (case.batch, win_h.out, win_w.out, case.out_channels)
    dz = rng.uniform(-1, 1, out_shape).astype(np.float32)
    params = ConvParams(case.stride[0], case.stride[1], case.dilation[0], case.dilation[1],
                        win_h.pad_before, win_w.pad_before, ACTIVATIONS[case.act])

    fn = kt.conv2d(case.stride, case.dilation, win_h, win_w)
    z, (dx_t, dw_t, db_t) = kt.run(fn, [x, w, b], dz)
    z_mag, (dx_mag, dw_mag, db_mag) = kt.magnitude(fn, [x, w, b], dz)

    y_c = kernels.conv2d_fwd(params, x, w, b, out_shape)
    kt.assert_close(y_c, kt.activation(torch.tensor(z), case.act).numpy(), z_mag, "conv2d fwd")
    kt.assert_close(kernels.conv2d_bwd_in(params, dz, w, x.shape), dx_t, dx_mag, "conv2d bwd_in")
    dw_c = kernels.conv2d_bwd_w(params, dz, x, w.shape)
    kt.assert_close(dw_c, dw_t, dw_mag, "conv2d bwd_w")
    if b is not None:
        kt.assert_close(kernels.bias_grad(dz, case.out_channels), db_t, db_mag, "bias grad")
    # sparse update: the first k output channels only, the same bits as the full gradient
    k = (case.out_channels + 1) // 2
    np.testing.assert_array_equal(kernels.conv2d_bwd_w(params, dz, x, (k, kh, kw, case.channels)),
                                  dw_c[:k])
    np.testing.assert_array_equal(kernels.bias_grad(dz, k), kernels.bias_grad(dz, case.out_channels)[:k])
    _act_backward_matches(kernels, case.act, z, y_c, rng)


def check_depthwise(kernels: Kernels, case: ConvCase) -> None:
    rng = np.random.default_rng(case.seed)
    (ih, iw), (kh, kw) = case.in_hw, case.kernel
    mult = case.out_channels
    out_c = case.channels * mult
    win_h = window(ih, kh, case.stride[0], case.dilation[0], case.padding)
    win_w = window(iw, kw, case.stride[1], case.dilation[1], case.padding)
    x = rng.uniform(-2, 2, (case.batch, ih, iw, case.channels)).astype(np.float32)
    w = rng.uniform(-1, 1, (1, kh, kw, out_c)).astype(np.float32)
    b = rng.uniform(-1, 1, out_c).astype(np.float32) if case.bias else None
    out_shape = (case.batch, win_h.out, win_w.out, out_c)
    dz = rng.uniform(-1, 1, out_shape).astype(np.float32)
    params = DepthwiseParams(case.stride[0], case.stride[1], case.dilation[0], case.dilation[1],
                             win_h.pad_before, win_w.pad_before, mult, ACTIVATIONS[case.act])

    fn = kt.depthwise_conv2d(case.stride, case.dilation, win_h, win_w, case.channels)
    z, (dx_t, dw_t, db_t) = kt.run(fn, [x, w, b], dz)
    z_mag, (dx_mag, dw_mag, db_mag) = kt.magnitude(fn, [x, w, b], dz)

    y_c = kernels.depthwise_fwd(params, x, w, b, out_shape)
    kt.assert_close(y_c, kt.activation(torch.tensor(z), case.act).numpy(), z_mag, "depthwise fwd")
    kt.assert_close(kernels.depthwise_bwd_in(params, dz, w, x.shape), dx_t, dx_mag, "depthwise bwd_in")
    dw_c = kernels.depthwise_bwd_w(params, dz, x, w.shape)
    kt.assert_close(dw_c, dw_t, dw_mag, "depthwise bwd_w")
    if b is not None:
        kt.assert_close(kernels.bias_grad(dz, out_c), db_t, db_mag, "bias grad")
    # sparse update: the first k channels of the last axis, compact [1, KH, KW, k]
    k = (out_c + 1) // 2
    np.testing.assert_array_equal(kernels.depthwise_bwd_w(params, dz, x, (1, kh, kw, k)),
                                  dw_c[..., :k])
    _act_backward_matches(kernels, case.act, z, y_c, rng)


GRID = [
    (stride, padding, dilation, batch)
    for stride in (1, 2) for padding in ("same", "valid") for dilation in (1, 2) for batch in (1, 3)
]


@pytest.mark.parametrize("stride,padding,dilation,batch", GRID)
def test_conv2d_grid(kernels, stride, padding, dilation, batch):
    act = ("none", "relu", "relu6")[(stride + dilation + batch) % 3]
    check_conv2d(kernels, ConvCase(batch, (8, 7), 3, 4, (3, 2), (stride, stride), (dilation, dilation),
                                   padding, act, True, seed=stride * 100 + dilation * 10 + batch))


@pytest.mark.parametrize("stride,padding,dilation,batch", GRID)
@pytest.mark.parametrize("multiplier", [1, 2])
def test_depthwise_grid(kernels, stride, padding, dilation, batch, multiplier):
    act = ("relu6", "none", "relu")[(stride + dilation + batch) % 3]
    check_depthwise(kernels, ConvCase(batch, (7, 8), 3, multiplier, (3, 3), (stride, stride),
                                      (dilation, dilation), padding, act, True,
                                      seed=multiplier * 1000 + stride * 100 + dilation * 10 + batch))


@st.composite
def conv_cases(draw, max_out_channels: int = 5) -> ConvCase:
    padding = draw(st.sampled_from(["same", "valid"]))
    kernel = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    stride = (draw(st.sampled_from([1, 2])), draw(st.sampled_from([1, 2])))
    dilation = (draw(st.sampled_from([1, 2])), draw(st.sampled_from([1, 2])))
    low = [(k - 1) * d + 1 if padding == "valid" else 1 for k, d in zip(kernel, dilation, strict=True)]
    in_hw = (draw(st.integers(low[0], low[0] + 7)), draw(st.integers(low[1], low[1] + 7)))
    return ConvCase(
        batch=draw(st.sampled_from([1, 2, 3])), in_hw=in_hw, channels=draw(st.integers(1, 5)),
        out_channels=draw(st.integers(1, max_out_channels)), kernel=kernel, stride=stride,
        dilation=dilation, padding=padding, act=draw(st.sampled_from(list(ACTIVATIONS))),
        bias=draw(st.booleans()), seed=draw(st.integers(0, 2**31)))


@SETTINGS
@given(case=conv_cases())
def test_conv2d_random(kernels, case):
    check_conv2d(kernels, case)


@SETTINGS
@given(case=conv_cases(max_out_channels=3))
def test_depthwise_random(kernels, case):
    check_depthwise(kernels, case)


@pytest.mark.parametrize("in_shape,out_shape", [
    ((1, 7), (1, 5)),             # [N, K]
    ((3, 10), (3, 4)),            # batch 3
    ((2, 2, 3, 4), (2, 6)),       # flattened NHWC input
    ((2, 3, 6), (2, 3, 5)),       # keep_num_dims: rows = 2 * 3
])
@pytest.mark.parametrize("act", list(ACTIVATIONS))
@pytest.mark.parametrize("bias", [True, False])
def test_fully_connected(kernels, in_shape, out_shape, act, bias):
    rng = np.random.default_rng(sum(in_shape) * 7 + len(act) + bias)
    features = int(np.prod(in_shape)) // in_shape[0] if len(out_shape) == 2 else in_shape[-1]
    outputs = out_shape[-1]
    x = rng.uniform(-2, 2, in_shape).astype(np.float32)
    w = rng.uniform(-1, 1, (outputs, features)).astype(np.float32)
    b = rng.uniform(-1, 1, outputs).astype(np.float32) if bias else None
    dz = rng.uniform(-1, 1, out_shape).astype(np.float32)

    fn = kt.fully_connected(out_shape)
    z, (dx_t, dw_t, db_t) = kt.run(fn, [x, w, b], dz)
    z_mag, (dx_mag, dw_mag, db_mag) = kt.magnitude(fn, [x, w, b], dz)

    y_c = kernels.fc_fwd(act, x, w, b, out_shape)
    kt.assert_close(y_c, kt.activation(torch.tensor(z), act).numpy(), z_mag, "fc fwd")
    kt.assert_close(kernels.fc_bwd_in(dz, w, x.shape), dx_t, dx_mag, "fc bwd_in")
    dw_c = kernels.fc_bwd_w(dz, x, w.shape)
    kt.assert_close(dw_c, dw_t, dw_mag, "fc bwd_w")
    if bias:
        kt.assert_close(kernels.bias_grad(dz, outputs), db_t, db_mag, "fc bias grad")
    k = (outputs + 1) // 2
    np.testing.assert_array_equal(kernels.fc_bwd_w(dz, x, (k, features)), dw_c[:k])
    _act_backward_matches(kernels, act, z, y_c, rng)


def test_conv2d_summation_order_is_the_documented_one(kernels):
    """Forward = one float32 running sum over kh, kw, ic, then + bias (bit-exact by hand)."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((1, 3, 3, 4)).astype(np.float32)
    w = rng.standard_normal((2, 3, 3, 4)).astype(np.float32)
    b = rng.standard_normal(2).astype(np.float32)
    y = kernels.conv2d_fwd(ConvParams(1, 1, 1, 1, 0, 0, 0), x, w, b, (1, 1, 1, 2))
    for oc in range(2):
        acc = np.float32(0)
        for kh in range(3):
            for kw in range(3):
                for ic in range(4):
                    acc = np.float32(acc + np.float32(x[0, kh, kw, ic] * w[oc, kh, kw, ic]))
        assert y[0, 0, 0, oc] == np.float32(acc + b[oc])
