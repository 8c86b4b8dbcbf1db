"""Build small int8 IR graphs directly in Python (no .tflite file) for training-graph tests.

Weights are random floats quantized to int8 (per output channel by default, as the TFLite
converter does for convolutions) and biases to int32 with scale = input scale * weight scale, so the
IR looks like a converted model. Activations carry a nominal int8 quantization that the fp32
training path ignores. Output shapes are worked out here with TFLite's SAME/VALID rules, written
independently of edgesdk.
"""

from __future__ import annotations

import math

import numpy as np
from edgesdk import ir

ACT_SCALE = 0.05
ACTIVATIONS = {"none": ir.Activation.NONE, "relu": ir.Activation.RELU, "relu6": ir.Activation.RELU6}


def _out_size(size: int, k: int, stride: int, dilation: int, padding: str) -> int:
    if padding == "same":
        return math.ceil(size / stride)
    return (size - (dilation * (k - 1) + 1)) // stride + 1


class GraphMaker:
    def __init__(self, name: str = "model", seed: int = 0, weight_scale: float = 0.5) -> None:
        self.name = name
        self.rng = np.random.default_rng(seed)
        self.weight_scale = weight_scale
        self.tensors: list[ir.Tensor] = []
        self.ops: list[ir.Op] = []
        self.inputs: list[int] = []

    # ------------------------------------------------------------ tensors
    def shape(self, t: int) -> tuple[int, ...]:
        return self.tensors[t].shape

    def _tensor(self, shape, dtype=ir.DType.INT8, quant=None, data=None, name=None) -> int:  # type: ignore[no-untyped-def]
        index = len(self.tensors)
        self.tensors.append(ir.Tensor(index, name or f"t{index}", tuple(shape), dtype, quant, data))
        return index

    def _activation(self, shape) -> int:  # type: ignore[no-untyped-def]
        return self._tensor(shape, quant=ir.Quant(np.array([ACT_SCALE]), np.array([0])))

    def input(self, shape: tuple[int, ...]) -> int:
        t = self._activation(shape)
        self.inputs.append(t)
        return t

    def weights(self, shape: tuple[int, ...], axis: int | None, per_channel: bool = True) -> int:
        real = self.rng.normal(0.0, self.weight_scale, size=shape)
        if per_channel and axis is not None:
            reduce = tuple(d for d in range(len(shape)) if d != axis)
            scale = np.abs(real).max(axis=reduce) / 127.0
            bshape = tuple(shape[d] if d == axis else 1 for d in range(len(shape)))
            q = np.clip(np.round(real / scale.reshape(bshape)), -127, 127)
            quant = ir.Quant(scale, np.zeros_like(scale, dtype=np.int64), axis)
        else:
            scale = np.array([np.abs(real).max() / 127.0])
            q = np.clip(np.round(real / scale[0]), -127, 127)
            quant = ir.Quant(scale, np.array([0]))
        return self._tensor(shape, ir.DType.INT8, quant, q.astype(np.int8))

    def bias(self, weights: int, channels: int) -> int:
        w_scale = self.tensors[weights].quant.scale  # type: ignore[union-attr]
        scale = np.broadcast_to(w_scale * ACT_SCALE, (channels,)).copy()
        real = self.rng.normal(0.0, 0.2, size=channels)
        q = np.round(real / scale).astype(np.int32)
        quant = ir.Quant(scale, np.zeros(channels, dtype=np.int64), 0 if channels > 1 else None)
        return self._tensor((channels,), ir.DType.INT32, quant, q)

    def constant(self, real: np.ndarray) -> int:
        scale = np.array([max(float(np.abs(real).max()), 1e-3) / 127.0])
        q = np.clip(np.round(real / scale[0]), -127, 127).astype(np.int8)
        return self._tensor(real.shape, ir.DType.INT8, ir.Quant(scale, np.array([0])), q)

    def _op(self, kind: ir.OpKind, inputs, out_shape, **attrs) -> int:  # type: ignore[no-untyped-def]
        out = self._activation(out_shape)
        self.ops.append(ir.Op(len(self.ops), kind, tuple(inputs), (out,), attrs))
        return out

    # ------------------------------------------------------------ layers
    def conv(
        self, x, out, k=3, stride=1, padding="same", dilation=1, act="relu", bias=True, per_channel=True
    ):  # type: ignore[no-untyped-def]
        n, h, w, c = self.shape(x)
        kh, kw = (k, k) if isinstance(k, int) else k
        sh, sw = (stride, stride) if isinstance(stride, int) else stride
        oh = _out_size(h, kh, sh, dilation, padding)
        ow = _out_size(w, kw, sw, dilation, padding)
        wt = self.weights((out, kh, kw, c), 0, per_channel)
        b = self.bias(wt, out) if bias else ir.NO_TENSOR
        return self._op(
            ir.OpKind.CONV_2D,
            (x, wt, b),
            (n, oh, ow, out),
            stride=(sh, sw),
            dilation=(dilation, dilation),
            padding=ir.Padding(padding),
            activation=ACTIVATIONS[act],
        )

    def depthwise(self, x, k=3, multiplier=1, stride=1, padding="same", dilation=1, act="relu", bias=True):  # type: ignore[no-untyped-def]
        n, h, w, c = self.shape(x)
        oh = _out_size(h, k, stride, dilation, padding)
        ow = _out_size(w, k, stride, dilation, padding)
        wt = self.weights((1, k, k, c * multiplier), 3)
        b = self.bias(wt, c * multiplier) if bias else ir.NO_TENSOR
        return self._op(
            ir.OpKind.DEPTHWISE_CONV_2D,
            (x, wt, b),
            (n, oh, ow, c * multiplier),
            stride=(stride, stride),
            dilation=(dilation, dilation),
            padding=ir.Padding(padding),
            activation=ACTIVATIONS[act],
            depth_multiplier=multiplier,
        )

    def fc(self, x, out, act="none", bias=True, per_channel=True):  # type: ignore[no-untyped-def]
        shape = self.shape(x)
        features = shape[-1] if len(shape) == 2 else int(np.prod(shape[1:]))
        wt = self.weights((out, features), 0, per_channel)
        b = self.bias(wt, out) if bias else ir.NO_TENSOR
        return self._op(
            ir.OpKind.FULLY_CONNECTED,
            (x, wt, b),
            (shape[0], out),
            activation=ACTIVATIONS[act],
            keep_num_dims=False,
        )

    def add(self, a, b, act="none"):  # type: ignore[no-untyped-def]
        shape = tuple(np.broadcast_shapes(self.shape(a), self.shape(b)))
        return self._op(ir.OpKind.ADD, (a, b), shape, activation=ACTIVATIONS[act])

    def pool(self, kind, x, k=2, stride=2, padding="valid", act="none"):  # type: ignore[no-untyped-def]
        n, h, w, c = self.shape(x)
        oh = _out_size(h, k, stride, 1, padding)
        ow = _out_size(w, k, stride, 1, padding)
        op_kind = ir.OpKind.MAX_POOL_2D if kind == "max" else ir.OpKind.AVERAGE_POOL_2D
        return self._op(
            op_kind,
            (x,),
            (n, oh, ow, c),
            filter=(k, k),
            stride=(stride, stride),
            padding=ir.Padding(padding),
            activation=ACTIVATIONS[act],
        )

    def mean(self, x, axes=(1, 2), keep_dims=False):  # type: ignore[no-untyped-def]
        shape = self.shape(x)
        out = tuple(1 if d in axes else s for d, s in enumerate(shape))
        if not keep_dims:
            out = tuple(s for d, s in enumerate(shape) if d not in axes)
        axes_t = self._tensor((len(axes),), ir.DType.INT32, data=np.array(axes, dtype=np.int32))
        return self._op(ir.OpKind.MEAN, (x, axes_t), out, axes=tuple(axes), keep_dims=keep_dims)

    def reshape(self, x, shape):  # type: ignore[no-untyped-def]
        return self._op(ir.OpKind.RESHAPE, (x,), tuple(shape), new_shape=tuple(shape))

    def pad(self, x, paddings):  # type: ignore[no-untyped-def]
        shape = tuple(s + b + a for s, (b, a) in zip(self.shape(x), paddings, strict=True))
        pads = self._tensor((len(paddings), 2), ir.DType.INT32, data=np.array(paddings, dtype=np.int32))
        return self._op(ir.OpKind.PAD, (x, pads), shape, paddings=tuple(tuple(p) for p in paddings))

    def concat(self, xs, axis=3, act="none"):  # type: ignore[no-untyped-def]
        shapes = [self.shape(x) for x in xs]
        out = list(shapes[0])
        out[axis] = sum(s[axis] for s in shapes)
        return self._op(
            ir.OpKind.CONCATENATION, tuple(xs), tuple(out), axis=axis, activation=ACTIVATIONS[act]
        )

    def logistic(self, x):  # type: ignore[no-untyped-def]
        return self._op(ir.OpKind.LOGISTIC, (x,), self.shape(x))

    def softmax(self, x, beta=1.0):  # type: ignore[no-untyped-def]
        return self._op(ir.OpKind.SOFTMAX, (x,), self.shape(x), beta=beta)

    def quantize(self, x):  # type: ignore[no-untyped-def]
        return self._op(ir.OpKind.QUANTIZE, (x,), self.shape(x))

    def dequantize(self, x):  # type: ignore[no-untyped-def]
        return self._op(ir.OpKind.DEQUANTIZE, (x,), self.shape(x))

    def build(self, *outputs: int) -> ir.Graph:
        return ir.Graph(self.name, tuple(self.tensors), tuple(self.ops), tuple(self.inputs), tuple(outputs))


