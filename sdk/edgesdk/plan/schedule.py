"""The planner's output: one training step as a list of instructions, executed literally in order.

Every node writes one buffer, named after the node. Instructions (``Instruction.op``):

- ``compute`` node: first run of the node in this step. Allocates the node's output buffer at
  ``arena_offset`` (``nbytes`` long) and, while the kernel runs, its workspace at
  ``workspace_offset`` (``workspace_bytes`` long); reads the buffers of the node's ``deps``, which
  are all in RAM. The workspace is released when the kernel returns.
- ``recompute`` node: the same, for a node that ran before in this step and was freed since. It
  produces the same bytes (kernels are deterministic), so readers cannot tell the difference.
- ``page_out`` node: copy the node's buffer (in RAM) to storage tier ``tier`` into pager slot
  ``slot`` (``es_pager_page_out``). The RAM buffer stays allocated. Each node is paged out at most
  once per step, right after its ``compute``.
- ``page_in`` node: allocate the node's buffer at ``arena_offset`` and read its copy back from
  slot ``slot`` of ``tier`` (``es_pager_page_in``). ``last_read`` is true on the copy's last
  page-in of the step: drop the copy afterwards (``es_pager_drop``), so the pager never relocates it.
- ``free`` node: release the node's RAM buffer (the arena range becomes reusable).

Slots are numbered per tier from 0. A slot holds one copy at a time; copies whose storage
lifetimes (page-out to last page-in) do not overlap share a slot, and a slot's capacity is its
largest buffer (``Schedule.slots``). The pager (runtime_c pager.h) places the copies in a circular
log over the tier's swap region and erases sectors just ahead of it, so erases per step average
(bytes programmed) / (sector bytes).

Resident state (trainable weights, optimizer state, ...) is outside the arena and never named here.
At the end of the step every buffer has been freed.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

INSTRUCTION_OPS = ("compute", "recompute", "page_out", "page_in", "free")


@dataclass(frozen=True)
class Instruction:
    op: str  # one of INSTRUCTION_OPS
    node: str  # the node whose output buffer this acts on
    stage: int  # planner stage (for reading and plotting; execution ignores it)
    nbytes: int  # the buffer's size
    tier: str | None = None  # page_out / page_in: storage tier name (as in the board file)
    slot: int | None = None  # page_out / page_in: pager slot in that tier
    last_read: bool | None = None  # page_in: the copy's last read this step (drop it after)
    arena_offset: int | None = None  # compute / recompute / page_in: where the buffer goes in the arena
    workspace_bytes: int = 0  # compute / recompute: scratch while the kernel runs
    workspace_offset: int | None = None  # compute / recompute: where that scratch goes in the arena

    def __post_init__(self) -> None:
        if self.op not in INSTRUCTION_OPS:
            raise ValueError(f"unknown instruction {self.op!r}; expected one of {INSTRUCTION_OPS}")


@dataclass(frozen=True)
class Figures:
    """What one step of a schedule costs, as measured by the simulator."""

    peak_ram_bytes: int  # resident + live buffers + running workspace, at the worst instruction
    arena_bytes: int  # size of the arena the offsets use (>= peak - resident: fragmentation)
    planned_peak_bytes: int  # the planner's stage-model bound (>= peak_ram_bytes)
    time_s: float
    energy_j: float
    compute_time_s: float
    paging_time_s: float
    recomputations: int
    paged_out_bytes: dict[str, int]  # per tier
    paged_in_bytes: dict[str, int]  # per tier
    erases_per_step: dict[str, float]  # per tier, amortized
    lifetime_steps: dict[str, float]  # per tier: steps until the swap region wears out


@dataclass(frozen=True)
class Schedule:
    graph: str
    board: str
    objective: str  # "energy" or "time"
    budget_bytes: int
    resident_bytes: int
    instructions: tuple[Instruction, ...]
    figures: Figures
    slots: dict[str, tuple[int, ...]]  # per tier: capacity of each pager slot (bytes)

    @property
    def cost(self) -> float:
        return self.figures.energy_j if self.objective == "energy" else self.figures.time_s

    @property
    def page_outs(self) -> int:
        return sum(ins.op == "page_out" for ins in self.instructions)

    @property
    def kind(self) -> str:
        """"keep-all", "remat" (recomputes, pages nothing), "paging" (pages, recomputes nothing) or
        "mixed" (both)."""
        recomputes = self.figures.recomputations > 0
        pages = self.page_outs > 0
        return {(False, False): "keep-all", (True, False): "remat", (False, True): "paging"}.get(
            (recomputes, pages), "mixed"
        )

    @property
    def tiers(self) -> tuple[str, ...]:
        """Storage tiers the schedule pages to, in order of first use."""
        used = (ins.tier for ins in self.instructions if ins.op == "page_out" and ins.tier)
        return tuple(dict.fromkeys(used))

    def to_dict(self) -> dict[str, Any]:
        return {
            "graph": self.graph,
            "board": self.board,
            "objective": self.objective,
            "budget_bytes": self.budget_bytes,
            "resident_bytes": self.resident_bytes,
            "figures": _finite(asdict(self.figures)),
            "slots": {tier: list(caps) for tier, caps in self.slots.items()},
            "instructions": [_instruction_dict(ins) for ins in self.instructions],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Schedule:
        """The inverse of :meth:`to_dict` (a stored plan.json); raises ValueError when malformed."""
        try:
            figures = dict(raw["figures"])
            figures["lifetime_steps"] = {
                tier: float("inf") if steps is None else float(steps)
                for tier, steps in figures["lifetime_steps"].items()
            }
            return cls(
                graph=str(raw["graph"]),
                board=str(raw["board"]),
                objective=str(raw["objective"]),
                budget_bytes=int(raw["budget_bytes"]),
                resident_bytes=int(raw["resident_bytes"]),
                instructions=tuple(Instruction(**entry) for entry in raw["instructions"]),
                figures=Figures(**figures),
                slots={tier: tuple(int(c) for c in caps) for tier, caps in raw["slots"].items()},
            )
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"not a schedule document: {error!r}") from None

    @classmethod
    def from_json(cls, text: str) -> Schedule:
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as error:
            raise ValueError(f"not a schedule document: {error}") from None
        if not isinstance(raw, dict):
            raise ValueError("not a schedule document: expected a JSON object")
        return cls.from_dict(raw)


def _instruction_dict(ins: Instruction) -> dict[str, Any]:
    entry = {k: v for k, v in asdict(ins).items() if v is not None}
    if not ins.workspace_bytes:
        entry.pop("workspace_bytes", None)
        entry.pop("workspace_offset", None)
    return entry


def _finite(value: Any) -> Any:
    """JSON has no infinity: an unbounded lifetime becomes null."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, float) and value == float("inf"):
        return None
    return value
