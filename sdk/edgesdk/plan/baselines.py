"""Baseline plans, priced by the same cost model and memory accounting as the MILP.

- keep-all: every output stays in RAM from its computation to its last reader.
- Chen sqrt(n): forward outputs are checkpoints every ceil(sqrt(n_forward)) forward nodes; other
  forward outputs are dropped after the forward pass reads them and recomputed (from the nearest
  held values) when the backward pass needs them, then held until their last reader.
- greedy: start from keep-all; while the fullest stage is over budget, evict the held value whose
  eviction frees that stage at the lowest cost per byte, either by recomputing it at its next use
  or by paging it out at its computation and back in just before its next use.
The remat-only (Checkmate) and paging-only baselines are the MILP with paging, respectively
recomputation, switched off (:mod:`edgesdk.plan.planner`).
"""

from __future__ import annotations

import math
import time

import numpy as np

from edgesdk.plan.cost import PROGRAM_BYTES, CostModel
from edgesdk.plan.graph import PlanGraph
from edgesdk.plan.stageplan import StagePlan, tidy
from edgesdk.plan.stages import Stages


def keep_all(graph: PlanGraph, stages: Stages) -> StagePlan:
    count = stages.count
    keep: list[set[int]] = [set() for _ in range(count)]
    for i, users in enumerate(graph.consumers()):
        last = max((stages.stage_of[u] for u in users), default=stages.stage_of[i])
        for s in range(stages.stage_of[i] + 1, last + 1):
            keep[s].add(i)
    return tidy(graph, _plan(stages, keep, [set() for _ in range(count)], [{} for _ in range(count)], {}))


def chen_sqrt(graph: PlanGraph, stages: Stages) -> StagePlan:
    forward = [n.index for n in graph.nodes if n.kind == "forward"]
    every = max(1, math.ceil(math.sqrt(len(forward))))
    checkpoints = {i for i in forward if not graph.nodes[i].recomputable}
    cuts = set(_cut_nodes(graph, forward))
    since = 0
    for i in forward:
        since += 1
        if i in cuts and since >= every:
            checkpoints.add(i)
            since = 0
    consumers = graph.consumers()
    dropped = {i for i in forward if i not in checkpoints}
    count = stages.count
    keep: list[set[int]] = [set() for _ in range(count)]
    recompute: list[set[int]] = [set() for _ in range(count)]
    in_ram_until: dict[int, int] = {}  # node -> last stage it is held through
    for i in range(graph.size):
        users = [stages.stage_of[u] for u in consumers[i]]
        if i in dropped:
            fwd_users = [stages.stage_of[u] for u in consumers[i] if graph.nodes[u].kind == "forward"]
            in_ram_until[i] = max(fwd_users, default=stages.stage_of[i])
        elif i in checkpoints or not graph.nodes[i].recomputable:
            in_ram_until[i] = stages.horizon[i]  # recomputations may start from it until then
        else:
            in_ram_until[i] = max(users, default=stages.stage_of[i])
    for i, until in in_ram_until.items():
        for s in range(stages.stage_of[i] + 1, until + 1):
            keep[s].add(i)
    for s in range(count):
        for j in stages.new_nodes(s):
            for d in graph.nodes[j].deps:
                _materialize(graph, stages, d, s, keep, recompute, consumers)
    return tidy(graph, _plan(stages, keep, recompute, [{} for _ in range(count)], {}))


def _cut_nodes(graph: PlanGraph, forward: list[int]) -> list[int]:
    """Forward nodes every forward path passes through (no forward edge jumps over them): on a
    network with skip connections these are the block outputs, where Chen's segments may end."""
    position = {i: p for p, i in enumerate(forward)}
    consumers = graph.consumers()
    reach = -1  # furthest forward position an edge from an earlier node lands on
    cuts = []
    for p, i in enumerate(forward):
        if reach <= p:
            cuts.append(i)
        reach = max([reach, *(position[u] for u in consumers[i] if u in position)])
    return cuts


