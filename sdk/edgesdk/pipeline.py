"""The pipeline's conductor: a model and a board in, a generated training project out.

Each stage is one call that returns frozen data, in the order the data flows::

    model  = load_model(...)                       frontend: .tflite -> IR
    choice = resolve_training(model, options)      train: the one resolver of precision, loss, optimizer
    graph  = training_graph(model, choice)         train: forward, loss, backward, optimizer
    plan   = plan_project(graph, board, request)   plan: the schedule for a RAM budget (optional)
    render_project(directory, board, graph, ...)   codegen: C, templates, manifest, PlatformIO files

and then, on request, :func:`compile_project` / :func:`run_project` (toolchain). The CLI and the
Python API both come through here, so every entry point makes the same choices.

    from edgesdk.pipeline import ProjectOptions, generate_project, compile_project, run_project

    project = generate_project("model.tflite", "stm32f746", "out/", ProjectOptions(trainable="last:2"))
    compile_project(project, "emulated")
    print(run_project(project, emulate=True).summary)
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from edgesdk import ir
from edgesdk.boards import Board, load_board
from edgesdk.codegen.data import load_dataset
from edgesdk.codegen.model import model_facts
from edgesdk.codegen.options import ProjectOptions
from edgesdk.codegen.platformio import PlatformIOHome
from edgesdk.codegen.project import GeneratedProject, SourceModel, render_project
from edgesdk.errors import ProjectError, ToolchainError
from edgesdk.frontend import load_model
from edgesdk.plan.project import PlannedStep, PlanRequest, given_schedule, load_schedule, plan_project
from edgesdk.plan.schedule import Schedule
from edgesdk.toolchain.firmware import compile_project, run_project
from edgesdk.toolchain.platformio import prepare_offline, scons_note
from edgesdk.train.choice import ResolvedTraining, TrainingChoice, resolve_training
from edgesdk.train.choice import training_graph as _training_graph
from edgesdk.train.graph import TrainingGraph

__all__ = [
    "GeneratedProject",
    "PlanRequest",
    "ProjectOptions",
    "TrainingChoice",
    "compile_project",
    "generate_project",
    "load_source",
    "plan_step",
    "run_project",
    "training_graph",
]


def load_source(model: str | Path | bytes | ir.Graph) -> tuple[ir.Graph, SourceModel]:
    """The model's IR and where it came from (file name and SHA-256 of its bytes)."""
    if isinstance(model, ir.Graph):
        return model, SourceModel(model.name, None)
    if isinstance(model, bytes):
        return load_model(model), SourceModel("model", hashlib.sha256(model).hexdigest())
    path = Path(model)
    graph = load_model(path)
    return graph, SourceModel(path.name, hashlib.sha256(path.read_bytes()).hexdigest())


def training_graph(
    model: ir.Graph, options: ProjectOptions | TrainingChoice | ResolvedTraining
) -> TrainingGraph:
    """The training graph ``options`` describe (through the shared resolver)."""
    choice = options.training if isinstance(options, ProjectOptions) else options
    return _training_graph(model, choice)


def plan_step(options: ProjectOptions, graph: TrainingGraph, board: Board) -> PlannedStep | None:
    """The schedule the training step runs: planned for a budget, given, or None (keep-all)."""
    if options.plan is not None:
        return plan_project(graph, board, options.plan)
    if isinstance(options.schedule, Schedule):
        return given_schedule(options.schedule, graph, board)
    if options.schedule is not None:
        return load_schedule(options.schedule, graph, board)
    return None


def platformio_home(board: Board) -> tuple[PlatformIOHome | None, tuple[str, ...]]:
    """PlatformIO's offline home for a board project, or None and why (PlatformIO not installed)."""
    if board.is_host:
        return None, ()
    try:
        home = prepare_offline()
        return home, (scons_note(home),) if home.installed_scons else ()
    except ToolchainError as error:
        return None, (f"platformio.ini was not written: {str(error).splitlines()[0]}",)


def generate_project(
    model: str | Path | bytes | ir.Graph,
    board: str | Board,
    out_dir: str | Path,
    options: ProjectOptions | None = None,
    *,
    force: bool = False,
) -> GeneratedProject:
    """Write the training project for ``model`` on ``board`` into ``out_dir``.

    Raises the SDK's errors: ModelError / UnsupportedOpError (the model), TrainingError (the
    options), PlanError (the budget), DataError (the data file), BoardError, ProjectError (the
    directory).
    """
    options = options or ProjectOptions()
    board = load_board(board) if isinstance(board, str) else board
    graph, source = load_source(model)
    resolved = resolve_training(graph, options.training)
    tg = _training_graph(graph, resolved)
    facts = model_facts(tg)
    dataset = load_dataset(options.data, facts) if options.data is not None else None
    planned = plan_step(options, tg, board)
    home, notes = platformio_home(board)
    try:
        return render_project(
            Path(out_dir),
            board,
            tg,
            options,
            source_model=source,
            facts=facts,
            dataset=dataset,
            planned=planned,
            platformio_home=home,
            training=resolved,
            notes=notes,
            force=force,
        )
    except OSError as error:  # a directory that cannot be written (read-only, /proc, a file in the path)
        raise ProjectError(
            f"cannot write the project into {str(out_dir)!r}: {error.strerror or error}; choose a writable "
            "directory with -o"
        ) from None
