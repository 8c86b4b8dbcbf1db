"""The planner's MILP against an exhaustive search, the simulator and closed-form facts."""

from __future__ import annotations

import dataclasses
import itertools
import re

import pytest
from edgesdk.boards import Board, load_board
from edgesdk.errors import PlanError
from edgesdk.plan import generators
from edgesdk.plan.baselines import keep_all
from edgesdk.plan.cost import build_cost_model, stored_bytes
from edgesdk.plan.graph import PlanGraph, graph_from_dict
from edgesdk.plan.planner import PlanOptions, minimal_budget, plan
from edgesdk.plan.simulate import simulate
from edgesdk.plan.stageplan import evaluate
from edgesdk.plan.stages import build_stages
from plan_support import toy_board


def node(
    name: str, deps: list[str], out: int, macs: int, kind: str = "forward", work: int = 0, **extra
) -> dict:  # noqa: ANN003
    return {
        "name": name,
        "kind": kind,
        "macs": macs,
        "output_bytes": out,
        "workspace_bytes": work,
        "deps": deps,
        **extra,
    }


# ---------------------------------------------------------------------------------------- oracle
def exhaustive(
    graph: PlanGraph, board: Board, budget: int, objective: str, runtime_s: float | None
) -> float | None:
    """The cheapest plan of the stage model (one node per stage) by enumerating every decision.

    Stage s computes node s, may first recompute any earlier recomputable nodes (in index order,
    inputs in RAM), may page node s out, and ends by choosing what stays in RAM and what is paged
    back in. RAM in stage s: resident + held + recomputed + node s + the largest workspace.
    Dynamic programming over (RAM set, paged-out set) with Pareto fronts of (cost, time).
    """
    n = graph.size
    sizes = [x.output_bytes for x in graph.nodes]
    work = [x.workspace_bytes for x in graph.nodes]
    cost = build_cost_model(board, graph, objective)
    tier = cost.tiers[0] if cost.tiers else None
    resident = graph.total_resident_bytes

    def c(i: int) -> tuple[float, float]:
        return cost.compute_cost(i), cost.compute_time[i]

    fronts: dict[tuple[frozenset[int], frozenset[int]], list[tuple[float, float]]] = {
        (frozenset(), frozenset()): [(0.0, 0.0)]
    }
    for s in range(n):
        nxt: dict[tuple[frozenset[int], frozenset[int]], list[tuple[float, float]]] = {}
        for (ram, stored), front in fronts.items():
            others = [i for i in range(s) if i not in ram and graph.nodes[i].recomputable]
            for k in range(len(others) + 1):
                for rec in itertools.combinations(others, k):
                    have = set(ram)
                    ok = True
                    for j in [*rec, s]:
                        if any(d not in have for d in graph.nodes[j].deps):
                            ok = False
                            break
                        have.add(j)
                    if not ok:
                        continue
                    held = resident + sum(sizes[i] for i in ram) + sum(sizes[i] for i in rec) + sizes[s]
                    if held + max(work[j] for j in [*rec, s]) > budget:
                        continue
                    step = [c(j) for j in [*rec, s]]
                    base = (sum(x[0] for x in step), sum(x[1] for x in step))
                    for page_out in [False, True] if tier is not None else [False]:
                        out = (cost.out_cost(0, s), tier.out_time[s]) if page_out else (0.0, 0.0)
                        new_stored = stored | {s} if page_out else stored
                        if sum(stored_bytes(sizes[i]) for i in new_stored) > (
                            tier.capacity_bytes if tier else 0
                        ):
                            continue
                        pool = sorted(have)
                        for m in range(len(pool) + 1):
                            for kept in itertools.combinations(pool, m):
                                back = [i for i in stored if i not in kept]
                                for b in range(len(back) + 1):
                                    for pins in itertools.combinations(back, b):
                                        pin = (
                                            sum(cost.in_cost(0, i) for i in pins),
                                            sum(tier.in_time[i] for i in pins) if tier else 0.0,
                                        )
                                        key = (frozenset(kept) | frozenset(pins), frozenset(new_stored))
                                        for fc, ft in front:
                                            point = (
                                                fc + base[0] + out[0] + pin[0],
                                                ft + base[1] + out[1] + pin[1],
                                            )
                                            _add(nxt.setdefault(key, []), point)
        fronts = nxt
    best = None
    for front in fronts.values():
        for total, seconds in front:
            if runtime_s is None or seconds <= runtime_s * (1 + 1e-9):
                best = total if best is None else min(best, total)
    return best


def _add(front: list[tuple[float, float]], point: tuple[float, float]) -> None:
    if any(p[0] <= point[0] + 1e-15 and p[1] <= point[1] + 1e-15 for p in front):
        return
    front[:] = [p for p in front if not (point[0] <= p[0] and point[1] <= p[1])]
    front.append(point)


