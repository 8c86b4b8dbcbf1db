"""Planner benchmark: graphs x RAM budgets, edgesdk's plan beside the baselines.

For each graph and budget it prints the plan's cost (x keep-all, the cost of computing every node
once), planned peak RAM, bytes paged out per step, recomputations, solve time and gap, then the
same for keep-all, remat-only (Checkmate: the MILP without paging), paging-only, Chen sqrt(n) and
greedy. Everything is priced by the same cost model (board stm32f746) and memory accounting.

    python benchmarks/plan_table.py            # full run (about half an hour on 2 cores)
    python benchmarks/plan_table.py --quick    # a quarter of the time limits, fewer budgets
"""

from __future__ import annotations

import argparse
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from edgesdk.boards import load_board
from edgesdk.errors import PlanError
from edgesdk.plan.baselines import keep_all
from edgesdk.plan.compare import Row, baseline_rows, chosen_row
from edgesdk.plan.cost import build_cost_model
from edgesdk.plan.graph import PlanGraph, load_graph_json
from edgesdk.plan.planner import PlanOptions, plan
from edgesdk.plan.sources import TrainingChoice, load_plan_graph
from edgesdk.plan.stageplan import evaluate
from edgesdk.plan.stages import build_stages

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Case:
    title: str
    load: object  # () -> PlanGraph
    budgets: tuple[float, ...]  # fractions of the activation range [floor, keep-all peak] or of keep-all
    of_range: bool  # True: floor + f * (keep-all - floor); False: f * keep-all peak
    time_limit_s: float


def cases() -> list[Case]:
    mbv2 = ROOT / "tests" / "fixtures" / "mobilenetv2_035_96.tflite"
    return [
        Case(
            "ResNet-18-CIFAR, width 16, fp32 (tests/graphs, 120 nodes)",
            lambda: load_graph_json(ROOT / "tests" / "graphs" / "resnet18_cifar_w16_fp32.json"),
            (0.9, 0.7, 0.55, 0.5, 0.45, 0.4),
            False,
            60.0,
        ),
        Case(
            "MobileNetV2-0.35 96x96 fixture, int8, all layers trained",
            lambda: load_plan_graph(mbv2, TrainingChoice(precision="int8")),
            (0.5, 0.0),
            True,
            120.0,
        ),
        Case(
            "MobileNetV2-0.35 96x96 fixture, fp32, all layers trained",
            lambda: load_plan_graph(mbv2, TrainingChoice(precision="fp32")),
            (0.5, 0.0),
            True,
            120.0,
        ),
    ]


def commit() -> str:
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, check=False
        ).stdout.strip()

    dirty = git("status", "--porcelain", "--", "sdk/edgesdk/plan", "benchmarks")
    return git("rev-parse", "--short", "HEAD") + (" (with local changes)" if dirty else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="a quarter of the time limits, two budgets per graph"
    )
    args = parser.parse_args()
    board = load_board("stm32f746")
    print(f"edgesdk planner benchmark at commit {commit()}; board {board.name}; objective energy")
    print("cost is per training step, x keep-all (= every node computed once, nothing paged)\n")
    for case in cases():
        graph: PlanGraph = case.load()  # type: ignore[operator]
        cost = build_cost_model(board, graph, "energy")
        peak = evaluate(graph, cost, keep_all(graph, build_stages(graph))).planned_peak
        floor = graph.floor_bytes()
        limit = case.time_limit_s / (4 if args.quick else 1)
        budgets = case.budgets[-2:] if args.quick else case.budgets
        print(
            f"== {case.title}: {graph.size} nodes, resident {kb(graph.total_resident_bytes)}, "
            f"floor {kb(floor)}, keep-all peak {kb(peak)}; time limit {limit:g} s"
        )
        for fraction in budgets:
            budget = int(floor + fraction * (peak - floor)) if case.of_range else int(fraction * peak)
            where = (
                f"floor + {fraction:.0%} of (keep-all - floor)"
                if case.of_range
                else f"{fraction:.0%} of keep-all"
            )
            print(f"-- budget {kb(budget)} ({where})")
            options = PlanOptions(budget_bytes=budget, time_limit_s=limit)
            start = time.perf_counter()
            try:
                rows = [chosen_row(plan(graph, board, options))]
            except PlanError as error:
                print(f"   no plan: {error}")
                continue
            rows += baseline_rows(graph, board, options, limit / 3)
            print_rows(rows, cost.keep_all_cost)
            print(f"   ({time.perf_counter() - start:.0f} s for this budget)")
        print()


def print_rows(rows: list[Row], keep_all_cost: float) -> None:
    columns = f"{'x keep-all':>10} {'peak RAM':>11} {'paged':>10} {'recomp':>6} {'solve':>7} {'gap':>7}"
    print(f"   {'plan':<30} {columns}")
    for row in rows:
        if row.cost is None:
            dashes = f"{'-':>10} {'-':>11} {'-':>10} {'-':>6}"
            print(f"   {row.name:<30} {dashes} {row.solve_s:>6.1f}s {'-':>7}  {row.note}")
            continue
        gap = "-" if row.gap is None else f"{100 * row.gap:.2f}%"
        flag = "" if row.feasible else f"  infeasible: {row.note}"
        print(
            f"   {row.name:<30} {row.cost / keep_all_cost:>10.3f} {kb(row.peak_bytes or 0):>11} "
            f"{kb(row.paged_bytes or 0):>10} {row.recomputations:>6} {row.solve_s:>6.1f}s {gap:>7}{flag}"
        )


def kb(nbytes: int) -> str:
    return f"{nbytes / 1024:.1f} KB"


if __name__ == "__main__":
    main()
