"""Write a generated training project: :func:`render_project`.

Layout of a project directory (docs/codegen.md has the details)::

    edgesdk.json          manifest: made by edgesdk, options, sizes, the plan's figures, builds
    arena.json            the arena layout (offset and lifetime of every buffer)
    plan.json             with --budget (or a given schedule): the planner's schedule the step runs
    README.md             how to build, run and embed it
    Makefile              host build with the system compiler (any board's project)
    src/model.h, model.c  the model's training runtime (API in model.h)
    src/main.c            the demo program
    src/dataset.h, .c     the embedded data set (with --data)
    lib/edgesdk_runtime/  the runtime kernels and ports as a PlatformIO library
    platformio.ini        boards: an env for the real board and one for its QEMU stand-in
    edgesdk/*.ld          boards: linker scripts with the real board's memory sizes
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from edgesdk import __version__
from edgesdk.boards import Board
from edgesdk.codegen import kernels as K
from edgesdk.codegen.assemble import assemble_model
from edgesdk.codegen.data import DEFAULT_SEED, Dataset
from edgesdk.codegen.linker import render_linker_script
from edgesdk.codegen.manifest import Manifest, prepare_directory, write_manifest
from edgesdk.codegen.model import in_arena
from edgesdk.codegen.options import ProjectOptions
from edgesdk.codegen.platformio import (
    LIBRARY_NAME,
    PlatformIOHome,
    PlatformIOProject,
    write_library,
    write_project,
)
from edgesdk.codegen.program import schedule_arena, scheduled_programs
from edgesdk.codegen.source import ConstArray, ModelFacts, ModelSource
from edgesdk.codegen.store import store_for
from edgesdk.codegen.swap import (
    SIM_FLAGS,
    SwapTier,
    emulated_swap_region,
    predict_counters,
    swap_tiers,
    with_swap_region,
)
from edgesdk.codegen.templating import render
from edgesdk.plan.project import PlannedStep
from edgesdk.targets import Target, layout_for
from edgesdk.train import TrainingGraph
from edgesdk.train.choice import ResolvedTraining

SOURCES_DIR = "src"
ROW_ITEMS = 8


@dataclass(frozen=True)
class SourceModel:
    """Where the model came from, as the manifest records it."""

    name: str  # the .tflite file's name
    sha256: str | None  # of its bytes (None for a graph built in memory)


@dataclass(frozen=True)
class DemoSpec:
    """What main.c.j2 reads."""

    has_data: bool
    epochs: int
    steps: int
    batch: int
    seed: int
    input_low: str  # C float literals
    input_high: str
    report_params: bool
    report_steps: bool


@dataclass(frozen=True)
class GeneratedProject:
    directory: Path
    board: Board
    graph: TrainingGraph
    model: ModelSource
    facts: ModelFacts
    manifest: Manifest
    dataset: Dataset | None
    platformio: PlatformIOProject | None
    notes: tuple[str, ...] = field(default_factory=tuple)
    planned: PlannedStep | None = None  # the schedule the training step runs (None: keep-all)
    swap: tuple[SwapTier, ...] = ()  # the storage tiers it pages to
    training: ResolvedTraining | None = None  # the resolver's choices and why (None: graph given)

    @property
    def demo_steps(self) -> int:
        """Training steps the demo program runs."""
        return int(self.manifest.data["demo_steps"])


def render_project(
    directory: Path,
    board: Board,
    tg: TrainingGraph,
    options: ProjectOptions,
    *,
    source_model: SourceModel,
    facts: ModelFacts,
    dataset: Dataset | None,
    planned: PlannedStep | None,
    platformio_home: PlatformIOHome | None,
    training: ResolvedTraining | None = None,
    notes: Sequence[str] = (),
    force: bool = False,
) -> GeneratedProject:
    """Write the project of ``tg`` on ``board`` into ``directory`` (see the module docstring).

    Everything is decided before this is called (:func:`edgesdk.pipeline.generate_project`):
    the training graph, the plan, the data set. Without ``platformio_home`` a board project gets
    the runtime library and linker scripts but no platformio.ini. Raises ProjectError (the
    directory) and UnsupportedOpError (a node the C runtime cannot express).
    """
    description = (
        f"model {source_model.name}, board {board.name}",
        f"trainable {options.trainable}, optimizer {tg.optimizer.kind.value} (lr {tg.optimizer.lr:g}), "
        f"loss {tg.loss_kind.value}, batch {tg.batch}, precision {tg.precision.value}",
    )
    swap: tuple[SwapTier, ...] = ()
    if planned is None:
        source = assemble_model(tg, trace=options.trace, description=description)
    else:
        schedule = planned.schedule
        swap = swap_tiers(board, schedule)
        description += (
            f"training step: the {schedule.kind} schedule in plan.json ({planned.method}), RAM budget "
            f"{schedule.budget_bytes:,} B" + (f", paging to {', '.join(schedule.tiers)}" if swap else ""),
        )
        source = assemble_model(
            tg,
            programs=scheduled_programs(tg, schedule),
            train_layout=schedule_arena(tg, schedule, lambda v: in_arena(tg, v, "train", scheduled=True)),
            trace=options.trace,
            description=description,
            swap=swap,
            board_port=board.port if not board.is_host else "",
        )
    store = store_for(board, source.params_bytes, max(source.arena_size // 4, 1) * 4)
    source = dataclasses.replace(source, store=store)
    swap_region = (
        emulated_swap_region(board, swap, store.emulated_bytes if store else 0) if not board.is_host else None
    )

    prepare_directory(directory, force)
    src = directory / SOURCES_DIR
    src.mkdir()
    demo = _demo_spec(options, facts, dataset)
    (src / "model.h").write_text(render("model.h.j2", m=source))
    (src / "model.c").write_text(render("model.c.j2", m=source))
    (src / "main.c").write_text(render("main.c.j2", m=source, demo=demo))
    sources = ["src/model.c", "src/main.c"]
    if dataset is not None:
        context = _dataset_context(dataset, options.data)
        (src / "dataset.h").write_text(render("dataset.h.j2", data=context, version=__version__))
        (src / "dataset.c").write_text(render("dataset.c.j2", data=context, version=__version__))
        sources.append("src/dataset.c")

    notes = list(notes)
    pio: PlatformIOProject | None = None
    if board.is_host:
        write_library(directory / "lib" / LIBRARY_NAME)
    else:
        pio = _write_board_files(directory, board, platformio_home, swap_region)
    if planned is not None:
        (directory / "plan.json").write_text(planned.schedule.to_json() + "\n")
        notes.extend(planned.notes)
    (directory / "Makefile").write_text(render("Makefile.j2", m=source, library=LIBRARY_NAME))
    (directory / "arena.json").write_text(json.dumps(_arena_document(source), indent=1) + "\n")
    (directory / "README.md").write_text(
        render(
            "README.md.j2", m=source, board=board, pio=pio, has_data=dataset is not None, library=LIBRARY_NAME
        )
    )
    steps = demo_steps(options, facts, dataset)
    manifest = write_manifest(
        directory,
        {
            "version": __version__,
            "model": {"name": source_model.name, "sha256": source_model.sha256},
            "board": board.name,
            "options": _options_document(options, tg, training),
            "facts": dataclasses.asdict(facts),
            "memory": {
                "arena_bytes": source.arena_size,
                "arena_peak_bytes": source.layout.peak,
                "state_bytes": int(  # ES_MODEL_STATE_BYTES: int8 arrays take 1 byte an element
                    next(m.value for m in source.header_macros if m.name == "ES_MODEL_STATE_BYTES")
                ),
                "params_bytes": source.params_bytes,
            },
            "params": [
                {"value": p.value, "offset": p.offset, "count": p.count, "shape": list(p.shape)}
                for p in source.saved_params
            ],
            "sources": sources,
            "symbols": _symbols(source),
            "data": None if dataset is None else {"train": dataset.train_count, "test": dataset.test_count},
            "demo_steps": steps,
            "plan": None if planned is None else _plan_document(planned, source, board, swap, steps),
            "emulated_swap": None
            if swap_region is None
            else {"origin": swap_region[0], "size_bytes": swap_region[1]},
            "platformio": None
            if pio is None
            else {"board_env": pio.board_env, "emulated_env": pio.emulated_env},
            "builds": {},
        },
    )
    return GeneratedProject(
        directory, board, tg, source, facts, manifest, dataset, pio, tuple(notes), planned, swap, training
    )


# ---------------------------------------------------------------- pieces


def _symbols(source: ModelSource) -> dict[str, list[str]]:
    """The C names of the RAM the build report measures in the ELF, by group."""
    pager = ["es_pager_scratch"] if source.pager_tiers else []
    for tier in source.pager_tiers:
        pager += [tier.pager, tier.device, tier.slot_state, tier.erases, tier.driver_state]
    state = [a.name for a in (*source.parameters, *source.gradients, *source.optimizer_state)]
    return {
        "arena": ["es_arena"],
        "state": [*state, "es_step"],
        "io": ["batch_x", "batch_labels", "batch_out", "predicted"],
        "pager": pager,
    }


def demo_steps(options: ProjectOptions, facts: ModelFacts, dataset: Dataset | None) -> int:
    """Training steps the demo runs: every full batch of every epoch, or ``steps``."""
    if dataset is None:
        return options.steps
    return options.epochs * (dataset.train_count // facts.batch)


def _plan_document(
    planned: PlannedStep, source: ModelSource, board: Board, swap: tuple[SwapTier, ...], steps: int
) -> dict[str, object]:
    """The plan's figures and what the pager will count, for the build report and `edgesdk run`."""
    schedule = planned.schedule
    f = schedule.figures
    tiers = []
    for tier in swap:
        run = predict_counters(schedule, tier, steps, SIM_FLAGS)
        long_run = predict_counters(schedule, tier, max(steps, 3), SIM_FLAGS)
        erase_cycles = next(t.erase_cycles for t in board.storage if t.name == tier.name)
        tiers.append(
            {
                "name": tier.name,
                "slots": list(tier.slot_bytes),
                "region_bytes": tier.geometry.region_bytes,
                "sector_bytes": tier.geometry.sector_bytes,
                "sectors": tier.sectors,
                "planned_out_bytes": f.paged_out_bytes.get(tier.name, 0),
                "planned_in_bytes": f.paged_in_bytes.get(tier.name, 0),
                "planned_erases_per_step": f.erases_per_step.get(tier.name, 0.0),
                "planned_lifetime_steps": f.lifetime_steps.get(tier.name),
                "model_erases_per_step": long_run.erases_per_step(),
                "model_lifetime_steps": long_run.lifetime_steps(erase_cycles) if erase_cycles else None,
                "erase_cycles": erase_cycles,
                "driver": None if tier.driver is None else tier.driver.kind,
                "predicted_run": {
                    "steps": steps,
                    "bytes_read": run.bytes_read,
                    "bytes_programmed": run.bytes_programmed,
                    "bytes_relocated": sum(s.bytes_relocated for s in run.steps),
                    "page_outs": sum(s.page_outs for s in run.steps),
                    "page_ins": sum(s.page_ins for s in run.steps),
                    "relocations": sum(s.relocations for s in run.steps),
                    "erases": run.erases,
                    "sector_erases": list(run.sector_erases),
                },
            }
        )
    return {
        "kind": schedule.kind,
        "method": planned.method,
        "status": planned.status,
        "gap": planned.gap,
        "solve_s": round(planned.solve_s, 3),
        "objective": schedule.objective,
        "budget_bytes": schedule.budget_bytes,
        "resident_bytes": schedule.resident_bytes,
        "planned_peak_bytes": f.planned_peak_bytes,
        "peak_ram_bytes": f.peak_ram_bytes,
        "arena_bytes": f.arena_bytes,
        "generated_train_arena_bytes": source.train_arena_bytes,
        "generated_infer_arena_bytes": source.infer_arena_bytes,
        "recomputations": f.recomputations,
        "time_s": f.time_s,
        "energy_j": f.energy_j,
        "instructions": len(schedule.instructions),
        "tiers": tiers,
    }