TINY = [
    # a chain with its backward pass: remat or paging decides how much of f0..f2 to hold
    {
        "name": "chain",
        "resident_bytes": 100,
        "nodes": [
            node("f0", [], 400, 50),
            node("f1", ["f0"], 400, 2000),
            node("f2", ["f1"], 400, 30),
            node("loss", ["f2"], 100, 10, "loss"),
            node("b2", ["loss", "f1"], 400, 40, "backward"),
            node("b1", ["b2", "f0"], 400, 40, "backward"),
        ],
    },
    # a diamond with workspace and a value that may not be recomputed
    {
        "name": "diamond",
        "resident_bytes": 0,
        "nodes": [
            node("x", [], 300, 10, recomputable=False),
            node("a", ["x"], 500, 900, work=200),
            node("b", ["x"], 200, 30),
            node("c", ["a", "b"], 300, 100),
            node("g", ["c", "a"], 300, 100, "backward"),
            node("u", ["g", "x"], 0, 50, "update"),
        ],
    },
]


@pytest.mark.parametrize("raw", TINY, ids=lambda r: r["name"])
@pytest.mark.parametrize("objective", ["energy", "time"])
def test_milp_equals_exhaustive_search(raw: dict, objective: str) -> None:
    graph = graph_from_dict(raw)
    board = toy_board()
    cost = build_cost_model(board, graph, objective)
    peak = evaluate(graph, cost, keep_all(graph, build_stages(graph))).planned_peak
    checked = 0
    for budget in range(graph.floor_bytes(), peak + 1, max(20, (peak - graph.floor_bytes()) // 12)):
        for runtime in (None, 1.15 * cost.keep_all_time):
            expected = exhaustive(graph, board, budget, objective, runtime)
            options = PlanOptions(
                budget_bytes=budget,
                objective=objective,
                runtime_budget_s=runtime,
                mip_gap=1e-9,
                explain_infeasible=False,
            )
            if expected is None:
                with pytest.raises(PlanError):
                    plan(graph, board, options)
                continue
            result = plan(graph, board, options)
            assert result.objective == pytest.approx(expected, rel=1e-7), (budget, runtime)
            checked += 1
    assert checked >= 5


def test_simulator_cost_equals_milp_objective() -> None:
    graph = graph_from_dict(TINY[0])
    board = toy_board(erase_s=0.001)
    for objective in ("energy", "time"):
        result = plan(graph, board, PlanOptions(budget_bytes=1300, objective=objective, mip_gap=1e-9))
        assert result.milp is not None and result.milp.objective is not None
        sim = simulate(graph, board, result.schedule.instructions, budget_bytes=1300)
        assert sim.cost(objective) == pytest.approx(result.objective, rel=1e-9)
        assert sim.cost(objective) == pytest.approx(result.milp.objective, rel=1e-6)
        assert sim.peak_ram_bytes <= result.schedule.figures.planned_peak_bytes <= 1300


def paging_chain() -> PlanGraph:
    raw = dict(TINY[0])
    raw["nodes"] = [dict(n) for n in raw["nodes"]]
    raw["nodes"][2]["output_bytes"] = 800
    return graph_from_dict(raw)


def test_paging_and_remat_both_chosen_when_each_is_cheapest_somewhere() -> None:
    """At the loss stage f2 (800 B) leaves no room to hold f1 or f0. f1 is expensive to compute
    (2000 us) and cheap to page (400 + 400 us): paged. f0 costs 50 us: recomputed."""
    graph = paging_chain()
    board = toy_board()
    result = plan(graph, board, PlanOptions(budget_bytes=1300, mip_gap=1e-9))
    ops = [(i.op, i.node) for i in result.schedule.instructions]
    assert ("page_out", "f1") in ops and ("page_in", "f1") in ops
    assert ("recompute", "f0") in ops
    assert ("recompute", "f1") not in ops
    assert result.gap == pytest.approx(0.0, abs=1e-6)
    assert result.schedule.figures.paged_out_bytes == {"nor": 400}


def test_keep_all_peak_of_a_chain_in_closed_form() -> None:
    """A chain of L layers of b bytes keeps all L outputs until its backward pass: at the loss
    stage RAM holds f0..f(L-1) and the loss output, (L + 1) b; at b(L-1), L + 1 buffers too."""
    for length in (2, 5, 9):
        graph = graph_from_dict(generators.chain(length, output_bytes=1000))
        board = toy_board()
        cost = build_cost_model(board, graph, "energy")
        f = evaluate(graph, cost, keep_all(graph, build_stages(graph)))
        assert f.planned_peak == (length + 1) * 1000
        result = plan(graph, board, PlanOptions(budget_bytes=f.planned_peak, mip_gap=1e-9))
        assert result.objective == pytest.approx(cost.keep_all_cost)
        assert result.schedule.figures.recomputations == 0


def smallest_in(error: pytest.ExceptionInfo) -> float:
    """The budget (bytes) a PlanError names as the smallest that fits."""
    pattern = r"the smallest budget this graph fits(?: with [^;]*?)? is ([0-9.]+) KB"
    found = re.search(pattern, str(error.value))
    assert found, str(error.value)
    return float(found.group(1)) * 1024


def test_budget_below_the_floor_names_the_smallest_budget() -> None:
    graph = graph_from_dict(TINY[0])
    board = toy_board()
    with pytest.raises(PlanError, match="1299 B is too small") as info:
        plan(graph, board, PlanOptions(budget_bytes=graph.floor_bytes() - 1))
    assert "b1" in str(info.value)  # the node that sets the floor: b2 + f0 + its output
    smallest = smallest_in(info)
    assert graph.floor_bytes() <= smallest < graph.floor_bytes() + 1024 + 103
    plan(graph, board, PlanOptions(budget_bytes=int(smallest)))


def test_smallest_budget_is_found_by_search_not_just_the_floor() -> None:
    """Without paging, holding f0 and f1 through the loss makes a chain need more than its floor."""
    raw = generators.chain(6, output_bytes=4096)
    graph = graph_from_dict(raw)
    board = toy_board()
    options = PlanOptions(budget_bytes=graph.floor_bytes(), allow_paging=False)
    smallest = minimal_budget(graph, board, options)
    assert smallest is not None and smallest > graph.floor_bytes()
    with pytest.raises(PlanError) as info:
        plan(graph, board, options)
    assert smallest <= smallest_in(info) < smallest + 103
    plan(graph, board, dataclasses.replace(options, budget_bytes=int(smallest_in(info))))
    with pytest.raises(PlanError):
        plan(
            graph, board, dataclasses.replace(options, budget_bytes=smallest - 1025, explain_infeasible=False)
        )


def test_runtime_budget_below_computing_everything_once_is_refused() -> None:
    graph = graph_from_dict(TINY[0])
    board = toy_board()
    keep = build_cost_model(board, graph, "time").keep_all_time
    with pytest.raises(PlanError, match="allow at least 1.0x"):
        plan(graph, board, PlanOptions(budget_bytes=10_000, runtime_budget_s=0.9 * keep))


def test_wear_cap_limits_paging() -> None:
    """Paging f1 (400 B) costs 400/4096 erases per step with 4 KB sectors. A cap below that forbids
    it, and without paging 1300 B no longer fits (b2 would need f0 and f1 recomputed at once)."""
    graph = paging_chain()
    board = toy_board()
    free = plan(graph, board, PlanOptions(budget_bytes=1300, mip_gap=1e-9))
    assert sum(free.schedule.figures.erases_per_step.values()) == pytest.approx(400 / 4096)
    assert free.schedule.figures.lifetime_steps["nor"] == pytest.approx(100_000 * 256 / (400 / 4096))
    with pytest.raises(PlanError, match="with at most 0.05 erases per step is") as info:
        plan(graph, board, PlanOptions(budget_bytes=1300, max_erases_per_step=0.05))
    smallest = smallest_in(info)
    assert smallest > 1300
    capped = plan(
        graph, board, PlanOptions(budget_bytes=int(smallest), max_erases_per_step=0.05, mip_gap=1e-9)
    )
    assert sum(capped.schedule.figures.erases_per_step.values()) == 0


def test_storage_too_small_for_the_pager_is_not_used() -> None:
    graph = paging_chain()
    board = toy_board(swap_bytes=8192)  # two sectors: no room for the pager's reserve
    cost = build_cost_model(board, graph, "energy")
    assert cost.tiers == () and "reserve" in cost.skipped_tiers[0]
    with pytest.raises(PlanError) as info:  # 1300 B needs f1 paged (see above)
        plan(graph, board, PlanOptions(budget_bytes=1300, mip_gap=1e-9))
    result = plan(graph, board, PlanOptions(budget_bytes=int(smallest_in(info)), mip_gap=1e-9))
    assert not any(i.op == "page_out" for i in result.schedule.instructions)


def test_real_board_costs_are_priced_from_the_board_file() -> None:
    board = load_board("stm32f746")
    graph = graph_from_dict(
        {
            "name": "g",
            "resident_bytes": 0,
            "nodes": [node("a", [], 4096, 1000, family="conv2d_int8"), node("b", ["a"], 4096, 0)],
        }
    )
    cost = build_cost_model(board, graph, "time")
    assert cost.compute_time[0] == pytest.approx(1000 * 4.2 / 216e6)
    assert cost.compute_time[1] == pytest.approx(4096 * 0.5 / 216e6)
    qspi = next(t for t in cost.tiers if t.name == "qspi_nor")
    assert qspi.out_time[0] == pytest.approx(4096 / 512e3 + 4096 / 4096 * 0.25)
    assert qspi.in_time[0] == pytest.approx(1e-6 + 4096 / 40e6)
