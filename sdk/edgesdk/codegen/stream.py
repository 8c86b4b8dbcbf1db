"""Streaming inference in C: a streaming model (``graph.states``) as one generated C file.

    sources = stream_sources(graph, prefix="ww")    # {"ww_stream.h": ..., "ww_stream.c": ...}

The C file holds the weights and every constant as ``const`` data (flash), one static buffer per
activation (RESHAPE outputs share their input's), the states' buffers, and three functions:
``<prefix>_reset()`` (the states to their initial values), ``<prefix>_step(input, output)`` (one
inference: the int8 kernels of ``edgesdk/kernels_int8.h`` in the graph's order, then every state's
``write`` copied into its ``read`` buffer, as :func:`edgesdk.reference.streaming.run_stream`) and
``<prefix>_tensors`` (every activation buffer by IR index, for tests and debugging). The integers
are the numpy reference's (the kernels are), so the C equals TFLite Micro frame for frame.

Ops: CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, CONCATENATION, SLICE, RESHAPE, LOGISTIC and
QUANTIZE (int8 -> int8 or uint8): what microWakeWord's models use. Memory is one buffer per
activation (no planning): a few KB for these models.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from edgesdk import ir
from edgesdk.codegen import kernels as K
from edgesdk.codegen.templating import render
from edgesdk.errors import UnsupportedOpError
from edgesdk.frontend.slicing import sliced_shape
from edgesdk.quant import params as qp
from edgesdk.quant.prepare import prepare_op

CTYPES = {ir.DType.INT8: "int8_t", ir.DType.UINT8: "uint8_t", ir.DType.INT32: "int32_t"}
SUPPORTED = frozenset({
    ir.OpKind.CONV_2D, ir.OpKind.DEPTHWISE_CONV_2D, ir.OpKind.FULLY_CONNECTED, ir.OpKind.CONCATENATION,
    ir.OpKind.SLICE, ir.OpKind.RESHAPE, ir.OpKind.LOGISTIC, ir.OpKind.QUANTIZE,
})


@dataclass(frozen=True)
class CArray:
    name: str
    ctype: str
    values: tuple[str, ...]
    comment: str


@dataclass(frozen=True)
class CStruct:
    name: str
    ctype: str
    fields: tuple[tuple[str, str | tuple[str, ...]], ...]  # (field, C literal or a braced list's items)


@dataclass(frozen=True)
class CPointers:
    name: str  # a file-scope array of buffer addresses (CONCATENATION's inputs)
    buffers: tuple[str, ...]


@dataclass(frozen=True)
class CBuffer:
    name: str
    ctype: str
    size: int
    comment: str


@dataclass(frozen=True)
class CCall:
    function: str
    args: tuple[str, ...]
    comment: str


@dataclass(frozen=True)
class CState:
    read: str  # buffer of the state as read
    write: str  # buffer the step leaves the next state in
    initial: str  # const array of the initial value
    size: int
    name: str


@dataclass(frozen=True)
class StreamProgram:
    prefix: str
    model: str
    arrays: tuple[CArray, ...]
    structs: tuple[CStruct, ...]
    pointers: tuple[CPointers, ...]
    dims: tuple[tuple[str, tuple[int, int, int, int]], ...]
    buffers: tuple[CBuffer, ...]
    calls: tuple[CCall, ...]
    states: tuple[CState, ...]
    input: CBuffer
    output: CBuffer
    tensors: tuple[tuple[int, str, int], ...]  # (IR index, buffer, bytes) of every activation


def _comment(text: str) -> str:
    """Text safe inside a C block comment (tensor names come from the model file)."""
    return text.replace("*/", "* /").replace("/*", "/ *").replace("\n", " ")


def _identifier(text: str) -> str:
    return re.sub(r"[^0-9a-zA-Z_]", "_", text)


class _Builder:
    def __init__(self, graph: ir.Graph, prefix: str) -> None:
        self.graph = graph
        self.prefix = prefix
        self.arrays: list[CArray] = []
        self.structs: list[CStruct] = []
        self.dims: dict[tuple[int, int, int, int], str] = {}
        self.buffers: list[CBuffer] = []
        self.buffer_of: dict[int, str] = {}
        self.calls: list[CCall] = []
        self.pointers: list[CPointers] = []

    # -- data
    def array(self, name: str, ctype: str, values, comment: str) -> str:  # noqa: ANN001
        literal = [K.c_int(v) for v in np.asarray(values).reshape(-1)]
        self.arrays.append(CArray(name, ctype, tuple(literal), _comment(comment)))
        return name

    def literal_array(self, name: str, array: K.ConstArrayArg, comment: str) -> str:
        self.arrays.append(CArray(name, array.ctype, array.values, comment))
        return name

    def constant(self, index: int) -> str:
        tensor = self.graph.tensor(index)
        assert tensor.data is not None
        name = f"c{index}"
        if not any(a.name == name for a in self.arrays):
            self.array(name, CTYPES[tensor.dtype], tensor.data, f"{tensor.name}: {list(tensor.shape)}")
        return name

    def dims_of(self, shape) -> str:  # noqa: ANN001
        dims = K.es_dims(shape)
        if dims not in self.dims:
            self.dims[dims] = "d_{}x{}x{}x{}".format(*dims)
        return "&" + self.dims[dims]

    def buffer(self, index: int) -> str:
        if index not in self.buffer_of:
            tensor = self.graph.tensor(index)
            if tensor.dtype not in CTYPES:
                raise UnsupportedOpError(f"tensor {tensor.name!r} is {tensor.dtype.value}; the streaming C "
                                         f"runs int8 models (int8 / uint8 activations)")
            name = f"t{index}"
            self.buffers.append(CBuffer(name, CTYPES[tensor.dtype], tensor.size,
                                        _comment(f"{tensor.name}: {list(tensor.shape)}")))
            self.buffer_of[index] = name
        return self.buffer_of[index]

    def struct(self, op: ir.Op, ctype: str, fields, arrays=()) -> str:  # noqa: ANN001
        name = f"q{op.index}"
        entries = list(fields)
        for field, array in arrays:
            name_of_array = f"q{op.index}_{field}"
            entries.append((field, self.literal_array(name_of_array, array, f"op {op.index} {field}")))
        self.structs.append(CStruct(name, ctype, tuple(entries)))
        return "&" + name

    # -- ops
    def op(self, op: ir.Op) -> None:
        if op.kind not in SUPPORTED:
            raise UnsupportedOpError(f"op {op.index} ({op.kind.value}): the streaming C runs "
                                     f"{', '.join(sorted(k.value for k in SUPPORTED))}")
        g = self.graph
        x = g.tensor(op.inputs[0])
        y = g.tensor(op.outputs[0])
        comment = _comment(f"op {op.index} {op.kind.value} -> {y.name}")
        if op.kind is ir.OpKind.RESHAPE:
            self.buffer_of[op.outputs[0]] = self.buffer(op.inputs[0])  # a view
            return
        params = prepare_op(g, op)
        if op.kind in (ir.OpKind.CONV_2D, ir.OpKind.DEPTHWISE_CONV_2D):
            assert isinstance(params, qp.ConvInt8Params | qp.DepthwiseInt8Params)
            depthwise = op.kind is ir.OpKind.DEPTHWISE_CONV_2D
            s = K.conv_int8_params(params, depthwise, f"op{op.index}")
            q = self.struct(op, s.ctype, s.fields, s.arrays)
            w = g.tensor(op.inputs[1])
            function = K.fast_int8_fwd(params, w.shape, x.shape, y.shape) or (
                "es_depthwise_conv2d_int8_fwd" if depthwise else "es_conv2d_int8_fwd")
            self.layer_call(function, q, op, x.shape, w.shape, y.shape, comment)
        elif op.kind is ir.OpKind.FULLY_CONNECTED:
            assert isinstance(params, qp.FullyConnectedInt8Params)
            w = g.tensor(op.inputs[1])
            names = ("input_offset", "weights_offset", "output_offset", "act_min", "act_max")
            arrays = tuple((field, K.ConstArrayArg("int32_t", field, tuple(K.c_int(v) for v in values)))
                           for field, values in (("multiplier", params.multiplier), ("shift", params.shift)))
            q = self.struct(op, "es_fully_connected_int8_params",
                            [(n, K.c_int(getattr(params, n))) for n in names], arrays)
            rows = x.size // w.shape[1]
            self.layer_call("es_fully_connected_int8_fwd", q, op, (rows, w.shape[1]), w.shape,
                            (rows, w.shape[0]), comment)
        elif op.kind is ir.OpKind.CONCATENATION:
            assert isinstance(params, qp.ConcatInt8Params)
            q = self.struct(op, "es_concat_int8_params", [
                ("axis", str(K.es_axis(len(y.shape), op.attrs["axis"]))),
                ("act_min", str(params.act_min)), ("act_max", str(params.act_max))])
            parts = [g.tensor(i) for i in op.inputs]
            dims_list = f"q{op.index}_in_dims"
            pointers = f"q{op.index}_inputs"
            requant = f"q{op.index}_requant"
            self.structs.append(CStruct(dims_list, "es_dims[]", tuple(
                (str(k), tuple(map(str, K.es_dims(p.shape)))) for k, p in enumerate(parts))))
            self.structs.append(CStruct(requant, "es_requant_int8_params[]", tuple(
                (str(k), tuple(K.c_int(v) for v in (r.input_offset, r.output_offset, r.multiplier, r.shift)))
                for k, r in enumerate(params.inputs))))
            self.pointers.append(CPointers(pointers, tuple(self.buffer(i) for i in op.inputs)))
            self.calls.append(CCall("es_concat_int8_fwd", (
                q, str(len(parts)), dims_list, pointers, requant, self.dims_of(y.shape),
                self.buffer(op.outputs[0])), comment))
        elif op.kind is ir.OpKind.SLICE:
            begin, stride = [0] * 4, [1] * 4
            for axis, (b, s) in enumerate(zip(op.attrs["begin"], op.attrs["strides"], strict=True)):
                begin[K.es_axis(len(x.shape), axis)], stride[K.es_axis(len(x.shape), axis)] = b, s
            shape = sliced_shape(op.attrs)
            q = self.struct(op, "es_slice_int8_params", [
                ("begin", tuple(map(str, begin))), ("stride", tuple(map(str, stride)))])
            self.calls.append(CCall("es_slice_int8_fwd", (
                q, self.dims_of(x.shape), self.buffer(op.inputs[0]), self.dims_of(shape),
                self.buffer(op.outputs[0])), comment))
        elif op.kind is ir.OpKind.LOGISTIC:
            assert isinstance(params, qp.LogisticInt8Params)
            names = ("input_zero_point", "input_range_radius", "input_multiplier", "input_left_shift")
            q = self.struct(op, "es_logistic_int8_params", [(n, K.c_int(getattr(params, n))) for n in names])
            self.calls.append(CCall("es_logistic_int8_fwd", (
                q, self.dims_of(x.shape), self.buffer(op.inputs[0]), self.buffer(op.outputs[0])), comment))
        else:  # QUANTIZE
            if not isinstance(params, qp.RequantizeInt8Params):
                raise UnsupportedOpError(f"op {op.index} (QUANTIZE): the streaming C requantizes int8 only")
            names = ("input_offset", "output_offset", "multiplier", "shift")
            q = self.struct(op, "es_requant_int8_params", [(n, K.c_int(getattr(params, n))) for n in names])
            uint8 = y.dtype is ir.DType.UINT8
            function = "es_requantize_int8_uint8_fwd" if uint8 else "es_requantize_int8_fwd"
            self.calls.append(CCall(function, (
                q, self.dims_of(x.shape), self.buffer(op.inputs[0]), self.buffer(op.outputs[0])), comment))

    def layer_call(self, function: str, q: str, op: ir.Op, x_shape, w_shape, y_shape, comment: str) -> None:  # noqa: ANN001
        bias = self.constant(op.inputs[2]) if len(op.inputs) > 2 and op.inputs[2] != ir.NO_TENSOR else "NULL"
        self.calls.append(CCall(function, (
            q, self.dims_of(x_shape), self.buffer(op.inputs[0]), self.dims_of(w_shape),
            self.constant(op.inputs[1]), bias, self.dims_of(y_shape), self.buffer(op.outputs[0])), comment))


def stream_program(graph: ir.Graph, prefix: str = "es_stream") -> StreamProgram:
    """The C program of a streaming model's inference (see the module docstring)."""
    if not graph.states:
        raise UnsupportedOpError(f"model {graph.name!r} has no states: it is not a streaming model")
    if len(graph.inputs) != 1 or len(graph.outputs) != 1:
        raise UnsupportedOpError("the streaming C takes models with one input and one output")
    b = _Builder(graph, prefix)
    source = b.buffer(graph.inputs[0])
    for state in graph.states:
        b.buffer(state.read)
    for op in graph.ops:
        b.op(op)
    states = []
    for k, state in enumerate(graph.states):
        read = graph.tensor(state.read)
        initial = b.array(f"state{k}_initial", CTYPES[read.dtype], state.initial,
                          f"initial value of {state.name}")
        states.append(CState(b.buffer(state.read), b.buffer(state.write), initial, read.nbytes,
                             _comment(state.name)))
    output = b.buffer(graph.outputs[0])
    by_name = {buffer.name: buffer for buffer in b.buffers}
    tensors = tuple((index, name, graph.tensor(index).nbytes) for index, name in sorted(b.buffer_of.items()))
    return StreamProgram(
        prefix=prefix, model=graph.name, arrays=tuple(b.arrays), structs=tuple(b.structs),
        pointers=tuple(b.pointers),
        dims=tuple((name, dims) for dims, name in b.dims.items()), buffers=tuple(b.buffers),
        calls=tuple(b.calls), states=tuple(states), input=by_name[source], output=by_name[output],
        tensors=tensors,
    )


def stream_sources(graph: ir.Graph, prefix: str = "es_stream") -> dict[str, str]:
    """``{<prefix>.h: ..., <prefix>.c: ...}``: the rendered streaming inference."""
    prefix = _identifier(prefix)
    program = stream_program(graph, prefix)
    return {
        f"{prefix}.h": render("stream.h.j2", p=program),
        f"{prefix}.c": render("stream.c.j2", p=program),
    }
