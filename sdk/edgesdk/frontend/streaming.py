"""Streaming models: TFLite resource variables -> explicit states (:class:`edgesdk.ir.State`).

A streaming model (microWakeWord's, TensorFlow's streaming layers) keeps ring buffers between
inferences in resource variables::

    main subgraph    CALL_ONCE(init=1)                     runs subgraph 1 at the first inference
                     VAR_HANDLE -> h                        h names the variable "stream/states"
                     READ_VARIABLE(h) -> s                  the state left by the last inference
                     ... ops on s and the input ... -> s'
                     ASSIGN_VARIABLE(h, s')                 the state for the next inference
    subgraph 1       VAR_HANDLE -> h; ASSIGN_VARIABLE(h, constant)

:func:`resolve_states` removes those four ops and returns one :class:`RawState` per variable:
the tensor read (a source, like an input), the tensor assigned (a result, like an output) and the
constant the initialization subgraph assigns. With every variable read once, before it is
assigned, and assigned once, an inference is the pure function ``(input, states) -> (output, new
states)``: copying the assigned tensors into the read ones between inferences gives what TFLite
Micro computes. Anything else that keeps state (variable tensors, recurrent ops, other shapes of
variable use) is refused with an error naming the op as a streaming/stateful one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edgesdk.errors import UnsupportedOpError
from edgesdk.frontend.reader import RawModel, RawOp, RawSubgraph

STATE_OPS = frozenset({"VAR_HANDLE", "READ_VARIABLE", "ASSIGN_VARIABLE", "CALL_ONCE"})
# builtins that keep hidden state edgesdk cannot run (variable tensors, tables, random streams)
STATEFUL_OPS = frozenset({
    "UNIDIRECTIONAL_SEQUENCE_LSTM", "BIDIRECTIONAL_SEQUENCE_LSTM", "UNIDIRECTIONAL_SEQUENCE_RNN",
    "BIDIRECTIONAL_SEQUENCE_RNN", "LSTM", "RNN", "SVDF", "HASHTABLE", "HASHTABLE_FIND",
    "HASHTABLE_IMPORT", "HASHTABLE_SIZE", "RANDOM_UNIFORM", "RANDOM_STANDARD_NORMAL", "MULTINOMIAL",
})
_FORM = ("edgesdk runs streaming models whose state lives in resource variables (VAR_HANDLE, "
         "READ_VARIABLE, ASSIGN_VARIABLE, initialized by CALL_ONCE), each read once and then assigned "
         "once per inference, as microWakeWord exports them")


@dataclass(frozen=True)
class RawState:
    name: str  # the variable's shared name
    read: int  # main-subgraph tensor READ_VARIABLE writes
    write: int  # main-subgraph tensor ASSIGN_VARIABLE stores
    initial: np.ndarray  # the constant the initialization subgraph assigns


@dataclass(frozen=True)
class Streaming:
    ops: tuple[RawOp, ...]  # the main subgraph's ops without the state ops
    states: tuple[RawState, ...]


def stateful_error(op: RawOp, message: str, where: str = "") -> UnsupportedOpError:
    return UnsupportedOpError(f"streaming/stateful op {where}{op.index} ({op.label}): {message}")


def _variable_key(op: RawOp) -> str:
    container = str(op.options.get("Container", "") or "")
    shared = str(op.options.get("SharedName", "") or "")
    return f"{container}/{shared}" if container else shared


def _handles(graph: RawSubgraph, where: str) -> dict[int, str]:
    """Resource tensor -> variable name, for every VAR_HANDLE of ``graph``."""
    handles: dict[int, str] = {}
    for op in graph.ops:
        if op.name != "VAR_HANDLE":
            continue
        if op.inputs or len(op.outputs) != 1:
            raise stateful_error(op, "expected no inputs and one resource output", where)
        key = _variable_key(op)
        if not key:
            raise stateful_error(op, "the variable has no shared name, so its initialization cannot be "
                                     "matched; " + _FORM, where)
        handles[op.outputs[0]] = key
    return handles


def _handle(op: RawOp, handles: dict[int, str], where: str = "") -> str:
    if not op.inputs or op.inputs[0] not in handles:
        raise stateful_error(op, "its resource does not come from a VAR_HANDLE of the same subgraph; "
                             + _FORM, where)
    return handles[op.inputs[0]]


def _initial_values(model: RawModel, call: RawOp) -> dict[str, np.ndarray]:
    """Variable name -> constant, from the initialization subgraph that ``call`` names."""
    index = int(call.options.get("InitSubgraphIndex", 0))
    if not 0 < index < len(model.subgraphs):
        raise stateful_error(call, f"its initialization subgraph {index} does not exist "
                                   f"(the model has {len(model.subgraphs)})")
    graph = model.subgraphs[index]
    where = f"{index}:"
    handles = _handles(graph, where)
    values: dict[str, np.ndarray] = {}
    for op in graph.ops:
        if op.name == "VAR_HANDLE":
            continue
        if op.name != "ASSIGN_VARIABLE":
            raise stateful_error(op, f"the initialization subgraph {index} computes with {op.label}; only "
                                     f"VAR_HANDLE and ASSIGN_VARIABLE of constants are supported", where)
        name = _handle(op, handles, where)
        value = graph.tensors[op.inputs[1]].data if len(op.inputs) == 2 else None
        if value is None:
            raise stateful_error(op, f"variable {name!r} is initialized with a value computed at run time; "
                                     f"only constants are supported", where)
        values[name] = value
    return values


def _check_plain(model: RawModel) -> None:
    variable_tensors = {t.index for t in model.tensors if t.is_variable}
    for op in model.ops:
        if op.name in STATEFUL_OPS:
            raise stateful_error(op, "keeps state between inferences inside the op, which edgesdk cannot "
                                     "run; " + _FORM)
        touched = variable_tensors.intersection(op.inputs)
        if touched:
            name = model.tensors[min(touched)].name
            raise stateful_error(op, f"keeps state in the variable tensor {name!r}, which edgesdk cannot "
                                     f"run; " + _FORM)


def resolve_states(model: RawModel) -> Streaming:
    """The main subgraph's ops without VAR_HANDLE/READ_VARIABLE/ASSIGN_VARIABLE/CALL_ONCE, and its states."""
    _check_plain(model)
    if not any(op.name in STATE_OPS for op in model.ops):
        return Streaming(model.ops, ())
    handles = _handles(model.subgraphs[0], "")
    initial: dict[str, np.ndarray] = {}
    reads: dict[str, RawOp] = {}
    writes: dict[str, RawOp] = {}
    for op in model.ops:
        if op.name == "CALL_ONCE":
            if reads:
                raise stateful_error(op, "runs after a variable is read; it must come first")
            initial.update(_initial_values(model, op))
        elif op.name == "READ_VARIABLE":
            name = _handle(op, handles)
            if name in writes:
                raise stateful_error(op, f"reads variable {name!r} after op {writes[name].index} assigns it; "
                                         + _FORM)
            if name in reads:
                raise stateful_error(op, f"reads variable {name!r} a second time (op "
                                         f"{reads[name].index} read it); " + _FORM)
            if len(op.outputs) != 1:
                raise stateful_error(op, "expected one output")
            reads[name] = op
        elif op.name == "ASSIGN_VARIABLE":
            name = _handle(op, handles)
            if name in writes:
                raise stateful_error(op, f"assigns variable {name!r} a second time (op "
                                         f"{writes[name].index}); " + _FORM)
            if len(op.inputs) != 2 or op.inputs[1] < 0:
                raise stateful_error(op, "expected a resource and a value")
            writes[name] = op
    states = []
    for name, read in reads.items():
        if name not in writes:
            raise stateful_error(read, f"variable {name!r} is never assigned; " + _FORM)
        if name not in initial:
            raise stateful_error(read, f"variable {name!r} is read but no CALL_ONCE initialization "
                                       f"assigns it")
        target, value = model.tensors[read.outputs[0]], model.tensors[writes[name].inputs[1]]
        start = np.asarray(initial[name])
        if value.shape != target.shape or value.dtype != target.dtype:
            raise stateful_error(writes[name], f"assigns a {value.dtype} {list(value.shape)} value to "
                                               f"variable {name!r}, which is read as {target.dtype} "
                                               f"{list(target.shape)}")
        if start.size != target.data_size or start.dtype != np.dtype(target.dtype or "float32"):
            raise stateful_error(read, f"variable {name!r} is initialized with a {start.dtype} "
                                       f"{list(start.shape)} constant but read as {target.dtype} "
                                       f"{list(target.shape)}")
        states.append(RawState(name, read.outputs[0], value.index, start.reshape(target.shape)))
    remaining = tuple(op for op in model.ops if op.name not in STATE_OPS)
    return Streaming(remaining, tuple(states))
