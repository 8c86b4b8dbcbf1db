"""Planner benchmark: how fast the plan gets within 1 % and 2 % of the MILP's own lower bound.

Two graphs, RAM budgets as fractions of keep-all's peak (20, 30 and 50 %, plus tighter budgets
above the floor where 20-30 % are below it), one planning run each (time limit 60 s, stopping at
a 1 % gap). Per budget: the plan's cost (J and x keep-all), the fine MILP's dual bound (a lower
bound on every plan of the stage model: the schedules this planner can emit, with its memory
accounting, on this cost model), the gap between them, and the wall time at which the gap first
fell to 2 % and to 1 % (read from HiGHS's bound trace; the time before the fine solve, spent on
heuristics and the coarse solve, is included).

- ResNet-18-CIFAR width 16, fp32 (tests/graphs, 120 nodes) on stm32f746 (QSPI NOR paging), no
  runtime budget.
- POET's ResNet-18-CIFAR graph (generators.poet_resnet18_cifar, T = 133) with POET's Cortex-M4F
  profile (benchmarks/poet_m4f.toml: SD card paging), runtime budget 1.5x keep-all (paging time
  included, stricter than POET's, which leaves it out).

    python benchmarks/plan_table.py               # about 8 minutes on 2 cores
    python benchmarks/plan_table.py --baselines   # also keep-all, remat-only, paging-only, Chen, greedy
    python benchmarks/plan_table.py --time-limit 20 --graphs poet
"""

from __future__ import annotations

import argparse
import os
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from edgesdk.boards import Board, load_board
from edgesdk.errors import PlanError
from edgesdk.plan.baselines import keep_all
from edgesdk.plan.compare import Row, baseline_rows
from edgesdk.plan.cost import build_cost_model
from edgesdk.plan.generators import poet_resnet18_cifar
from edgesdk.plan.graph import PlanGraph, graph_from_dict, load_graph_json
from edgesdk.plan.planner import PlanOptions, PlanResult, plan
from edgesdk.plan.stageplan import evaluate
from edgesdk.plan.stages import build_stages

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Case:
    key: str
    title: str
    load: Callable[[], PlanGraph]
    board: Callable[[], Board]
    budgets: tuple[float, ...]  # fractions of keep-all's peak
    runtime_budget: float | None  # x keep-all time


def cases() -> list[Case]:
    return [
        Case(
            "resnet",
            "ResNet-18-CIFAR w16 fp32 (tests/graphs), stm32f746, no runtime budget",
            lambda: load_graph_json(ROOT / "tests" / "graphs" / "resnet18_cifar_w16_fp32.json"),
            lambda: load_board("stm32f746"),
            (0.5, 0.45, 0.4, 0.35, 0.3, 0.2),
            None,
        ),
        Case(
            "poet",
            "POET's ResNet-18-CIFAR (T=133), POET's M4F profile, runtime budget 1.5x",
            lambda: graph_from_dict(poet_resnet18_cifar()),
            lambda: load_board(ROOT / "benchmarks" / "poet_m4f.toml"),
            (0.5, 0.3, 0.2),
            1.5,
        ),
    ]


def commit() -> str:
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, check=False
        ).stdout.strip()

    dirty = git("status", "--porcelain", "--", "sdk/edgesdk/plan", "benchmarks")
    return git("rev-parse", "--short", "HEAD") + (" (with local changes)" if dirty else "")


def time_to_gap(result: PlanResult, gap: float) -> float | None:
    """Wall seconds until the fine MILP's incumbent was within ``gap`` of its dual bound."""
    if result.milp is None:
        return result.solve_s if result.gap is not None and result.gap <= gap else None
    before = result.solve_s - result.milp.solve_s  # heuristics and the coarse solve
    for seconds, primal, dual in result.milp.trace:
        if primal > 0 and (primal - dual) / primal <= gap + 1e-12:
            return before + seconds
    if result.gap is not None and result.gap <= gap + 1e-12:
        return result.solve_s
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--time-limit", type=float, default=60.0, help="seconds per planning run")
    parser.add_argument("--graphs", default="resnet,poet", help="comma-separated: resnet, poet")
    parser.add_argument("--baselines", action="store_true", help="also price the baselines")
    args = parser.parse_args()
    wanted = set(args.graphs.split(","))
    load = os.getloadavg()[0]
    print(
        f"edgesdk planner benchmark at commit {commit()}; objective energy; time limit "
        f"{args.time_limit:g} s per run, stop at 1 %; {os.cpu_count()} cores, load {load:.2f} at start"
    )
    print("gap = (cost - bound) / cost, bound = the fine MILP's own dual bound\n")
    for case in cases():
        if case.key not in wanted:
            continue
        graph = case.load()
        board = case.board()
        cost = build_cost_model(board, graph, "energy")
        peak = evaluate(graph, cost, keep_all(graph, build_stages(graph))).planned_peak
        floor = graph.floor_bytes()
        runtime_s = None if case.runtime_budget is None else case.runtime_budget * cost.keep_all_time
        print(
            f"== {case.title}: {graph.size} nodes, keep-all peak {kb(peak)}, floor {kb(floor)} "
            f"({floor / peak:.1%}), keep-all {cost.keep_all_cost:.4f} J"
        )
        head = (
            f"{'budget':>16} {'cost J':>8} {'x keep':>7} {'bound J':>8} {'gap':>7} {'t 2 %':>7} {'t 1 %':>7}"
        )
        print(f"   {head}  {'total':>6}  won by, status")
        for fraction in case.budgets:
            budget = int(fraction * peak)
            label = f"{fraction:.0%} {kb(budget)}"
            if budget < floor:
                print(f"   {label:>16}  below the floor: no plan can fit")
                continue
            options = PlanOptions(
                budget_bytes=budget,
                runtime_budget_s=runtime_s,
                time_limit_s=args.time_limit,
                explain_infeasible=False,
            )
            start = time.perf_counter()
            try:
                result = plan(graph, board, options)
            except PlanError as error:
                print(f"   {label:>16}  no plan: {error}")
                continue
            total = time.perf_counter() - start
            t2, t1 = time_to_gap(result, 0.02), time_to_gap(result, 0.01)
            bound = "-" if result.bound is None else f"{result.bound:.4f}"
            gap = "-" if result.gap is None else f"{100 * result.gap:.2f}%"
            print(
                f"   {label:>16} {result.objective:>8.4f} {result.objective / cost.keep_all_cost:>7.3f} "
                f"{bound:>8} {gap:>7} {seconds(t2):>7} {seconds(t1):>7}  {total:>5.1f}s  "
                f"{result.method}, {result.status}"
            )
            if args.baselines:
                print_rows(baseline_rows(graph, board, options, args.time_limit), cost.keep_all_cost)
        print()


def seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}s"


def print_rows(rows: list[Row], keep_all_cost: float) -> None:
    for row in rows:
        if row.cost is None:
            print(f"      {row.name:<24} {'-':>8} {row.solve_s:>6.1f}s  {row.note}")
            continue
        flag = "" if row.feasible else f"  infeasible: {row.note}"
        print(f"      {row.name:<24} {row.cost / keep_all_cost:>8.3f} {row.solve_s:>6.1f}s{flag}")


def kb(nbytes: int) -> str:
    return f"{nbytes / 1024:.1f} KB"


if __name__ == "__main__":
    main()
