"""Schedules of each kind for the equivalence matrix, made by the planner's public API.

- remat-only: the planner with paging switched off, at a budget below keep-all;
- paging-only: the planner with recomputation switched off;
- mixed: the planner with both allowed, at the first budget (floor to keep-all) where its plan
  both recomputes and pages. Two fixtures never get one from the board's own costs:
  * the digits CNN (its two evicted buffers are cheap to recompute on every board) is planned on
    the host board priced with slow depthwise kernels (50 cycles/MAC), which makes paging the
    depthwise output and recomputing the convolution's the optimum;
  * the converter-patterns model has only one buffer that ever needs to leave RAM (conv_2d_0.y:
    at the backward peak nothing else is live), so no budget or pricing makes a plan that both
    recomputes and pages optimal. Its mixed plan is the paging plan at the floor with that buffer
    recomputed for a reader instead of held in RAM since the previous one: still a stage plan of
    the planner, lowered, placed and checked by the planner's code (:func:`mixed_from_paging`).
The schedule's validity never depends on the prices: each is checked against the real graph and
board (simulator + the training graph's rules) before it is generated.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from edgesdk.boards import Board
from edgesdk.plan.baselines import keep_all
from edgesdk.plan.cost import build_cost_model
from edgesdk.plan.graph import PlanGraph
from edgesdk.plan.planner import PlanOptions, PlanResult, build_schedule, plan
from edgesdk.plan.schedule import Schedule
from edgesdk.plan.stageplan import StagePlan, evaluate, tidy
from edgesdk.plan.stages import build_stages
from edgesdk.plan.training import plan_graph
from edgesdk.train.graph import TrainingGraph

FRACTIONS = (0.0, 0.25, 0.3, 0.4, 0.5, 0.75)  # budgets: floor + f x (keep-all peak - floor)


def keep_all_peak(graph: PlanGraph, board: Board) -> int:
    """The keep-all plan's peak, by the planner's accounting."""
    cost = build_cost_model(board, graph)
    return evaluate(graph, cost, keep_all(graph, build_stages(graph))).planned_peak


def budgets(graph: PlanGraph, board: Board, fractions: Sequence[float] = FRACTIONS) -> list[int]:
    floor, peak = graph.floor_bytes(), keep_all_peak(graph, board)
    return [int(floor + f * (peak - floor)) for f in fractions]


def _plan(
    graph: PlanGraph, board: Board, budget: int, remat: bool, paging: bool, limit: float
) -> PlanResult | None:
    options = PlanOptions(
        budget_bytes=budget,
        time_limit_s=limit,
        allow_remat=remat,
        allow_paging=paging,
        explain_infeasible=False,
    )
    try:
        return plan(graph, board, options)
    except Exception:  # noqa: BLE001 - an infeasible budget: try the next one
        return None


def schedule_of_kind(
    training: TrainingGraph,
    board: Board,
    kind: str,
    *,
    priced_on: Board | None = None,
    time_limit_s: float = 5.0,
    fractions: Sequence[float] = FRACTIONS,
) -> Schedule:
    """The first schedule of ``kind`` ("remat", "paging", "mixed") over ``fractions`` of the budget
    range; AssertionError when none is."""
    graph = plan_graph(training)
    pricing = priced_on or board
    remat, paging = {"remat": (True, False), "paging": (False, True), "mixed": (True, True)}[kind]
    for budget in budgets(graph, pricing, fractions):
        result = _plan(graph, pricing, budget, remat, paging, time_limit_s)
        if result is not None and result.schedule.kind == kind:
            return result.schedule
    raise AssertionError(f"no {kind} plan for {graph.name} at any of the budgets tried")


def mixed_from_paging(training: TrainingGraph, board: Board, time_limit_s: float = 5.0) -> Schedule:
    """A mixed schedule from the paging-only plan at the floor: a paged buffer the plan holds in RAM
    between two readers is dropped after the first and recomputed for the second (a node without
    inputs in the arena, so the recomputation needs nothing else in RAM)."""
    graph = plan_graph(training)
    budget = budgets(graph, board, (0.0,))[0]
    result = _plan(graph, board, budget, False, True, time_limit_s)
    assert result is not None, "no paging plan at the floor"
    changed = _hold_less(graph, result.plan)
    cost = build_cost_model(board, graph, "energy")
    options = PlanOptions(budget_bytes=budget)
    return build_schedule(graph, board, cost, tidy(graph, changed), options)


def _hold_less(graph: PlanGraph, stage_plan: StagePlan) -> StagePlan:
    """Where the plan holds a paged, input-free node in RAM between two of its readers, drop it after
    the first and recompute it for the second (the longest such hold)."""
    stages = stage_plan.stages
    consumers = graph.consumers()
    best: tuple[int, int, int] | None = None  # (hold length, first reader stage, second)
    choice: tuple[int, int, int] | None = None
    for node in sorted(stage_plan.page_out):
        if not graph.nodes[node].recomputable or graph.nodes[node].deps:
            continue
        readers = sorted({stages.stage_of[u] for u in consumers[node]})
        for first, second in zip(readers, readers[1:], strict=False):
            held = all(node in stage_plan.keep[s] for s in range(first, second + 1))
            paged_in = any(node in stage_plan.page_in[s] for s in range(first, second))
            if held and not paged_in and (best is None or second - first > best[0]):
                best = (second - first, first, second)
                choice = (node, first, second)
    if choice is None:
        raise AssertionError("the paging plan holds no paged, input-free buffer between two readers")
    node, first, second = choice
    keep = [set(k) for k in stage_plan.keep]
    for s in range(first + 1, second + 1):
        keep[s].discard(node)
    recompute = [set(r) for r in stage_plan.recompute]
    recompute[second].add(node)
    return dataclasses.replace(
        stage_plan,
        keep=tuple(frozenset(k) for k in keep),
        recompute=tuple(frozenset(r) for r in recompute),
    )


def priced(board: Board, cycles_per_mac: dict[str, float]) -> Board:
    """``board`` with other kernel prices (the storage and memories unchanged)."""
    table = {**board.costs.cycles_per_mac, **cycles_per_mac}
    return dataclasses.replace(board, costs=dataclasses.replace(board.costs, cycles_per_mac=table))