def _demo_spec(options: ProjectOptions, facts: ModelFacts, dataset: Dataset | None) -> DemoSpec:
    return DemoSpec(
        has_data=dataset is not None,
        epochs=options.epochs,
        steps=options.steps,
        batch=facts.batch,
        seed=options.seed & 0xFFFFFFFF or DEFAULT_SEED,
        input_low=K.c_float(facts.input_range[0]),
        input_high=K.c_float(facts.input_range[1]),
        report_params=options.report_params,
        report_steps=options.report_steps,
    )


@dataclass(frozen=True)
class _DatasetContext:
    source: str
    train_count: int
    test_count: int
    arrays: tuple[ConstArray, ...]


def _dataset_context(dataset: Dataset, path: Path | None) -> _DatasetContext:
    def array(name: str, values: np.ndarray, comment: str) -> ConstArray:
        if values.dtype == np.int32:
            literals, ctype = [str(int(v)) for v in values.reshape(-1)], "es_label"
        else:
            literals = K.c_floats(values)
            ctype = "float" if name.startswith("es_data_x") else "es_label"
        rows = tuple(", ".join(literals[i : i + ROW_ITEMS]) for i in range(0, len(literals), ROW_ITEMS))
        return ConstArray(name, ctype, len(literals), tuple(values.shape), comment, rows)

    arrays = (
        array("es_data_x_train", dataset.x_train, f"x_train: {dataset.train_count} samples"),
        array("es_data_y_train", dataset.y_train, "y_train"),
        array("es_data_x_test", dataset.x_test, f"x_test: {dataset.test_count} samples"),
        array("es_data_y_test", dataset.y_test, "y_test"),
    )
    return _DatasetContext(
        Path(path).name if path else "data", dataset.train_count, dataset.test_count, arrays
    )


