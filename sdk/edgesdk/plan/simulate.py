"""An independent simulator: replays a schedule's instructions and checks and prices them.

It shares no code with the MILP or the cost model on purpose (it is the oracle they are tested
against): it reads the graph, the board file and the instructions, and

- checks that every node runs with all its inputs in RAM, runs first as ``compute`` and later only
  as ``recompute`` (and only if recomputable), that page-outs copy buffers in RAM into free pager
  slots, that page-ins read back that very copy, that frees free live buffers, that every node has
  run and every buffer is freed at the end, that each tier's swap region has the room the pager
  requires for the slots used (W + M + 2S - 2g, pager.h), that arena ranges of live buffers never
  overlap, and that the RAM peak stays within the budget;
- measures RAM after every instruction split by how each buffer got there, and adds up time,
  energy, paged bytes and erases straight from the board's figures.
"""

from __future__ import annotations

from dataclasses import dataclass

from edgesdk.boards import Board
from edgesdk.plan.graph import PlanGraph
from edgesdk.plan.schedule import Instruction

KINDS = ("resident", "activations", "recomputed", "paged_in", "workspace")
_UNIT = 4  # the pager programs 32-bit words: a copy of n bytes takes n rounded up to 4


def _stored(size: int) -> int:
    return -(-size // _UNIT) * _UNIT


class ScheduleError(ValueError):
    """A schedule breaks a rule; the message names the instruction."""


@dataclass(frozen=True)
class Simulation:
    peak_ram_bytes: int
    time_s: float
    energy_j: float
    compute_time_s: float
    paging_time_s: float
    recomputations: int
    paged_out_bytes: dict[str, int]
    paged_in_bytes: dict[str, int]
    erases_per_step: dict[str, float]
    timeline: tuple[dict[str, int], ...]  # per instruction: bytes in RAM by KINDS, while it runs

    def cost(self, objective: str) -> float:
        return self.energy_j if objective == "energy" else self.time_s


def simulate(
    graph: PlanGraph,
    board: Board,
    instructions: list[Instruction] | tuple[Instruction, ...],
    budget_bytes: int | None = None,
    check_arena: bool = True,
) -> Simulation:
    nodes = {n.name: n for n in graph.nodes}
    names = {n.index: n.name for n in graph.nodes}
    tiers = {t.name: t for t in board.storage}
    resident = graph.resident_bytes + sum(n.resident_bytes for n in graph.nodes)
    volts, run_a, clock = board.costs.voltage_v, board.costs.run_current_a, board.clock_hz
    live: dict[str, tuple[str, int, int | None]] = {}  # node -> (kind, bytes, arena offset)
    ran: set[str] = set()
    stored: dict[str, tuple[str, int]] = {}  # node -> (tier, slot) of its copy
    holder: dict[tuple[str, int], str] = {}  # (tier, slot) -> node whose copy is live in it
    capacity: dict[tuple[str, int], int] = {}  # (tier, slot) -> largest stored copy
    written = {name: 0 for name in tiers}
    read = {name: 0 for name in tiers}
    compute_s = paging_s = energy = 0.0
    recomputations = 0
    peak = resident
    timeline: list[dict[str, int]] = []

    def fail(index: int, ins: Instruction, why: str) -> ScheduleError:
        return ScheduleError(f"instruction {index} ({ins.op} {ins.node}): {why}")

    for index, ins in enumerate(instructions):
        node = nodes.get(ins.node)
        if node is None:
            raise fail(index, ins, "no such node in the graph")
        if ins.nbytes != node.output_bytes:
            raise fail(index, ins, f"says {ins.nbytes} bytes, the node writes {node.output_bytes}")
        workspace = 0
        if ins.op in ("compute", "recompute"):
            if ins.node in live:
                raise fail(index, ins, "its buffer is already in RAM")
            if (ins.op == "compute") == (ins.node in ran):
                raise fail(index, ins, "a node's first run is 'compute', later runs are 'recompute'")
            if ins.op == "recompute" and not node.recomputable:
                raise fail(index, ins, "this node may not run twice in a step")
            missing = [names[d] for d in node.deps if names[d] not in live]
            if missing:
                raise fail(index, ins, f"inputs not in RAM: {', '.join(missing)}")
            if ins.workspace_bytes != node.workspace_bytes:
                raise fail(
                    index, ins, f"workspace {ins.workspace_bytes} B, the node needs {node.workspace_bytes}"
                )
            if node.compute_cycles is not None:
                cycles = node.compute_cycles
            elif node.macs > 0:
                cycles = node.macs * board.costs.cycles_per_mac.get(
                    node.family or "", board.costs.default_cycles_per_mac
                )
            else:
                cycles = (
                    node.output_bytes if node.bytes_moved is None else node.bytes_moved
                ) * board.costs.cycles_per_byte_moved
            seconds = cycles / clock
            compute_s += seconds
            energy += seconds * run_a * volts
            recomputations += ins.op == "recompute"
            ran.add(ins.node)
            live[ins.node] = (
                "activations" if ins.op == "compute" else "recomputed",
                node.output_bytes,
                ins.arena_offset,
            )
            workspace = node.workspace_bytes
            if check_arena and workspace:
                _check_overlap(live, ins.workspace_offset, workspace, index, ins, fail)
        elif ins.op == "page_out":
            tier = _tier(tiers, ins, index, fail)
            if ins.node not in live:
                raise fail(index, ins, "its buffer is not in RAM")
            if ins.node in stored:
                raise fail(index, ins, "already paged out in this step")
            if ins.slot is None or ins.slot < 0:
                raise fail(index, ins, "no pager slot")
            key = (tier.name, ins.slot)
            if key in holder:
                raise fail(index, ins, f"slot {ins.slot} of {tier.name} still holds {holder[key]}'s copy")
            size = _stored(node.output_bytes)
            stored[ins.node] = key
            holder[key] = ins.node
            capacity[key] = max(capacity.get(key, 0), size)
            written[tier.name] += size
            program = tier.program_latency_s + size / tier.program_bytes_per_s
            erase = size / tier.sector_bytes * tier.erase_sector_s
            paging_s += program + erase
            energy += (
                program * (run_a + tier.program_current_a) + erase * (run_a + tier.erase_current_a)
            ) * volts
        elif ins.op == "page_in":
            tier = _tier(tiers, ins, index, fail)
            if ins.node in live:
                raise fail(index, ins, "its buffer is already in RAM")
            key = (tier.name, ins.slot if ins.slot is not None else -1)
            if stored.get(ins.node) != key or holder.get(key) != ins.node:
                raise fail(index, ins, f"slot {ins.slot} of {tier.name} holds no copy of it")
            if ins.last_read:
                del holder[key]
            size = _stored(node.output_bytes)
            read[tier.name] += size
            seconds = tier.read_latency_s + size / tier.read_bytes_per_s
            paging_s += seconds
            energy += seconds * (run_a + tier.read_current_a) * volts
            live[ins.node] = ("paged_in", node.output_bytes, ins.arena_offset)
        elif ins.op == "free":
            if ins.node not in live:
                raise fail(index, ins, "its buffer is not in RAM")
        if check_arena and ins.op in ("compute", "recompute", "page_in"):
            _check_overlap(
                {k: v for k, v in live.items() if k != ins.node},
                ins.arena_offset,
                node.output_bytes,
                index,
                ins,
                fail,
            )
        usage = dict.fromkeys(KINDS, 0)
        usage["resident"] = resident
        usage["workspace"] = workspace
        for kind, size, _offset in live.values():
            usage[kind] += size
        timeline.append(usage)
        peak = max(peak, sum(usage.values()))
        if budget_bytes is not None and peak > budget_bytes:
            raise fail(index, ins, f"RAM reaches {peak} B, over the budget of {budget_bytes} B")
        if ins.op == "free":
            del live[ins.node]
    not_run = [n.name for n in graph.nodes if n.name not in ran]
    if not_run:
        raise ScheduleError(f"nodes never computed: {', '.join(not_run[:5])}")
    if live:
        raise ScheduleError(f"buffers still in RAM at the end of the step: {', '.join(sorted(live)[:5])}")
    for name, tier in tiers.items():
        caps = [size for (t, _slot), size in capacity.items() if t == name]
        if caps:
            need = sum(caps) + max(caps) + 2 * tier.sector_bytes - 2 * _UNIT
            if need > tier.swap_bytes:
                raise ScheduleError(
                    f"the pager slots of {name} need a {need} B swap region; "
                    f"the board has {tier.swap_bytes} B"
                )
    erases = {name: written[name] / tier.sector_bytes for name, tier in tiers.items()}
    return Simulation(
        peak_ram_bytes=peak,
        time_s=compute_s + paging_s,
        energy_j=energy,
        compute_time_s=compute_s,
        paging_time_s=paging_s,
        recomputations=recomputations,
        paged_out_bytes=written,
        paged_in_bytes=read,
        erases_per_step=erases,
        timeline=tuple(timeline),
    )


def _tier(tiers, ins, index, fail):  # noqa: ANN001, ANN202 - local helper
    if ins.tier not in tiers:
        raise fail(
            index, ins, f"unknown storage tier {ins.tier!r}; the board has {', '.join(tiers) or 'none'}"
        )
    return tiers[ins.tier]


def _check_overlap(live, offset, size, index, ins, fail) -> None:  # noqa: ANN001 - local helper
    if not size:
        return
    if offset is None:
        raise fail(index, ins, "no arena offset")
    for other, (_kind, other_size, other_offset) in live.items():
        if (
            other_size
            and other_offset is not None
            and offset < other_offset + other_size
            and other_offset < offset + size
        ):
            raise fail(index, ins, f"arena range [{offset}, {offset + size}) overlaps live buffer {other}")
