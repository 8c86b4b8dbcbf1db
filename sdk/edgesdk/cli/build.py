"""``edgesdk build``: write the C training project for a model and a board, optionally compile it.

With ``--budget`` the training step is planned first (recomputation and paging to flash so that
it fits the RAM budget) and generated as the plan's instruction sequence; plan.json is stored
beside the code and the report shows planned against measured RAM and the flash wear.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import click

from edgesdk.boards import load_board
from edgesdk.cli.progress import progress
from edgesdk.cli.training import training_lines
from edgesdk.codegen.int8 import ITEM_BYTES
from edgesdk.errors import PlanError
from edgesdk.pipeline import GeneratedProject, ProjectOptions, generate_project
from edgesdk.plan.project import PlanRequest
from edgesdk.plan.units import kb, parse_size
from edgesdk.toolchain.firmware import BuiltFirmware, compile_project
from edgesdk.toolchain.report import measure_ram, plan_lines, ram_lines


@click.command("build")
@click.argument("model", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--board", default="host", show_default=True, help="Board name (see `edgesdk boards`).")
@click.option(
    "-o", "--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
    help="Project directory: new or empty, or one edgesdk made (with --force).",
)
@click.option(
    "--trainable", default="all", show_default=True,
    help="What trains: all, last:K (the last K layers with weights), bias, or sparse:FILE (JSON).",
)
@click.option(
    "--optimizer", default="sgd", show_default=True,
    help="sgd, momentum or adam, optionally with options: adam:beta1=0.9,weight_decay=1e-4.",
)
@click.option("--lr", type=float, default=None, help="Learning rate (default: the optimizer's, 0.01).")
@click.option(
    "--loss", default="auto", show_default=True,
    help="softmax_xent, mse, or auto (softmax_xent when the model ends in SOFTMAX, else mse).",
)
@click.option("--batch", type=int, default=1, show_default=True, help="Samples per training step.")
@click.option(
    "--precision", type=click.Choice(["auto", "int8", "fp32"]), default="auto", show_default=True,
    help="int8: the model's int8 forward (TFLite Micro's integers), float32 backward, QAS updates of the "
    "int8 weights; fp32: weights dequantized, all float32; auto: int8 for an int8 model trained with sgd.",
)
@click.option(
    "--int8-training", default=None,
    help="int8 updates, comma-separated: qas|noqas, nearest|stochastic, master, fused|unfused, seed=N, "
    "fuse|nofuse (a frozen conv and the depthwise conv it feeds as one node, and the mean backward "
    "with the activation backward it feeds; default qas,nearest,fused,fuse).",
)
@click.option(
    "--data", type=click.Path(dir_okay=False, path_type=Path), default=None,
    help="A .npz with x_train, y_train, x_test, y_test to embed: the demo fine-tunes on it.",
)
@click.option("--epochs", type=int, default=1, show_default=True, help="Passes over x_train (with --data).")
@click.option(
    "--steps", type=int, default=3, show_default=True,
    help="Training steps on pseudo-random data (without --data).",
)
@click.option(
    "--budget", default=None,
    help="RAM budget for resident state + arena, e.g. 96KB: plan recomputation and paging to fit it "
    "(without it every buffer stays in RAM).",
)
@click.option(
    "--objective", type=click.Choice(["energy", "time"]), default="energy", show_default=True,
    help="With --budget: what the plan minimizes per step.",
)
@click.option(
    "--runtime-budget", default=None, help="With --budget: longest step, 1.3x (of keep-all) or 2.5s."
)
@click.option(
    "--tier", default=None,
    help="With --budget: storage tier to page to (default: the board's QSPI NOR if it has one).",
)
@click.option("--max-erases", type=float, default=None, help="With --budget: cap on sector erases per step.")
@click.option(
    "--time-limit", type=float, default=30.0, show_default=True, help="With --budget: planner seconds."
)
@click.option(
    "--remat/--no-remat", default=True, show_default=True, help="With --budget: allow recomputation."
)
@click.option("--paging/--no-paging", default=True, show_default=True, help="With --budget: allow paging.")
@click.option(
    "--plan", "plan_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
    help="Run this stored schedule (a plan.json, e.g. from `edgesdk plan --schedule`) instead of planning.",
)
@click.option("--compile", "do_compile", is_flag=True, help="Also compile it and print the size report.")
@click.option("--force", is_flag=True, help="Replace a project directory edgesdk made before.")
@click.option("--trace", is_flag=True, help="Generated code reports every step's output (debugging).")
@click.option(
    "--json", "as_json", is_flag=True, help="Print one JSON document (training, memory, plan, builds)."
)
def command(
    model: Path,
    board: str,
    out_dir: Path,
    trainable: str,
    optimizer: str,
    lr: float | None,
    loss: str,
    batch: int,
    precision: str,
    int8_training: str | None,
    data: Path | None,
    epochs: int,
    steps: int,
    budget: str | None,
    objective: str,
    runtime_budget: str | None,
    tier: str | None,
    max_erases: float | None,
    time_limit: float,
    remat: bool,
    paging: bool,
    plan_file: Path | None,
    do_compile: bool,
    force: bool,
    trace: bool,
    as_json: bool,
) -> None:
    """Write the C training runtime of MODEL (an int8 .tflite) for a board into a project.

    Host projects build with the system compiler (a Makefile); board projects are PlatformIO
    projects with an env for the real board and one for its QEMU stand-in. Then `edgesdk run`.
    """
    the_board = load_board(board)
    request = None
    if budget is not None:
        budget_bytes = parse_size(budget)
        if budget_bytes > the_board.sram_bytes:
            raise PlanError(
                f"the budget {kb(budget_bytes)} is more than the {kb(the_board.sram_bytes)} of SRAM "
                f"{the_board.name} has; pass --budget at most {the_board.sram_bytes // 1024}KB"
            )
        request = PlanRequest(
            budget_bytes=budget_bytes, objective=objective, runtime_budget=runtime_budget, tier=tier,
            time_limit_s=time_limit, allow_remat=remat, allow_paging=paging, max_erases_per_step=max_erases,
        )
    elif plan_file is None and (runtime_budget or tier or max_erases is not None):
        raise PlanError(
            "--runtime-budget, --tier and --max-erases shape a plan: give a RAM budget with --budget"
        )
    options = ProjectOptions(
        trainable=trainable, optimizer=optimizer, lr=lr, loss=loss, batch=batch, data=data,
        epochs=epochs, steps=steps, trace=trace, plan=request, schedule=plan_file,
        precision=precision, int8_training=int8_training,
    )
    label = "planning and generating" if request is not None else "generating"
    with progress(label, enabled=not as_json):
        project = generate_project(model, the_board, out_dir, options, force=force)
    with progress("compiling", enabled=not as_json and do_compile):
        builds = _compile(project) if do_compile else []
    if as_json:
        click.echo(json.dumps(_document(project, builds), indent=1))
        return
    _print_project(project)
    for built in builds:
        where = {"host": "for the host", "emulated": f"for the QEMU stand-in {project.board.emulated_by}",
                 "board": "for the real board (its flags and memory map)"}[built.target]
        click.echo(f"\ncompiled {where} with {built.tool}: {built.firmware.path}")
    if builds and not project.board.is_host:
        _print_report(builds[-1], project)
    click.echo(f"\nnext: edgesdk run {out_dir}" + ("" if project.board.is_host else " --emulate"))


def _compile(project: GeneratedProject) -> list[BuiltFirmware]:
    """--compile: the host build of a host project; the emulated and the real board's of a board's."""
    targets = ("host",) if project.board.is_host else ("emulated", "board")
    return [compile_project(project, target) for target in targets]


def _document(project: GeneratedProject, builds: list[BuiltFirmware]) -> dict[str, Any]:
    data = project.manifest.data
    compiled = {}
    for built in builds:
        report = built.report()
        ram = measure_ram(report, data["symbols"])
        compiled[built.target] = {
            "tool": built.tool,
            "elf": str(built.firmware.path),
            "flash_bytes": report.flash_used,
            "static_ram_bytes": report.static_ram,
            "stack_reserved_bytes": report.stack_reserved,
            "ram": dataclasses.asdict(ram),
        }
    return {
        "directory": str(project.directory),
        "board": project.board.name,
        "training": None if project.training is None else project.training.as_dict(),
        "trains": list(project.graph.parameters),
        "kernel_calls": {
            "train_step": len(project.graph.nodes),
            "inference": len(project.graph.inference_nodes),
        },
        "memory": data["memory"],
        "plan": data.get("plan"),
        "platformio": data.get("platformio"),
        "notes": list(project.notes),
        "compiled": compiled,
    }


def _print_project(project: GeneratedProject) -> None:
    m, graph = project.model, project.graph
    trained = ", ".join(graph.parameters)
    click.echo(f"wrote {project.directory} for {project.board.title}")
    if project.training is not None:
        for line in training_lines(project.training):
            click.echo(f"  {line}")
    click.echo(f"  model {graph.name}: {len(graph.nodes)} kernel calls per training step, "
               f"{len(graph.inference_nodes)} per inference; trains {trained}")
    arena = int(project.manifest.data["memory"]["arena_bytes"])  # ES_MODEL_ARENA_BYTES
    extra = arena - m.layout.size  # int8: the input batch and the updates' scratch where no gap held them
    click.echo(f"  arena       {arena:>10,} B (lifetime peak {m.layout.peak:,} B, "
               f"+{100 * m.layout.fragmentation:.1f} %"
               + (f"; +{extra:,} B for the int8 input batch and update scratch)" if extra else ")"))
    state = int(project.manifest.data["memory"]["state_bytes"])  # ES_MODEL_STATE_BYTES
    flash = sum(w.count * ITEM_BYTES[w.ctype] for w in m.weights)
    click.echo(f"  RAM state   {state:>10,} B (parameters, gradients, optimizer state)")
    click.echo(f"  flash data  {flash:>10,} B (weights, initial values)")
    if project.dataset is not None:
        click.echo(f"  data        {project.dataset.train_count} training and {project.dataset.test_count} "
                   "test samples embedded")
    if project.platformio is not None:
        click.echo(f"  PlatformIO  envs {project.platformio.board_env} (board) and "
                   f"{project.platformio.emulated_env} (QEMU)")
    plan = _plan(project)
    if plan is not None:
        for line in plan_lines(plan, project.board.sram_bytes):
            click.echo(line if line.startswith("  ") else f"  {line}")
        click.echo(f"  schedule    {project.directory / 'plan.json'}")
    for note in project.notes:
        click.echo(f"  note: {note}")


def _plan(project: GeneratedProject) -> dict[str, Any] | None:
    return project.manifest.data.get("plan")


def _print_report(built: BuiltFirmware, project: GeneratedProject) -> None:
    report = built.report()
    click.echo(report.format())
    ram = measure_ram(report, project.manifest.data["symbols"])
    click.echo("planned against measured RAM (the real board's firmware):")
    for line in ram_lines(_plan(project), project.manifest.data["memory"], ram):
        click.echo(line)
