"""Every gradient rule against PyTorch autograd, through one helper (torch_model.compare_gradients).

Each model is ``input -> probe -> op under test [-> ...] -> loss``. The probe is a trainable 1x1
depthwise convolution (a per-channel scale and bias), so the op's input gradient is computed and
checked, besides the op's own weight and bias gradients, every forward buffer and the loss.
Tolerance: rtol 1e-4 with a floor of 1e-4 of the tensor's largest magnitude (see torch_model).
"""

from __future__ import annotations

import pytest
from edgesdk.reference import ReferenceTrainer
from edgesdk.train import build_training_graph
from graph_maker import GraphMaker
from hypothesis import given, settings
from hypothesis import strategies as st
from torch_model import compare_gradients, random_batch

SETTINGS = settings(max_examples=30, deadline=None, derandomize=True)


def probe(g: GraphMaker, x: int) -> int:
    return g.depthwise(x, k=1, act="none")


def check(graph, loss="mse", batch=2, seed=0, expect_param_grads=None):  # type: ignore[no-untyped-def]
    compared = compare_gradients(graph, loss=loss, batch=batch, seed=seed)
    assert compared.activations >= 2 and compared.activation_grads >= 1
    if expect_param_grads is not None:
        assert compared.param_grads == expect_param_grads
    return compared


@SETTINGS
@given(
    h=st.integers(3, 9),
    w=st.integers(3, 9),
    c=st.integers(1, 4),
    out=st.integers(1, 5),
    k=st.sampled_from([1, 2, 3, 5]),
    stride=st.sampled_from([1, 2]),
    dilation=st.sampled_from([1, 2]),
    padding=st.sampled_from(["same", "valid"]),
    act=st.sampled_from(["none", "relu", "relu6"]),
    bias=st.booleans(),
    per_channel=st.booleans(),
    batch=st.integers(1, 3),
)
def test_conv_2d(h, w, c, out, k, stride, dilation, padding, act, bias, per_channel, batch):  # type: ignore[no-untyped-def]
    if padding == "valid" and (k - 1) * dilation + 1 > min(h, w):
        return
    if stride > 1 and dilation > 1:
        dilation = 1  # TFLite does not combine the two
    g = GraphMaker(seed=h * 100 + w)
    y = g.conv(
        probe(g, g.input((1, h, w, c))),
        out,
        k=k,
        stride=stride,
        padding=padding,
        dilation=dilation,
        act=act,
        bias=bias,
        per_channel=per_channel,
    )
    check(g.build(y), batch=batch, expect_param_grads=2 + 1 + bias)


@SETTINGS
@given(
    h=st.integers(3, 9),
    w=st.integers(3, 9),
    c=st.integers(1, 4),
    multiplier=st.sampled_from([1, 2]),
    k=st.sampled_from([1, 3, 5]),
    stride=st.sampled_from([1, 2]),
    padding=st.sampled_from(["same", "valid"]),
    act=st.sampled_from(["none", "relu", "relu6"]),
    bias=st.booleans(),
    batch=st.integers(1, 3),
)
def test_depthwise_conv_2d(h, w, c, multiplier, k, stride, padding, act, bias, batch):  # type: ignore[no-untyped-def]
    if padding == "valid" and k > min(h, w):
        return
    g = GraphMaker(seed=h * 10 + c)
    x = probe(g, g.input((1, h, w, c)))
    y = g.depthwise(x, k=k, multiplier=multiplier, stride=stride, padding=padding, act=act, bias=bias)
    check(g.build(y), batch=batch, expect_param_grads=2 + 1 + bias)


@pytest.mark.parametrize("act", ["none", "relu", "relu6"])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("flatten", [False, True])
def test_fully_connected(act, bias, flatten):  # type: ignore[no-untyped-def]
    g = GraphMaker(seed=3)
    x = probe(g, g.input((1, 2, 3, 4)))
    if flatten:
        x = g.reshape(x, (1, 24))
    y = g.fc(x, 7, act=act, bias=bias)
    check(g.build(y), batch=3, expect_param_grads=2 + 1 + bias)


@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize(
    "k,stride,padding", [(2, 2, "valid"), (3, 2, "same"), (3, 1, "same"), (2, 1, "valid"), (3, 3, "same")]
)
@pytest.mark.parametrize("act", ["none", "relu6"])
def test_pools(kind, k, stride, padding, act):  # type: ignore[no-untyped-def]
    g = GraphMaker(seed=k * 7 + stride)
    y = g.pool(kind, probe(g, g.input((1, 7, 6, 3))), k=k, stride=stride, padding=padding, act=act)
    check(g.build(y), batch=2)