def _write_board_files(
    directory: Path, board: Board, home: PlatformIOHome | None, swap_region: tuple[int, int] | None
) -> PlatformIOProject | None:
    """platformio.ini + lib/ + linker scripts; without PlatformIO, the library and scripts only.
    With paging, the emulated script gets the ``es_swap`` region of the simulated flash."""
    pio: PlatformIOProject | None = None
    if home is not None:
        pio = write_project(directory, board, home)
    else:
        write_library(directory / "lib" / LIBRARY_NAME)
    scripts = directory / "edgesdk"
    scripts.mkdir(exist_ok=True)
    for target in (Target.BOARD, Target.EMULATED):
        if target is Target.EMULATED and board.emulation is None:
            continue
        linked = board
        if target is Target.EMULATED and swap_region is not None:
            linked = with_swap_region(board, *swap_region)
        layout = layout_for(linked, target)
        assert layout is not None
        (scripts / f"{board.name}_{target.value}.ld").write_text(render_linker_script(linked, target, layout))
    return pio


def _options_document(
    options: ProjectOptions, graph: TrainingGraph, training: ResolvedTraining | None
) -> dict[str, object]:
    opt = graph.optimizer
    return {
        "why": [] if training is None else list(training.reasons),
        "trainable": options.trainable,
        "optimizer": {
            "kind": opt.kind.value,
            "lr": opt.lr,
            "momentum": opt.momentum,
            "beta1": opt.beta1,
            "beta2": opt.beta2,
            "eps": opt.eps,
            "weight_decay": opt.weight_decay,
        },
        "loss": graph.loss_kind.value,
        "batch": graph.batch,
        "precision": graph.precision.value,
        "int8_training": dataclasses.asdict(graph.int8) | {"rounding": graph.int8.rounding.value}
        if graph.int8 is not None
        else None,
        "epochs": options.epochs,
        "steps": options.steps,
        "seed": options.seed,
        "trace": options.trace,
        "report_params": options.report_params,
        "report_steps": options.report_steps,
    }


def _arena_document(source: ModelSource) -> dict[str, object]:
    layout = source.layout.to_dict()
    layout["buffers"] = [
        {
            "name": b.name,
            "value": b.value,
            "program": b.program,
            "offset": b.offset,
            "size": b.size,
            "start": b.start,
            "end": b.end,
            "shape": list(b.shape),
        }
        for b in source.arena_buffers
    ]
    layout["steps"] = [
        {"time": s.time, "node": s.node, "kernel": s.kernel, "stage": s.stage}
        for phase in source.train_phases
        for s in phase.steps
    ] + [{"time": s.time, "node": s.node, "kernel": s.kernel, "stage": "infer"} for s in source.infer_steps]
    return layout
