"""The int8 precision of the generated runtime: storage, constants and API (docs/int8-codegen.md).

:class:`Int8Assembler` is the model assembler of :mod:`edgesdk.codegen.model` for training graphs of
precision int8. What changes against fp32:

- weights are the model's own integers: frozen ones ``static const int8_t`` / ``int32_t`` (flash),
  trainable ones ``static int8_t`` / ``int32_t`` RAM arrays set from their ``_init`` copies; a
  CONV_2D / FULLY_CONNECTED weight trained on its first k output channels is split: those k rows
  are the RAM array, the frozen rows a ``static const`` ``<name>_frozen`` array (flash) that the
  kernels' parameter structs point to (``w_tail`` / ``tail``) and ``es_params_save`` writes after
  the RAM rows;
- activations are ``int8_t`` buffers in the arena (gradients stay float32 there);
- per-channel constants (requantization multipliers and shifts, weight scales, QAS factors) are
  ``static const`` arrays the parameter structs point to (``Int8Section.arrays``);
- master copies (float32) and the xorshift32 state are RAM arrays, set by ``int8_state_init``
  (es_init, and es_params_load: masters start again from the loaded parameters);
- each fused update's float32 gradient chunk (its node's ``workspace_bytes``) is a workspace
  lifetime of the arena layout, like a fused forward node's ring;
- the step and inference take the model's own types as ``es_train_step_int8`` / ``es_infer_int8``;
  ``es_train_step`` / ``es_infer`` take real values and quantize (dequantize) on the device.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from edgesdk import ir
from edgesdk.codegen import kernels as K
from edgesdk.codegen.layout import ArenaLayout, Lifetime, Placement
from edgesdk.codegen.model import (
    ConstArray,
    FloatAssembler,
    Macro,
    ModelFacts,
    ModelSource,
    RamArray,
    RenderedCall,
    RenderedStep,
    _channel_note,
    _shape_text,
)
from edgesdk.codegen.program import Program, Step, is_workspace, step_reads
from edgesdk.codegen.source import Int8Section, IoQuant
from edgesdk.train.graph import Node, Stage, Value, ValueKind

CTYPES = {
    ir.DType.INT8: "int8_t",
    ir.DType.INT32: "int32_t",
    ir.DType.FLOAT32: "float",
}
ITEM_BYTES = {"int8_t": 1, "int32_t": 4, "uint32_t": 4, "float": 4}
TRACE_FUNCTIONS = {ir.DType.INT8: "es_trace_int8", ir.DType.INT32: "es_report_i32_array"}
INT_ROW_ITEMS = 16
FLOAT_ROW_ITEMS = 8
# file-scope names model.c's int8 sections use
RESERVED = ("es_input_q", "es_output_q", "es_input_quant", "es_output_quant",
            "es_trace_int8", "int8_state_init", "es_param_records")


def _int_rows(values: Sequence[int]) -> tuple[str, ...]:
    literals = [K.c_int(v) for v in values]
    return tuple(", ".join(literals[i : i + INT_ROW_ITEMS]) for i in range(0, len(literals), INT_ROW_ITEMS))


def _float_rows(values: np.ndarray) -> tuple[str, ...]:
    literals = K.c_floats(values)
    step = FLOAT_ROW_ITEMS
    return tuple(", ".join(literals[i : i + step]) for i in range(0, len(literals), step))


class Int8Assembler(FloatAssembler):
    """:class:`edgesdk.codegen.model.FloatAssembler` for int8 training graphs."""

    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        for name in RESERVED:
            self.namer.take(name)
        self.arrays: dict[tuple[str, tuple[str, ...]], ConstArray] = {}
        self.state_init: tuple[RenderedCall, ...] = ()
        self.rng: tuple[tuple[str, str], ...] = ()

    # ------------------------------------------------------------ flash and RAM arrays
    def _statics(self) -> tuple[list[ConstArray], list[RamArray], list[RamArray], list[RamArray]]:
        graph, source = self.graph, self.graph.source
        weights: list[ConstArray] = []
        parameters: list[RamArray] = []
        gradients: list[RamArray] = []
        states: list[RamArray] = []
        self._value_names: dict[str, str] = {}
        for value in graph.values.values():
            if value.kind is ValueKind.CONSTANT:
                assert value.tensor is not None
                name = self._static(value.name, value.name)
                comment = f"{value.name}: frozen, {_shape_text(value.shape)}"
                data = source.tensor(value.tensor).data
                assert data is not None
                weights.append(_stored(name, data, comment))
        for value in graph.values.values():
            if value.kind is ValueKind.PARAMETER:
                weights.extend(self._parameter(value, parameters))
        for value in graph.values.values():
            if value.kind is ValueKind.PARAM_GRAD and value.resident:
                name = self._static(value.name, value.name)
                gradients.append(RamArray(name, value.size, value.shape, f"gradient of {value.param}"))
            elif value.kind is ValueKind.MASTER:
                name = self._static(value.name, value.name)
                comment = f"float32 master copy of {value.param} (integer units, trainable channels)"
                states.append(RamArray(name, value.size, value.shape, comment))
            elif value.kind is ValueKind.RNG_STATE:
                name = self._static(value.name, value.name)
                comment = "xorshift32 state of stochastic rounding"
                states.append(RamArray(name, 1, value.shape, comment, ctype="uint32_t"))
            elif value.kind is ValueKind.OPT_STATE:  # pragma: no cover - int8 trains with plain SGD
                raise AssertionError(f"int8 graphs keep no optimizer state ({value.name})")
        self.state_init = self._master_inits()
        assert self.graph.int8 is not None
        start = f"0x{self.graph.int8.rng_start:08x}u"
        self.rng = tuple((self.static_names[v.name], start) for v in graph.values.values()
                         if v.kind is ValueKind.RNG_STATE)
        return weights, parameters, gradients, states

    def _parameter(self, value: Value, parameters: list[RamArray]) -> list[ConstArray]:
        """The RAM array of a trainable parameter (appended to ``parameters``) and its flash arrays:
        the initial value es_init copies in and, for a split weight, the frozen rows."""
        assert value.tensor is not None
        data = self.graph.source.tensor(value.tensor).data
        assert data is not None
        name = self._static(value.name, value.name)
        init = self.namer.take(f"{name}_init")
        ctype = CTYPES[value.dtype]
        trainable = f"{value.name}: trainable{_channel_note(self.graph, value.name)}"
        k = value.head_channels
        if k is None:
            parameters.append(RamArray(name, value.size, value.shape, trainable, init, ctype))
            return [_stored(init, data, f"{value.name}: initial value, {_shape_text(value.shape)}")]
        tail = self.namer.take(f"{name}_frozen")
        self.frozen_tails[value.name] = tail
        head, frozen = data[:k], data[k:]
        comment = f"{trainable} (the rest: {tail}, flash)"
        parameters.append(RamArray(name, value.resident_size, head.shape, comment, init, ctype))
        head_note = f"{value.name}: initial value of the trainable rows, {_shape_text(head.shape)}"
        tail_note = f"{value.name}: frozen output channels {k}..{len(data) - 1}, {_shape_text(frozen.shape)}"
        return [_stored(init, head, head_note), _stored(tail, frozen, tail_note)]

    def _master_inits(self) -> tuple[RenderedCall, ...]:
        """``es_qas_int*_master_init(&span, param, master)`` for every master copy."""
        calls = []
        for node in self.graph.nodes:
            masters = [name for name in node.in_place if self._value(name).kind is ValueKind.MASTER]
            if node.stage is not Stage.UPDATE or not masters:
                continue
            param = node.inputs[0]
            weight = self._value(param).dtype is ir.DType.INT8
            function = "es_qas_int8_master_init" if weight else "es_qas_int32_master_init"
            call = K.KernelCall(function, (K.qas_span(node), K.BufferArg(param), K.BufferArg(masters[0])))
            calls.append(self._call(call, "train", 0, None, node))  # type: ignore[arg-type]
        return tuple(calls)

    # ------------------------------------------------------------ arena, steps, calls
    def _arena_buffers(self, layout: ArenaLayout):  # type: ignore[no-untyped-def]
        """Values' buffers in their own element types (a workspace stays bytes)."""
        buffers = super()._arena_buffers(layout)
        return [b if is_workspace(b.value) else replace(b, ctype=self._ctype(b.value)) for b in buffers]

    def _ctype(self, value: str) -> str:
        return CTYPES[self._value(value).dtype]

    def _step(self, step: Step, program: str, layout: ArenaLayout) -> RenderedStep:
        rendered = super()._step(step, program, layout)
        if rendered.trace is None:
            return rendered
        node = step.node
        target = node.output if node.output is not None else node.in_place[0]
        function = TRACE_FUNCTIONS.get(self._value(target).dtype)
        return replace(rendered, trace=replace(rendered.trace, function=function)) if function else rendered

    def _call(
        self, call: K.KernelCall, program: str, time: int, layout: ArenaLayout, node: Node
    ) -> RenderedCall:
        """Const arrays become named flash arrays (shared when equal); pointer lists get the
        element type of the buffers they list."""
        args: list[K.Arg] = []
        list_types: list[str] = []
        function = call.function
        for arg in call.args:
            if isinstance(arg, K.ConstArrayArg):
                args.append(K.LiteralArg(self._array(arg)))
            elif isinstance(arg, K.StructArg) and (arg.arrays or arg.split):
                fields = arg.fields + tuple((field, self._array(array)) for field, array in arg.arrays)
                split = self._split_fields(arg.split)
                if split:  # the fast kernels take whole weights only
                    function = K.FAST_TO_REFERENCE.get(function, function)
                args.append(K.StructArg(arg.ctype, arg.hint, fields + split))
            else:
                if isinstance(arg, K.BufferListArg):
                    list_types.append(CTYPES[self._value(arg.values[0]).dtype])
                args.append(arg)
        rendered = super()._call(K.KernelCall(function, tuple(args)), program, time, layout, node)
        lists = tuple(replace(p, ctype=t) for p, t in zip(rendered.pointer_lists, list_types, strict=True))
        return replace(rendered, pointer_lists=lists)

    def _split_fields(self, split: K.SplitWeightFields | None) -> tuple[tuple[str, str], ...]:
        """A split weight's struct fields: its frozen rows' flash array and the rows in RAM (none
        for a weight stored whole: the fields stay NULL / 0)."""
        if split is None or split.value not in self.frozen_tails:
            return ()
        head = self._value(split.value).head_channels
        return ((split.tail, self.frozen_tails[split.value]), (split.head_channels, str(head)))

    def _array(self, arg: K.ConstArrayArg) -> str:
        key = (arg.ctype, arg.values)
        if key not in self.arrays:
            rows_per = FLOAT_ROW_ITEMS if arg.ctype == "float" else INT_ROW_ITEMS
            values = list(arg.values)
            rows = tuple(", ".join(values[i : i + rows_per]) for i in range(0, len(values), rows_per))
            name = self.namer.take(arg.hint)
            self.arrays[key] = ConstArray(name, arg.ctype, len(values), (len(values),), arg.hint, rows)
        return self.arrays[key].name

    # ------------------------------------------------------------ sizes
    def _macros(  # type: ignore[override]
        self,
        facts: ModelFacts,
        layout: ArenaLayout,
        params_bytes: int,
        parameters: list[RamArray],
        gradients: list[RamArray],
        states: list[RamArray],
    ) -> tuple[Macro, ...]:
        base = super()._macros(facts, layout, params_bytes, parameters, gradients, states)
        macros = {m.name: m for m in base}
        ram = sum(a.count * ITEM_BYTES[a.ctype] for a in (*parameters, *gradients, *states))
        flash = sum(self.graph.source.tensor(v.tensor).nbytes for v in self.graph.values.values()
                    if v.kind in (ValueKind.CONSTANT, ValueKind.PARAMETER) and v.tensor is not None)
        flash += sum(a.count * ITEM_BYTES.get(a.ctype, 16) for a in self.arrays.values())
        macros["ES_MODEL_STATE_BYTES"] = replace(
            macros["ES_MODEL_STATE_BYTES"], value=str(ram),
            comment="parameters, gradients, master copies and the xorshift32 state in RAM",
        )
        macros["ES_MODEL_FLASH_BYTES"] = replace(
            macros["ES_MODEL_FLASH_BYTES"], value=str(flash),
            comment="int8 weights, int32 biases, initial values and per-channel constants in flash",
        )
        macros["ES_MODEL_PRECISION_INT8"] = Macro(
            "ES_MODEL_PRECISION_INT8", "1", "int8 forward (TFLite Micro's integers), QAS updates"
        )
        return tuple(macros.values())

    # ------------------------------------------------------------ driver
    def run(self) -> ModelSource:
        source = super().run()
        graph = self.graph
        input_value, output_value = graph.value(graph.input), graph.value(graph.outputs[0])
        # without a schedule, the quantized input batch lives in the arena where nothing else is live
        # while it is used (the arena grows only when there is no such place)
        layout, size = source.layout, source.arena_size
        input_offset = 0
        scheduled_input = self._scheduled_input()
        if scheduled_input is not None:  # a lifetime of the schedule's layout: nothing to find
            input_offset = scheduled_input.offset
        elif not input_value.resident:
            reads = (_reads(self.train, graph.input), _reads(self.infer, graph.input))
            windows = [window for window in reads if window is not None]
            input_offset = free_offset(layout, windows, input_value.nbytes, self.alignment)
            size = max(size, _aligned(input_offset + input_value.nbytes, self.alignment))
        macros = tuple(
            replace(m, value=str(size)) if m.name == "ES_MODEL_ARENA_BYTES" else m
            for m in source.header_macros
        )
        section = Int8Section(
            arrays=tuple(self.arrays.values()),
            input_offset=input_offset,
            input_scheduled=scheduled_input is not None,
            state_init=self.state_init,
            rng=self.rng,
            input=self._io(input_value) if input_value.dtype is ir.DType.INT8 else None,
            output=self._io(output_value) if output_value.dtype is ir.DType.INT8 else None,
        )
        typed = section.input is not None or section.output is not None
        return replace(
            source,
            arena_size=size,
            header_macros=macros,
            int8=section,
            dims=tuple(self.dims.values()),  # the float API's shapes joined the list
            input_ctype=CTYPES[input_value.dtype],
            output_ctype=CTYPES[output_value.dtype],
            api_suffix="_int8" if typed else "",
        )

    def _scheduled_input(self) -> Placement | None:
        """The input batch's first lifetime in a planner schedule's layout (None: keep-all, or the
        input is the caller's array): es_input_int8() points there, where the step starts."""
        if self.train_layout is None or self.graph.input_node is None:
            return None
        first = min(self.train_layout.of(self.graph.input), key=lambda p: p.lifetime.start)
        assert first.lifetime.start == self.train.start, "the input node runs first"
        return first

    def _infer_reserved(self) -> tuple[Placement, ...]:
        """Inference after a planned step reads x where the caller put it, often es_input_int8():
        its buffers keep off that region until the input's last read."""
        first = self._scheduled_input()
        window = _reads(self.infer, self.graph.input)
        if first is None or window is None:
            return ()
        return (Placement(Lifetime(self.graph.input, *window, first.lifetime.size), first.offset),)

    def _io(self, value: Value) -> IoQuant:
        assert value.tensor is not None
        tensor = self.graph.source.tensor(value.tensor)
        assert tensor.quant is not None
        dims = self._dims(K.es_dims(value.shape))
        size = int(np.prod(value.shape, dtype=np.int64))
        return IoQuant(K.c_float(float(tensor.quant.scale[0])), int(tensor.quant.zero_point[0]), dims, size)


