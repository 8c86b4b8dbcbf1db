"""Stages: the time axis of every plan, and which (stage, node) pairs can matter at all.

Stage ``s`` computes its *new* nodes ``starts[s] .. starts[s+1]-1`` for the first time, in order,
and may *recompute* earlier nodes. One node per stage is the finest grid; coarser grids (several
new nodes per stage) give smaller MILPs at the price of counting a stage's nodes together.

A node ``i`` can only be wanted in RAM at stage ``s > stage_of[i]`` while some consumer may still be
computed: its *horizon* is the last stage at which a consumer is new, or (for a recomputable
consumer) the consumer's own horizon. Outside ``stage_of[i] < s <= horizon[i]`` a plan never holds,
recomputes or pages in ``i``, so no variable or decision exists there.
"""

from __future__ import annotations

from dataclasses import dataclass

from edgesdk.plan.graph import PlanGraph


@dataclass(frozen=True)
class Stages:
    starts: tuple[int, ...]  # first new node of each stage; len = number of stages
    stage_of: tuple[int, ...]  # per node: the stage computing it first
    horizon: tuple[int, ...]  # per node: last stage it may be needed in RAM (stage_of when never)
    size: int  # number of nodes

    @property
    def count(self) -> int:
        return len(self.starts)

    def new_nodes(self, stage: int) -> range:
        end = self.starts[stage + 1] if stage + 1 < self.count else self.size
        return range(self.starts[stage], end)

    def live(self, node: int, stage: int) -> bool:
        """Can ``node`` be held, recomputed or wanted at the start of ``stage``?"""
        return self.stage_of[node] < stage <= self.horizon[node]

    def live_stages(self, node: int) -> range:
        return range(self.stage_of[node] + 1, self.horizon[node] + 1)


def build_stages(graph: PlanGraph, starts: tuple[int, ...] | None = None) -> Stages:
    """Stages for ``graph``; ``starts`` defaults to one node per stage."""
    n = graph.size
    if starts is None:
        starts = tuple(range(n))
    increasing = all(b > a for a, b in zip(starts, starts[1:], strict=False))
    if not starts or starts[0] != 0 or not increasing or starts[-1] >= n:
        raise ValueError(f"invalid stage starts {starts} for {n} nodes")
    stage_of = [0] * n
    for stage, first in enumerate(starts):
        end = starts[stage + 1] if stage + 1 < len(starts) else n
        for node in range(first, end):
            stage_of[node] = stage
    consumers = graph.consumers()
    horizon = list(stage_of)
    for node in reversed(range(n)):
        for user in consumers[node]:
            reach = horizon[user] if graph.nodes[user].recomputable else stage_of[user]
            horizon[node] = max(horizon[node], stage_of[user], reach)
    return Stages(starts=tuple(starts), stage_of=tuple(stage_of), horizon=tuple(horizon), size=n)


def coarse_starts(graph: PlanGraph, per_stage: int, max_block_bytes: int | None = None) -> tuple[int, ...]:
    """Group up to ``per_stage`` consecutive nodes per stage.

    A group closes early when the nodes it would hold together (external inputs, outputs and the
    largest workspace) would exceed ``max_block_bytes``: near the memory floor, coarse stages would
    make budgets infeasible that one node per stage can meet.
    """
    if per_stage <= 1:
        return tuple(range(graph.size))
    starts: list[int] = []
    block: list[int] = []
    for node in graph.nodes:
        candidate = [*block, node.index]
        too_big = (
            max_block_bytes is not None
            and len(block) > 0
            and _block_bytes(graph, candidate) > max_block_bytes
        )
        if block and (len(block) == per_stage or too_big):
            starts.append(block[0])
            block = [node.index]
        else:
            block = candidate
    starts.append(block[0])
    return tuple(starts)


def _block_bytes(graph: PlanGraph, block: list[int]) -> int:
    inside = set(block)
    inputs = {d for i in block for d in graph.nodes[i].deps if d not in inside}
    return (
        sum(graph.nodes[d].output_bytes for d in inputs)
        + sum(graph.nodes[i].output_bytes for i in block)
        + max(graph.nodes[i].workspace_bytes for i in block)
    )