def small_cnn(seed: int = 0, classes: int = 5) -> ir.Graph:
    """A small network with every op kind training supports: conv (stride 2, SAME), depthwise,
    a residual ADD, pools, PAD, CONCATENATION, LOGISTIC, MEAN, RESHAPE, FC and a trailing SOFTMAX.

    Parameterized layers (op index): 0 conv, 1 depthwise, 2 conv 1x1, 5 conv, 6 depthwise (M=2),
    11 conv 1x1, 14 fully connected.
    """
    g = GraphMaker("small_cnn", seed=seed)
    x = g.input((1, 10, 10, 3))
    a = g.conv(x, 6, k=3, stride=2, act="relu6")  # 0: 5x5x6
    b = g.depthwise(a, k=3, act="relu6")  # 1
    c = g.conv(b, 6, k=1, act="none")  # 2
    d = g.add(a, c, act="relu")  # 3
    e = g.pool("max", d, k=2, stride=1, padding="same")  # 4: 5x5x6
    f = g.conv(e, 4, k=3, stride=2, padding="valid", act="relu")  # 5: 2x2x4
    h = g.depthwise(f, k=2, multiplier=2, act="none")  # 6: 2x2x8
    i = g.pool("avg", h, k=2, stride=1, padding="same")  # 7
    j = g.pad(i, ((0, 0), (1, 0), (0, 1), (0, 0)))  # 8: 3x3x8
    s = g.logistic(j)  # 9
    k = g.concat([j, s], axis=3)  # 10: 3x3x16
    m = g.conv(k, 8, k=1, act="relu")  # 11
    n = g.mean(m, axes=(1, 2), keep_dims=True)  # 12: 1x1x1x8
    r = g.reshape(n, (1, 8))  # 13
    o = g.fc(r, classes)  # 14
    return g.build(g.softmax(o))  # 15
