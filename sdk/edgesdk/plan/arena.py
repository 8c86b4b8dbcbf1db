"""Static arena layout: one offset per buffer lifetime. The one implementation edgesdk has: the
planner's figures (``Figures.arena_bytes``) and the generated C (``es_arena``) both come from here.

A training step keeps every transient buffer in ONE static arena. A buffer may have several
lifetimes -- a schedule that recomputes or pages a tensor gives it one per residency, and the
inference program reuses the arena after training -- and each :class:`Lifetime` gets its own
offset. Two lifetimes may share bytes only when their time intervals are disjoint.

Time is an integer position (an instruction of a schedule, a step of a program): a lifetime
``[start, end]`` is live at every position from ``start`` (where it is written) to ``end`` (its
last use, or the instruction that frees it), both included.

Algorithm: greedy placement (as TensorFlow Lite Micro's greedy planner): take the lifetimes in
some order and put each at the lowest aligned offset where it overlaps no already placed lifetime
that is live at the same time. The order matters, so three are tried and the smallest arena kept
(ties: the first):

1. ``size``: largest first (ties: earlier start) -- TFLite Micro's order, usually optimal;
2. ``area``: largest size x duration first -- long-lived big buffers (checkpoints, paged-in
   copies) at the bottom, short ones fill the gaps above;
3. ``start``: earliest start first (ties: largest) -- the left-edge order of interval colouring.

When the best of them is above the lower bound (below), a short seeded local search swaps a few
lifetimes in its order and keeps a change that places in fewer bytes (``<order>+search``): on a
MobileNetV2 sparse-update schedule it takes the arena from 67,968 B to the 64,656 B bound.

No layout is below the *lifetime peak*, the largest total of bytes live at one position: a lower
bound for any layout. :attr:`ArenaLayout.fragmentation` says how far above it a layout is, and
:meth:`ArenaLayout.report` splits the excess into alignment padding and gaps. Every layout this
module returns has passed :func:`check_layout` (no two live lifetimes share a byte).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace

from edgesdk.plan.schedule import Instruction

DEFAULT_ALIGNMENT = 16  # bytes; float32 and int32 buffers, and 128-bit loads, stay aligned
ALLOCATING = ("compute", "recompute", "page_in")


@dataclass(frozen=True)
class Lifetime:
    """One residency of a buffer in the arena."""

    buffer: str  # the value (or scratch) name
    start: int  # first position it is live (written)
    end: int  # last position it is live (read or freed), >= start
    size: int  # bytes

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"lifetime of {self.buffer!r} ends ({self.end}) before it starts ({self.start})")
        if self.size < 0:
            raise ValueError(f"lifetime of {self.buffer!r} has a negative size {self.size}")

    def overlaps_in_time(self, other: Lifetime) -> bool:
        return self.start <= other.end and other.start <= self.end


@dataclass(frozen=True)
class Placement:
    lifetime: Lifetime
    offset: int  # bytes from the start of the arena, a multiple of the layout's alignment

    @property
    def end_offset(self) -> int:
        return self.offset + self.lifetime.size

    def overlaps_in_memory(self, other: Placement) -> bool:
        return self.offset < other.end_offset and other.offset < self.end_offset


@dataclass(frozen=True)
class ArenaLayout:
    """Offsets of every lifetime, the arena size and the lower bound it is measured against."""

    placements: tuple[Placement, ...]  # in the order of the lifetimes given
    size: int  # bytes of the arena (a multiple of the alignment)
    peak: int  # largest total of live bytes at one position (lower bound for any layout)
    alignment: int
    order: str = "size"  # the greedy order that won (or "given" for offsets set elsewhere)

    @property
    def fragmentation(self) -> float:
        """Arena size over the lifetime peak, minus one (0.0 = optimal)."""
        return self.size / self.peak - 1.0 if self.peak else 0.0

    @property
    def aligned_peak(self) -> int:
        """The lifetime peak with every size rounded up to the alignment: what padding alone costs."""
        return lifetime_peak(
            replace(p.lifetime, size=_align(p.lifetime.size, self.alignment)) for p in self.placements
        )

    def locate(self, buffer: str, step: int, *, written: bool = False) -> Placement:
        """The placement of ``buffer`` at ``step``: the lifetime that starts there when the step
        writes it (``written``), else the one the step reads (started earlier, still live)."""
        for placement in self.placements:
            lifetime = placement.lifetime
            if lifetime.buffer != buffer or not lifetime.start <= step <= lifetime.end:
                continue
            if written == (lifetime.start == step):
                return placement
        raise KeyError(
            f"buffer {buffer!r} has no lifetime {'starting at' if written else 'live at'} step {step}"
        )

    def of(self, buffer: str) -> tuple[Placement, ...]:
        return tuple(p for p in self.placements if p.lifetime.buffer == buffer)

    def report(self) -> str:
        """One line: size against the lifetime peak, and where the excess goes."""
        if not self.peak:
            return f"arena {self.size:,} B (nothing live)"
        padding = self.aligned_peak - self.peak
        gaps = self.size - self.aligned_peak
        return (
            f"arena {self.size:,} B for a lifetime peak of {self.peak:,} B "
            f"(+{100 * self.fragmentation:.2f} %: {padding:,} B alignment padding at the peak, "
            f"{max(gaps, 0):,} B gaps; {len(self.placements)} lifetimes, greedy order {self.order!r})"
        )

    def to_dict(self) -> dict[str, object]:
        return {
            "size": self.size,
            "peak": self.peak,
            "alignment": self.alignment,
            "fragmentation": round(self.fragmentation, 6),
            "order": self.order,
            "buffers": [
                {
                    "buffer": p.lifetime.buffer,
                    "start": p.lifetime.start,
                    "end": p.lifetime.end,
                    "size": p.lifetime.size,
                    "offset": p.offset,
                }
                for p in self.placements
            ],
        }


def _align(value: int, alignment: int) -> int:
    return -(-value // alignment) * alignment


def lifetime_peak(lifetimes: Iterable[Lifetime]) -> int:
    """The largest sum of sizes of lifetimes live at one position."""
    events: dict[int, int] = {}
    for item in lifetimes:
        events[item.start] = events.get(item.start, 0) + item.size
        events[item.end + 1] = events.get(item.end + 1, 0) - item.size
    live = peak = 0
    for step in sorted(events):
        live += events[step]
        peak = max(peak, live)
    return peak


# ---------------------------------------------------------------- greedy placement

_ORDERS: dict[str, Callable[[Lifetime, int], tuple[int, ...]]] = {
    "size": lambda item, i: (-item.size, item.start, i),
    "area": lambda item, i: (-item.size * (item.end - item.start + 1), -item.size, item.start, i),
    "start": lambda item, i: (item.start, -item.size, i),
}


def _place_in_order(
    lifetimes: Sequence[Lifetime], order: list[int], alignment: int, reserved: Sequence[Placement] = ()
) -> list[int]:
    """Offsets (indexed like ``lifetimes``) from first-fit placement in ``order``, around the
    ``reserved`` placements."""
    offsets = [0] * len(lifetimes)
    placed: list[int] = []
    for index in order:
        item = lifetimes[index]
        if item.size > 0:
            conflicts = sorted(
                [
                    (offsets[j], offsets[j] + lifetimes[j].size)
                    for j in placed
                    if lifetimes[j].start <= item.end and item.start <= lifetimes[j].end
                ]
                + [(r.offset, r.end_offset) for r in reserved if r.lifetime.overlaps_in_time(item)]
            )
            offset = 0
            for low, high in conflicts:
                if offset + item.size <= low:
                    break
                offset = max(offset, _align(high, alignment))
            offsets[index] = offset
            placed.append(index)
    return offsets


SEARCH_TRIES = 64  # orders tried near the best greedy one when it is above the lower bound


def _arena_size(lifetimes: Sequence[Lifetime], offsets: Sequence[int], alignment: int) -> int:
    ends = (offset + item.size for offset, item in zip(offsets, lifetimes, strict=True))
    return _align(max(ends, default=0), alignment)


def _search(
    lifetimes: Sequence[Lifetime], order: list[int], size: int, alignment: int, reserved: Sequence[Placement]
) -> tuple[int, list[int]] | None:
    """A smaller first-fit layout near ``order``, or None: swap a few random pairs of the order
    (seeded, so the same lifetimes always get the same layout), keep a change that places in fewer
    bytes, stop at the lower bound. A greedy order is often one unlucky placement away from the
    bound (a long-lived buffer placed where two short ones later collide)."""
    rng = random.Random(len(lifetimes))
    bound = _align(lifetime_peak(lifetimes), alignment)
    best: tuple[int, list[int]] | None = None
    for _ in range(SEARCH_TRIES):
        trial = list(order)
        for _ in range(rng.randint(1, 6)):
            a, b = rng.randrange(len(trial)), rng.randrange(len(trial))
            trial[a], trial[b] = trial[b], trial[a]
        offsets = _place_in_order(lifetimes, trial, alignment, reserved)
        trial_size = _arena_size(lifetimes, offsets, alignment)
        if trial_size < size:
            size, order, best = trial_size, trial, (trial_size, offsets)
            if size <= bound:
                break
    return best


def greedy_layout(
    lifetimes: Sequence[Lifetime],
    alignment: int = DEFAULT_ALIGNMENT,
    orders: Sequence[str] = tuple(_ORDERS),
    reserved: Sequence[Placement] = (),
    search: bool = True,
) -> ArenaLayout:
    """Place ``lifetimes`` (see the module docstring); the result passes :func:`check_layout`.
    ``reserved``: bytes already taken at those times (e.g. a region the caller fills), which no
    lifetime live then overlaps; they are not part of the layout. ``search``: try the local search
    when the best order is above the lower bound."""
    if alignment < 1:
        raise ValueError("alignment must be >= 1")
    unknown = [name for name in orders if name not in _ORDERS]
    if unknown or not orders:
        raise ValueError(f"unknown greedy orders {unknown}; known: {', '.join(_ORDERS)}")
    best: tuple[int, str, list[int], list[int]] | None = None
    for name in orders:
        key = _ORDERS[name]
        order = sorted(range(len(lifetimes)), key=lambda i: key(lifetimes[i], i))
        offsets = _place_in_order(lifetimes, order, alignment, reserved)
        size = _arena_size(lifetimes, offsets, alignment)
        if best is None or size < best[0]:
            best = (size, name, order, offsets)
    assert best is not None
    size, name, order, offsets = best
    if search and size > _align(lifetime_peak(lifetimes), alignment):
        found = _search(lifetimes, order, size, alignment, reserved)
        if found is not None:
            size, offsets = found
            name = f"{name}+search"
    placements = tuple(Placement(item, offset) for item, offset in zip(lifetimes, offsets, strict=True))
    layout = ArenaLayout(placements, size, lifetime_peak(lifetimes), alignment, name)
    check_layout(layout)
    return layout


def given_layout(placements: Sequence[Placement], alignment: int = DEFAULT_ALIGNMENT) -> ArenaLayout:
    """A layout whose offsets were decided elsewhere (a stored plan), checked like any other."""
    size = _align(max((p.end_offset for p in placements), default=0), alignment)
    peak = lifetime_peak(p.lifetime for p in placements)
    layout = ArenaLayout(tuple(placements), size, peak, alignment, "given")
    check_layout(layout)
    return layout


def combine(layouts: Sequence[ArenaLayout]) -> ArenaLayout:
    """Layouts of programs that never run at the same time (disjoint positions) in one arena."""
    placements = tuple(p for layout in layouts for p in layout.placements)
    alignments = {layout.alignment for layout in layouts}
    if len(alignments) > 1:
        raise ValueError(f"cannot combine layouts of different alignments {sorted(alignments)}")
    layout = ArenaLayout(
        placements,
        max((layout.size for layout in layouts), default=0),
        max((layout.peak for layout in layouts), default=0),
        alignments.pop() if alignments else DEFAULT_ALIGNMENT,
        "+".join(layout.order for layout in layouts),
    )
    check_layout(layout)
    return layout


def check_layout(layout: ArenaLayout) -> None:
    """Raise AssertionError if two lifetimes live at the same position share a byte, an offset is
    not aligned, or a buffer runs past the arena."""
    items = sorted(
        (p for p in layout.placements if p.lifetime.size), key=lambda p: (p.lifetime.start, p.offset)
    )
    for a in layout.placements:
        if a.offset % layout.alignment:
            raise AssertionError(
                f"{a.lifetime.buffer} at offset {a.offset} is not {layout.alignment}-aligned"
            )
        if a.end_offset > layout.size:
            raise AssertionError(
                f"{a.lifetime.buffer} ends at {a.end_offset}, past the arena ({layout.size})"
            )
    live: list[Placement] = []  # sweep over start positions: only lifetimes still live can clash
    for b in items:
        live = [a for a in live if a.lifetime.end >= b.lifetime.start]
        for a in live:
            if a.overlaps_in_memory(b):
                raise AssertionError(
                    f"{a.lifetime.buffer} [{a.offset}, {a.end_offset}) and {b.lifetime.buffer} "
                    f"[{b.offset}, {b.end_offset}) overlap while both are live"
                )
        live.append(b)


def render_layout(layout: ArenaLayout, width: int = 64) -> str:
    """The layout as ASCII art: one row per position, one column per ``size / width`` bytes; a
    letter marks the lifetime that holds those bytes at that position (legend below)."""
    if not layout.placements or layout.size == 0:
        return "(empty arena)"
    steps = range(
        min(p.lifetime.start for p in layout.placements), max(p.lifetime.end for p in layout.placements) + 1
    )
    symbols = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    scale = layout.size / width
    rows = []
    for step in steps:
        line = ["."] * width
        for index, p in enumerate(layout.placements):
            if p.lifetime.size and p.lifetime.start <= step <= p.lifetime.end:
                first = int(p.offset / scale)
                last = max(first, int((p.end_offset - 1) / scale))
                for column in range(first, min(last, width - 1) + 1):
                    line[column] = symbols[index % len(symbols)]
        rows.append(f"{step:>5} |{''.join(line)}|")
    legend = [
        f"  {symbols[i % len(symbols)]} {p.lifetime.buffer} @{p.offset} +{p.lifetime.size} "
        f"[{p.lifetime.start}..{p.lifetime.end}]"
        for i, p in enumerate(layout.placements)
    ]
    header = (
        f"arena {layout.size:,} B, lifetime peak {layout.peak:,} B "
        f"(+{100 * layout.fragmentation:.1f} %), one column = {scale:,.0f} B"
    )
    return "\n".join([header, *rows, *legend])


# ---------------------------------------------------------------- schedules


def workspace_name(node: str) -> str:
    return f"{node}:workspace"


def schedule_lifetimes(instructions: Sequence[Instruction]) -> list[Lifetime]:
    """The arena lifetimes of a schedule, in instruction order of their allocation.

    Each ``compute`` / ``recompute`` / ``page_in`` allocates its node's buffer, live until the
    node's next ``free``; a kernel's workspace lives during its own instruction only.
    """
    open_at: dict[str, int] = {}
    found: list[tuple[int, Lifetime]] = []
    for index, ins in enumerate(instructions):
        if ins.op in ALLOCATING:
            if ins.node in open_at:
                raise ValueError(
                    f"instruction {index} ({ins.op} {ins.node}) allocates a buffer already in RAM"
                )
            open_at[ins.node] = index
            if ins.workspace_bytes:
                found.append((index, Lifetime(workspace_name(ins.node), index, index, ins.workspace_bytes)))
        elif ins.op == "free":
            if ins.node not in open_at:
                raise ValueError(f"instruction {index} frees {ins.node}, which is not in RAM")
            start = open_at.pop(ins.node)
            found.append((start, Lifetime(ins.node, start, index, instructions[start].nbytes)))
    for node, start in open_at.items():
        raise ValueError(f"buffer of {node!r} allocated at instruction {start} is never freed")
    found.sort(key=lambda item: (item[0], item[1].buffer.endswith(":workspace")))
    return [lifetime for _, lifetime in found]


def place(
    instructions: Sequence[Instruction], alignment: int = DEFAULT_ALIGNMENT
) -> tuple[list[Instruction], int]:
    """Fill in ``arena_offset`` / ``workspace_offset``; return the instructions and the arena size."""
    layout = greedy_layout(schedule_lifetimes(instructions), alignment)
    offsets = {(p.lifetime.buffer, p.lifetime.start): p.offset for p in layout.placements}
    out = []
    for index, ins in enumerate(instructions):
        if ins.op in ALLOCATING:
            ins = replace(
                ins,
                arena_offset=offsets[(ins.node, index)],
                workspace_offset=offsets[(workspace_name(ins.node), index)] if ins.workspace_bytes else None,
            )
        out.append(ins)
    return out, layout.size


def schedule_layout(instructions: Sequence[Instruction], alignment: int = DEFAULT_ALIGNMENT) -> ArenaLayout:
    """The layout a placed schedule already carries (its instructions' offsets), checked."""
    placements = []
    for lifetime in schedule_lifetimes(instructions):
        ins = instructions[lifetime.start]
        if lifetime.buffer == workspace_name(ins.node) and lifetime.buffer != ins.node:
            offset = ins.workspace_offset
        else:
            offset = ins.arena_offset
        if offset is None:
            raise ValueError(f"instruction {lifetime.start} ({ins.op} {ins.node}) has no arena offset")
        placements.append(Placement(lifetime, offset))
    return given_layout(placements, alignment)
