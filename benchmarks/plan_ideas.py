"""What each formulation idea is worth: the ResNet-18-CIFAR graph solved with ideas switched off.

Each line is one solve at one RAM budget (fractions of keep-all's peak): status, cost (x keep-all),
proven bound, gap, wall time and model size. docs/planner.md quotes the output.

    python benchmarks/plan_ideas.py [--budgets 0.5,0.45] [--time-limit 60]
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from collections.abc import Callable
from pathlib import Path

from edgesdk.boards import load_board
from edgesdk.plan.baselines import keep_all
from edgesdk.plan.cost import CostModel, build_cost_model
from edgesdk.plan.graph import load_graph_json
from edgesdk.plan.milp import MilpResult, MilpSettings, solve_milp
from edgesdk.plan.planner import PlanOptions, plan
from edgesdk.plan.stageplan import evaluate
from edgesdk.plan.stages import Stages, build_stages, coarse_starts
from plan_table import commit

ROOT = Path(__file__).resolve().parent.parent


def no_liveness(stages: Stages) -> Stages:
    """Every (stage, earlier node) pair gets variables, as in POET's triangular formulation."""
    return dataclasses.replace(stages, horizon=(stages.count - 1,) * stages.size)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budgets", default="0.5,0.45")
    parser.add_argument("--time-limit", type=float, default=60.0)
    args = parser.parse_args()
    board = load_board("stm32f746")
    graph = load_graph_json(ROOT / "tests" / "graphs" / "resnet18_cifar_w16_fp32.json")
    cost = build_cost_model(board, graph, "energy")
    fine = build_stages(graph)
    peak = evaluate(graph, cost, keep_all(graph, fine)).planned_peak
    limit = args.time_limit
    print(
        f"formulation ideas at commit {commit()}: {graph.name} ({graph.size} nodes) on {board.name}, "
        f"energy, time limit {limit:g} s per solve; cost x keep-all"
    )
    for fraction in (float(f) for f in args.budgets.split(",")):
        budget = int(fraction * peak)
        print(f"\n-- budget {budget / 1024:.1f} KB ({fraction:.0%} of keep-all's {peak / 1024:.1f} KB)")
        base = MilpSettings(budget_bytes=budget, time_limit_s=limit)

        def solve(stages: Stages, base: MilpSettings = base, **changes: object) -> Callable[[], MilpResult]:
            return lambda: solve_milp(graph, cost, stages, dataclasses.replace(base, **changes))

        coarse = build_stages(graph, coarse_starts(graph, 2, budget))
        guarded = build_stages(graph, coarse_starts(graph, 2, int(0.7 * budget)))
        runs: list[tuple[str, Callable[[], MilpResult]]] = [
            ("fine grid, all (stage, node) pairs (POET's set)", solve(no_liveness(fine))),
            ("fine grid, live pairs only", solve(fine)),
            ("  + dominance rows", solve(fine, dominance=True)),
            ("  + page-ins only before a reader's stage", solve(fine, page_in_before_readers=True)),
            (f"coarse grid, 2 nodes/stage ({coarse.count} stages)", solve(coarse)),
            (f"coarse grid, 70 % guard ({guarded.count} stages)", solve(guarded)),
        ]
        for name, run in runs:
            report(name, run(), cost)
        start = time.perf_counter()
        result = plan(graph, board, PlanOptions(budget_bytes=budget, time_limit_s=limit))
        gap = "-" if result.gap is None else f"{100 * result.gap:.2f}%"
        bound = "-" if result.bound is None else f"{result.bound / cost.keep_all_cost:.4f}"
        print(
            f"   {'planner: greedy + coarse + fine with cutoff':<52} {result.status:<13} "
            f"{result.objective / cost.keep_all_cost:>8.4f} {bound:>8} {gap:>8} "
            f"{time.perf_counter() - start:>6.1f}s  (won: {result.method})"
        )


def report(name: str, result: MilpResult, cost: CostModel) -> None:
    objective = "-" if result.objective is None else f"{result.objective / cost.keep_all_cost:.4f}"
    bound = "-" if result.bound is None else f"{result.bound / cost.keep_all_cost:.4f}"
    gap = "-" if result.gap is None else f"{100 * result.gap:.2f}%"
    print(
        f"   {name:<52} {result.status:<13} {objective:>8} {bound:>8} {gap:>8} {result.solve_s:>6.1f}s  "
        f"{result.variables} vars, {result.binaries} binaries, {result.rows} rows, {result.nonzeros} nonzeros"
    )


if __name__ == "__main__":
    main()
