"""PyTorch mirror of an IR graph (float64, autograd) and the one helper that compares it with the
numpy reference trainer.

The mirror is written from TFLite's semantics with torch ops, independently of edgesdk's kernels:
padding amounts are recomputed here, AVERAGE_POOL divides by in-bounds elements, the loss uses
``torch.nn.functional.cross_entropy`` / ``mse_loss``. Every activation keeps ``retain_grad`` so
intermediate gradients can be compared too.

Tolerance (``assert_close``): ``|ours - torch| <= 1e-4 * |torch| + 1e-4 * max|torch|`` per tensor,
i.e. rtol 1e-4 plus an absolute floor of 1e-4 of the tensor's largest magnitude for entries that
cancel to near zero. ``ours`` is float32; torch runs in float64 on the same float32 inputs (float32
for MobileNetV2, where torch's float64 convolutions take seconds).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from edgesdk import ir
from edgesdk.reference import ReferenceTrainer
from edgesdk.train import TrainingGraph, ValueKind, build_training_graph

RTOL = 1e-4
ATOL_OF_MAX = 1e-4
WORST: dict[str, float] = {"relative_error": 0.0}  # largest |ours - torch| / max|torch| seen


def assert_close(ours: np.ndarray, expected: np.ndarray, what: str) -> None:
    ours = np.asarray(ours, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    assert ours.shape == expected.shape, f"{what}: shape {ours.shape} != {expected.shape}"
    scale = float(np.abs(expected).max(initial=0.0))
    error = np.abs(ours - expected)
    bound = RTOL * np.abs(expected) + ATOL_OF_MAX * scale + 1e-30
    if scale > 0:
        WORST["relative_error"] = max(WORST["relative_error"], float(error.max(initial=0.0)) / scale)
    bad = error > bound
    assert not bad.any(), (
        f"{what}: {int(bad.sum())} of {bad.size} entries differ; worst |diff| {error.max():.3g} "
        f"(max |torch| {scale:.3g})"
    )


def _same(size: int, k: int, stride: int, dilation: int) -> tuple[int, int]:
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + (k - 1) * dilation + 1 - size, 0)
    return total // 2, total - total // 2


def _nchw_pad(x: torch.Tensor, op: ir.Op, kh: int, kw: int, dilation=(1, 1), value=0.0) -> torch.Tensor:  # type: ignore[no-untyped-def]
    if op.attrs["padding"] is ir.Padding.VALID:
        return x
    top, bottom = _same(x.shape[2], kh, op.attrs["stride"][0], dilation[0])
    left, right = _same(x.shape[3], kw, op.attrs["stride"][1], dilation[1])
    return F.pad(x, (left, right, top, bottom), value=value)


def _activate(y: torch.Tensor, activation: ir.Activation) -> torch.Tensor:
    if activation is ir.Activation.RELU:
        return F.relu(y)
    if activation is ir.Activation.RELU6:
        return F.hardtanh(y, 0.0, 6.0)
    return y


def _batched(shape: tuple[int, ...], batch: int) -> tuple[int, ...]:
    return (shape[0] * batch, *shape[1:]) if shape else shape


@dataclass
class TorchMirror:
    graph: ir.Graph
    batch: int
    dtype: torch.dtype = torch.float64  # float32 for big models: torch's float64 conv is slow on CPU
    params: dict[int, torch.Tensor] = field(default_factory=dict)  # constant tensor index -> leaf

    def __post_init__(self) -> None:
        for tensor in self.graph.tensors:
            if tensor.is_constant and (tensor.quant is not None or tensor.dtype is ir.DType.FLOAT32):
                real = torch.tensor(tensor.dequantized(), dtype=self.dtype, requires_grad=True)
                self.params[tensor.index] = real

    def forward(self, x: np.ndarray) -> dict[int, torch.Tensor]:
        g = self.graph
        t: dict[int, torch.Tensor] = {g.inputs[0]: torch.tensor(np.asarray(x), dtype=self.dtype)}
        for op in g.ops:
            ins = [t.get(i, self.params.get(i)) if i != ir.NO_TENSOR else None for i in op.inputs]
            out_shape = _batched(g.tensor(op.outputs[0]).shape, self.batch)
            y = self._op(op, ins, out_shape)
            if y.requires_grad:
                y.retain_grad()
            t[op.outputs[0]] = y
        return t

    def _op(self, op: ir.Op, ins: list, out_shape: tuple[int, ...]) -> torch.Tensor:  # type: ignore[type-arg]
        kind, a = op.kind, op.attrs
        x = ins[0]
        if kind in (ir.OpKind.CONV_2D, ir.OpKind.DEPTHWISE_CONV_2D):
            w = ins[1]
            kh, kw = w.shape[1], w.shape[2]
            xn = _nchw_pad(x.permute(0, 3, 1, 2).contiguous(), op, kh, kw, a["dilation"])
            if kind is ir.OpKind.CONV_2D:
                weight, groups = w.permute(0, 3, 1, 2).contiguous(), 1
            else:
                weight, groups = w.permute(3, 0, 1, 2).contiguous(), x.shape[3]
            y = F.conv2d(xn, weight, ins[2], stride=a["stride"], dilation=a["dilation"], groups=groups)
            return _activate(y.permute(0, 2, 3, 1), a["activation"])
        if kind is ir.OpKind.FULLY_CONNECTED:
            w = ins[1]
            y = x.reshape(-1, w.shape[1]) @ w.T
            if ins[2] is not None:
                y = y + ins[2]
            return _activate(y, a["activation"]).reshape(out_shape)
        if kind is ir.OpKind.ADD:
            return _activate(ins[0] + ins[1], a["activation"])
        if kind in (ir.OpKind.AVERAGE_POOL_2D, ir.OpKind.MAX_POOL_2D):
            fh, fw = a["filter"]
            xn = x.permute(0, 3, 1, 2)
            if kind is ir.OpKind.MAX_POOL_2D:
                y = F.max_pool2d(_nchw_pad(xn, op, fh, fw, value=-math.inf), (fh, fw), a["stride"])
            else:
                total = F.avg_pool2d(_nchw_pad(xn, op, fh, fw), (fh, fw), a["stride"], divisor_override=1)
                ones = torch.ones((1, 1, *xn.shape[2:]), dtype=xn.dtype)
                count = F.avg_pool2d(_nchw_pad(ones, op, fh, fw), (fh, fw), a["stride"], divisor_override=1)
                y = total / count
            return _activate(y.permute(0, 2, 3, 1), a["activation"])
        if kind is ir.OpKind.MEAN:
            return x.mean(dim=a["axes"], keepdim=True).reshape(out_shape)
        if kind in (ir.OpKind.RESHAPE, ir.OpKind.QUANTIZE, ir.OpKind.DEQUANTIZE):
            return x.reshape(out_shape)
        if kind is ir.OpKind.PAD:
            flat: list[int] = []
            for before, after in reversed(a["paddings"]):
                flat += [before, after]
            return F.pad(x, flat)
        if kind is ir.OpKind.CONCATENATION:
            return _activate(torch.cat(ins, dim=a["axis"]), a["activation"])
        if kind is ir.OpKind.LOGISTIC:
            return torch.sigmoid(x)
        if kind is ir.OpKind.SOFTMAX:
            return torch.softmax(a["beta"] * x, dim=-1)
        raise NotImplementedError(kind)

    def logits_tensor(self, loss: str) -> tuple[int, float]:
        """The tensor the loss reads: the model output, or a trailing SOFTMAX's input for xent."""
        g = self.graph
        t = g.outputs[0]
        while True:
            op = g.producer(t)
            if op is not None and op.kind in (ir.OpKind.RESHAPE, ir.OpKind.QUANTIZE, ir.OpKind.DEQUANTIZE):
                t = op.inputs[0]
                continue
            if loss == "softmax_xent" and op is not None and op.kind is ir.OpKind.SOFTMAX:
                return op.inputs[0], float(op.attrs["beta"])
            return t, 1.0

    def loss(self, values: dict[int, torch.Tensor], labels: np.ndarray, loss: str) -> torch.Tensor:
        t, beta = self.logits_tensor(loss)
        logits = values[t]
        if loss == "softmax_xent":
            z = beta * logits.reshape(-1, logits.shape[-1])
            return F.cross_entropy(z, torch.tensor(np.asarray(labels, np.int64).reshape(-1)))
        target = torch.tensor(np.asarray(labels).reshape(logits.shape), dtype=self.dtype)
        return F.mse_loss(logits, target)


