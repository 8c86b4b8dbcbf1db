"""The planner's front door: a graph, a board and a budget in; a checked :class:`Schedule` out.

:func:`plan` runs, within one time limit:

1. heuristic incumbents (keep-all when it fits, the greedy evictor), priced by the cost model;
2. the MILP on a coarse stage grid (two nodes per stage where their own footprint stays within 70 %
   of the budget): a small model whose plans are also plans of the fine grid;
3. the MILP on the fine grid (one node per stage) with the best plan so far as a cutoff, so
   branch and bound prunes everything that cannot beat it. Its dual bound is the reported bound.

The best plan is lowered to instructions, given arena offsets and replayed by the simulator, which
must agree with the cost model. An impossible budget raises :class:`PlanError` naming the smallest
budget that works (:func:`minimal_budget`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from edgesdk.boards import Board
from edgesdk.errors import PlanError
from edgesdk.plan.arena import place
from edgesdk.plan.baselines import chen_sqrt, greedy, keep_all
from edgesdk.plan.cost import CostModel, build_cost_model
from edgesdk.plan.graph import PlanGraph
from edgesdk.plan.lower import lower, slot_capacities
from edgesdk.plan.milp import MilpResult, MilpSettings, solve_milp
from edgesdk.plan.schedule import Figures, Schedule
from edgesdk.plan.simulate import simulate
from edgesdk.plan.stageplan import StagePlan, check_plan, evaluate, tidy
from edgesdk.plan.stages import Stages, build_stages, coarse_starts

COARSE_MIN_NODES = 40  # smaller graphs go straight to the fine grid
COARSE_GUARD = 0.7  # pair two nodes only if what they hold together is within 70 % of the budget
LNS_WINDOW = 24  # stages a neighbourhood search re-decides at once
LNS_SHARE = 0.6  # neighbourhood searches run until this share of the time limit has passed


@dataclass(frozen=True)
class PlanOptions:
    budget_bytes: int
    objective: str = "energy"  # or "time"
    runtime_budget_s: float | None = None  # a step may take at most this long (paging included)
    max_erases_per_step: float | None = None  # wear cap, all tiers together
    time_limit_s: float = 60.0
    mip_gap: float = 0.01
    allow_remat: bool = True
    allow_paging: bool = True
    coarsen: bool = True  # solve a two-nodes-per-stage model first (its plan is a warm cutoff)
    heuristics: bool = True  # keep-all / greedy incumbents as cutoffs and fallbacks
    explain_infeasible: bool = True  # search the smallest feasible budget for the error message
    neighbourhoods: bool = False  # improve the best plan by re-solving windows of stages (measured: off)


@dataclass(frozen=True)
class PlanResult:
    schedule: Schedule
    method: str  # which plan won: "milp", "milp-coarse", "greedy", "keep-all"
    status: str  # the fine MILP's status
    objective: float  # the schedule's cost (J or s)
    bound: float | None  # proven lower bound on any plan's cost on the fine grid
    gap: float | None
    solve_s: float  # wall time of the whole planning
    milp: MilpResult | None  # the fine MILP's report (sizes, status)
    plan: StagePlan


def plan(graph: PlanGraph, board: Board, options: PlanOptions) -> PlanResult:
    start = time.perf_counter()
    cost = build_cost_model(board, graph, options.objective)
    _check_budget(graph, board, cost, options)
    fine = build_stages(graph)
    candidates: list[tuple[float, str, StagePlan]] = []

    def offer(method: str, candidate: StagePlan | None) -> None:
        if candidate is None:
            return
        candidate = tidy(graph, candidate)
        if feasible(graph, cost, candidate, options):
            candidates.append((evaluate(graph, cost, candidate).cost, method, candidate))

    if options.heuristics:
        if options.allow_remat or not options.allow_paging:
            offer("keep-all", keep_all(graph, fine))
        offer(
            "greedy",
            greedy(
                graph,
                cost,
                fine,
                options.budget_bytes,
                options.allow_remat,
                options.allow_paging,
                options.runtime_budget_s,
                deadline=start + options.time_limit_s,
            ),
        )
    settings = MilpSettings(
        budget_bytes=options.budget_bytes,
        runtime_budget_s=options.runtime_budget_s,
        max_erases_per_step=options.max_erases_per_step,
        allow_remat=options.allow_remat,
        allow_paging=options.allow_paging,
        mip_gap=options.mip_gap,
    )
    if options.coarsen and graph.size >= COARSE_MIN_NODES:
        guard = int(COARSE_GUARD * (options.budget_bytes - cost.resident_bytes))
        coarse = build_stages(graph, coarse_starts(graph, 2, guard))
        if coarse.count < fine.count:
            limit = 0.3 * _remaining(start, options.time_limit_s)
            result = solve_milp(
                graph, cost, coarse, replace(settings, time_limit_s=limit, upper_bound=_best(candidates))
            )
            if result.plan is not None:
                offer("milp-coarse", _refine(graph, result.plan, fine))
    if options.neighbourhoods and candidates and graph.size >= COARSE_MIN_NODES:
        _improve(graph, cost, fine, settings, candidates, offer, start + LNS_SHARE * options.time_limit_s)
    incumbent = _best(candidates)
    limit = _remaining(start, options.time_limit_s)
    best_plan = min(candidates, key=lambda c: c[0])[2] if candidates else None
    fine_result = solve_milp(
        graph, cost, fine, replace(settings, time_limit_s=limit, upper_bound=incumbent, start=best_plan)
    )
    if fine_result.plan is not None:
        offer("milp", fine_result.plan)
    if not candidates:
        if fine_result.status in ("infeasible", "no_better_than_bound"):
            smallest = minimal_budget(graph, board, options) if options.explain_infeasible else None
            raise PlanError(_too_small(graph, options, smallest))
        raise PlanError(
            f"no plan found within {options.time_limit_s:g} s for a budget of {_kb(options.budget_bytes)}; "
            "allow more time (--time-limit) or a larger budget"
        )
    best_cost, method, best = min(candidates, key=lambda c: c[0])
    bound = fine_result.bound
    if fine_result.status == "no_better_than_bound":
        bound = best_cost  # nothing beats the incumbent: it is optimal
    if bound is None and fine_result.status == "infeasible":
        bound = best_cost
    gap = None if bound is None else max(0.0, best_cost - bound) / max(best_cost, 1e-300)
    schedule = build_schedule(graph, board, cost, best, options)
    return PlanResult(
        schedule=schedule,
        method=method,
        status=fine_result.status,
        objective=best_cost,
        bound=bound,
        gap=gap,
        solve_s=time.perf_counter() - start,
        milp=fine_result,
        plan=best,
    )


def feasible(graph: PlanGraph, cost: CostModel, candidate: StagePlan, options: PlanOptions) -> bool:
    """Does a plan meet every budget of ``options`` (by the planner's own accounting)?"""
    check_plan(graph, candidate, len(cost.tiers))
    figures = evaluate(graph, cost, candidate)
    if figures.planned_peak > options.budget_bytes:
        return False
    if options.runtime_budget_s is not None and figures.time_s > options.runtime_budget_s * (1 + 1e-9):
        return False
    if (
        options.max_erases_per_step is not None
        and sum(figures.erases_per_step) > options.max_erases_per_step + 1e-9
    ):
        return False
    if not options.allow_remat and figures.recompute_count:
        return False
    if not options.allow_paging and any(figures.paged_out_bytes):
        return False
    return all(out <= t.capacity_bytes for out, t in zip(figures.paged_out_bytes, cost.tiers, strict=True))


def build_schedule(
    graph: PlanGraph, board: Board, cost: CostModel, chosen: StagePlan, options: PlanOptions
) -> Schedule:
    """Lower, place and simulate; the simulator must confirm the cost model's figures."""
    figures = evaluate(graph, cost, chosen)
    instructions, arena = place(lower(graph, cost, chosen))
    sim = simulate(graph, board, instructions, budget_bytes=options.budget_bytes)
    modelled = figures.cost
    if abs(sim.cost(options.objective) - modelled) > 1e-9 + 1e-6 * abs(modelled):
        raise AssertionError(f"simulator cost {sim.cost(options.objective)} != cost model {modelled}")
    names = [t.name for t in board.storage]
    lifetimes = {}
    for tier in cost.tiers:
        lifetimes[tier.name] = tier.lifetime_steps(sim.erases_per_step[tier.name])
    return Schedule(
        graph=graph.name,
        board=board.name,
        objective=options.objective,
        budget_bytes=options.budget_bytes,
        resident_bytes=cost.resident_bytes,
        instructions=tuple(instructions),
        slots=slot_capacities(instructions),
        figures=Figures(
            peak_ram_bytes=sim.peak_ram_bytes,
            arena_bytes=arena,
            planned_peak_bytes=figures.planned_peak,
            time_s=sim.time_s,
            energy_j=sim.energy_j,
            compute_time_s=sim.compute_time_s,
            paging_time_s=sim.paging_time_s,
            recomputations=sim.recomputations,
            paged_out_bytes={n: sim.paged_out_bytes[n] for n in names},
            paged_in_bytes={n: sim.paged_in_bytes[n] for n in names},
            erases_per_step={n: sim.erases_per_step[n] for n in names},
            lifetime_steps=lifetimes,
        ),
    )


def minimal_budget(
    graph: PlanGraph, board: Board, options: PlanOptions, probe_s: float = 10.0, deadline_s: float = 90.0
) -> int | None:
    """The smallest RAM budget (bytes, to 1 KB or 1/64 of the floor) with a plan meeting the other
    limits of ``options``.

    Binary search between the floor (resident state + the largest single node's inputs, output and
    workspace: no plan can go below it) and keep-all's peak (always feasible when the runtime budget
    allows computing every node once). A budget counts as feasible when the greedy or the MILP
    (feasibility only, ``probe_s`` per probe) finds a plan; None when even keep-all is too slow.
    After ``deadline_s`` the search stops with the smallest budget it has a plan for.
    """
    start = time.perf_counter()
    cost = build_cost_model(board, graph, options.objective)
    stages = build_stages(graph)
    if options.runtime_budget_s is not None and cost.keep_all_time > options.runtime_budget_s * (1 + 1e-9):
        return None
    floor = graph.floor_bytes()
    lo = floor - 1  # infeasible
    hi = evaluate(graph, cost, keep_all(graph, stages)).planned_peak  # feasible
    resolution = max(1, min(1024, floor // 64))
    first = True
    while hi - lo > resolution and time.perf_counter() - start < deadline_s:
        mid = floor if first else (lo + hi) // 2  # the floor itself often fits once paging is allowed
        first = False
        probe = replace(options, budget_bytes=mid)
        found = greedy(
            graph, cost, stages, mid, options.allow_remat, options.allow_paging, options.runtime_budget_s
        )
        if found is None or not feasible(graph, cost, tidy(graph, found), probe):
            result = solve_milp(
                graph,
                cost,
                stages,
                MilpSettings(
                    budget_bytes=mid,
                    runtime_budget_s=options.runtime_budget_s,
                    max_erases_per_step=options.max_erases_per_step,
                    allow_remat=options.allow_remat,
                    allow_paging=options.allow_paging,
                    time_limit_s=probe_s,
                    feasibility_only=True,
                ),
            )
            found = result.plan
        if found is not None:
            hi = mid
        else:
            lo = mid
    return hi


def _check_budget(graph: PlanGraph, board: Board, cost: CostModel, options: PlanOptions) -> None:
    if options.runtime_budget_s is not None and cost.keep_all_time > options.runtime_budget_s * (1 + 1e-9):
        raise PlanError(
            f"the runtime budget {options.runtime_budget_s:.4g} s is below the "
            f"{cost.keep_all_time:.4g} s it takes to compute every node once; allow at least 1.0x"
        )
    if graph.floor_bytes() > options.budget_bytes:
        smallest = minimal_budget(graph, board, options) if options.explain_infeasible else None
        raise PlanError(_too_small(graph, options, smallest))


def _too_small(graph: PlanGraph, options: PlanOptions, smallest: int | None) -> str:
    worst = max(graph.nodes, key=lambda n: graph.node_footprint(n.index))
    floor = graph.floor_bytes()
    asked = options.budget_bytes
    asked_text = f"{asked // 1024} KB" if asked % 1024 == 0 else f"{asked} B"
    head = f"a RAM budget of {asked_text} is too small for {graph.name}: "
    if smallest is None:
        return head + "no plan fits these limits; raise --budget or relax the runtime budget"
    limits = []
    if options.runtime_budget_s is not None:
        limits.append(f"a runtime budget of {options.runtime_budget_s:.4g} s")
    if options.max_erases_per_step is not None:
        limits.append(f"at most {options.max_erases_per_step:g} erases per step")
    if not options.allow_paging:
        limits.append("no paging")
    if not options.allow_remat:
        limits.append("no recomputation")
    under = f" with {' and '.join(limits)}" if limits else ""
    advice = (
        "raise --budget, relax those limits or train fewer layers"
        if limits
        else "raise --budget or train fewer layers"
    )
    return head + (
        f"the smallest budget this graph fits{under} is {_kb(smallest)} (resident state "
        f"{_kb(graph.total_resident_bytes)}; the largest single node, {worst.name}, needs "
        f"{_kb(floor - graph.total_resident_bytes)} for its inputs, output and workspace); {advice}"
    )


def _kb(nbytes: int) -> str:
    """Whole KB when exact or large, else rounded up to 0.1 KB (never below the value)."""
    if nbytes % 1024 == 0 or nbytes >= 100 * 1024:
        return f"{-(-nbytes // 1024)} KB"
    return f"{-(-nbytes * 10 // 1024) / 10:.1f} KB"


def _best(candidates: list[tuple[float, str, StagePlan]]) -> float | None:
    return min((c[0] for c in candidates), default=None)


def _remaining(start: float, limit: float) -> float:
    """Seconds left of ``limit`` (a solve always gets a moment, so a plan can still be proven)."""
    return max(0.05, limit - (time.perf_counter() - start))


def _improve(
    graph: PlanGraph,
    cost: CostModel,
    fine: Stages,
    settings: MilpSettings,
    candidates: list[tuple[float, str, StagePlan]],
    offer: Callable[[str, StagePlan | None], None],
    deadline: float,
) -> None:
    """Large-neighbourhood search: re-solve windows of ``LNS_WINDOW`` fine stages exactly with
    everything outside the window fixed to the best plan, sliding by half a window, until a sweep
    improves nothing or ``deadline`` passes. Each window's plan is a plan of the fine model."""
    step = LNS_WINDOW // 2
    improved = True
    while improved and time.perf_counter() < deadline:
        improved = False
        for first in range(0, max(1, fine.count - step), step):
            left = deadline - time.perf_counter()
            if left <= 0.05:
                return
            best_cost, _method, best = min(candidates, key=lambda c: c[0])
            window = (first, min(fine.count - 1, first + LNS_WINDOW - 1))
            result = solve_milp(
                graph,
                cost,
                fine,
                replace(settings, time_limit_s=min(left, 5.0), mip_gap=1e-4, start=best, window=window),
            )
            if result.plan is not None and result.objective is not None:
                if result.objective < best_cost * (1 - 1e-6):
                    offer("milp-window", result.plan)
                    improved = True


def _refine(graph: PlanGraph, coarse: StagePlan, fine: Stages) -> StagePlan:
    """A coarse-grid plan as a fine-grid plan with the same cost and no more memory per stage.

    Fine stage t (node t) inside coarse stage c: the recomputations and held values of c happen at
    c's first fine stage; later fine stages of c hold what c held, what c recomputed and c's new
    nodes computed so far; page-ins of c happen at c's last fine stage.
    """
    cs = coarse.stages
    count = fine.count
    keep: list[set[int]] = [set() for _ in range(count)]
    recompute: list[set[int]] = [set() for _ in range(count)]
    page_in: list[dict[int, int]] = [{} for _ in range(count)]
    for c in range(cs.count):
        members = list(cs.new_nodes(c))
        first, last = members[0], members[-1]
        recompute[first] = set(coarse.recompute[c])
        for position, t in enumerate(members):
            keep[t] = set(coarse.keep[c])
            if position:
                keep[t] |= set(coarse.recompute[c]) | set(members[:position])
        page_in[last] = dict(coarse.page_in[c])
    # values kept into the next coarse stage must be carried through the fine stages in between
    plan = StagePlan(
        stages=fine,
        keep=tuple(frozenset(k) for k in keep),
        recompute=tuple(frozenset(r) for r in recompute),
        page_in=tuple(page_in),
        page_out=dict(coarse.page_out),
    )
    return tidy(graph, plan)


__all__ = ["PlanOptions", "PlanResult", "plan", "minimal_budget", "build_schedule", "feasible", "chen_sqrt"]
