"""What ``edgesdk inspect`` reports about a model: per op and per tensor, and totals.

Definitions (also in docs/frontend.md):

- MACs: multiply-accumulates of CONV_2D (N*OH*OW*OC*KH*KW*IC), DEPTHWISE_CONV_2D
  (N*OH*OW*OC*KH*KW) and FULLY_CONNECTED (rows*OUT*IN); 0 for every other op (their additions,
  comparisons and copies are not multiply-accumulates).
- Parameter bytes: bytes of the constant tensors as stored (int8 weights, int32 biases).
- Activation bytes of an op: bytes of its outputs as stored (int8 for a quantized model).
- Training memory if everything were kept, in fp32: every activation of the forward pass (graph
  inputs and op outputs, each once), every parameter and one gradient per parameter:
  ``4 * (A + 2 * P)`` bytes, A = activation elements, P = parameter elements.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from edgesdk.frontend.convert import ImportedModel
from edgesdk.ir import Graph, Op, OpKind, Tensor

FP32_BYTES = 4


@dataclass(frozen=True)
class TensorSummary:
    index: int
    tflite_index: int
    name: str
    shape: tuple[int, ...]
    dtype: str
    role: str  # "input", "output", "state" (a streaming model's state as read), "activation", "constant"
    nbytes: int
    quant: str  # one-line description, "" when not quantized


@dataclass(frozen=True)
class OpSummary:
    index: int
    tflite_index: int
    kind: str
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    attrs: Mapping[str, Any]  # JSON-ready values
    macs: int
    param_bytes: int
    param_elements: int
    activation_bytes: int


@dataclass(frozen=True)
class ModelSummary:
    name: str
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    tensors: tuple[TensorSummary, ...]
    ops: tuple[OpSummary, ...]
    macs: int
    param_bytes: int
    param_elements: int
    activation_bytes: int
    activation_elements: int
    training_bytes_fp32: int
    states: tuple[tuple[str, int, int], ...] = ()  # (name, read tensor, write tensor) of a streaming model


def op_macs(graph: Graph, op: Op) -> int:
    """Multiply-accumulates of one op (see the module docstring)."""
    if op.kind is OpKind.CONV_2D:
        out = graph.tensors[op.outputs[0]].size
        _, kh, kw, in_c = graph.tensors[op.inputs[1]].shape
        return out * kh * kw * in_c
    if op.kind is OpKind.DEPTHWISE_CONV_2D:
        _, kh, kw, _ = graph.tensors[op.inputs[1]].shape
        return graph.tensors[op.outputs[0]].size * kh * kw
    if op.kind is OpKind.FULLY_CONNECTED:
        return graph.tensors[op.outputs[0]].size * graph.tensors[op.inputs[1]].shape[1]
    return 0


def quant_summary(tensor: Tensor) -> str:
    q = tensor.quant
    if q is None:
        return ""
    if not q.per_channel:
        return f"s={q.scale[0]:.6g} zp={int(q.zero_point[0])}"
    zero_points = np.unique(q.zero_point)
    zp = str(int(zero_points[0])) if zero_points.size == 1 else f"[{zero_points.min()}..{zero_points.max()}]"
    return f"axis {q.axis} x{q.scale.size} s=[{q.scale.min():.3g}..{q.scale.max():.3g}] zp={zp}"


def _json_value(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, tuple | list):
        return [_json_value(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def _role(graph: Graph, tensor: Tensor) -> str:
    if tensor.index in graph.inputs:
        return "input"
    if tensor.index in graph.outputs:
        return "output"
    if any(state.read == tensor.index for state in graph.states):
        return "state"
    return "constant" if tensor.is_constant else "activation"


def summarize(imported: ImportedModel) -> ModelSummary:
    graph = imported.graph
    tensors = tuple(
        TensorSummary(
            index=t.index, tflite_index=imported.tflite_tensor[t.index], name=t.name, shape=t.shape,
            dtype=t.dtype.value, role=_role(graph, t), nbytes=t.nbytes, quant=quant_summary(t),
        )
        for t in graph.tensors
    )
    ops = []
    for op in graph.ops:
        params = [graph.tensors[i] for i in op.inputs if i >= 0 and graph.tensors[i].is_constant]
        ops.append(OpSummary(
            index=op.index, tflite_index=imported.tflite_op[op.index], kind=op.kind.value,
            inputs=op.inputs, outputs=op.outputs,
            attrs={key: _json_value(value) for key, value in op.attrs.items()},
            macs=op_macs(graph, op),
            param_bytes=sum(t.nbytes for t in params),
            param_elements=sum(t.size for t in params),
            activation_bytes=sum(graph.tensors[i].nbytes for i in op.outputs),
        ))
    constants = [t for t in graph.tensors if t.is_constant]
    activations = [t for t in graph.tensors if not t.is_constant]
    param_elements = sum(t.size for t in constants)
    activation_elements = sum(t.size for t in activations)
    return ModelSummary(
        name=graph.name,
        inputs=graph.inputs,
        outputs=graph.outputs,
        tensors=tensors,
        ops=tuple(ops),
        macs=sum(op.macs for op in ops),
        param_bytes=sum(t.nbytes for t in constants),
        param_elements=param_elements,
        activation_bytes=sum(t.nbytes for t in activations),
        activation_elements=activation_elements,
        training_bytes_fp32=FP32_BYTES * (activation_elements + 2 * param_elements),
        states=tuple((state.name, state.read, state.write) for state in graph.states),
    )


def summary_json(summary: ModelSummary, graph: Graph) -> dict[str, Any]:
    """A JSON-ready dict: everything in the summary plus the full quantization of each tensor."""

    def quant(tensor: Tensor) -> dict[str, Any] | None:
        if tensor.quant is None:
            return None
        return {
            "scale": tensor.quant.scale.tolist(),
            "zero_point": tensor.quant.zero_point.tolist(),
            "axis": tensor.quant.axis,
        }

    return {
        "name": summary.name,
        "inputs": list(summary.inputs),
        "outputs": list(summary.outputs),
        "states": [{"name": name, "read": read, "write": write} for name, read, write in summary.states],
        "ops": [
            {
                "index": op.index, "tflite_index": op.tflite_index, "kind": op.kind,
                "inputs": list(op.inputs), "outputs": list(op.outputs), "attrs": dict(op.attrs),
                "macs": op.macs, "param_bytes": op.param_bytes, "param_elements": op.param_elements,
                "activation_bytes": op.activation_bytes,
            }
            for op in summary.ops
        ],
        "tensors": [
            {
                "index": t.index, "tflite_index": t.tflite_index, "name": t.name, "shape": list(t.shape),
                "dtype": t.dtype, "role": t.role, "bytes": t.nbytes, "quant": quant(graph.tensors[t.index]),
            }
            for t in summary.tensors
        ],
        "totals": {
            "macs": summary.macs,
            "param_bytes": summary.param_bytes,
            "param_elements": summary.param_elements,
            "activation_bytes": summary.activation_bytes,
            "activation_elements": summary.activation_elements,
            "training_bytes_fp32": summary.training_bytes_fp32,
            "training_formula": "4 * (activation_elements + 2 * param_elements)",
        },
    }
