"""Static arena layout: an offset for every buffer allocation of a schedule.

Each ``compute`` / ``recompute`` / ``page_in`` allocates its node's buffer, live until the node's
next ``free``; a kernel's workspace lives during its own instruction only. Allocations whose
lifetimes overlap must not overlap in the arena. Placement is greedy, largest first, at the
lowest offset that fits (as TensorFlow Lite Micro's greedy planner does); offsets are multiples of
``ALIGN`` so float and int32 buffers stay aligned.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from edgesdk.plan.schedule import Instruction

ALIGN = 8


@dataclass(frozen=True)
class _Alloc:
    index: int  # instruction that allocates
    end: int  # last instruction during which it is live
    size: int
    workspace: bool


def _aligned(size: int) -> int:
    return -(-size // ALIGN) * ALIGN


def place(instructions: list[Instruction]) -> tuple[list[Instruction], int]:
    """Fill in ``arena_offset`` / ``workspace_offset``; return the instructions and the arena size."""
    allocs: list[_Alloc] = []
    open_at: dict[str, int] = {}
    for index, ins in enumerate(instructions):
        if ins.op in ("compute", "recompute", "page_in"):
            open_at[ins.node] = index
            if ins.workspace_bytes:
                allocs.append(_Alloc(index, index, _aligned(ins.workspace_bytes), True))
        elif ins.op == "free":
            start = open_at.pop(ins.node)
            allocs.append(_Alloc(start, index, _aligned(instructions[start].nbytes), False))
    for node, start in open_at.items():
        raise ValueError(f"buffer of {node!r} allocated at instruction {start} is never freed")
    placed: list[tuple[_Alloc, int]] = []
    offsets: dict[tuple[int, bool], int] = {}
    for alloc in sorted(allocs, key=lambda a: (-a.size, a.index, a.workspace)):
        busy = sorted(
            (off, off + other.size)
            for other, off in placed
            if other.index <= alloc.end and alloc.index <= other.end and other.size
        )
        offset = 0
        for lo, hi in busy:
            if offset + alloc.size <= lo:
                break
            offset = max(offset, hi)
        placed.append((alloc, offset))
        offsets[alloc.index, alloc.workspace] = offset
    arena = max((off + a.size for a, off in placed), default=0)
    out = []
    for index, ins in enumerate(instructions):
        if ins.op in ("compute", "recompute", "page_in"):
            ins = replace(
                ins,
                arena_offset=offsets.get((index, False), 0),
                workspace_offset=offsets.get((index, True)) if ins.workspace_bytes else None,
            )
        out.append(ins)
    return out, arena
