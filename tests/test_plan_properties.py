"""Random DAGs: every plan replays cleanly, beats every feasible baseline and never gets worse
when the budget grows."""

from __future__ import annotations

import dataclasses

import pytest
from edgesdk.errors import PlanError
from edgesdk.plan.baselines import chen_sqrt, greedy, keep_all
from edgesdk.plan.cost import build_cost_model
from edgesdk.plan.graph import PlanGraph, graph_from_dict
from edgesdk.plan.planner import PlanOptions, feasible, plan
from edgesdk.plan.simulate import simulate
from edgesdk.plan.stageplan import evaluate, tidy
from edgesdk.plan.stages import build_stages
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from plan_support import toy_board
from test_plan_milp import exhaustive

KINDS = ("forward", "forward", "backward", "loss")


@st.composite
def dags(draw: st.DrawFn, largest: int = 9) -> PlanGraph:
    n = draw(st.integers(3, largest))
    nodes = []
    for i in range(n):
        deps = sorted(set(draw(st.lists(st.integers(0, i - 1), max_size=2)))) if i else []
        nodes.append(
            {
                "name": f"n{i}",
                "kind": draw(st.sampled_from(KINDS)),
                "macs": draw(st.integers(0, 3000)),
                "output_bytes": draw(st.sampled_from([0, 100, 300, 500, 800, 1200])),
                "workspace_bytes": draw(st.sampled_from([0, 0, 0, 150])),
                "deps": [f"n{d}" for d in deps],
                "recomputable": draw(st.sampled_from([True, True, True, False])),
            }
        )
    nodes[-1]["kind"] = "update"
    nodes[-1]["recomputable"] = False
    return graph_from_dict(
        {"name": "random", "resident_bytes": draw(st.sampled_from([0, 64])), "nodes": nodes}
    )


def _exact(budget: int, **kw) -> PlanOptions:  # noqa: ANN003
    return PlanOptions(budget_bytes=budget, mip_gap=1e-9, explain_infeasible=False, **kw)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(graph=dags(), fraction=st.floats(0.0, 1.0), erase=st.sampled_from([0.0, 0.01]))
def test_plans_are_valid_optimal_against_baselines_and_monotone(
    graph: PlanGraph, fraction: float, erase: float
) -> None:
    board = toy_board(erase_s=erase)
    cost = build_cost_model(board, graph, "energy")
    stages = build_stages(graph)
    peak = evaluate(graph, cost, keep_all(graph, stages)).planned_peak
    floor = graph.floor_bytes()
    budget = int(floor + fraction * (peak - floor))
    options = _exact(budget)
    try:
        result = plan(graph, board, options)
    except PlanError:
        result = None
    # -- the schedule replays under the simulator within the budget, at the cost the planner says
    if result is not None:
        sim = simulate(graph, board, result.schedule.instructions, budget_bytes=budget)
        assert sim.energy_j == pytest.approx(result.objective, rel=1e-9)
        assert sim.peak_ram_bytes <= result.schedule.figures.planned_peak_bytes <= budget
    # -- no feasible baseline is cheaper
    fixed = [keep_all(graph, stages), chen_sqrt(graph, stages), greedy(graph, cost, stages, budget)]
    for baseline in fixed:
        if baseline is None:
            continue
        baseline = tidy(graph, baseline)
        if feasible(graph, cost, baseline, options):
            assert result is not None
            assert result.objective <= evaluate(graph, cost, baseline).cost * (1 + 1e-7)
    for restricted in (
        dataclasses.replace(options, allow_paging=False),
        dataclasses.replace(options, allow_remat=False),
    ):
        try:
            other = plan(graph, board, restricted)
        except PlanError:
            continue
        assert result is not None
        assert result.objective <= other.objective * (1 + 1e-7)
    # -- a larger budget never costs more
    if result is not None:
        larger = plan(graph, board, _exact(budget + 200 + budget // 4))
        assert larger.objective <= result.objective * (1 + 1e-7)
    # -- keep-all's own peak always fits, at keep-all's cost
    at_peak = plan(graph, board, _exact(peak))
    assert at_peak.objective == pytest.approx(cost.keep_all_cost, rel=1e-7)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(graph=dags(largest=5), fraction=st.floats(0.0, 1.0), slack=st.sampled_from([None, 1.1, 1.5]))
def test_random_dags_match_exhaustive_search(graph: PlanGraph, fraction: float, slack: float | None) -> None:
    board = toy_board(erase_s=0.002)
    cost = build_cost_model(board, graph, "time")
    peak = evaluate(graph, cost, keep_all(graph, build_stages(graph))).planned_peak
    budget = int(graph.floor_bytes() + fraction * (peak - graph.floor_bytes()))
    runtime = None if slack is None else slack * cost.keep_all_time
    expected = exhaustive(graph, board, budget, "time", runtime)
    options = _exact(budget, objective="time", runtime_budget_s=runtime)
    if expected is None:
        with pytest.raises(PlanError):
            plan(graph, board, options)
    else:
        assert plan(graph, board, options).objective == pytest.approx(expected, rel=1e-7, abs=1e-12)
