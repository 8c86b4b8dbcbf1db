"""Starting solutions, stage windows, time limits of the baselines and POET's benchmark graph."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from edgesdk.boards import load_board
from edgesdk.plan import generators
from edgesdk.plan.baselines import greedy, keep_all
from edgesdk.plan.compare import baseline_rows
from edgesdk.plan.cost import build_cost_model
from edgesdk.plan.graph import graph_from_dict, load_graph_json
from edgesdk.plan.milp import SOLVER_PROGRESS, MilpSettings, solve_milp
from edgesdk.plan.planner import PlanOptions
from edgesdk.plan.stageplan import StagePlan, evaluate, tidy
from edgesdk.plan.stages import build_stages

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def resnet():  # noqa: ANN201
    board = load_board("stm32f746")
    graph = load_graph_json(ROOT / "tests" / "graphs" / "resnet18_cifar_w16_fp32.json")
    cost = build_cost_model(board, graph, "energy")
    stages = build_stages(graph)
    peak = evaluate(graph, cost, keep_all(graph, stages)).planned_peak
    return board, graph, cost, stages, peak


def same_plan(a: StagePlan, b: StagePlan) -> bool:
    return (
        a.keep == b.keep
        and a.recompute == b.recompute
        and [dict(p) for p in a.page_in] == [dict(p) for p in b.page_in]
        and dict(a.page_out) == dict(b.page_out)
    )


def test_a_feasible_start_is_the_first_incumbent(resnet) -> None:  # noqa: ANN001
    board, graph, cost, stages, peak = resnet
    budget = int(0.5 * peak)
    start = greedy(graph, cost, stages, budget)
    assert start is not None
    start_cost = evaluate(graph, cost, start).cost
    # a tiny limit: HiGHS barely leaves presolve, so the plan it returns is the start or better
    result = solve_milp(
        graph, cost, stages, MilpSettings(budget_bytes=budget, time_limit_s=0.5, start=start)
    )
    assert result.start_accepted
    assert result.plan is not None and result.objective is not None
    assert result.objective <= start_cost * (1 + 1e-9)
    assert evaluate(graph, cost, tidy(graph, result.plan)).cost <= start_cost * (1 + 1e-9)
    assert evaluate(graph, cost, result.plan).planned_peak <= budget
    assert result.trace and result.trace[0][1] <= start_cost * (1 + 1e-6)


def test_an_infeasible_start_is_refused_and_the_solve_goes_on(resnet) -> None:  # noqa: ANN001
    board, graph, cost, stages, peak = resnet
    budget = int(0.6 * peak)
    start = keep_all(graph, stages)  # peak is over this budget
    result = solve_milp(
        graph, cost, stages, MilpSettings(budget_bytes=budget, time_limit_s=20, start=start)
    )
    assert not result.start_accepted
    assert result.plan is not None
    assert evaluate(graph, cost, result.plan).planned_peak <= budget


def test_a_window_keeps_the_start_outside_it() -> None:
    board = load_board("stm32f746")
    graph = graph_from_dict(generators.chain(12, output_bytes=4096))
    cost = build_cost_model(board, graph, "energy")
    stages = build_stages(graph)
    peak = evaluate(graph, cost, keep_all(graph, stages)).planned_peak
    budget = int(0.6 * peak)
    start = greedy(graph, cost, stages, budget)
    assert start is not None
    window = (6, 11)
    result = solve_milp(
        graph,
        cost,
        stages,
        MilpSettings(budget_bytes=budget, time_limit_s=20, mip_gap=0.0, start=start, window=window),
    )
    assert result.plan is not None and result.objective is not None
    for s in range(stages.count):
        if not window[0] <= s <= window[1]:
            assert result.plan.keep[s] == start.keep[s]
            assert result.plan.recompute[s] == start.recompute[s]
            assert dict(result.plan.page_in[s]) == dict(start.page_in[s])
    assert result.objective <= evaluate(graph, cost, start).cost * (1 + 1e-9)


def test_the_start_vector_round_trips(resnet) -> None:  # noqa: ANN001
    board, graph, cost, stages, peak = resnet
    budget = int(0.45 * peak)
    start = greedy(graph, cost, stages, budget)
    assert start is not None
    # the whole model fixed to the start: the solve must return the start itself
    window = (stages.count, stages.count)  # no stage is free
    result = solve_milp(
        graph, cost, stages, MilpSettings(budget_bytes=budget, time_limit_s=20, start=start, window=window)
    )
    assert result.plan is not None and result.objective is not None
    assert same_plan(tidy(graph, result.plan), tidy(graph, start))
    assert result.objective == pytest.approx(evaluate(graph, cost, start).cost, rel=1e-9)


def test_greedy_gives_up_at_its_deadline(resnet) -> None:  # noqa: ANN001
    board, graph, cost, stages, peak = resnet
    assert greedy(graph, cost, stages, int(0.5 * peak), deadline=0.0) is None
    assert greedy(graph, cost, stages, int(0.5 * peak)) is not None


def test_baselines_stay_within_their_time() -> None:
    board = load_board("stm32f746")
    graph = graph_from_dict(generators.chain(8, output_bytes=4096))
    cost = build_cost_model(board, graph, "energy")
    peak = evaluate(graph, cost, keep_all(graph, build_stages(graph))).planned_peak
    options = PlanOptions(budget_bytes=int(0.7 * peak), time_limit_s=30)
    rows = {row.name: row for row in baseline_rows(graph, board, options, 0.0)}
    assert rows["remat-only (Checkmate)"].note == "no time left within the limit"
    assert rows["paging-only"].note == "no time left within the limit"
    assert rows["keep-all"].cost == pytest.approx(cost.keep_all_cost)
    assert not rows["keep-all"].feasible
    generous = {row.name: row for row in baseline_rows(graph, board, options, 30.0)}
    assert generous["remat-only (Checkmate)"].feasible
    assert generous["remat-only (Checkmate)"].solve_s <= 30.0


def test_poet_graph_has_poets_sizes_and_joules() -> None:
    graph = graph_from_dict(generators.poet_resnet18_cifar())
    board = load_board(ROOT / "benchmarks" / "poet_m4f.toml")
    cost = build_cost_model(board, graph, "energy")
    assert graph.size == 133
    names = [n.name for n in graph.nodes]
    index = {name: i for i, name in enumerate(names)}
    assert graph.nodes[index["input"]].output_bytes == 3 * 32 * 32 * 4
    assert graph.nodes[index["stem"]].output_bytes == 16 * 32 * 32 * 4
    assert graph.nodes[index["s2b0_conv1"]].output_bytes == 64 * 8 * 8 * 4
    assert graph.nodes[index["loss"]].output_bytes == 10 * 4
    # POET's M4F profile: energy = FLOPs / FLOP-per-joule; paging = (latency + bytes / rate) x 0.33 W
    flop_per_joule = 16283 * 100 * 1000 / (255.6237 * 0.003328 * 3.3)
    stem_flops = 2 * 9 * (3 * 32 * 32) * 16 + 16 * 32 * 32
    assert cost.compute_energy[index["stem"]] == pytest.approx(stem_flops / flop_per_joule, rel=1e-9)
    grad = index["grad/stem"]  # reads stem, stem_bn and the previous gradient; twice stem's FLOPs
    assert cost.compute_energy[grad] == pytest.approx(2 * stem_flops / flop_per_joule, rel=1e-9)
    assert {names[d] for d in graph.nodes[grad].deps} == {"stem", "stem_bn", "grad/stem_bn"}
    tier = cost.tiers[0]
    b = 65536
    assert tier.in_energy[index["stem"]] == pytest.approx((0.109e-3 + b / 4616.51e3) * 0.33, rel=1e-9)
    assert tier.out_energy[index["stem"]] == pytest.approx((0.113e-3 + b / 4440e3) * 0.33, rel=1e-9)
    total_flops = sum(n.compute_cycles or 0 for n in graph.nodes) / generators.POET_M4F_CYCLES_PER_FLOP
    assert cost.keep_all_cost == pytest.approx(total_flops / flop_per_joule, rel=1e-9)


def test_poet_graph_plans_within_its_budget() -> None:
    graph = graph_from_dict(generators.poet_resnet18_cifar())
    board = load_board(ROOT / "benchmarks" / "poet_m4f.toml")
    cost = build_cost_model(board, graph, "energy")
    stages = build_stages(graph)
    peak = evaluate(graph, cost, keep_all(graph, stages)).planned_peak
    budget = int(0.5 * peak)
    start = greedy(graph, cost, stages, budget)
    assert start is not None
    result = solve_milp(
        graph,
        cost,
        stages,
        dataclasses.replace(MilpSettings(budget_bytes=budget, time_limit_s=5), start=start),
    )
    assert result.plan is not None
    figures = evaluate(graph, cost, result.plan)
    assert figures.planned_peak <= budget
    assert figures.cost <= evaluate(graph, cost, start).cost * (1 + 1e-9)
    assert np.isfinite(figures.cost)


def test_the_solver_reports_its_incumbent_and_bound_while_it_runs(resnet) -> None:  # noqa: ANN001
    """What the CLI's progress line shows (edgesdk.plan.milp.SOLVER_PROGRESS): the incumbent the
    solve ends with, in the plan's units, and a bound no higher than it."""
    board, graph, cost, stages, peak = resnet
    budget = int(0.5 * peak)
    start = greedy(graph, cost, stages, budget)
    heard: list[str] = []
    token = SOLVER_PROGRESS.set(heard.append)
    try:
        result = solve_milp(
            graph, cost, stages, MilpSettings(budget_bytes=budget, time_limit_s=1.0, start=start)
        )
    finally:
        SOLVER_PROGRESS.reset(token)
    assert heard and result.objective is not None
    reported = [line for line in heard if line.startswith("MILP: incumbent ")]
    assert reported, heard
    incumbent, bound = (float(part.split()[-1]) for part in reported[-1].split(", ")[:2])
    assert incumbent == pytest.approx(result.trace[-1][1], rel=1e-4) and bound <= incumbent * (1 + 1e-9)