def random_batch(tg: TrainingGraph, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(0.0, 1.0, size=tg.values[tg.input].shape).astype(np.float32)
    labels_value = tg.values[tg.labels]
    if labels_value.dtype is ir.DType.INT32:
        classes = tg.values[tg.logits].shape[-1]
        labels = rng.integers(0, classes, size=labels_value.shape).astype(np.int32)
    else:
        labels = rng.normal(0.0, 1.0, size=labels_value.shape).astype(np.float32)
    return x, labels


@dataclass(frozen=True)
class Compared:
    activations: int
    activation_grads: int
    param_grads: int


def compare_gradients(
    graph: ir.Graph,
    trainable: str = "all",
    loss: str = "mse",
    batch: int = 2,
    seed: int = 0,
    torch_dtype: torch.dtype = torch.float64,
    fuse: bool = True,
) -> Compared:
    """Build the training graph, run the reference's forward/loss/backward and check the loss,
    every forward buffer, every activation gradient and every parameter gradient against torch
    (``fuse=False``: also the gradients a fused node never stores)."""
    tg = build_training_graph(graph, trainable=trainable, loss=loss, batch=batch, fuse=fuse)
    x, labels = random_batch(tg, seed)
    result = ReferenceTrainer(tg).gradients(x, labels)

    mirror = TorchMirror(graph, batch, torch_dtype)
    values = mirror.forward(x)
    torch_loss = mirror.loss(values, labels, loss)
    torch_loss.backward()
    assert_close(np.array(result.loss), np.array(torch_loss.item()), "loss")

    n_act = n_dact = n_param = 0
    for value in tg.values.values():
        if value.kind is ValueKind.ACTIVATION and value.name in result.values:
            expected = values[value.tensor].detach().numpy().reshape(value.shape)  # type: ignore[index]
            assert_close(result.values[value.name], expected, f"forward {value.name}")
            n_act += 1
        if value.kind is ValueKind.ACTIVATION and value.name in tg.gradients:
            grad = values[value.tensor].grad  # type: ignore[index]
            assert grad is not None, f"torch has no gradient for {value.name}"
            ours = result.values[tg.gradients[value.name]]
            assert_close(ours, grad.numpy().reshape(value.shape), f"gradient of {value.name}")
            n_dact += 1
        if value.kind is ValueKind.PARAMETER:
            grad = mirror.params[value.tensor].grad  # type: ignore[index]
            assert grad is not None
            k = tg.trainable_channels[value.name]
            axis = 3 if value.name.startswith("depthwise") and value.name.endswith(".w") else 0
            expected = np.take(grad.numpy(), np.arange(k), axis=axis)
            assert_close(result.values[tg.gradients[value.name]], expected, f"gradient of {value.name}")
            n_param += 1
    return Compared(n_act, n_dact, n_param)