def test_max_pool_ties_go_to_the_first_maximum():
    # relu zeros make whole windows tie; torch (and the contract) give the gradient to the first one
    g = GraphMaker(seed=11)
    x = g.conv(g.input((1, 6, 6, 2)), 3, k=1, act="relu")
    y = g.pool("max", x, k=3, stride=1, padding="same")
    check(g.build(y), batch=2)


@pytest.mark.parametrize("keep_dims", [True, False])
def test_mean(keep_dims):  # type: ignore[no-untyped-def]
    g = GraphMaker(seed=4)
    y = g.mean(probe(g, g.input((1, 5, 3, 4))), axes=(1, 2), keep_dims=keep_dims)
    check(g.build(y), batch=3)


def test_pad():
    g = GraphMaker(seed=5)
    y = g.pad(probe(g, g.input((1, 4, 5, 3))), ((0, 0), (1, 2), (0, 1), (2, 0)))
    check(g.build(y), batch=2)


@pytest.mark.parametrize("axis", [3, 2])
@pytest.mark.parametrize("act", ["none", "relu"])
def test_concatenation(axis, act):  # type: ignore[no-untyped-def]
    g = GraphMaker(seed=6)
    x = g.input((1, 4, 4, 3))
    a = probe(g, x)
    b = g.conv(x, 3, k=3, act="none")
    y = g.concat([a, b, probe(g, x)], axis=axis, act=act)
    check(g.build(y), batch=2)


@pytest.mark.parametrize("act", ["none", "relu", "relu6"])
def test_add_and_gradient_sum(act):  # type: ignore[no-untyped-def]
    # the probe output is read by ADD and by a conv: its gradient is a grad_sum of both
    g = GraphMaker(seed=7)
    x = probe(g, g.input((1, 5, 5, 3)))
    y = g.add(x, g.conv(x, 3, k=3, act="relu"), act=act)
    check(g.build(y), batch=2)


def test_add_of_a_constant():
    g = GraphMaker(seed=8)
    x = probe(g, g.input((1, 3, 3, 2)))
    y = g.add(x, g.constant(g.rng.normal(size=(1, 3, 3, 2))), act="relu")
    check(g.build(y), batch=2)


def test_logistic():
    g = GraphMaker(seed=9)
    y = g.logistic(probe(g, g.input((1, 3, 4, 5))))
    check(g.build(y), batch=2)


@pytest.mark.parametrize("beta", [1.0, 0.5])
def test_softmax_inside_the_network(beta):  # type: ignore[no-untyped-def]
    g = GraphMaker(seed=10)
    s = g.softmax(probe(g, g.input((1, 2, 2, 6))), beta=beta)
    y = g.fc(g.reshape(s, (1, 24)), 3)
    check(g.build(y), batch=2)


@pytest.mark.parametrize("beta", [1.0, 2.0])
def test_trailing_softmax_with_cross_entropy(beta):  # type: ignore[no-untyped-def]
    g = GraphMaker(seed=12)
    x = g.mean(probe(g, g.input((1, 3, 3, 4))))
    y = g.dequantize(g.softmax(g.fc(x, 6), beta=beta))
    check(g.build(y), loss="softmax_xent", batch=4)


def test_mse_through_a_trailing_softmax_keeps_it():
    g = GraphMaker(seed=13)
    y = g.softmax(g.fc(g.reshape(probe(g, g.input((1, 2, 2, 3))), (1, 12)), 4))
    compared = check(g.build(y), loss="mse", batch=2)
    assert compared.activations == 3  # probe, fc and softmax (the reshape is folded away)


@pytest.mark.parametrize("act", ["relu", "relu6"])
def test_saturated_activations(act):  # type: ignore[no-untyped-def]
    # large weights push many outputs past 6 (and below 0): the kinks of relu6 are exercised
    g = GraphMaker(seed=14, weight_scale=4.0)
    y = g.conv(probe(g, g.input((1, 5, 5, 3))), 4, k=3, act=act)
    graph = g.build(y)
    check(graph, batch=2)
    tg = build_training_graph(graph, loss="mse", batch=2)
    out = ReferenceTrainer(tg).infer(random_batch(tg, 0)[0])
    assert (out == 0).mean() > 0.1
    if act == "relu6":
        assert (out == 6).mean() > 0.1