def _materialize(
    graph: PlanGraph,
    stages: Stages,
    node: int,
    stage: int,
    keep: list[set[int]],
    recompute: list[set[int]],
    consumers: tuple[tuple[int, ...], ...],
) -> None:
    """Make ``node`` available in ``stage``: recompute it (and what it needs), hold it to its last use."""
    if stages.stage_of[node] == stage or node in keep[stage] or node in recompute[stage]:
        return
    for d in graph.nodes[node].deps:
        _materialize(graph, stages, d, stage, keep, recompute, consumers)
    recompute[stage].add(node)
    last = max(stages.stage_of[u] for u in consumers[node])
    for s in range(stage + 1, last + 1):
        keep[s].add(node)


def greedy(
    graph: PlanGraph,
    cost: CostModel,
    stages: Stages,
    budget_bytes: int,
    allow_remat: bool = True,
    allow_paging: bool = True,
    runtime_budget_s: float | None = None,
    deadline: float | None = None,
) -> StagePlan | None:
    """The eviction heuristic described in the module docstring; None when it cannot reach the budget
    or when ``time.perf_counter()`` passes ``deadline`` first."""
    state = _GreedyState(graph, cost, stages)
    plan = keep_all(graph, stages)
    state.load(plan)
    tier = _cheapest_tier(cost) if allow_paging else None
    for _ in range(20 * graph.size * max(1, stages.count)):
        if deadline is not None and time.perf_counter() > deadline:
            return None
        rows = state.rows()
        peak_stage = int(np.argmax(rows))
        if rows[peak_stage] <= budget_bytes:
            return state.plan()
        best = None
        for i in state.idle_held(peak_stage):
            for option in _options(allow_remat, tier):
                trial = state.evict(i, peak_stage, option)
                if trial is None:
                    continue
                extra_cost, new_state = trial
                if new_state.rows().max() > rows[peak_stage]:
                    continue  # would only move the peak elsewhere, higher
                if runtime_budget_s is not None and new_state.time() > runtime_budget_s * (1 + 1e-9):
                    continue
                if not new_state.storage_fits():
                    continue
                score = extra_cost / max(graph.nodes[i].output_bytes, 1)
                if best is None or score < best[0]:
                    best = (score, new_state)
        if best is None:
            return None
        state = best[1]
    return None


def _options(allow_remat: bool, tier: int | None) -> list[int | None]:
    options: list[int | None] = []
    if allow_remat:
        options.append(None)  # recompute
    if tier is not None:
        options.append(tier)
    return options


def _cheapest_tier(cost: CostModel) -> int | None:
    if not cost.tiers:
        return None
    total = [sum(t.out_time) + sum(t.in_time) for t in cost.tiers]
    return int(np.argmin(total))


