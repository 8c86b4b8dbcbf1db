"""``edgesdk plan``: the rematerialization + paging schedule of a training step, beside the baselines."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import click

from edgesdk.boards import load_board
from edgesdk.cli.progress import progress
from edgesdk.cli.training import training_lines
from edgesdk.errors import PlanError
from edgesdk.plan.compare import Row, baseline_rows, chosen_row
from edgesdk.plan.cost import build_cost_model
from edgesdk.plan.planner import PlanOptions, plan
from edgesdk.plan.sources import plan_source
from edgesdk.plan.units import kb, parse_runtime, parse_size
from edgesdk.train.choice import PRECISIONS, TrainingChoice


@click.command("plan")
@click.argument("model", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--board", required=True, help="Board name (see `edgesdk boards`) or a board .toml file.")
@click.option(
    "--budget", default=None, help="RAM budget, e.g. 96KB (KB = 1024 B). Default: all the board's SRAM."
)
@click.option(
    "--objective",
    type=click.Choice(["energy", "time"]),
    default="energy",
    show_default=True,
    help="What the plan minimizes per training step.",
)
@click.option(
    "--runtime-budget",
    default=None,
    help="Longest step allowed: 1.3x (of computing every node once) or 2.5s.",
)
@click.option(
    "--max-erases", type=float, default=None, help="Wear cap: flash sector erases per step, all tiers."
)
@click.option(
    "--time-limit",
    type=float,
    default=60.0,
    show_default=True,
    help="Seconds for the whole command: the plan and the baselines.",
)
@click.option(
    "--gap", type=float, default=0.01, show_default=True, help="Stop when within this relative gap."
)
@click.option(
    "--baselines/--no-baselines",
    default=True,
    show_default=True,
    help="Also plan keep-all, remat-only, paging-only, Chen sqrt(n) and greedy "
    "(they share the last third of --time-limit, plus what the plan leaves).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document (plan, baselines, schedule).")
@click.option(
    "--plot",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the memory timeline (PNG or SVG).",
)
@click.option(
    "--schedule",
    "schedule_out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the schedule (instructions and figures) as JSON.",
)
@click.option(
    "--trainable", default="all", show_default=True, help=".tflite: what trains (as in `edgesdk build`)."
)
@click.option(
    "--optimizer", default="sgd", show_default=True,
    help=".tflite: sgd, momentum or adam, optionally with options (as in `edgesdk build`).",
)
@click.option("--lr", type=float, default=None, help=".tflite: learning rate (default: the optimizer's).")
@click.option("--loss", default="auto", show_default=True, help=".tflite: softmax_xent, mse or auto.")
@click.option("--batch", type=int, default=1, show_default=True, help=".tflite: samples per step.")
@click.option(
    "--precision",
    type=click.Choice(PRECISIONS),
    default="auto",
    show_default=True,
    help=".tflite: precision of the training step, resolved as `edgesdk build` resolves it "
    "(auto: int8 for an int8 model trained with sgd, else fp32).",
)
@click.option("--int8-training", default=None, help=".tflite: int8 update options (as in `edgesdk build`).")
def command(
    model: Path,
    board: str,
    budget: str | None,
    objective: str,
    runtime_budget: str | None,
    max_erases: float | None,
    time_limit: float,
    gap: float,
    baselines: bool,
    as_json: bool,
    plot: Path | None,
    schedule_out: Path | None,
    trainable: str,
    optimizer: str,
    lr: float | None,
    loss: str,
    batch: int,
    precision: str,
    int8_training: str | None,
) -> None:
    """Plan what stays in RAM, what is recomputed and what is paged to flash in one training step
    of MODEL (a .tflite model or a graph .json, docs/planner.md) so that it fits a RAM budget."""
    the_board = load_board(board)
    choice = TrainingChoice(
        trainable=trainable, optimizer=optimizer, lr=lr, loss=loss, batch=batch, precision=precision,
        int8_training=int8_training,
    )
    graph, training = plan_source(model, choice)
    budget_bytes = the_board.sram_bytes if budget is None else parse_size(budget)
    if budget_bytes > the_board.sram_bytes:
        raise PlanError(
            f"the budget {kb(budget_bytes)} is more than the {kb(the_board.sram_bytes)} of SRAM "
            f"{the_board.name} has; pass --budget at most {the_board.sram_bytes // 1024}KB"
        )
    if not (math.isfinite(time_limit) and time_limit > 0) or not 0 <= gap < 1:
        raise PlanError("--time-limit must be a positive number of seconds and --gap in [0, 1)")
    if max_erases is not None and not (math.isfinite(max_erases) and max_erases >= 0):
        raise PlanError(f"--max-erases must be a number of erases per step >= 0, got {max_erases}")
    cost = build_cost_model(the_board, graph, objective)
    runtime_s = None if runtime_budget is None else parse_runtime(runtime_budget, cost.keep_all_time)
    options = PlanOptions(
        budget_bytes=budget_bytes,
        objective=objective,
        runtime_budget_s=runtime_s,
        max_erases_per_step=max_erases,
        time_limit_s=time_limit * (2 / 3 if baselines else 1),
        mip_gap=gap,
    )
    began = time.perf_counter()
    with progress(f"planning {graph.name} ({len(graph.nodes)} nodes)", enabled=not as_json):
        result = plan(graph, the_board, options)
    rows = [chosen_row(result)]
    if baselines:  # the baselines get what the plan left of --time-limit
        with progress("baselines", enabled=not as_json):
            rows += baseline_rows(graph, the_board, options, time_limit - (time.perf_counter() - began))
    schedule = result.schedule
    if schedule_out is not None:
        schedule_out.write_text(schedule.to_json())
    if plot is not None:
        from edgesdk.plan.plot import plot_timeline

        plot_timeline(graph, the_board, schedule, plot)
    if as_json:
        document = _document(result, rows, cost.skipped_tiers)
        chosen = None if training is None else training.as_dict()
        click.echo(json.dumps({"training": chosen, **document}, indent=1))
        return
    if training is not None:
        for line in training_lines(training):
            click.echo(line)
    _print(graph.name, the_board.name, options, result, rows, cost.skipped_tiers, cost.keep_all_cost)
    if plot is not None:
        click.echo(f"memory timeline: {plot}")
    if schedule_out is not None:
        click.echo(f"schedule: {schedule_out}")


def _print(graph, board, options, result, rows: list[Row], skipped, keep_all_cost: float) -> None:  # noqa: ANN001
    f = result.schedule.figures
    unit = "J" if options.objective == "energy" else "s"
    click.echo(
        f"{graph} on {board}: budget {kb(options.budget_bytes)} "
        f"(resident state {kb(result.schedule.resident_bytes)}), objective {options.objective}"
        + ("" if options.runtime_budget_s is None else f", runtime budget {options.runtime_budget_s:.4g} s")
    )
    bound = "n/a" if result.bound is None else f"{result.bound:.6g} {unit}"
    gap = "n/a" if result.gap is None else f"{100 * result.gap:.2f} %"
    milp = result.milp
    click.echo(
        f"plan: {result.method} ({result.status}); cost {result.objective:.6g} {unit}, "
        f"bound {bound}, gap {gap}, {result.solve_s:.1f} s"
        + ("" if milp is None else f"; MILP {milp.binaries} binaries, {milp.rows} rows")
    )
    tiers = ", ".join(
        f"{name}: {f.paged_out_bytes[name] / 1024:.1f} KB out, {f.erases_per_step[name]:.2f} erases/step, "
        f"wears out after {f.lifetime_steps[name]:.3g} steps"
        for name in f.lifetime_steps
        if f.paged_out_bytes[name]
    )
    click.echo(
        f"step: {f.time_s:.4g} s, {f.energy_j:.4g} J; RAM peak {kb(f.peak_ram_bytes)} simulated "
        f"({kb(f.planned_peak_bytes)} planned, arena {kb(f.arena_bytes)}); {f.recomputations} recomputations"
        + (f"; {tiers}" if tiers else "; no paging")
    )
    for note in skipped:
        click.echo(f"note: storage tier {note}")
    click.echo("")
    header = (
        f"{'plan':<30} {'cost ' + unit:>12} {'x keep-all':>10} {'peak RAM':>11} {'paged':>10} {'recomp':>6} "
        f"{'solve':>7}  status"
    )
    click.echo(header)
    click.echo("-" * len(header))
    for row in rows:
        if row.cost is None:
            dashes = f"{'-':>12} {'-':>10} {'-':>11} {'-':>10} {'-':>6}"
            click.echo(f"{row.name:<30} {dashes} {row.solve_s:>6.1f}s  {row.note}")
            continue
        status = row.note if row.feasible else f"infeasible: {row.note}"
        click.echo(
            f"{row.name:<30} {row.cost:>12.5g} {row.cost / keep_all_cost:>10.3f} "
            f"{kb(row.peak_bytes or 0):>11} {kb(row.paged_bytes or 0):>10} {row.recomputations:>6} "
            f"{row.solve_s:>6.1f}s  {status}"
        )


def _document(result, rows: list[Row], skipped) -> dict:  # noqa: ANN001
    return {
        "plan": {
            "method": result.method,
            "status": result.status,
            "objective": result.objective,
            "bound": result.bound,
            "gap": result.gap,
            "solve_s": result.solve_s,
            "milp": None
            if result.milp is None
            else {
                "variables": result.milp.variables,
                "binaries": result.milp.binaries,
                "rows": result.milp.rows,
                "nonzeros": result.milp.nonzeros,
            },
        },
        "baselines": [row.__dict__ for row in rows[1:]],
        "skipped_tiers": list(skipped),
        "schedule": result.schedule.to_dict(),
    }
