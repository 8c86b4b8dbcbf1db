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
  * in int8, neither the small CNN nor the digits CNN gets one either; the same construction
    applies, and where the plan pages the input batch (an int8 graph's batch is a buffer of the
    plan, which can page it but never recompute it) it replaces a page-in by a recomputation
    whose paged inputs are read back for it.
The schedule's validity never depends on the prices: each is checked against the real graph and
board (simulator + the training graph's rules) before it is generated.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from edgesdk.boards import Board
from edgesdk.plan.baselines import keep_all
from edgesdk.plan.cost import build_cost_model
from edgesdk.plan.graph import PlanGraph, graph_from_dict
from edgesdk.plan.planner import PlanOptions, PlanResult, build_schedule, plan
from edgesdk.plan.schedule import Schedule
from edgesdk.plan.stageplan import StagePlan, evaluate, tidy
from edgesdk.plan.stages import build_stages
from edgesdk.plan.training import plan_graph, planner_dict
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
    between two readers is dropped after the first and recomputed for the second, where the plan
    holds the node's inputs in RAM; or, when there is none (int8 graphs page their input batch
    too), a page-in is replaced by a recomputation, its paged inputs read back for it. The budget
    is the floor or the changed plan's peak, whichever is larger."""
    graph = plan_graph(training)
    budget = budgets(graph, board, (0.0,))[0]
    result = _plan(graph, board, budget, False, True, time_limit_s)
    assert result is not None, "no paging plan at the floor"
    changed = _hold_less(graph, result.plan) or _recompute_for_page_in(graph, result.plan)
    assert changed is not None, "the paging plan pages or holds nothing that could be recomputed instead"
    cost = build_cost_model(board, graph, "energy")
    changed = tidy(graph, changed)
    budget = max(budget, evaluate(graph, cost, changed).planned_peak)  # a page-in moved may cost bytes
    return build_schedule(graph, board, cost, changed, PlanOptions(budget_bytes=budget))


def _hold_less(graph: PlanGraph, stage_plan: StagePlan) -> StagePlan | None:
    """Where the plan holds a paged node in RAM between two of its readers, and its inputs are in RAM
    at the second, drop it after the first and recompute it for the second (the longest such hold)."""
    stages = stage_plan.stages
    consumers = graph.consumers()
    best: tuple[int, int, int] | None = None  # (hold length, first reader stage, second)
    choice: tuple[int, int, int] | None = None
    for node in sorted(stage_plan.page_out):
        if not graph.nodes[node].recomputable:
            continue
        readers = sorted({stages.stage_of[u] for u in consumers[node]})
        for first, second in zip(readers, readers[1:], strict=False):
            inputs_held = all(dep in stage_plan.keep[second] for dep in graph.nodes[node].deps)
            held = inputs_held and all(node in stage_plan.keep[s] for s in range(first, second + 1))
            paged_in = any(node in stage_plan.page_in[s] for s in range(first, second))
            if held and not paged_in and (best is None or second - first > best[0]):
                best = (second - first, first, second)
                choice = (node, first, second)
    if choice is None:
        return None
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


def _recompute_for_page_in(graph: PlanGraph, stage_plan: StagePlan) -> StagePlan | None:
    """The first page-in (in stage order) of a recomputable node whose inputs are in RAM or paged
    out in the stage it is paged in for, replaced by recomputing the node in that stage; inputs
    not in RAM there are paged in instead."""
    for stage, paged in enumerate(stage_plan.page_in[:-1]):
        after = stage + 1
        for node in sorted(paged):
            missing = [dep for dep in graph.nodes[node].deps if dep not in stage_plan.keep[after]]
            if not graph.nodes[node].recomputable or any(dep not in stage_plan.page_out for dep in missing):
                continue
            page_in = [dict(p) for p in stage_plan.page_in]
            del page_in[stage][node]
            page_in[stage].update((dep, stage_plan.page_out[dep]) for dep in missing)
            keep = [set(k) for k in stage_plan.keep]
            keep[after].discard(node)
            keep[after].update(missing)
            recompute = [set(r) for r in stage_plan.recompute]
            recompute[after].add(node)
            return dataclasses.replace(
                stage_plan,
                keep=tuple(frozenset(k) for k in keep),
                recompute=tuple(frozenset(r) for r in recompute),
                page_in=tuple(page_in),
            )
    return None


def resident_input_view(training: TrainingGraph) -> PlanGraph:
    """The planner's view of ``training`` as it was before the int8 input batch became a node: no
    input node, the batch counted in the resident state for the whole step."""
    exported = planner_dict(training)
    first = training.input_node
    assert first is not None, f"{training.name} keeps its input outside the arena"
    nodes = [dict(entry) for entry in exported["nodes"] if entry["name"] != first.name]
    for entry in nodes:
        entry["deps"] = [dep for dep in entry["deps"] if dep != first.name]
    resident = exported["resident_bytes"] + first.output_bytes
    return graph_from_dict({"name": exported["name"], "resident_bytes": resident, "nodes": nodes})


def priced(board: Board, cycles_per_mac: dict[str, float]) -> Board:
    """``board`` with other kernel prices (the storage and memories unchanged)."""
    table = {**board.costs.cycles_per_mac, **cycles_per_mac}
    return dataclasses.replace(board, costs=dataclasses.replace(board.costs, cycles_per_mac=table))
