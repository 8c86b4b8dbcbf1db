"""The reference's C-order float32 kernels (edgesdk.reference.ordered, used by int8 training
graphs) give the C runtime's fp32 kernels' bits, element for element.

The C kernels are the real ones from runtime_c (built with gcc, called through ctypes). Data has a
wide dynamic range (normal * 10^U(-3, 3)) so a different summation order shows in the last bits:
the control test proves the BLAS/pairwise kernels of edgesdk.reference.kernels do differ on it.
"""

from __future__ import annotations

import numpy as np
import pytest
from edgesdk import ir
from edgesdk.reference import kernels as fp
from edgesdk.reference import ordered
from edgesdk.reference.int8_graph import KERNELS as INT8_GRAPH_KERNELS
from edgesdk.train import Compute
from edgesdk.train.geometry import window
from kernel_lib import ConvParams, DepthwiseParams, Kernels, PoolParams, session_kernels


@pytest.fixture(scope="module")
def kernels(tmp_path_factory) -> Kernels:  # type: ignore[no-untyped-def]
    return session_kernels(tmp_path_factory)


def wide(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    return (rng.normal(size=shape) * 10.0 ** rng.uniform(-3, 3, size=shape)).astype(np.float32)


def same_bits(ours: np.ndarray, c: np.ndarray, what: str) -> None:
    ours = np.ascontiguousarray(ours, dtype=np.float32)
    c = np.ascontiguousarray(c, dtype=np.float32).reshape(ours.shape)
    differ = ours.view(np.uint32) != c.view(np.uint32)
    assert not differ.any(), f"{what}: {int(differ.sum())} of {differ.size} elements differ in bits"


def conv_attrs(n, h, w, c, oc, k, stride, dilation, padding, depthwise=False, m=1):  # type: ignore[no-untyped-def]
    pad = ir.Padding.SAME if padding == "same" else ir.Padding.VALID
    oh, top, bottom = window(h, k, stride, dilation, pad)
    ow, left, right = window(w, k, stride, dilation, pad)
    out_c = c * m if depthwise else oc
    attrs = {
        "x_shape": (n, h, w, c),
        "w_shape": (1, k, k, c * m) if depthwise else (oc, k, k, c),
        "y_shape": (n, oh, ow, out_c),
        "stride": (stride, stride),
        "dilation": (dilation, dilation),
        "pad": (top, bottom, left, right),
        "channels": out_c,
    }
    if depthwise:
        attrs["depth_multiplier"] = m
    return attrs


CONV_CASES = [
    (1, 7, 6, 3, 5, 3, 1, 1, "same"),
    (2, 8, 8, 4, 6, 3, 2, 1, "same"),
    (1, 9, 7, 2, 3, 3, 1, 2, "valid"),
    (2, 6, 6, 5, 4, 1, 1, 1, "valid"),
    (1, 10, 9, 3, 4, 5, 2, 1, "same"),
]


@pytest.mark.parametrize("case", CONV_CASES)
def test_conv_backward_bits(kernels, case) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(hash(case) % 2**32)
    a = conv_attrs(*case)
    dz, w, x = wide(rng, a["y_shape"]), wide(rng, a["w_shape"]), wide(rng, a["x_shape"])
    top, _, left, _ = a["pad"]
    p = ConvParams(*a["stride"], *a["dilation"], top, left, 0)
    same_bits(ordered.conv_2d_bwd_in(a, dz, w), kernels.conv2d_bwd_in(p, dz, w, a["x_shape"]), "bwd_in")
    same_bits(ordered.conv_2d_bwd_w(a, dz, x), kernels.conv2d_bwd_w(p, dz, x, a["w_shape"]), "bwd_w")
    k = max(1, a["w_shape"][0] // 2)  # sparse: the first k output channels
    sparse = dict(a, channels=k)
    c_dw = kernels.conv2d_bwd_w(p, dz, x, (k, *a["w_shape"][1:]))
    same_bits(ordered.conv_2d_bwd_w(sparse, dz, x), c_dw, "sparse bwd_w")
    same_bits(ordered.bias_bwd(sparse, dz), kernels.bias_grad(dz, k), "bias")


@pytest.mark.parametrize("m", [1, 2])
@pytest.mark.parametrize("case", CONV_CASES[:4])
def test_depthwise_backward_bits(kernels, case, m) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(hash((case, m)) % 2**32)
    n, h, w, c, _, k, stride, dilation, padding = case
    a = conv_attrs(n, h, w, c, 0, k, stride, dilation, padding, depthwise=True, m=m)
    dz, wt, x = wide(rng, a["y_shape"]), wide(rng, a["w_shape"]), wide(rng, a["x_shape"])
    top, _, left, _ = a["pad"]
    p = DepthwiseParams(*a["stride"], *a["dilation"], top, left, m, 0)
    same_bits(
        ordered.depthwise_conv_2d_bwd_in(a, dz, wt),
        kernels.depthwise_bwd_in(p, dz, wt, a["x_shape"]),
        "bwd_in",
    )
    same_bits(
        ordered.depthwise_conv_2d_bwd_w(a, dz, x), kernels.depthwise_bwd_w(p, dz, x, a["w_shape"]), "bwd_w"
    )
    k_ch = max(1, c * m - 1)
    c_dw = kernels.depthwise_bwd_w(p, dz, x, (1, k, k, k_ch))
    same_bits(ordered.depthwise_conv_2d_bwd_w(dict(a, channels=k_ch), dz, x), c_dw, "sparse bwd_w")


@pytest.mark.parametrize("rows,k,o", [(1, 7, 3), (4, 33, 10), (3, 5, 17)])
def test_fully_connected_backward_bits(kernels, rows, k, o) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(rows * 100 + k)
    a = {"x_shape": (rows, k), "w_shape": (o, k), "y_shape": (rows, o), "channels": o}
    dz, w, x = wide(rng, (rows, o)), wide(rng, (o, k)), wide(rng, (rows, k))
    same_bits(ordered.fully_connected_bwd_in(a, dz, w), kernels.fc_bwd_in(dz, w, (rows, k)), "bwd_in")
    same_bits(ordered.fully_connected_bwd_w(a, dz, x), kernels.fc_bwd_w(dz, x, (o, k)), "bwd_w")
    part = dict(a, channels=o // 2 + 1)
    same_bits(ordered.fully_connected_bwd_w(part, dz, x), kernels.fc_bwd_w(dz, x, (o // 2 + 1, k)), "sparse")


@pytest.mark.parametrize(
    "n,h,w,c,f,stride,padding",
    [
        (1, 6, 6, 3, 3, 1, "same"),
        (2, 7, 5, 2, 2, 2, "valid"),
        (1, 9, 9, 4, 3, 2, "same"),
        (1, 5, 8, 2, 3, 1, "valid"),
    ],
)
def test_pool_backward_bits(kernels, n, h, w, c, f, stride, padding) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(h * w + f)
    pad = ir.Padding.SAME if padding == "same" else ir.Padding.VALID
    oh, top, bottom = window(h, f, stride, 1, pad)
    ow, left, right = window(w, f, stride, 1, pad)
    a = {
        "x_shape": (n, h, w, c),
        "y_shape": (n, oh, ow, c),
        "filter": (f, f),
        "stride": (stride, stride),
        "pad": (top, bottom, left, right),
    }
    p = PoolParams(f, f, stride, stride, top, left, 0)
    dz = wide(rng, a["y_shape"])
    same_bits(fp.average_pool_2d_bwd(a, dz), kernels.avg_pool_bwd(p, dz, a["x_shape"]), "avg pool bwd")
    x = rng.integers(-3, 3, size=a["x_shape"]).astype(np.float32)  # many ties, overlapping windows
    same_bits(ordered.max_pool_2d_bwd(a, x, dz), kernels.max_pool_bwd(p, x, dz), "max pool bwd")
    q = (x * 7 - 20).astype(np.int8)  # the int8 twin compares the integers: the same windows win
    int8_kernel = INT8_GRAPH_KERNELS[Compute.MAX_POOL_2D_BWD_INT8]
    same_bits(int8_kernel(a, q, dz), kernels.max_pool_bwd(p, x, dz), "int8 max pool bwd")


@pytest.mark.parametrize("rows,classes", [(1, 10), (3, 7), (2, 33)])
def test_softmax_and_losses_bits(kernels, rows, classes) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(rows * classes)
    logits = (rng.normal(size=(rows, classes)) * 4).astype(np.float32)
    labels = rng.integers(0, classes, size=rows).astype(np.int32)
    a = {"rows": rows, "classes": classes, "beta": 1.0}
    grad, loss = ordered.loss_softmax_xent(a, logits, labels)
    c_loss, c_grad = kernels.softmax_xent(logits, labels)
    same_bits(grad, c_grad, "xent gradient")
    same_bits(np.float32(loss), np.float32(c_loss), "xent loss")
    target = wide(rng, (rows, classes))
    grad, loss = ordered.loss_mse({"size": rows * classes}, logits, target)
    c_loss, c_grad = kernels.mse(logits, target)
    same_bits(grad, c_grad, "mse gradient")
    same_bits(np.float32(loss), np.float32(c_loss), "mse loss")
    y = kernels.softmax_fwd(1.5, logits)
    dy = wide(rng, (rows, classes))
    same_bits(ordered.softmax_bwd(dict(a, beta=1.5), y, dy), kernels.softmax_bwd(1.5, y, dy), "softmax bwd")


def test_elementwise_reference_kernels_already_match(kernels) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(3)
    y, dy = rng.uniform(-1, 7, (2, 4, 4, 3)).astype(np.float32), wide(rng, (2, 4, 4, 3))
    for name, act in (("relu", ir.Activation.RELU), ("relu6", ir.Activation.RELU6)):
        same_bits(fp.act_bwd({"activation": act}, y, dy), kernels.act_bwd(name, y, dy), f"act {name}")
    s = rng.uniform(0, 1, (2, 4, 4, 3)).astype(np.float32)
    same_bits(fp.logistic_bwd({}, s, dy), kernels.logistic_bwd(s, dy), "logistic bwd")
    dz = wide(rng, (2, 1, 1, 3))
    a = {"x_shape": (2, 4, 4, 3), "y_shape": (2, 1, 1, 3), "count": 16, "axes": (1, 2)}
    same_bits(fp.mean_bwd(a, dz), kernels.mean_bwd(dz, (2, 4, 4, 3)), "mean bwd")
    parts = [wide(rng, (5, 3)) for _ in range(3)]
    c_sum = kernels.accumulate(parts[2], kernels.accumulate(parts[1], kernels.copy(parts[0])))
    same_bits(fp.grad_sum({}, *parts), c_sum, "grad sum")


def test_control_the_blas_kernels_differ_in_bits(kernels) -> None:  # type: ignore[no-untyped-def]
    """The check above can fail: the BLAS/pairwise reference kernels give other bits on this data."""
    rng = np.random.default_rng(11)
    a = conv_attrs(2, 12, 12, 8, 16, 3, 1, 1, "same")
    dz, x = wide(rng, a["y_shape"]), wide(rng, a["x_shape"])
    p = ConvParams(1, 1, 1, 1, 1, 1, 0)
    c_dw = kernels.conv2d_bwd_w(p, dz, x, a["w_shape"])
    assert (fp.conv_2d_bwd_w(a, dz, x).view(np.uint32) != c_dw.view(np.uint32)).any()
    same_bits(ordered.conv_2d_bwd_w(a, dz, x), c_dw, "ordered bwd_w")
