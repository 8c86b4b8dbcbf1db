"""Write a generated training project: :func:`generate_project`.

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
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from edgesdk import __version__, ir
from edgesdk.boards import Board, load_board
from edgesdk.build.linker import render_linker_script
from edgesdk.build.platformio import LIBRARY_NAME, PlatformIOProject, write_library, write_project
from edgesdk.build.targets import Target, layout_for
from edgesdk.codegen import kernels as K
from edgesdk.codegen.data import DEFAULT_SEED, Dataset, load_dataset
from edgesdk.codegen.int8 import resolve_precision
from edgesdk.codegen.manifest import Manifest, prepare_directory, write_manifest
from edgesdk.codegen.model import (
    ConstArray,
    ModelFacts,
    ModelSource,
    assemble_model,
    in_arena,
    model_facts,
)
from edgesdk.codegen.planning import PlannedStep, PlanRequest, given_schedule, load_schedule, plan_project
from edgesdk.codegen.program import schedule_arena, scheduled_programs
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
from edgesdk.errors import PlanError, ToolchainError, TrainingError
from edgesdk.frontend import load_model
from edgesdk.plan.schedule import Schedule
from edgesdk.train import OptimizerSpec, TrainingGraph, build_training_graph

SOURCES_DIR = "src"
ROW_ITEMS = 8


@dataclass(frozen=True)
class ProjectOptions:
    """What to train and what the demo program does (the ``edgesdk build`` options)."""

    trainable: str = "all"
    optimizer: str = "sgd"  # sgd | momentum | adam, optionally ":key=value,..."
    lr: float | None = None  # overrides the optimizer's learning rate
    loss: str = "auto"  # softmax_xent | mse | auto (softmax_xent when the model ends in SOFTMAX)
    batch: int = 1
    data: Path | None = None  # .npz with x_train, y_train, x_test, y_test
    epochs: int = 1  # with data
    steps: int = 3  # without data: pseudo-random steps
    seed: int = DEFAULT_SEED
    trace: bool = False  # every step reports its output buffer (debugging, equivalence tests)
    report_params: bool = False  # the demo reports the trained parameters
    report_steps: bool = False  # the demo reports every step's loss
    precision: str = "fp32"  # fp32 | int8 | auto (int8 for an int8 model trained with SGD)
    int8_training: str | None = None  # int8 update options, e.g. "stochastic,unfused" (Int8Training)
    plan: PlanRequest | None = None  # plan the training step for a RAM budget (edgesdk build --budget)
    schedule: Schedule | Path | None = None  # or run this schedule (a plan.json): any plan for the graph

    def __post_init__(self) -> None:
        if self.plan is not None and self.schedule is not None:
            raise PlanError("give either a RAM budget to plan for or a stored schedule, not both")
        if self.batch < 1:
            raise TrainingError(f"--batch must be >= 1, got {self.batch}")
        if self.epochs < 0 or self.steps < 0:
            raise TrainingError("--epochs and --steps must be >= 0")
        if self.lr is not None and not self.lr > 0:
            raise TrainingError(f"--lr must be a positive number, got {self.lr}")


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

    @property
    def demo_steps(self) -> int:
        """Training steps the demo program runs."""
        return int(self.manifest.data["demo_steps"])


def resolve_loss(graph: ir.Graph, loss: str) -> str:
    if loss != "auto":
        return loss
    last = graph.producer(graph.outputs[0]) if graph.outputs else None
    return "softmax_xent" if last is not None and last.kind is ir.OpKind.SOFTMAX else "mse"


def training_graph(model: ir.Graph, options: ProjectOptions) -> TrainingGraph:
    """The training graph ``options`` describe."""
    optimizer = OptimizerSpec.parse(options.optimizer)
    if options.lr is not None:
        optimizer = dataclasses.replace(optimizer, lr=float(options.lr))
    precision = resolve_precision(model, options.precision, optimizer, options.int8_training)
    return build_training_graph(
        model,
        trainable=options.trainable,
        loss=resolve_loss(model, options.loss),
        optimizer=optimizer,
        batch=options.batch,
        precision=precision,
        int8_training=options.int8_training if precision == "int8" else None,
    )


def generate_project(
    model: str | Path | bytes | ir.Graph,
    board: str | Board,
    out_dir: str | Path,
    options: ProjectOptions | None = None,
    *,
    force: bool = False,
) -> GeneratedProject:
    """Write the project for ``model`` on ``board`` into ``out_dir`` (see the module docstring).

    Raises the SDK's errors: ModelError / UnsupportedOpError (the model), TrainingError (the
    options), DataError (the data file), BoardError, ProjectError (the directory).
    """
    options = options or ProjectOptions()
    board = load_board(board) if isinstance(board, str) else board
    graph, model_name, digest = _load(model)
    tg = training_graph(graph, options)
    facts = model_facts(tg)
    dataset = load_dataset(options.data, facts) if options.data is not None else None
    description = (
        f"model {model_name}, board {board.name}",
        f"trainable {options.trainable}, optimizer {tg.optimizer.kind.value} (lr {tg.optimizer.lr:g}), "
        f"loss {tg.loss_kind.value}, batch {tg.batch}, precision {tg.precision.value}",
    )
    planned = _planned(options, tg, board)
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

    directory = Path(out_dir)
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

    notes: list[str] = []
    pio: PlatformIOProject | None = None
    if board.is_host:
        write_library(directory / "lib" / LIBRARY_NAME)
    else:
        pio = _write_board_files(directory, board, notes, swap_region)
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
            "model": {"name": model_name, "sha256": digest},
            "board": board.name,
            "options": _options_document(options, tg),
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
        directory, board, tg, source, facts, manifest, dataset, pio, tuple(notes), planned, swap
    )


# ---------------------------------------------------------------- pieces


def _planned(options: ProjectOptions, graph: TrainingGraph, board: Board) -> PlannedStep | None:
    if options.plan is not None:
        return plan_project(graph, board, options.plan)
    if isinstance(options.schedule, Schedule):
        return given_schedule(options.schedule, graph, board)
    if options.schedule is not None:
        return load_schedule(options.schedule, graph, board)
    return None


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


def _load(model: str | Path | bytes | ir.Graph) -> tuple[ir.Graph, str, str | None]:
    if isinstance(model, ir.Graph):
        return model, model.name, None
    if isinstance(model, bytes):
        return load_model(model), "model", hashlib.sha256(model).hexdigest()
    path = Path(model)
    graph = load_model(path)
    return graph, path.name, hashlib.sha256(path.read_bytes()).hexdigest()


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
    directory: Path, board: Board, notes: list[str], swap_region: tuple[int, int] | None
) -> PlatformIOProject | None:
    """platformio.ini + lib/ + linker scripts; without PlatformIO, the library and scripts only.
    With paging, the emulated script gets the ``es_swap`` region of the simulated flash."""
    pio: PlatformIOProject | None = None
    try:
        pio = write_project(directory, board)
    except ToolchainError as error:
        notes.append(f"platformio.ini was not written: {str(error).splitlines()[0]}")
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


def _options_document(options: ProjectOptions, graph: TrainingGraph) -> dict[str, object]:
    opt = graph.optimizer
    return {
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
