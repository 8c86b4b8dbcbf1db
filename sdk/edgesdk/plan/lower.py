"""Lowering: a :class:`StagePlan` becomes the instruction list of a :class:`Schedule`.

Per stage, in order: free held buffers nothing in the stage reads and the next stage does not keep;
run the stage's recomputations and then its new nodes in index order, writing a new node's
page-out right after it runs and freeing every buffer right after its last reader in the stage
(unless the next stage keeps it); then the page-ins that the next stage needs. Buffers are thus
freed no later than the stage model assumes, so the real peak never exceeds the planned one.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

from edgesdk.plan.cost import CostModel
from edgesdk.plan.graph import PlanGraph
from edgesdk.plan.schedule import Instruction
from edgesdk.plan.stageplan import StagePlan


def lower(graph: PlanGraph, cost: CostModel, plan: StagePlan) -> list[Instruction]:
    """Instructions without arena offsets (see :func:`edgesdk.plan.arena.place`)."""
    st = plan.stages
    nodes = graph.nodes
    out: list[Instruction] = []
    in_ram: set[int] = set()
    done: set[int] = set()

    def free(i: int, s: int) -> None:
        in_ram.discard(i)
        out.append(Instruction("free", nodes[i].name, s, nodes[i].output_bytes))

    for s in range(st.count):
        keep_next = plan.keep[s + 1] if s + 1 < st.count else frozenset()
        computed = plan.computed(s)
        reads = Counter(d for j in computed for d in nodes[j].deps)
        for i in sorted(in_ram):
            if reads[i] == 0 and i not in keep_next:
                free(i, s)
        for j in computed:
            op = "recompute" if j in done else "compute"
            node = nodes[j]
            out.append(Instruction(op, node.name, s, node.output_bytes, workspace_bytes=node.workspace_bytes))
            in_ram.add(j)
            done.add(j)
            if op == "compute" and j in plan.page_out:
                tier = cost.tiers[plan.page_out[j]].name
                out.append(Instruction("page_out", node.name, s, node.output_bytes, tier=tier))
            for d in node.deps:
                reads[d] -= 1
                if reads[d] == 0 and d not in keep_next:
                    free(d, s)
            if reads[j] == 0 and j not in keep_next:
                free(j, s)
        for i, k in sorted(plan.page_in[s].items()):
            node = nodes[i]
            out.append(Instruction("page_in", node.name, s, node.output_bytes, tier=cost.tiers[k].name))
            in_ram.add(i)
        stray = in_ram - set(keep_next)
        if stray:
            raise ValueError(f"stage {s} leaves {sorted(stray)} in RAM; stage {s + 1} does not keep them")
    return assign_slots(out)


def assign_slots(instructions: list[Instruction]) -> list[Instruction]:
    """Give every paged buffer a pager slot; mark each copy's last page-in.

    A copy's storage lifetime runs from its page-out to its last page-in. Per tier, copies are
    placed largest first into the first slot whose copies' lifetimes do not overlap theirs.
    """
    first: dict[str, int] = {}
    last: dict[str, int] = {}
    for index, ins in enumerate(instructions):
        if ins.op == "page_out":
            first[ins.node] = index
        elif ins.op == "page_in":
            last[ins.node] = index
    slot_of: dict[str, int] = {}
    per_tier: dict[str, list[list[tuple[int, int]]]] = {}
    tiers = {ins.node: ins.tier for ins in instructions if ins.op == "page_out"}
    sizes = {ins.node: ins.nbytes for ins in instructions if ins.op == "page_out"}
    for node in sorted(first, key=lambda n: (-sizes[n], first[n])):
        span = (first[node], last.get(node, first[node]))
        slots = per_tier.setdefault(str(tiers[node]), [])
        for number, spans in enumerate(slots):
            if all(span[1] < a or b < span[0] for a, b in spans):
                spans.append(span)
                slot_of[node] = number
                break
        else:
            slots.append([span])
            slot_of[node] = len(slots) - 1
    return [
        replace(
            ins, slot=slot_of[ins.node], last_read=(index == last[ins.node]) if ins.op == "page_in" else None
        )
        if ins.op in ("page_out", "page_in")
        else ins
        for index, ins in enumerate(instructions)
    ]


def slot_capacities(instructions: list[Instruction] | tuple[Instruction, ...]) -> dict[str, tuple[int, ...]]:
    """Per tier, each slot's capacity: the largest buffer paged out into it."""
    caps: dict[str, dict[int, int]] = {}
    for ins in instructions:
        if ins.op == "page_out" and ins.tier is not None and ins.slot is not None:
            tier = caps.setdefault(ins.tier, {})
            tier[ins.slot] = max(tier.get(ins.slot, 0), ins.nbytes)
    return {name: tuple(tier[k] for k in sorted(tier)) for name, tier in caps.items()}