class _GreedyState:
    """keep / recompute / paging as numpy arrays, so trial evictions are cheap to price."""

    def __init__(self, graph: PlanGraph, cost: CostModel, stages: Stages) -> None:
        self.graph = graph
        self.cost = cost
        self.stages = stages
        self.sizes = np.array([n.output_bytes for n in graph.nodes], dtype=np.int64)
        self.work = np.array([n.workspace_bytes for n in graph.nodes], dtype=np.int64)
        self.consumers = graph.consumers()
        count, n = stages.count, graph.size
        self.new = np.zeros((count, n), dtype=bool)
        for s in range(count):
            self.new[s, list(stages.new_nodes(s))] = True
        self.keep = np.zeros((count, n), dtype=bool)
        self.rec = np.zeros((count, n), dtype=bool)
        self.page_in = np.full((count, n), -1, dtype=np.int64)
        self.page_out = np.full(n, -1, dtype=np.int64)

    def copy(self) -> _GreedyState:
        other = object.__new__(_GreedyState)
        other.__dict__.update(self.__dict__)
        other.keep = self.keep.copy()
        other.rec = self.rec.copy()
        other.page_in = self.page_in.copy()
        other.page_out = self.page_out.copy()
        return other

    def load(self, plan: StagePlan) -> None:
        for s in range(self.stages.count):
            self.keep[s, list(plan.keep[s])] = True
            self.rec[s, list(plan.recompute[s])] = True

    def rows(self) -> np.ndarray:
        computed = self.rec | self.new
        held = (self.keep | computed) @ self.sizes
        work = np.where(computed, self.work[None, :], 0).max(axis=1)
        return held + work + self.cost.resident_bytes

    def time(self) -> float:
        t = float(((self.rec | self.new) @ np.array(self.cost.compute_time)).sum())
        for i in np.nonzero(self.page_out >= 0)[0]:
            t += self.cost.tiers[self.page_out[i]].out_time[i]
        for s, i in zip(*np.nonzero(self.page_in >= 0), strict=True):
            t += self.cost.tiers[self.page_in[s, i]].in_time[i]
        return t

    def storage_fits(self) -> bool:
        stored = -(-self.sizes // PROGRAM_BYTES) * PROGRAM_BYTES
        for tier in self.cost.tiers:
            if stored[self.page_out == tier.index].sum() > tier.capacity_bytes:
                return False
        return True

    def idle_held(self, stage: int) -> list[int]:
        """Values held through ``stage`` that nothing computed in ``stage`` reads."""
        computed = np.nonzero(self.rec[stage] | self.new[stage])[0]
        used = {d for j in computed for d in self.graph.nodes[j].deps}
        return [int(i) for i in np.nonzero(self.keep[stage])[0] if int(i) not in used and self.sizes[i] > 0]

    def evict(self, node: int, stage: int, tier: int | None) -> tuple[float, _GreedyState] | None:
        """Drop ``node`` over its idle interval around ``stage``; bring it back for the next reader."""
        first = stage
        while (
            first - 1 > self.stages.stage_of[node]
            and self.keep[first - 1, node]
            and not self._used(node, first - 1)
        ):
            first -= 1
        last = stage
        count = self.stages.count
        while last + 1 < count and self.keep[last + 1, node] and not self._used(node, last + 1):
            last += 1
        back = last + 1  # the stage that needs it again
        if back >= count or not self.keep[back, node]:
            return None
        new = self.copy()
        new.keep[first : last + 1, node] = False
        if tier is None:
            if not self.graph.nodes[node].recomputable:
                return None
            new.keep[back, node] = False
            if not new._recompute(node, back):
                return None
        else:
            if new.page_out[node] not in (-1, tier):
                return None
            new.page_out[node] = tier
            new.page_in[back - 1, node] = tier
        return new.objective() - self.objective(), new

    def _used(self, node: int, stage: int) -> bool:
        return any((self.rec[stage, u] or self.new[stage, u]) for u in self.consumers[node])

    def _recompute(self, node: int, stage: int) -> bool:
        if self.keep[stage, node] or self.rec[stage, node] or self.new[stage, node]:
            return True
        if self.stages.stage_of[node] >= stage or not self.graph.nodes[node].recomputable:
            return False
        self.rec[stage, node] = True
        return all(self._recompute(d, stage) for d in self.graph.nodes[node].deps)

    def objective(self) -> float:
        c = self.cost
        compute = np.array([c.compute_cost(i) for i in range(self.graph.size)])
        total = float(((self.rec | self.new) @ compute).sum())
        for i in np.nonzero(self.page_out >= 0)[0]:
            total += c.out_cost(int(self.page_out[i]), int(i))
        for s, i in zip(*np.nonzero(self.page_in >= 0), strict=True):
            total += c.in_cost(int(self.page_in[s, i]), int(i))
        return total

    def plan(self) -> StagePlan:
        count = self.stages.count
        keep = [set(np.nonzero(self.keep[s])[0].tolist()) for s in range(count)]
        rec = [set(np.nonzero(self.rec[s])[0].tolist()) for s in range(count)]
        pins = [
            {int(i): int(self.page_in[s, i]) for i in np.nonzero(self.page_in[s] >= 0)[0]}
            for s in range(count)
        ]
        pout = {int(i): int(self.page_out[i]) for i in np.nonzero(self.page_out >= 0)[0]}
        return tidy(self.graph, _plan(self.stages, keep, rec, pins, pout))


def _plan(
    stages: Stages,
    keep: list[set[int]],
    recompute: list[set[int]],
    page_in: list[dict[int, int]],
    page_out: dict[int, int],
) -> StagePlan:
    return StagePlan(
        stages=stages,
        keep=tuple(frozenset(k) for k in keep),
        recompute=tuple(frozenset(r) for r in recompute),
        page_in=tuple(page_in),
        page_out=page_out,
    )
