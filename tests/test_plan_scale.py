"""The scale targets: ResNet-18-CIFAR (120 nodes) to <= 1 % gap in <= 60 s at budgets where both
recomputation and paging are needed; the MobileNetV2-0.35 fixture's training graph in <= 120 s.

Minutes of solver time each: run with ``pytest -m slow tests/test_plan_scale.py``.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from edgesdk.boards import load_board
from edgesdk.errors import PlanError
from edgesdk.plan.baselines import keep_all
from edgesdk.plan.cost import build_cost_model
from edgesdk.plan.graph import load_graph_json
from edgesdk.plan.planner import PlanOptions, plan
from edgesdk.plan.sources import TrainingChoice, load_plan_graph
from edgesdk.plan.stageplan import evaluate
from edgesdk.plan.stages import build_stages

ROOT = Path(__file__).parent
pytestmark = pytest.mark.slow


@pytest.mark.parametrize("fraction", [0.55, 0.5, 0.4])
def test_resnet18_cifar_to_one_percent_in_a_minute(fraction: float) -> None:
    board = load_board("stm32f746")
    graph = load_graph_json(ROOT / "graphs" / "resnet18_cifar_w16_fp32.json")
    cost = build_cost_model(board, graph, "energy")
    budget = int(fraction * evaluate(graph, cost, keep_all(graph, build_stages(graph))).planned_peak)
    # recomputation alone cannot reach this budget ...
    with pytest.raises(PlanError):
        plan(
            graph,
            board,
            PlanOptions(budget_bytes=budget, allow_paging=False, time_limit_s=60, explain_infeasible=False),
        )
    # ... and the plan that fits it both recomputes and pages
    start = time.perf_counter()
    result = plan(graph, board, PlanOptions(budget_bytes=budget, time_limit_s=60))
    elapsed = time.perf_counter() - start
    assert elapsed <= 65
    assert result.gap is not None and result.gap <= 0.01
    figures = result.schedule.figures
    assert figures.recomputations > 0 and sum(figures.paged_out_bytes.values()) > 0
    assert figures.peak_ram_bytes <= budget


@pytest.mark.parametrize("precision", ["int8", "fp32"])
@pytest.mark.parametrize("fraction", [0.5, 0.0])
def test_mobilenetv2_fixture_in_two_minutes(precision: str, fraction: float) -> None:
    board = load_board("stm32f746")
    graph = load_plan_graph(
        ROOT / "fixtures" / "mobilenetv2_035_96.tflite", TrainingChoice(precision=precision)
    )
    cost = build_cost_model(board, graph, "energy")
    peak = evaluate(graph, cost, keep_all(graph, build_stages(graph))).planned_peak
    budget = int(graph.floor_bytes() + fraction * (peak - graph.floor_bytes()))
    start = time.perf_counter()
    result = plan(graph, board, PlanOptions(budget_bytes=budget, time_limit_s=120))
    assert time.perf_counter() - start <= 125
    assert result.gap is not None and result.gap <= 0.01
    assert result.schedule.figures.peak_ram_bytes <= budget
    assert result.schedule.figures.recomputations > 0
