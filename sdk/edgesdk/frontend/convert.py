"""Raw main subgraph -> :class:`edgesdk.ir.Graph`: fold, prune, convert each op, re-index.

Order of work: constant folding (:mod:`edgesdk.frontend.fold`); dropping ops whose outputs no
graph output needs; a check that every op reads only tensors already written; one converter per
op (:mod:`edgesdk.frontend.ops`); then the tensors still referenced are renumbered in their
original order, so ``Tensor.index`` and ``Op.index`` equal their positions, and the TFLite index
of every IR tensor and op is kept beside the graph.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np

from edgesdk.errors import ModelError, UnsupportedOpError
from edgesdk.frontend import slicing
from edgesdk.frontend.fold import FOLDERS, fold_constants
from edgesdk.frontend.ops import CONVERTERS as LAYER_CONVERTERS
from edgesdk.frontend.ops import Converted, OpContext
from edgesdk.frontend.reader import RawModel, RawOp, RawTensor
from edgesdk.frontend.streaming import STATE_OPS, resolve_states
from edgesdk.ir import NO_TENSOR, DType, Graph, Op, Quant, State, Tensor

_CALLS_SUBGRAPHS = frozenset({"WHILE", "IF", "CALL"})
_QUANTIZED_DTYPES = frozenset({"int8", "uint8", "int16"})
CONVERTERS = {**LAYER_CONVERTERS, **slicing.CONVERTERS}
SUPPORTED_OPS: tuple[str, ...] = tuple(sorted({*CONVERTERS, *STATE_OPS}))
FOLDED_OPS: tuple[str, ...] = tuple(sorted(FOLDERS))


@dataclass(frozen=True)
class ImportedModel:
    """The IR plus where each of its tensors and ops came from in the TFLite main subgraph."""

    graph: Graph
    tflite_tensor: tuple[int, ...]  # IR tensor index -> TFLite tensor index
    tflite_op: tuple[int, ...]  # IR op index -> TFLite operator index

    def ir_tensor(self, tflite_index: int) -> int | None:
        """The IR index of TFLite tensor ``tflite_index``, None when it was folded away or unused."""
        try:
            return self.tflite_tensor.index(tflite_index)
        except ValueError:
            return None


def _unsupported(op: RawOp) -> UnsupportedOpError:
    if op.name in _CALLS_SUBGRAPHS or op.name.startswith("STABLEHLO_"):
        return UnsupportedOpError(
            f"op {op.index} ({op.label}) calls other subgraphs; edgesdk imports single-subgraph models "
            f"only. Supported ops: {', '.join(SUPPORTED_OPS)}"
        )
    return UnsupportedOpError(
        f"op {op.index} ({op.label}) is not supported. Supported ops: {', '.join(SUPPORTED_OPS)}; "
        f"folded when their inputs are known at build time: {', '.join(FOLDED_OPS)}. Re-export the "
        f"model without this layer or replace it with supported ones."
    )


def _live_ops(model: RawModel, ops: tuple[RawOp, ...], roots: set[int]) -> list[RawOp]:
    """Ops that some graph output or state write depends on, in their original order."""
    needed = set(model.outputs) | roots
    live = []
    for op in reversed(ops):
        if needed.intersection(op.outputs):
            live.append(op)
            needed.update(i for i in op.inputs if i != NO_TENSOR)
    return live[::-1]


def _check_order(model: RawModel, ops: list[RawOp], constants: Mapping[int, np.ndarray],
                 sources: set[int], results: set[int]) -> None:
    available = set(model.inputs) | set(constants) | sources
    for index in (*model.inputs, *sources):
        if index in constants:
            raise ModelError(f"graph input {model.tensors[index].name!r} is a constant")
    for op in ops:
        for index in op.inputs:
            if index != NO_TENSOR and index not in available:
                raise ModelError(f"op {op.index} ({op.label}) reads tensor "
                                 f"{model.tensors[index].name!r} before any op writes it")
        for index in op.outputs:
            if index in available:
                name = model.tensors[index].name
                raise ModelError(f"op {op.index} ({op.label}) overwrites tensor {name!r}")
            available.add(index)
    for index in (*model.outputs, *results):
        if index not in available:
            raise ModelError(f"graph output {model.tensors[index].name!r} is never written")


def _convert_op(op: RawOp, model: RawModel, constants: Mapping[int, np.ndarray]) -> tuple[Converted, ...]:
    """One IR op per TFLite op, or one per output for SPLIT / SPLIT_V."""
    converter = CONVERTERS.get(op.name)
    if converter is None:
        raise _unsupported(op)
    result = converter(OpContext(op, model.tensors, constants))
    return result if isinstance(result, tuple) else (result,)


def _ir_tensor(raw: RawTensor, index: int, data: np.ndarray | None) -> Tensor:
    valid = {d.value for d in DType}
    if raw.dtype not in valid:
        raise UnsupportedOpError(f"tensor {raw.name!r} has type {raw.type_name}; edgesdk supports "
                                 f"{', '.join(sorted(valid))}")
    if raw.sparse:
        raise UnsupportedOpError(f"tensor {raw.name!r} is sparse; densify the model first")
    if raw.is_variable:
        raise UnsupportedOpError(f"tensor {raw.name!r} is a variable tensor: streaming/stateful models must "
                                 f"keep their state in resource variables (VAR_HANDLE / READ_VARIABLE / "
                                 f"ASSIGN_VARIABLE)")
    if data is None:
        if 0 in raw.shape:
            raise ModelError(f"activation {raw.name!r} has an empty dimension: {list(raw.shape)}")
        if raw.dtype in _QUANTIZED_DTYPES and raw.quant is None:
            raise ModelError(f"{raw.dtype} activation {raw.name!r} has no quantization parameters")
        if raw.quant is not None and raw.quant.scale.size > 1:
            raise UnsupportedOpError(f"activation {raw.name!r} is quantized per channel; "
                                     f"only weights may be")
    quant = None
    if raw.quant is not None:
        per_channel = raw.quant.scale.size > 1
        quant = Quant(raw.quant.scale, raw.quant.zero_point, raw.quant.axis if per_channel else None)
    return Tensor(index=index, name=raw.name, shape=raw.shape, dtype=DType(raw.dtype), quant=quant, data=data)


def convert(model: RawModel, fallback_name: str = "model") -> ImportedModel:
    streaming = resolve_states(model)
    model = replace(model, ops=streaming.ops)
    reads = {state.read for state in streaming.states}
    writes = {state.write for state in streaming.states}
    constants, remaining = fold_constants(model)
    ops = _live_ops(model, remaining, writes)
    _check_order(model, ops, constants, reads, writes)
    converted = [(op, part) for op in ops for part in _convert_op(op, model, constants)]
    used = set(model.inputs) | set(model.outputs) | reads | writes
    for op, result in converted:
        used.update(i for i in result.inputs if i != NO_TENSOR)
        used.update(op.outputs if result.outputs is None else result.outputs)
    order = sorted(used)
    new_index = {old: new for new, old in enumerate(order)}
    tensors = tuple(_ir_tensor(model.tensors[old], new, constants.get(old)) for new, old in enumerate(order))

    def remap(indices: tuple[int, ...]) -> tuple[int, ...]:
        return tuple(NO_TENSOR if i == NO_TENSOR else new_index[i] for i in indices)

    ir_ops = tuple(
        Op(index=position, kind=result.kind, inputs=remap(result.inputs),
           outputs=remap(op.outputs if result.outputs is None else result.outputs), attrs=result.attrs)
        for position, (op, result) in enumerate(converted)
    )
    states = tuple(State(s.name, new_index[s.read], new_index[s.write], s.initial) for s in streaming.states)
    graph = Graph(
        name=model.name if model.name not in ("", "main") else fallback_name,  # the converter says "main"
        tensors=tensors,
        ops=ir_ops,
        inputs=remap(model.inputs),
        outputs=remap(model.outputs),
        states=states,
    )
    op_origin = tuple(op.index for op, _ in converted)
    return ImportedModel(graph=graph, tflite_tensor=tuple(order), tflite_op=op_origin)