def _stored(name: str, data: np.ndarray, comment: str) -> ConstArray:
    """Stored integers (or floats) of a constant tensor, or of some of its rows, in flash."""
    ctype = CTYPES[ir.DType(np.dtype(data.dtype).name)]
    flat = data.reshape(-1)
    rows = _float_rows(flat) if ctype == "float" else _int_rows(flat.tolist())
    return ConstArray(name, ctype, int(flat.size), tuple(data.shape), comment, rows)


def _aligned(size: int, alignment: int) -> int:
    return -(-size // alignment) * alignment


def _reads(program: Program, value: str) -> tuple[int, int] | None:
    """From the program's first step to the last one that reads ``value`` (None: none reads it)."""
    times = [step.time for step in program.steps if value in step_reads(step)]
    return (program.start, max(times)) if times else None


def free_offset(layout: ArenaLayout, windows: Sequence[tuple[int, int]], size: int, alignment: int) -> int:
    """The lowest aligned offset of ``size`` bytes that no placement live during one of the time
    ``windows`` overlaps (at or past the end of the arena when there is no such gap)."""
    if size <= 0 or not windows:
        return 0
    busy = sorted(
        (p.offset, p.end_offset)
        for p in layout.placements
        if any(p.lifetime.start <= end and start <= p.lifetime.end for start, end in windows)
    )
    at = 0
    for begin, end in busy:
        if begin - at >= size:
            break
        at = max(at, _aligned(end, alignment))
    return at
