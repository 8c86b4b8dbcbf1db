"""A plan in the planner's decision space, its cost and its memory under the stage model.

Per stage ``s`` (see :mod:`edgesdk.plan.stages`):

- ``keep[s]``: nodes whose outputs are in RAM at the start of stage s (S_ram[s, i] = 1);
- ``recompute[s]``: earlier nodes computed again in stage s (R[s, i] = 1; new nodes always run);
- ``page_in[s]``: node -> tier, read back into RAM at the end of stage s (M_in[s, i, k] = 1), so it
  is in ``keep[s + 1]``;
- ``page_out``: node -> tier, written to storage right after its first computation (M_out[i, k] = 1).
  A copy in storage stays valid for the rest of the step, so one write per node is enough.

The stage model's memory: during stage s, RAM holds the resident state, ``keep[s]``, everything
computed in s and the largest workspace among them (``stage_bytes``). Lowered schedules free
buffers earlier than that, so the simulator's peak is never above this figure.

Every plan source (the MILP, the baselines, the greedy) produces a :class:`StagePlan`; the same
:func:`evaluate` prices all of them, so comparisons are like for like.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from edgesdk.plan.cost import CostModel, stored_bytes
from edgesdk.plan.graph import PlanGraph
from edgesdk.plan.stages import Stages


@dataclass(frozen=True)
class StagePlan:
    stages: Stages
    keep: tuple[frozenset[int], ...]
    recompute: tuple[frozenset[int], ...]
    page_in: tuple[Mapping[int, int], ...]
    page_out: Mapping[int, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "page_in", tuple(MappingProxyType(dict(p)) for p in self.page_in))
        object.__setattr__(self, "page_out", MappingProxyType(dict(self.page_out)))
        count = self.stages.count
        if not (len(self.keep) == len(self.recompute) == len(self.page_in) == count):
            raise ValueError("keep, recompute and page_in need one entry per stage")

    def computed(self, stage: int) -> list[int]:
        """Nodes run in ``stage``, in execution order (recomputations first: they are earlier nodes)."""
        return sorted(self.recompute[stage]) + list(self.stages.new_nodes(stage))


@dataclass(frozen=True)
class PlanFigures:
    cost: float  # the objective (J or s, per the cost model)
    time_s: float
    energy_j: float
    stage_bytes: tuple[int, ...]  # stage-model RAM per stage, resident state included
    recompute_count: int
    recompute_time_s: float
    paged_out_bytes: tuple[int, ...]  # per usable tier, stored (program-unit) bytes
    paged_in_bytes: tuple[int, ...]  # per usable tier, stored bytes
    erases_per_step: tuple[float, ...]  # per usable tier

    @property
    def planned_peak(self) -> int:
        return max(self.stage_bytes)


def check_plan(graph: PlanGraph, plan: StagePlan, tiers: int) -> None:
    """Raise ValueError when the plan breaks a rule of the stage model (independent of budgets)."""
    st = plan.stages
    for s in range(st.count):
        avail = set(plan.keep[s])
        for i in plan.keep[s]:
            if not st.stage_of[i] < s:
                raise ValueError(
                    f"stage {s} keeps node {i}, which is first computed in stage {st.stage_of[i]}"
                )
        for j in plan.recompute[s]:
            if st.stage_of[j] >= s:
                raise ValueError(f"stage {s} recomputes node {j}, which is not computed yet")
            if not graph.nodes[j].recomputable:
                raise ValueError(
                    f"stage {s} recomputes node {graph.nodes[j].name!r}, which is not recomputable"
                )
        for j in plan.computed(s):
            missing = [d for d in graph.nodes[j].deps if d not in avail]
            if missing:
                raise ValueError(f"stage {s}: node {j} needs {missing}, not in RAM")
            avail.add(j)
        for i, tier in plan.page_in[s].items():
            if plan.page_out.get(i) != tier or st.stage_of[i] >= s:
                raise ValueError(
                    f"stage {s} pages in node {i} from tier {tier}, where it was not paged out before"
                )
        if s + 1 < st.count:
            stray = plan.keep[s + 1] - avail - set(plan.page_in[s])
            if stray:
                raise ValueError(
                    f"stage {s + 1} keeps {sorted(stray)}, which stage {s} neither held nor paged in"
                )
    for i, tier in plan.page_out.items():
        if not 0 <= tier < tiers:
            raise ValueError(f"node {i} paged out to unknown tier {tier}")


def evaluate(graph: PlanGraph, cost: CostModel, plan: StagePlan) -> PlanFigures:
    st = plan.stages
    sizes = [n.output_bytes for n in graph.nodes]
    time_s = 0.0
    energy = 0.0
    objective = 0.0
    recomputes = 0
    recompute_time = 0.0
    for s in range(st.count):
        for j in plan.computed(s):
            time_s += cost.compute_time[j]
            energy += cost.compute_energy[j]
            objective += cost.compute_cost(j)
        recomputes += len(plan.recompute[s])
        recompute_time += sum(cost.compute_time[j] for j in plan.recompute[s])
    stage_bytes = stage_memory(graph, plan, cost.resident_bytes)
    out_bytes = [0] * len(cost.tiers)
    in_bytes = [0] * len(cost.tiers)
    for i, k in plan.page_out.items():
        tier = cost.tiers[k]
        out_bytes[k] += stored_bytes(sizes[i])
        time_s += tier.out_time[i]
        energy += tier.out_energy[i]
        objective += cost.out_cost(k, i)
    for s in range(st.count):
        for i, k in plan.page_in[s].items():
            tier = cost.tiers[k]
            in_bytes[k] += stored_bytes(sizes[i])
            time_s += tier.in_time[i]
            energy += tier.in_energy[i]
            objective += cost.in_cost(k, i)
    erases = tuple(out_bytes[k] / t.sector_bytes for k, t in enumerate(cost.tiers))
    return PlanFigures(
        cost=objective,
        time_s=time_s,
        energy_j=energy,
        stage_bytes=tuple(stage_bytes),
        recompute_count=recomputes,
        recompute_time_s=recompute_time,
        paged_out_bytes=tuple(out_bytes),
        paged_in_bytes=tuple(in_bytes),
        erases_per_step=erases,
    )


def stage_memory(graph: PlanGraph, plan: StagePlan, resident: int) -> tuple[int, ...]:
    """RAM per stage as the MILP counts it: resident + held + computed + the largest workspace."""
    sizes = [n.output_bytes for n in graph.nodes]
    work = [n.workspace_bytes for n in graph.nodes]
    rows = []
    for s in range(plan.stages.count):
        computed = plan.computed(s)
        held = sum(sizes[i] for i in plan.keep[s]) + sum(sizes[j] for j in computed)
        rows.append(resident + held + max(work[j] for j in computed))
    return tuple(rows)


def tidy(graph: PlanGraph, plan: StagePlan) -> StagePlan:
    """Drop decisions that buy nothing: holds nothing reads, recomputations nothing uses, page-ins
    of values already in RAM, page-outs never read back. Cost and every stage's memory can only fall.

    One backward sweep: what stage s must hold follows from what stage s + 1 keeps.
    """
    st = plan.stages
    count = st.count
    keep: list[frozenset[int]] = [frozenset()] * count
    recompute: list[frozenset[int]] = [frozenset()] * count
    page_in: list[dict[int, int]] = [{} for _ in range(count)]
    wanted_next: frozenset[int] = frozenset()  # keep[s + 1] after tidying
    for s in reversed(range(count)):
        new = set(st.new_nodes(s))
        held = set(plan.keep[s])
        carried = wanted_next - new  # in RAM during s (or paged in at its end) for stage s + 1
        demand = {d for j in new for d in graph.nodes[j].deps}
        kept_r: set[int] = set()
        for j in sorted(plan.recompute[s] - held, reverse=True):  # consumers before producers
            if j in demand or (j in carried and j not in plan.page_in[s]):
                kept_r.add(j)
                demand.update(graph.nodes[j].deps)
        keep_s = held & (demand | carried)
        in_ram = keep_s | kept_r | new
        page_in[s] = {i: k for i, k in plan.page_in[s].items() if i in carried and i not in in_ram}
        keep[s] = frozenset(keep_s)
        recompute[s] = frozenset(kept_r)
        wanted_next = keep[s]
    read_back = {i for p in page_in for i in p}
    page_out = {i: k for i, k in plan.page_out.items() if i in read_back}
    return StagePlan(
        stages=st, keep=tuple(keep), recompute=tuple(recompute), page_in=tuple(page_in), page_out=page_out
    )
