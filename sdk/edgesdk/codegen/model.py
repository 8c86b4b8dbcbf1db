"""Assemble everything the model templates print, from a training graph: :func:`assemble_model`.

Python decides every name, offset, shape and parameter value here; ``templates/model/*.j2``
only lay them out. Where each value of the training graph lives in the generated C:

- ``input`` / ``labels``: the caller's arrays (``es_train_step(x, labels, &loss)``);
- frozen weights and other constants: ``static const`` arrays (flash);
- trainable parameters: RAM arrays, initialised from ``<name>_init`` const copies by ``es_init``;
- parameter gradients (resident by default) and optimizer state: RAM arrays;
- everything else (activations, activation gradients): the arena, at offsets from
  :mod:`edgesdk.codegen.layout`; the inference program's output goes to the caller's ``out``.

With a planner schedule the training program is the schedule's instruction list (recomputations,
page-outs and page-ins included) and its arena offsets are the schedule's own
(``train_layout``); inference is laid out after it in the same arena. Each storage tier the
schedule pages to gets a pager (``swap``, :mod:`edgesdk.codegen.swap`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from edgesdk import __version__, ir
from edgesdk.codegen import kernels as K
from edgesdk.codegen.layout import ArenaLayout, Placement, combine, greedy_layout
from edgesdk.codegen.names import Namer
from edgesdk.codegen.params_image import DTYPES as IMAGE_DTYPES
from edgesdk.codegen.params_image import image_offsets
from edgesdk.codegen.program import (
    Action,
    Program,
    Step,
    all_lifetimes,
    is_workspace,
    workspace_lifetimes,
    workspace_name,
)
from edgesdk.codegen.source import (
    FLOAT_BYTES,
    ArenaBuffer,
    ConstArray,
    DimsDecl,
    DimsListDecl,
    Macro,
    ModelFacts,
    ModelSource,
    PagerTier,
    Phase,
    PointerList,
    RamArray,
    RenderedArg,
    RenderedCall,
    RenderedStep,
    SavedParam,
    StructDecl,
    Trace,
)
from edgesdk.codegen.swap import SwapTier
from edgesdk.errors import UnsupportedOpError
from edgesdk.train.graph import Node, Stage, TrainingGraph, Value, ValueKind
from edgesdk.train.spec import LossKind, Precision

ROW_ITEMS = 8  # literals per line in const arrays


# ---------------------------------------------------------------- the assembler


def in_arena(graph: TrainingGraph, name: str, program: str = "train", scheduled: bool = False) -> bool:
    """Is value ``name`` a lifetime of the arena layout in ``program`` ("train" or "infer")?
    Labels, the loss, constants and resident values are not; nor is the inference output (the
    caller's ``out``). The input batch is one only in the training program of a planner schedule
    (``scheduled``) whose graph keeps it in the arena (int8): there its lifetimes are the input
    node's. Keep-all int8 builds place it after the layout (:mod:`edgesdk.codegen.int8`)."""
    value = graph.value(name)
    if value.kind is ValueKind.INPUT:
        return scheduled and program == "train" and not value.resident
    if value.kind in (ValueKind.LABEL, ValueKind.LOSS, ValueKind.CONSTANT):
        return False
    if value.resident:
        return False
    allowed = (ir.DType.FLOAT32, ir.DType.INT8) if graph.precision is Precision.INT8 else (ir.DType.FLOAT32,)
    if value.dtype not in allowed:
        raise UnsupportedOpError(f"value {name} is {value.dtype.value}; arena buffers are float32 or int8")
    return not (program == "infer" and name in graph.outputs)


def model_facts(graph: TrainingGraph) -> ModelFacts:
    labels = graph.value(graph.labels)
    output = graph.value(graph.outputs[0])
    classes = 0
    if graph.loss_kind is LossKind.SOFTMAX_XENT:
        classes = int(output.shape[-1]) if output.shape else 1
    source = graph.source
    tensor = source.tensor(source.inputs[0])
    low, high = -1.0, 1.0
    if tensor.quant is not None and tensor.dtype in (ir.DType.INT8, ir.DType.UINT8):
        info = np.iinfo(tensor.dtype.numpy)
        scale, zero = float(tensor.quant.scale[0]), int(tensor.quant.zero_point[0])
        low, high = scale * (info.min - zero), scale * (info.max - zero)
    return ModelFacts(
        batch=graph.batch,
        input_shape=tuple(graph.value(graph.input).shape),
        output_shape=tuple(output.shape),
        label_shape=tuple(labels.shape),
        label_dtype="int32" if labels.dtype is ir.DType.INT32 else "float32",
        classes=classes,
        loss=graph.loss_kind.value,
        input_range=(float(np.float32(low)), float(np.float32(high))),
    )


class FloatAssembler:
    def __init__(
        self,
        graph: TrainingGraph,
        programs: tuple[Program, Program],
        trace: bool,
        alignment: int,
        description: Sequence[str],
    ) -> None:
        self.graph = graph
        self.train, self.infer = programs
        self.trace = trace
        self.alignment = alignment
        self.description = tuple(description)
        self.namer = Namer()
        self.static_names: dict[str, str] = {}  # value -> C array (flash or RAM)
        self.dims: dict[K.Dims4, DimsDecl] = {}
        self.dims_lists: dict[tuple[K.Dims4, ...], DimsListDecl] = {}
        self.structs: dict[tuple[str, tuple[tuple[str, str], ...]], StructDecl] = {}
        self.arena_names: dict[tuple[str, int], str] = {}  # (value, lifetime start) -> C name
        self.outputs = set(graph.outputs)
        self.train_layout: ArenaLayout | None = None
        self.swap: tuple[SwapTier, ...] = ()
        self.board_port = ""
        self.pagers: dict[str, PagerTier] = {}
        self.frozen_tails: dict[str, str] = {}  # split int8 weight -> C array of its frozen rows (flash)

    # ------------------------------------------------------------ storage classes
    def _value(self, name: str) -> Value:
        return self.graph.value(name)

    def _in_arena(self, name: str, program: str) -> bool:
        return in_arena(self.graph, name, program, scheduled=self.train_layout is not None)

    # ------------------------------------------------------------ driver
    def run(self) -> ModelSource:
        graph = self.graph
        self._check_programs()
        weights, parameters, gradients, states = self._statics()
        infer_lifetimes = all_lifetimes(
            [self.infer], lambda v: self._in_arena(v, "infer"), lambda v: self._value(v).nbytes
        ) + workspace_lifetimes(self.infer)
        if self.train_layout is None:
            train_lifetimes = all_lifetimes(
                [self.train], lambda v: self._in_arena(v, "train"), lambda v: self._value(v).nbytes
            ) + workspace_lifetimes(self.train)
            layout = greedy_layout(train_lifetimes + infer_lifetimes, self.alignment)
        else:
            infer_layout = greedy_layout(infer_lifetimes, self.alignment, reserved=self._infer_reserved())
            layout = combine([self.train_layout, infer_layout])
        arena = self._arena_buffers(layout)
        self.pagers = {tier.name: self._pager(index, tier) for index, tier in enumerate(self.swap)}
        rendered = (self._step(step, "train", layout) for step in self.train.steps)
        train_steps = _merge_frees([step for step in rendered if step.summary or step.calls])
        infer_steps = tuple(self._step(step, "infer", layout) for step in self.infer.steps)
        saved, offset = self._saved_params(parameters)
        facts = model_facts(graph)
        structs = list(self.structs.values())
        return ModelSource(
            name=graph.name,
            version=__version__,
            description=self.description,
            header_macros=self._macros(facts, layout, offset, parameters, gradients, states),
            label_ctype="int32_t" if facts.label_dtype == "int32" else "float",
            loss_kind=graph.loss_kind.value,
            uses_step=any(s.node.compute is K.C.ADAM_UPDATE for s in self.train.steps),
            weights=tuple(weights),
            parameters=tuple(parameters),
            gradients=tuple(gradients),
            optimizer_state=tuple(states),
            arena_size=layout.size,
            arena_peak=layout.peak,
            arena_alignment=self.alignment,
            arena_buffers=tuple(arena),
            dims=tuple(self.dims.values()),
            dims_lists=tuple(self.dims_lists.values()),
            kernel_structs=tuple(s for s in structs if s.section == "kernel"),
            optimizer_structs=tuple(s for s in structs if s.section == "optimizer"),
            train_phases=_phases(train_steps),
            infer_steps=infer_steps,
            saved_params=tuple(saved),
            params_bytes=offset,
            trace=self.trace,
            layout=layout,
            train_end=self.train.end,
            scheduled=self.train_layout is not None,
            train_arena_bytes=_extent(layout, lambda p: p.lifetime.start <= self.train.end, self.alignment),
            infer_arena_bytes=_extent(layout, lambda p: p.lifetime.start > self.train.end, self.alignment),
            pager_tiers=tuple(self.pagers.values()),
            board_port_macro=f"ES_PORT_{self.board_port.upper()}" if self.board_port else "",
        )

    def _saved_params(self, parameters: list[RamArray]) -> tuple[list[SavedParam], int]:
        """Each parameter's record in the es_params_save image, and the image size. A record holds
        the whole tensor, also for a split weight (its frozen rows come from flash)."""
        values = [self._value(self._value_of_static(array.name)) for array in parameters]
        offsets, size = image_offsets([(a.ctype, v.size) for a, v in zip(parameters, values, strict=True)])
        saved = []
        for array, value, at in zip(parameters, values, offsets, strict=True):
            assert value.tensor is not None
            code = IMAGE_DTYPES[array.ctype][0]
            tail = self.frozen_tails.get(value.name)
            head = array.count if tail is not None else 0
            saved.append(SavedParam(array.name, value.name, at, value.size, value.shape, value.tensor, code,
                                    tail or "NULL", head))
        return saved, size

    def _infer_reserved(self) -> tuple[Placement, ...]:
        """Arena bytes inference must leave alone while it runs after a planned training step (none
        here; int8 builds keep the input batch's region)."""
        return ()

    def _check_programs(self) -> None:
        for program in (self.train, self.infer):
            for step in program.steps:
                if step.node.compute not in K.KERNEL_CALLS:
                    raise UnsupportedOpError(f"no C kernel for {step.node.compute.value} ({step.node.name})")
        loss_steps = [
            s for s in self.train.steps if s.node.stage is Stage.LOSS and s.action is Action.COMPUTE
        ]
        if len(loss_steps) != 1:
            raise AssertionError(f"the training program has {len(loss_steps)} loss steps, expected 1")
        paged = {s.tier for s in self.train.steps if s.action in (Action.PAGE_OUT, Action.PAGE_IN)}
        unknown = paged - {tier.name for tier in self.swap}
        if unknown:
            raise AssertionError(f"the training program pages to {sorted(unknown)}, which have no pager")

    # ------------------------------------------------------------ the pager
    def _pager(self, index: int, tier: SwapTier) -> PagerTier:
        take = self.namer.take
        ident = tier.ident
        return PagerTier(
            index=index,
            name=tier.name,
            pager=take(f"es_pager_{ident}"),
            device=take(f"es_swap_{ident}"),
            slot_table=take(f"es_slot_bytes_{ident}"),
            slot_state=take(f"es_slots_{ident}"),
            erases=take(f"es_sector_erases_{ident}"),
            open=take(f"open_swap_{ident}"),
            sim=take(f"es_sim_{ident}"),
            sim_memory=take(f"es_sim_memory_{ident}"),
            sim_bitmap=take(f"es_sim_programmed_{ident}"),
            sim_erases=take(f"es_sim_erases_{ident}"),
            driver_state=take(f"es_driver_{ident}"),
            journal=take(f"es_journal_{ident}"),
            slot_bytes=tier.slot_bytes,
            region_bytes=tier.geometry.region_bytes,
            sector_bytes=tier.geometry.sector_bytes,
            program_bytes=tier.geometry.program_bytes,
            sectors=tier.sectors,
            bitmap_bytes=tier.bitmap_bytes,
            driver=tier.driver,
        )
        if self.graph.input in self.outputs:
            raise UnsupportedOpError("the model's output is its input (no operator computes it)")

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
                data = source.tensor(value.tensor).dequantized()
                name = self._static(value.name, value.name)
                weights.append(self._const(name, data, f"{value.name}: frozen, {_shape_text(value.shape)}"))
        for value in graph.values.values():
            if value.kind is ValueKind.PARAMETER:
                assert value.tensor is not None
                data = source.tensor(value.tensor).dequantized()
                name = self._static(value.name, value.name)
                init = self.namer.take(f"{name}_init")
                weights.append(
                    self._const(init, data, f"{value.name}: initial value, {_shape_text(value.shape)}")
                )
                note = _channel_note(graph, value.name)
                parameters.append(
                    RamArray(name, value.size, value.shape, f"{value.name}: trainable{note}", init=init)
                )
        for value in graph.values.values():
            if value.kind is ValueKind.PARAM_GRAD and value.resident:
                name = self._static(value.name, value.name)
                gradients.append(RamArray(name, value.size, value.shape, f"gradient of {value.param}"))
            elif value.kind is ValueKind.OPT_STATE:
                name = self._static(value.name, value.name)
                title = _state_title(graph.optimizer.kind.value, value.name.rsplit(".", 1)[-1])
                states.append(RamArray(name, value.size, value.shape, f"{title} of {value.param}"))
        return weights, parameters, gradients, states

    def _static(self, value: str, wanted: str) -> str:
        name = self.namer.take(wanted)
        self.static_names[value] = name
        self._value_names[name] = value
        return name

    def _value_of_static(self, c_name: str) -> str:
        return self._value_names[c_name]

    @staticmethod
    def _const(name: str, data: np.ndarray, comment: str) -> ConstArray:
        literals = K.c_floats(data)
        rows = tuple(", ".join(literals[i : i + ROW_ITEMS]) for i in range(0, len(literals), ROW_ITEMS))
        return ConstArray(name, "float", len(literals), tuple(data.shape), comment, rows)

    # ------------------------------------------------------------ the arena
    def _arena_buffers(self, layout: ArenaLayout) -> list[ArenaBuffer]:
        """One named pointer per lifetime: a value's buffer, or a kernel's workspace (bytes)."""
        buffers = []
        for placement in sorted(layout.placements, key=lambda p: (p.lifetime.start, p.offset)):
            lifetime = placement.lifetime
            program = "train" if lifetime.start <= self.train.end else "infer"
            base = lifetime.buffer if program == "train" else f"infer_{lifetime.buffer}"
            name = self.namer.take(base)
            self.arena_names[(lifetime.buffer, lifetime.start)] = name
            workspace = is_workspace(lifetime.buffer)
            buffers.append(
                ArenaBuffer(
                    name=name,
                    value=lifetime.buffer,
                    program=program,
                    offset=placement.offset,
                    size=lifetime.size,
                    shape=(lifetime.size,) if workspace else tuple(self._value(lifetime.buffer).shape),
                    start=lifetime.start,
                    end=lifetime.end,
                    ctype="int8_t" if workspace else "float",
                )
            )
        return buffers

    def _workspace(self, node: Node, time: int, layout: ArenaLayout) -> str:
        placement = layout.locate(workspace_name(node.name), time, written=True)
        return self.arena_names[(placement.lifetime.buffer, placement.lifetime.start)]

    def _buffer(self, value: str, program: str, time: int, layout: ArenaLayout, written: bool = False) -> str:
        kind = self._value(value).kind
        if self._in_arena(value, program):
            placement = layout.locate(value, time, written=written)
            return self.arena_names[(value, placement.lifetime.start)]
        if kind is ValueKind.INPUT:
            return "x"
        if kind is ValueKind.LABEL:
            return "labels"
        if program == "infer" and value in self.outputs:
            return "out"
        if value in self.static_names:
            return self.static_names[value]
        raise AssertionError(f"value {value} has no storage")

    # ------------------------------------------------------------ steps
    def _step(self, step: Step, program: str, layout: ArenaLayout) -> RenderedStep:
        if not step.action.runs_kernel:
            return self._memory_step(step, program, layout)
        node = step.node
        if node.compute is K.C.INPUT:
            return self._input_step(step, program, layout)
        calls = tuple(
            self._call(call, program, step.time, layout, node)
            for call in K.kernel_calls(node, self.graph.source)
        )
        traced = None
        if self.trace:
            target = node.output if node.output is not None else node.in_place[0]
            prefix = "trace." if program == "train" else "trace.infer."
            traced = Trace(
                prefix + node.name,
                self._buffer(target, program, step.time, layout, written=node.output is not None),
                self._value(target).resident_size,  # a split weight's buffer: its RAM rows
            )
        inputs = ", ".join(node.inputs)
        output = node.output if node.output is not None else ", ".join(node.in_place) + " (in place)"
        shape = _shape_text(self._value(node.output).shape) if node.output is not None else ""
        summary = f"{node.name}: {node.compute.value}({inputs}) -> {output} {shape}".rstrip()
        if step.action is Action.RECOMPUTE:
            summary = "recompute " + summary
        stage, kernel = node.stage.value, node.compute.value
        return RenderedStep(step.time, node.name, stage, kernel, summary, calls, traced, step.action.value)

    def _input_step(self, step: Step, program: str, layout: ArenaLayout) -> RenderedStep:
        """The input node's run: a comment only (the step's entry put the batch there)."""
        node = step.node
        buffer = self._buffer(self.graph.input, program, step.time, layout, written=True)
        summary = f"{node.name}: the caller's batch, at {buffer} (es_input_int8) since the step began"
        return RenderedStep(step.time, node.name, node.stage.value, node.compute.value, summary, (), None)

    def _memory_step(self, step: Step, program: str, layout: ArenaLayout) -> RenderedStep:
        """A page-out, page-in (+ drop after the copy's last read) or free of a node's buffer."""
        node = step.node
        value = node.output
        stage, kernel = node.stage.value, node.compute.value
        if value is None or not self._in_arena(value, program):
            if step.action is not Action.FREE:
                raise AssertionError(f"step {step.time} pages {node.name}, whose output is not in the arena")
            return RenderedStep(step.time, node.name, stage, kernel, "", (), None, step.action.value)
        if step.action is Action.FREE:
            return RenderedStep(step.time, node.name, stage, kernel, value, (), None, step.action.value)
        assert step.tier is not None and step.slot is not None
        pager = self.pagers[step.tier]
        size = f"{step.nbytes}u"
        slot = f"{step.slot}u"
        if step.action is Action.PAGE_OUT:
            buffer = self._buffer(value, program, step.time, layout)
            calls: tuple[RenderedCall, ...] = (_pager_call("es_pager_page_out", pager, slot, buffer, size),)
            summary = f"page out {value} ({step.nbytes:,} B) to {step.tier} slot {step.slot}"
        else:
            buffer = self._buffer(value, program, step.time, layout, written=True)
            calls = (_pager_call("es_pager_page_in", pager, slot, buffer, size),)
            summary = f"page in {value} ({step.nbytes:,} B) from {step.tier} slot {step.slot}"
            if step.drop:
                calls += (_pager_call("es_pager_drop", pager, slot),)
                summary += "; its last read: drop the copy"
        return RenderedStep(step.time, node.name, stage, kernel, summary, calls, None, step.action.value)

    def _call(
        self, call: K.KernelCall, program: str, time: int, layout: ArenaLayout, node: Node
    ) -> RenderedCall:
        stage, output = node.stage, node.output
        args: list[RenderedArg] = []
        lists: list[PointerList] = []
        for arg in call.args:
            if isinstance(arg, K.DimsArg):
                args.append(RenderedArg("ref", self._dims(arg.dims)))
            elif isinstance(arg, K.DimsListArg):
                args.append(RenderedArg("expr", self._dims_list(arg)))
            elif isinstance(arg, K.StructArg):
                section = "optimizer" if stage is Stage.UPDATE else "kernel"
                args.append(RenderedArg("ref", self._struct(arg, section)))
            elif isinstance(arg, K.BufferArg):
                written = arg.value == output
                args.append(RenderedArg("expr", self._buffer(arg.value, program, time, layout, written)))
            elif isinstance(arg, K.BufferListArg):
                items = tuple(self._buffer(v, program, time, layout) for v in arg.values)
                lists.append(PointerList(arg.hint, items))
                args.append(RenderedArg("expr", arg.hint))
            elif isinstance(arg, K.LiteralArg):
                args.append(RenderedArg("expr", arg.text))
            elif isinstance(arg, K.LossArg):
                args.append(RenderedArg("ref", "loss_value"))
            elif isinstance(arg, K.StepArg):
                args.append(RenderedArg("expr", "es_step"))
            elif isinstance(arg, K.WorkspaceArg):  # a byte buffer in the arena, 16-byte aligned
                name = self._workspace(node, time, layout)
                args.append(RenderedArg("expr", name if arg.ctype == "int8_t" else f"({arg.ctype} *){name}"))
            else:  # pragma: no cover - the Arg union is closed
                raise AssertionError(arg)
        return RenderedCall(call.function, tuple(args), tuple(lists))

    def _dims(self, dims: K.Dims4) -> str:
        if dims not in self.dims:
            self.dims[dims] = DimsDecl("dims_" + "x".join(str(d) for d in dims), dims)
        return self.dims[dims].name

    def _dims_list(self, arg: K.DimsListArg) -> str:
        if arg.dims not in self.dims_lists:
            items = tuple(self._dims(d) for d in arg.dims)
            self.dims_lists[arg.dims] = DimsListDecl(self.namer.take(arg.hint), items)
        return self.dims_lists[arg.dims].name

    def _struct(self, arg: K.StructArg, section: str) -> str:
        key = (arg.ctype, arg.fields)
        if key not in self.structs:
            self.structs[key] = StructDecl(arg.ctype, self.namer.take(arg.hint), arg.fields, section)
        return self.structs[key].name

    # ------------------------------------------------------------ header macros
    def _macros(
        self,
        facts: ModelFacts,
        layout: ArenaLayout,
        params_bytes: int,
        parameters: list[RamArray],
        gradients: list[RamArray],
        states: list[RamArray],
    ) -> tuple[Macro, ...]:
        ram = sum(a.count for a in (*parameters, *gradients, *states)) * FLOAT_BYTES
        flash = 0
        for value in self.graph.values.values():
            if value.kind in (ValueKind.CONSTANT, ValueKind.PARAMETER):
                flash += value.size * FLOAT_BYTES
        macros = [
            Macro("ES_MODEL_NAME", f'"{self.graph.name}"', "name of the source model"),
            Macro("ES_MODEL_BATCH", str(facts.batch), "samples per training step and per es_infer call"),
            Macro(
                "ES_MODEL_INPUT_COUNT",
                str(facts.input_count),
                f"floats in x, one batch {_shape_text(facts.input_shape)} (NHWC)",
            ),
            Macro("ES_MODEL_SAMPLE_INPUT_COUNT", str(facts.sample_input_count), "floats per sample in x"),
            Macro(
                "ES_MODEL_OUTPUT_COUNT",
                str(facts.output_count),
                f"floats es_infer writes to out, {_shape_text(facts.output_shape)}",
            ),
            Macro(
                "ES_MODEL_LABEL_COUNT",
                str(facts.label_count),
                f"labels per batch, {_shape_text(facts.label_shape)} {facts.label_dtype}",
            ),
            Macro("ES_MODEL_SAMPLE_LABEL_COUNT", str(facts.sample_label_count), "labels per sample"),
        ]
        if facts.classes:
            macros.append(Macro("ES_MODEL_CLASSES", str(facts.classes), "classes per output row"))
            macros.append(
                Macro("ES_MODEL_LOSS_SOFTMAX_XENT", "1", "loss: softmax cross-entropy, integer labels")
            )
        else:
            macros.append(Macro("ES_MODEL_LOSS_MSE", "1", "loss: mean squared error, float targets"))
        if self.swap:
            names = ", ".join(tier.name for tier in self.swap)
            macros += [
                Macro("ES_MODEL_PAGED", "1", "the training step pages buffers to flash (es_model_pager)"),
                Macro("ES_MODEL_PAGER_TIERS", str(len(self.swap)), f"storage tiers paged to: {names}"),
            ]
        macros += [
            Macro("ES_MODEL_PARAMS_BYTES", str(params_bytes), "bytes of the image es_params_save writes"),
            Macro(
                "ES_MODEL_ARENA_BYTES", str(layout.size), f"transient buffers (lifetime peak {layout.peak})"
            ),
            Macro("ES_MODEL_STATE_BYTES", str(ram), "parameters, gradients and optimizer state in RAM"),
            Macro("ES_MODEL_FLASH_BYTES", str(flash), "weights and initial parameter values in flash"),
        ]
        return tuple(macros)


def _merge_frees(steps: list[RenderedStep]) -> list[RenderedStep]:
    """Consecutive frees become one comment line: "free (arena bytes reusable from here): a, b"."""
    out: list[RenderedStep] = []
    run: list[RenderedStep] = []

    def flush() -> None:
        if run:
            names = ", ".join(step.summary for step in run)
            out.append(replace(run[0], summary=f"free (arena bytes reusable from here): {names}"))
            run.clear()

    for step in steps:
        if step.action == Action.FREE.value:
            run.append(step)
            continue
        flush()
        out.append(step)
    flush()
    return out


def _pager_call(function: str, pager: PagerTier, *args: str) -> RenderedCall:
    """``function(&pager, args...)``."""
    return RenderedCall(function, (RenderedArg("ref", pager.pager), *(RenderedArg("expr", a) for a in args)))


def _extent(layout: ArenaLayout, chosen, alignment: int) -> int:  # noqa: ANN001 - a predicate
    """Bytes of the arena the chosen placements reach (aligned)."""
    end = max((p.end_offset for p in layout.placements if chosen(p)), default=0)
    return -(-end // alignment) * alignment


def _phases(steps: list[RenderedStep]) -> tuple[Phase, ...]:
    """Forward (before the loss), loss, backward (after it; updates included)."""
    loss_at = next(
        i for i, step in enumerate(steps) if step.stage == Stage.LOSS.value and step.action == "compute"
    )
    return (
        Phase("forward", tuple(steps[:loss_at])),
        Phase("loss", tuple(steps[loss_at : loss_at + 1])),
        Phase("backward and update", tuple(steps[loss_at + 1 :])),
    )


def _channel_note(graph: TrainingGraph, param: str) -> str:
    """ ", first 4 of 16 output channels updated" for a sparse update, else ""."""
    for node in graph.nodes:
        if node.stage is Stage.UPDATE and node.inputs[0] == param:
            channels, full = int(node.attrs["channels"]), int(node.attrs["shape"][node.attrs["channel_axis"]])
            if channels < full:
                return f", first {channels} of {full} output channels updated"
    return ""


def _shape_text(shape: Sequence[int]) -> str:
    return "[" + ", ".join(str(int(d)) for d in shape) + "]"


def _state_title(optimizer: str, state: str) -> str:
    if optimizer == "momentum":
        return "velocity"
    return {"m": "Adam first moment", "v": "Adam second moment"}.get(state, state)
