"""Planning a generated project's training step: ``edgesdk build --budget``.

:func:`plan_project` runs the planner (:func:`edgesdk.plan.planner.plan`, through its public
API) on the training graph for the board, restricted to one storage tier, and checks the schedule
against the training graph; :func:`load_schedule` takes a stored plan.json instead (any schedule
for the same graph and board, e.g. from ``edgesdk plan --schedule``).

The tier: ``--tier NAME``, or by default the board's QSPI NOR tier where it has one (external
flash: large sectors of 4 KB, 100 k erase cycles, and it leaves the firmware's own flash alone),
else the first tier the pager can use. A tier whose swap region cannot hold the pager's reserve
(the STM32F746's internal-flash region is one 256 KB sector; the pager needs at least three) is
not usable, and the planner says why.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path

from edgesdk.boards import Board
from edgesdk.errors import BoardError, PlanError
from edgesdk.plan.arena import schedule_layout
from edgesdk.plan.cost import OBJECTIVES, build_cost_model
from edgesdk.plan.planner import PlanOptions, plan
from edgesdk.plan.schedule import Schedule
from edgesdk.plan.training import check_schedule, plan_graph
from edgesdk.plan.units import parse_runtime
from edgesdk.train.graph import TrainingGraph


@dataclass(frozen=True)
class PlanRequest:
    """What ``edgesdk build --budget`` asks the planner for."""

    budget_bytes: int  # RAM for resident state + the arena
    objective: str = "energy"  # or "time"
    runtime_budget: str | None = None  # "1.3x" (of keep-all) or "2.5s" / "800ms"
    tier: str | None = None  # storage tier to page to; None: QSPI NOR if the board has it
    time_limit_s: float = 30.0
    allow_remat: bool = True
    allow_paging: bool = True
    max_erases_per_step: float | None = None

    def __post_init__(self) -> None:
        if self.budget_bytes <= 0:
            raise PlanError(f"the RAM budget must be positive, got {self.budget_bytes} B")
        if self.objective not in OBJECTIVES:
            raise PlanError(f"--objective must be one of {', '.join(OBJECTIVES)}, got {self.objective!r}")
        if not (math.isfinite(self.time_limit_s) and self.time_limit_s > 0):
            raise PlanError(f"--time-limit must be a positive number of seconds, got {self.time_limit_s}")
        erases = self.max_erases_per_step
        if erases is not None and not (math.isfinite(erases) and erases >= 0):
            raise PlanError(f"--max-erases must be a number of erases per step >= 0, got {erases}")


@dataclass(frozen=True)
class PlannedStep:
    schedule: Schedule
    method: str  # "milp", "greedy", "keep-all", ... or "given" for a loaded plan
    status: str
    gap: float | None
    solve_s: float
    tier: str | None  # the tier the planner could page to (None: none usable)
    notes: tuple[str, ...]  # e.g. tiers skipped and why


def default_tier(board: Board, graph: TrainingGraph) -> tuple[str | None, tuple[str, ...]]:
    """The tier to page to when the user names none, and notes on the tiers left out."""
    cost = build_cost_model(board, plan_graph(graph))
    usable = [tier.name for tier in cost.tiers]
    notes = tuple(f"storage tier {note}" for note in cost.skipped_tiers)
    qspi = [name for name in usable if "qspi" in name.lower()]
    chosen = (qspi or usable or [None])[0]
    return chosen, notes


def planning_board(
    board: Board, graph: TrainingGraph, tier: str | None
) -> tuple[Board, str | None, tuple[str, ...]]:
    """``board`` with only the tier the plan may page to."""
    names = [t.name for t in board.storage]
    if tier is None:
        tier, notes = default_tier(board, graph)
    else:
        if tier not in names:
            raise BoardError(
                f"{board.name} has no storage tier {tier!r}; its tiers: {', '.join(names) or 'none'}"
            )
        only = replace(board, storage=tuple(t for t in board.storage if t.name == tier))
        cost = build_cost_model(only, plan_graph(graph))
        if not cost.tiers:
            raise PlanError(
                f"cannot page to {tier}: {cost.skipped_tiers[0]}; choose another tier with --tier "
                f"({', '.join(n for n in names if n != tier) or 'none'}) or plan without paging"
            )
        notes = ()
    storage = tuple(t for t in board.storage if t.name == tier)
    return replace(board, storage=storage), tier, notes


def plan_project(graph: TrainingGraph, board: Board, request: PlanRequest) -> PlannedStep:
    """Plan ``graph`` on ``board`` within ``request``; raises PlanError (with the smallest budget
    that fits when the budget is too small), BoardError for an unknown tier."""
    planned_on, tier, notes = planning_board(board, graph, request.tier)
    pgraph = plan_graph(graph)
    cost = build_cost_model(planned_on, pgraph, request.objective)
    runtime_s = None
    if request.runtime_budget is not None:
        runtime_s = parse_runtime(request.runtime_budget, cost.keep_all_time)
    options = PlanOptions(
        budget_bytes=request.budget_bytes,
        objective=request.objective,
        runtime_budget_s=runtime_s,
        max_erases_per_step=request.max_erases_per_step,
        time_limit_s=request.time_limit_s,
        allow_remat=request.allow_remat,
        allow_paging=request.allow_paging and tier is not None,
    )
    result = plan(pgraph, planned_on, options)
    check_schedule(graph, planned_on, result.schedule, request.budget_bytes)
    return PlannedStep(
        schedule=result.schedule,
        method=result.method,
        status=result.status,
        gap=result.gap,
        solve_s=result.solve_s,
        tier=tier,
        notes=notes,
    )


def load_schedule(path: str | Path, graph: TrainingGraph, board: Board) -> PlannedStep:
    """A stored schedule (plan.json), checked against ``graph`` and ``board``."""
    path = Path(path)
    try:
        schedule = Schedule.from_json(path.read_text())
    except OSError as error:
        raise PlanError(f"cannot read the plan {path}: {error.strerror}") from None
    except ValueError as error:
        raise PlanError(
            f"{path} is not a plan edgesdk wrote ({error}); make one with edgesdk plan --schedule"
        ) from None
    return given_schedule(schedule, graph, board)


def given_schedule(schedule: Schedule, graph: TrainingGraph, board: Board) -> PlannedStep:
    """A schedule made elsewhere (a plan.json, a test), checked against ``graph`` and ``board``."""
    if schedule.graph != graph.name:
        raise PlanError(f"the plan is for the graph {schedule.graph!r}, not {graph.name!r}")
    check_schedule(graph, board, schedule)
    try:
        schedule_layout(schedule.instructions)
    except (AssertionError, ValueError) as error:
        raise PlanError(f"the plan's arena layout cannot be used ({error}); plan again") from None
    tiers = schedule.tiers
    return PlannedStep(schedule, "given", "given", None, 0.0, tiers[0] if tiers else None, ())
