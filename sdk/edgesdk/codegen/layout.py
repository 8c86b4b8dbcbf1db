"""Static arena layout: one offset per buffer lifetime, from the lifetimes alone.

The generated runtime keeps every transient buffer (activations, activation gradients, scratch)
in ONE static arena. A buffer may have several lifetimes (the inference program reuses the
arena after training; a schedule that recomputes or pages a tensor gives it one lifetime per
residency), and each :class:`Lifetime` gets its own offset. Two lifetimes may share bytes only
when their time intervals are disjoint.

Algorithm (greedy by size, as TensorFlow Lite Micro's greedy planner): sort the lifetimes by
size, largest first (ties: earlier start, then name), and put each at the lowest aligned offset
where it overlaps no already placed lifetime that is live at the same time. The result is never
below the *lifetime peak* -- the largest total of bytes live at one instant -- which is a lower
bound for any layout; :attr:`ArenaLayout.fragmentation` says how far above it the layout is.

Time is a step index: a lifetime ``[start, end]`` is live at every step from ``start`` (the step
that writes it) to ``end`` (the last step that reads it), both included.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

DEFAULT_ALIGNMENT = 16


@dataclass(frozen=True)
class Lifetime:
    """One residency of a buffer in the arena."""

    buffer: str  # the value (or scratch) name
    start: int  # first step it is live (written)
    end: int  # last step it is live (read), >= start
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
    peak: int  # largest total of live bytes at one step (lower bound for any layout)
    alignment: int

    @property
    def fragmentation(self) -> float:
        """Arena size over the lifetime peak, minus one (0.0 = optimal)."""
        return self.size / self.peak - 1.0 if self.peak else 0.0

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

    def to_dict(self) -> dict[str, object]:
        return {
            "size": self.size,
            "peak": self.peak,
            "alignment": self.alignment,
            "fragmentation": round(self.fragmentation, 6),
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
    """The largest sum of sizes of lifetimes live at one step."""
    events: dict[int, int] = {}
    for item in lifetimes:
        events[item.start] = events.get(item.start, 0) + item.size
        events[item.end + 1] = events.get(item.end + 1, 0) - item.size
    live = peak = 0
    for step in sorted(events):
        live += events[step]
        peak = max(peak, live)
    return peak


def greedy_layout(lifetimes: Sequence[Lifetime], alignment: int = DEFAULT_ALIGNMENT) -> ArenaLayout:
    """Place ``lifetimes`` (see the module docstring); the result passes :func:`check_layout`."""
    if alignment < 1:
        raise ValueError("alignment must be >= 1")
    order = sorted(range(len(lifetimes)), key=lambda i: (-lifetimes[i].size, lifetimes[i].start, i))
    placed: list[Placement] = []
    offsets: dict[int, int] = {}
    for index in order:
        item = lifetimes[index]
        conflicts = sorted(
            (p for p in placed if p.lifetime.overlaps_in_time(item) and p.lifetime.size > 0),
            key=lambda p: p.offset,
        )
        offset = 0
        if item.size > 0:
            for other in conflicts:
                if offset + item.size <= other.offset:
                    break
                offset = max(offset, _align(other.end_offset, alignment))
        placement = Placement(item, offset)
        placed.append(placement)
        offsets[index] = offset
    placements = tuple(Placement(lifetimes[i], offsets[i]) for i in range(len(lifetimes)))
    size = _align(max((p.end_offset for p in placements), default=0), alignment)
    layout = ArenaLayout(placements, size, lifetime_peak(lifetimes), alignment)
    check_layout(layout)
    return layout


def check_layout(layout: ArenaLayout) -> None:
    """Raise AssertionError if two lifetimes live at the same step share a byte, an offset is not
    aligned, or a buffer runs past the arena."""
    items = layout.placements
    for i, a in enumerate(items):
        if a.offset % layout.alignment:
            raise AssertionError(
                f"{a.lifetime.buffer} at offset {a.offset} is not {layout.alignment}-aligned"
            )
        if a.end_offset > layout.size:
            raise AssertionError(
                f"{a.lifetime.buffer} ends at {a.end_offset}, past the arena ({layout.size})"
            )
        for b in items[i + 1 :]:
            if a.lifetime.size and b.lifetime.size and a.lifetime.overlaps_in_time(b.lifetime):
                if a.overlaps_in_memory(b):
                    raise AssertionError(
                        f"{a.lifetime.buffer} [{a.offset}, {a.end_offset}) and {b.lifetime.buffer} "
                        f"[{b.offset}, {b.end_offset}) overlap while both are live"
                    )


def render_layout(layout: ArenaLayout, width: int = 64) -> str:
    """The layout as ASCII art: one row per step, one column per ``size / width`` bytes; a
    letter marks the lifetime that holds those bytes at that step (legend below)."""
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
