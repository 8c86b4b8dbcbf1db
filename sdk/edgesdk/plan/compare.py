"""The chosen plan beside the baselines, all priced by the same cost model and memory accounting."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

from edgesdk.boards import Board
from edgesdk.errors import PlanError
from edgesdk.plan.baselines import chen_sqrt, greedy, keep_all
from edgesdk.plan.cost import build_cost_model
from edgesdk.plan.graph import PlanGraph
from edgesdk.plan.planner import PlanOptions, PlanResult, feasible, plan
from edgesdk.plan.stageplan import StagePlan, evaluate, tidy
from edgesdk.plan.stages import build_stages


@dataclass(frozen=True)
class Row:
    name: str
    feasible: bool
    note: str  # how it was found, or why there is no plan
    cost: float | None  # J or s (the objective)
    time_s: float | None
    energy_j: float | None
    peak_bytes: int | None  # the planner's accounting (what the budget is checked against)
    paged_bytes: int | None  # bytes paged out per step, all tiers
    recomputations: int | None
    solve_s: float
    gap: float | None = None


def chosen_row(result: PlanResult) -> Row:
    f = result.schedule.figures
    gap = "" if result.gap is None else f", gap {100 * result.gap:.2f} %"
    return Row(
        name="edgesdk (remat + paging MILP)",
        feasible=True,
        note=f"{result.method}, {result.status}{gap}",
        cost=result.objective,
        time_s=f.time_s,
        energy_j=f.energy_j,
        peak_bytes=f.planned_peak_bytes,
        paged_bytes=sum(f.paged_out_bytes.values()),
        recomputations=f.recomputations,
        solve_s=result.solve_s,
        gap=result.gap,
    )


def baseline_rows(graph: PlanGraph, board: Board, options: PlanOptions, time_s: float) -> list[Row]:
    """keep-all, remat-only (Checkmate: the MILP without paging), paging-only (without
    recomputation), Chen's sqrt(n) checkpointing and the greedy evictor, all within ``time_s``
    seconds together: the greedy gets up to a tenth, the two MILPs share the rest (the second one
    gets what the first leaves). A baseline cut short by the limit reports no plan."""
    began = time.perf_counter()
    deadline = began + time_s
    cost = build_cost_model(board, graph, options.objective)
    stages = build_stages(graph)
    rows = [_fixed("keep-all", graph, cost, keep_all(graph, stages), options)]
    rows.append(_fixed("Chen sqrt(n)", graph, cost, chen_sqrt(graph, stages), options))
    start = time.perf_counter()
    found = greedy(
        graph,
        cost,
        stages,
        options.budget_bytes,
        options.allow_remat,
        options.allow_paging,
        options.runtime_budget_s,
        deadline=start + 0.1 * time_s,
    )
    elapsed = time.perf_counter() - start
    if found is None:
        rows.append(_none("greedy", "no plan within the budget", elapsed))
    else:
        rows.append(_fixed("greedy", graph, cost, found, options, elapsed))
    remat = _milp_row(
        "remat-only (Checkmate)",
        graph,
        board,
        replace(options, allow_paging=False),
        (deadline - time.perf_counter()) / 2,
    )
    paging = _milp_row(
        "paging-only", graph, board, replace(options, allow_remat=False), deadline - time.perf_counter()
    )
    keep, chen, greedy_row = rows
    return [keep, remat, paging, chen, greedy_row]


def _fixed(name: str, graph, cost, candidate: StagePlan, options: PlanOptions, solve_s: float = 0.0) -> Row:  # noqa: ANN001
    candidate = tidy(graph, candidate)
    f = evaluate(graph, cost, candidate)
    ok = feasible(graph, cost, candidate, options)
    note = "fits" if ok else _why_not(f, options)
    return Row(
        name=name,
        feasible=ok,
        note=note,
        cost=f.cost,
        time_s=f.time_s,
        energy_j=f.energy_j,
        peak_bytes=f.planned_peak,
        paged_bytes=sum(f.paged_out_bytes),
        recomputations=f.recompute_count,
        solve_s=solve_s,
    )


def _why_not(f, options: PlanOptions) -> str:  # noqa: ANN001
    if f.planned_peak > options.budget_bytes:
        return "over the RAM budget"
    if options.runtime_budget_s is not None and f.time_s > options.runtime_budget_s:
        return "over the runtime budget"
    return "breaks a limit (wear or storage)"


def _milp_row(name: str, graph: PlanGraph, board: Board, options: PlanOptions, limit: float) -> Row:
    start = time.perf_counter()
    if limit <= 0:
        return _none(name, "no time left within the limit", 0.0)
    try:
        result = plan(graph, board, replace(options, time_limit_s=limit, explain_infeasible=False))
    except PlanError:
        return _none(name, "no plan within the budget", time.perf_counter() - start)
    row = chosen_row(result)
    return replace(row, name=name)


def _none(name: str, note: str, solve_s: float) -> Row:
    return Row(name, False, note, None, None, None, None, None, None, solve_s)
