"""PyTorch oracle for the backward of an int8 training graph: autograd on the dequantized network
with straight-through rounding.

The forward *values* are the int8 forward's (dequantized, ``s * (q - zp)`` in float32; that forward
is checked bit-exact against TFLite Micro elsewhere). Every op is computed by torch (float64) from
its inputs and the dequantized weights, then replaced by the int8 result with the straight-through
estimator ``y = f(x) + (deq(q) - f(x)).detach()``, so the gradient is torch's own vector-Jacobian
product of the float op:

- a fused RELU / RELU6 multiplies the pre-activation by the mask ``act_min < q < act_max`` (the
  clamp bounds in the quantized domain, from TFLite's activation range);
- LOGISTIC and SOFTMAX are differentiated at their int8 output (torch's ``sigmoid_backward`` /
  ``_softmax_backward_data`` evaluated at ``deq(q)``), which is what a backward that only keeps the
  int8 output can do;
- RESHAPE, QUANTIZE, DEQUANTIZE, and the requantization inside CONCATENATION are the identity.

The loss reads the dequantized logits (or outputs), as the int8 loss kernels do.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch
import torch.nn.functional as F
from edgesdk import ir
from edgesdk.quant import prepare_op
from torch_model import TorchMirror


def deq(q: np.ndarray, tensor: ir.Tensor) -> np.ndarray:
    """The float32 dequantization the int8 backward kernels use."""
    if tensor.dtype is ir.DType.FLOAT32:
        return np.asarray(q, np.float32)
    assert tensor.quant is not None
    scale = np.float32(tensor.quant.scale[0])
    return scale * (np.asarray(q, np.int64) - int(tensor.quant.zero_point[0])).astype(np.float32)


class _AtOutput(torch.autograd.Function):
    """Returns ``out``; the gradient w.r.t. ``x`` is the op's VJP evaluated at ``out``."""

    @staticmethod
    def forward(ctx, x, out, kind: str, beta: float):  # type: ignore[no-untyped-def, override]
        ctx.save_for_backward(out)
        ctx.kind, ctx.beta = kind, beta
        return out.clone()

    @staticmethod
    def backward(ctx, grad):  # type: ignore[no-untyped-def, override]
        (out,) = ctx.saved_tensors
        if ctx.kind == "logistic":
            return torch.ops.aten.sigmoid_backward(grad, out), None, None, None
        dx = torch._softmax_backward_data(grad, out, -1, out.dtype)
        return ctx.beta * dx, None, None, None


class SteMirror(TorchMirror):
    def __init__(
        self,
        graph: ir.Graph,
        batch: int,
        int8_values: Mapping[int, np.ndarray],
        trainable: set[int] | None = None,
    ) -> None:
        super().__init__(graph, batch, torch.float64)
        self.int8_values = int8_values  # IR tensor index -> the int8 run's buffer
        self.trainable = trainable  # constant tensors whose gradient is wanted (None: all)

    def _value(self, index: int, shape: tuple[int, ...]) -> torch.Tensor:
        real = deq(self.int8_values[index], self.graph.tensor(index))
        return torch.tensor(real.reshape(shape), dtype=torch.float64)

    def forward(self, x: np.ndarray) -> dict[int, torch.Tensor]:
        g = self.graph
        first = g.inputs[0]
        t: dict[int, torch.Tensor] = {first: self._value(first, self.int8_values[first].shape)}
        for op in g.ops:
            ins = [t.get(i, self.params.get(i)) if i != ir.NO_TENSOR else None for i in op.inputs]
            out_shape = tuple(self.int8_values[op.outputs[0]].shape)
            target = self._value(op.outputs[0], out_shape)
            if self._constant_output(op, ins):
                t[op.outputs[0]] = target  # nothing below needs a gradient: skip the float op
                continue
            y = self._ste(op, ins, out_shape, target)
            if y.requires_grad:
                y.retain_grad()
            t[op.outputs[0]] = y
        return t

    def _constant_output(self, op: ir.Op, ins: list) -> bool:  # type: ignore[type-arg]
        if self.trainable is None:
            return False
        for index, tensor in zip(op.inputs, ins, strict=True):
            if tensor is None:
                continue
            if self.graph.tensor(index).is_constant:
                if index in self.trainable:
                    return False
            elif tensor.requires_grad:
                return False
        return True

    def _ste(self, op: ir.Op, ins: list, out_shape: tuple[int, ...], target: torch.Tensor) -> torch.Tensor:  # type: ignore[type-arg]
        x = ins[0]
        if op.kind is ir.OpKind.LOGISTIC:
            return _AtOutput.apply(x.reshape(out_shape), target, "logistic", 1.0)
        if op.kind is ir.OpKind.SOFTMAX:
            return _AtOutput.apply(x.reshape(out_shape), target, "softmax", float(op.attrs["beta"]))
        activation = op.activation
        linear = op
        if "activation" in op.attrs:
            attrs = dict(op.attrs, activation=ir.Activation.NONE)
            linear = ir.Op(op.index, op.kind, op.inputs, op.outputs, attrs)
        z = self._op(linear, ins, out_shape).reshape(out_shape)
        if activation is not ir.Activation.NONE:
            params = prepare_op(self.graph, op)
            q = torch.tensor(np.asarray(self.int8_values[op.outputs[0]], np.int64).reshape(out_shape))
            z = z * ((q > params.act_min) & (q < params.act_max)).to(z.dtype)
        return z + (target - z).detach()

    def logits_tensor(self, loss: str) -> tuple[int, float]:
        """MSE reads the model output itself (a DEQUANTIZE is a node of the int8 graph)."""
        return super().logits_tensor(loss) if loss == "softmax_xent" else (self.graph.outputs[0], 1.0)

    def loss(self, values: dict[int, torch.Tensor], labels: np.ndarray, loss: str) -> torch.Tensor:
        t, beta = self.logits_tensor(loss)
        logits = values[t]
        if loss == "softmax_xent":
            return F.cross_entropy(
                beta * logits.reshape(-1, logits.shape[-1]),
                torch.tensor(np.asarray(labels, np.int64).reshape(-1)),
            )
        target = torch.tensor(np.asarray(labels).reshape(logits.shape), dtype=torch.float64)
        return F.mse_loss(logits, target)


def int8_buffers(tg, values: Mapping[str, np.ndarray]) -> dict[int, np.ndarray]:  # type: ignore[no-untyped-def]
    """Every activation of the model (IR tensor index -> array) from one run of an int8 training
    graph: the buffers its nodes wrote, and folded aliases (RESHAPE) as views of their input."""
    by_tensor = {
        v.tensor: values[v.name] for v in tg.values.values() if v.tensor is not None and v.name in values
    }
    g = tg.source
    for op in g.ops:
        out = op.outputs[0]
        if out not in by_tensor and op.inputs[0] in by_tensor:
            shape = g.tensor(out).shape
            by_tensor[out] = by_tensor[op.inputs[0]].reshape((shape[0] * tg.batch, *shape[1:]))
    return by_tensor
