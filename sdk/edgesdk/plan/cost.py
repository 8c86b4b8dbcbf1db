"""Cost model: what each planner decision costs on a board, in seconds and joules.

- Compute: ``compute_cycles`` when the node gives it, else MACs x cycles_per_mac(family), else
  bytes moved x cycles_per_byte_moved; time = cycles / clock; energy = time x run current x voltage.
- Page-out of b bytes to a storage tier: program latency + b / program rate, plus the erases it
  causes. The pager writes each tier's swap region as a log that continues across steps and erases a
  sector just before first writing into it, so b programmed bytes cost b / sector_bytes erases on
  average (each erase_sector_s long). The MCU keeps running meanwhile: energy = time x (run current
  + the tier's program or erase current) x voltage.
- Page-in of b bytes: read latency + b / read rate, energy with the tier's read current.
- Space: the C pager (runtime_c pager.h) needs a swap region of at least W + M + 2S - 2g bytes,
  W the aligned capacities of the slots live at once, M the largest slot, S the sector, g the
  program granularity. The planner bounds W by all bytes a step pages out and M by the largest
  buffer of the graph, so a plan within ``capacity_bytes`` always fits the pager.
- Buffers are programmed in units of ``PROGRAM_BYTES``: sizes round up to it in storage.
"""

from __future__ import annotations

from dataclasses import dataclass

from edgesdk.boards import Board, StorageTier
from edgesdk.plan.graph import PlanGraph

OBJECTIVES = ("energy", "time")
PROGRAM_BYTES = 4  # every swap driver programs 32-bit words (the pager's granularity g)


def stored_bytes(size: int) -> int:
    """Bytes a buffer of ``size`` bytes occupies in storage (rounded up to the program unit)."""
    return -(-size // PROGRAM_BYTES) * PROGRAM_BYTES


@dataclass(frozen=True)
class TierCost:
    index: int  # position in CostModel.tiers
    name: str
    capacity_bytes: int  # stored bytes one step may page out to this tier
    sector_bytes: int
    sectors: int  # sectors in the swap region (wear is levelled over all of them)
    erase_cycles: int
    in_time: tuple[float, ...]  # per node: page-in time (s)
    in_energy: tuple[float, ...]  # per node: page-in energy (J)
    out_time: tuple[float, ...]  # per node: page-out time (s), amortized erase included
    out_energy: tuple[float, ...]  # per node: page-out energy (J), amortized erase included

    def lifetime_steps(self, erases_per_step: float) -> float:
        """Training steps until the swap region's sectors reach their erase-cycle limit."""
        if erases_per_step <= 0:
            return float("inf")
        return self.erase_cycles * self.sectors / erases_per_step


@dataclass(frozen=True)
class CostModel:
    board: str
    objective: str  # "energy" or "time": what `cost` values measure
    compute_time: tuple[float, ...]  # per node (s)
    compute_energy: tuple[float, ...]  # per node (J)
    tiers: tuple[TierCost, ...]  # usable storage tiers only (see `skipped_tiers`)
    skipped_tiers: tuple[str, ...]  # tiers that cannot host a paging log, with the reason
    resident_bytes: int

    def compute_cost(self, node: int) -> float:
        return self.compute_time[node] if self.objective == "time" else self.compute_energy[node]

    def in_cost(self, tier: int, node: int) -> float:
        t = self.tiers[tier]
        return t.in_time[node] if self.objective == "time" else t.in_energy[node]

    def out_cost(self, tier: int, node: int) -> float:
        t = self.tiers[tier]
        return t.out_time[node] if self.objective == "time" else t.out_energy[node]

    @property
    def keep_all_time(self) -> float:
        """Time of a step that computes every node once and pages nothing."""
        return sum(self.compute_time)

    @property
    def keep_all_cost(self) -> float:
        return sum(self.compute_cost(i) for i in range(len(self.compute_time)))


def node_cycles(board: Board, graph: PlanGraph, index: int) -> float:
    node = graph.nodes[index]
    if node.compute_cycles is not None:
        return node.compute_cycles
    if node.macs > 0:
        return node.macs * board.cycles_per_mac(node.family or "")
    moved = node.output_bytes if node.bytes_moved is None else node.bytes_moved
    return moved * board.costs.cycles_per_byte_moved


def build_cost_model(board: Board, graph: PlanGraph, objective: str = "energy") -> CostModel:
    if objective not in OBJECTIVES:
        raise ValueError(f"objective must be one of {OBJECTIVES}, got {objective!r}")
    volts = board.costs.voltage_v
    run_a = board.costs.run_current_a
    compute_time = tuple(node_cycles(board, graph, i) / board.clock_hz for i in range(graph.size))
    compute_energy = tuple(t * run_a * volts for t in compute_time)
    tiers: list[TierCost] = []
    skipped: list[str] = []
    largest = max((stored_bytes(n.output_bytes) for n in graph.nodes), default=0)
    for tier in board.storage:
        capacity = tier.swap_bytes - largest - 2 * tier.sector_bytes + 2 * PROGRAM_BYTES
        if capacity <= 0:
            skipped.append(
                f"{tier.name}: its swap region ({tier.swap_bytes} B) cannot hold the pager's reserve "
                f"(two {tier.sector_bytes} B sectors and the largest buffer, {largest} B)"
            )
            continue
        tiers.append(_tier_cost(len(tiers), tier, capacity, graph, run_a, volts))
    return CostModel(
        board=board.name,
        objective=objective,
        compute_time=compute_time,
        compute_energy=compute_energy,
        tiers=tuple(tiers),
        skipped_tiers=tuple(skipped),
        resident_bytes=graph.total_resident_bytes,
    )


def _tier_cost(
    index: int, tier: StorageTier, capacity: int, graph: PlanGraph, run_a: float, volts: float
) -> TierCost:
    in_time, in_energy, out_time, out_energy = [], [], [], []
    for node in graph.nodes:
        size = stored_bytes(node.output_bytes)
        read_s = tier.read_latency_s + size / tier.read_bytes_per_s
        program_s = tier.program_latency_s + size / tier.program_bytes_per_s
        erase_s = size / tier.sector_bytes * tier.erase_sector_s
        in_time.append(read_s)
        in_energy.append(read_s * (run_a + tier.read_current_a) * volts)
        out_time.append(program_s + erase_s)
        out_energy.append(
            (program_s * (run_a + tier.program_current_a) + erase_s * (run_a + tier.erase_current_a)) * volts
        )
    return TierCost(
        index=index,
        name=tier.name,
        capacity_bytes=capacity,
        sector_bytes=tier.sector_bytes,
        sectors=tier.swap_bytes // tier.sector_bytes,
        erase_cycles=tier.erase_cycles,
        in_time=tuple(in_time),
        in_energy=tuple(in_energy),
        out_time=tuple(out_time),
        out_energy=tuple(out_energy),
    )
