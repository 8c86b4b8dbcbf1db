"""A Python replica of the C flash pager (runtime_c/src/pager.c) that predicts its counters.

The pager writes every page-out at the head of a circular log over the swap region and cleans the
sector at the erase frontier (relocating the live copies that start in it, then erasing it) until
``align(n) + Q`` bytes ahead of the head are erased, with the reserve ``Q = M + S - g``. This module
runs the same algorithm on bookkeeping only (no data), so for a sequence of page-outs, page-ins and
drops it predicts exactly what the C counters will say: bytes read and programmed, bytes relocated,
erases per sector, per training step. The planner and the build report use it for flash traffic,
erases per step and the lifetime of a board's storage; tests compare it with the C pager.

Typical use::

    geometry = geometry_for(board.storage[1])                 # a board's QSPI NOR tier
    slots = (4096, 2048, 2048)                                 # slot capacities (bytes)
    step = training_step([(0, 4096), (1, 2000), (2, 2048)])    # out in order, in in reverse, drop
    prediction = predict(geometry, slots, [step] * 100)
    prediction.steps[-1].erases, prediction.lifetime_steps(board.storage[1].erase_cycles)
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from edgesdk.boards import StorageTier

# Every edgesdk swap driver (runtime_c/port/*/swap_*.c) programs in 32-bit words.
DEFAULT_PROGRAM_BYTES = 4

VERIFY = 1  # es_pager_config.flags: read back every programmed byte
CHECKSUM = 2  # CRC-32 per copy, checked at page-in (no device traffic)


class PagerError(ValueError):
    """A sequence the C pager would refuse (the C status and es_pager_error in the message)."""


@dataclass(frozen=True)
class SwapGeometry:
    """A swap device as the pager sees it: region size, erase unit, program granularity."""

    region_bytes: int
    sector_bytes: int
    program_bytes: int = DEFAULT_PROGRAM_BYTES

    def __post_init__(self) -> None:
        g, s, r = self.program_bytes, self.sector_bytes, self.region_bytes
        if g <= 0 or g & (g - 1) or s <= 0 or s % g or r <= 0 or r % s:
            raise ValueError(
                f"inconsistent swap geometry {self}: the region must be a positive multiple of the "
                "sector, and the program granularity a power of two dividing the sector"
            )

    @property
    def sectors(self) -> int:
        return self.region_bytes // self.sector_bytes

    def align(self, size: int) -> int:
        return -(-size // self.program_bytes) * self.program_bytes


def geometry_for(tier: StorageTier, program_bytes: int = DEFAULT_PROGRAM_BYTES) -> SwapGeometry:
    """The geometry of a board storage tier's swap region."""
    return SwapGeometry(tier.swap_bytes, tier.sector_bytes, program_bytes)


def required_region_bytes(slot_bytes: Sequence[int], sector_bytes: int,
                          program_bytes: int = DEFAULT_PROGRAM_BYTES) -> int:
    """Swap region the pager needs for these slot capacities: ``W + M + 2S - 2g``.

    W is the sum of the aligned capacities (the most that can be live at once), M the largest one.
    ``es_pager_init`` refuses a smaller region; a region this large never runs out of room.
    """
    if not slot_bytes or min(slot_bytes) <= 0:
        raise ValueError("every slot needs a positive capacity")
    aligned = [-(-b // program_bytes) * program_bytes for b in slot_bytes]
    return sum(aligned) + max(aligned) + 2 * sector_bytes - 2 * program_bytes


def max_slot_total(geometry: SwapGeometry, largest: int) -> int:
    """The largest sum of aligned slot capacities that fits a region, for a given largest slot."""
    g = geometry
    return g.region_bytes - g.align(largest) - 2 * g.sector_bytes + 2 * g.program_bytes


class OpKind(enum.Enum):
    PAGE_OUT = 0
    PAGE_IN = 1
    DROP = 2
    REBOOT = 4  # es_pager_init again over a wear journal: the sweep resumes, every copy is gone


@dataclass(frozen=True)
class PagerOp:
    kind: OpKind
    slot: int
    length: int = 0  # bytes (page-out, page-in); unused for drop

    @staticmethod
    def out(slot: int, length: int) -> PagerOp:
        return PagerOp(OpKind.PAGE_OUT, slot, length)

    @staticmethod
    def in_(slot: int, length: int) -> PagerOp:
        return PagerOp(OpKind.PAGE_IN, slot, length)

    @staticmethod
    def drop(slot: int) -> PagerOp:
        return PagerOp(OpKind.DROP, slot)

    @staticmethod
    def reboot() -> PagerOp:
        return PagerOp(OpKind.REBOOT, 0)


@dataclass(frozen=True)
class StepCounters:
    """What one step did to the device (the C counters' differences over the step)."""

    bytes_read: int
    bytes_programmed: int
    bytes_relocated: int  # part of bytes_programmed
    erases: tuple[int, ...]  # per sector
    page_outs: int
    page_ins: int
    relocations: int

    @property
    def total_erases(self) -> int:
        return sum(self.erases)


@dataclass(frozen=True)
class Prediction:
    geometry: SwapGeometry
    steps: tuple[StepCounters, ...]
    sector_erases: tuple[int, ...]  # totals over all steps

    @property
    def bytes_read(self) -> int:
        return sum(s.bytes_read for s in self.steps)

    @property
    def bytes_programmed(self) -> int:
        return sum(s.bytes_programmed for s in self.steps)

    @property
    def erases(self) -> int:
        return sum(self.sector_erases)

    def erases_per_step(self, warmup: int = 1) -> float:
        """Mean erases per step after the first ``warmup`` steps (the first fills the reserve)."""
        tail = self.steps[warmup:] or self.steps
        return sum(s.total_erases for s in tail) / len(tail)

    def lifetime_steps(self, erase_cycles: int, warmup: int = 1) -> float:
        """Steps until the most-erased sector reaches ``erase_cycles``, at the measured rate.

        The log erases sectors in turn, so each sector takes ``erases_per_step / sectors`` erases
        per step (to within one erase per sweep).
        """
        rate = self.erases_per_step(warmup) / self.geometry.sectors
        return float("inf") if rate == 0 else erase_cycles / rate


class PagerModel:
    """The C pager's bookkeeping, operation by operation (see runtime_c/include/edgesdk/pager.h)."""

    def __init__(self, geometry: SwapGeometry, slot_bytes: Sequence[int], flags: int = 0,
                 *, allow_small_region: bool = False) -> None:
        """``allow_small_region`` skips es_pager_init's size check (to study the bound; the C pager
        has no such switch): a sequence that runs out of room then raises PagerError."""
        required = required_region_bytes(slot_bytes, geometry.sector_bytes, geometry.program_bytes)
        if geometry.region_bytes < required and not allow_small_region:
            raise PagerError(
                f"ES_ERR_ARG/ES_PAGER_E_REGION_SMALL: the swap region has {geometry.region_bytes} bytes "
                f"but these {len(slot_bytes)} slots need {required} (sum of slots + largest slot + "
                "2 sectors - 2 program units); give the tier a larger swap region or page less"
            )
        self.geometry = geometry
        self.slot_bytes = tuple(int(b) for b in slot_bytes)
        self.verify = bool(flags & VERIFY)
        largest = max(geometry.align(b) for b in self.slot_bytes)
        self.reserve = largest + geometry.sector_bytes - geometry.program_bytes  # Q = M + S - g
        self.head = 0
        self.free = 0
        self.start = [0] * len(self.slot_bytes)
        self.length = [0] * len(self.slot_bytes)  # 0 = no copy
        self.sector_erases = [0] * geometry.sectors
        self.bytes_read = 0
        self.bytes_programmed = 0
        self.bytes_relocated = 0
        self.page_outs = 0
        self.page_ins = 0
        self.relocations = 0

    # -- the operations ------------------------------------------------------------------------

    def page_out(self, slot: int, length: int) -> None:
        self._check_slot(slot)
        if not 0 < length <= self.slot_bytes[slot]:
            raise PagerError(f"ES_PAGER_E_LENGTH: page-out of {length} bytes into slot {slot} "
                             f"of {self.slot_bytes[slot]}")
        self.length[slot] = 0
        size = self.geometry.align(length)
        cleaned = 0
        while self.free < size + self.reserve:
            if cleaned == self.geometry.sectors:
                raise PagerError("ES_PAGER_E_NO_ROOM: a whole sweep did not make room (cannot happen "
                                 "for a valid region)")
            self._clean_frontier()
            cleaned += 1
        self.start[slot] = self.head
        self.length[slot] = length
        self._program(size)
        self.page_outs += 1

    def page_in(self, slot: int, length: int) -> None:
        self._check_slot(slot)
        if self.length[slot] == 0:
            raise PagerError(f"ES_PAGER_E_EMPTY: page-in of slot {slot}, which holds no copy")
        if length != self.length[slot]:
            raise PagerError(
                f"ES_PAGER_E_LENGTH: page-in of {length} bytes, the copy has {self.length[slot]}")
        self.bytes_read += length
        self.page_ins += 1

    def drop(self, slot: int) -> None:
        self._check_slot(slot)
        self.length[slot] = 0

    def reboot(self) -> None:
        """es_pager_init with a wear journal that holds every erase so far: the sweep resumes at
        sector E mod sectors (E = lifetime erases), nothing erased ahead, every slot empty; the
        erase counts carry over (the journal rebuilds them)."""
        lifetime = sum(self.sector_erases)
        self.head = (lifetime % self.geometry.sectors) * self.geometry.sector_bytes
        self.free = 0
        self.length = [0] * len(self.slot_bytes)

    def apply(self, op: PagerOp) -> None:
        if op.kind is OpKind.PAGE_OUT:
            self.page_out(op.slot, op.length)
        elif op.kind is OpKind.PAGE_IN:
            self.page_in(op.slot, op.length)
        elif op.kind is OpKind.REBOOT:
            self.reboot()
        else:
            self.drop(op.slot)

    # -- internals (pager.c, function for function) ------------------------------------------

    def _check_slot(self, slot: int) -> None:
        if not 0 <= slot < len(self.slot_bytes):
            raise PagerError(f"ES_PAGER_E_SLOT: slot {slot} of {len(self.slot_bytes)}")

    def _program(self, size: int) -> None:
        """Program ``size`` bytes at the head (and read them back when verifying)."""
        self.bytes_programmed += size
        if self.verify:
            self.bytes_read += size
        self.head = (self.head + size) % self.geometry.region_bytes
        self.free -= size

    def _clean_frontier(self) -> None:
        g = self.geometry
        if self.free > g.region_bytes - g.sector_bytes:
            raise PagerError("ES_PAGER_E_NO_ROOM: nothing left to clean (cannot happen for a valid region)")
        frontier = (self.head + self.free) % g.region_bytes
        while (slot := self._first_live_in(frontier)) is not None:
            size = g.align(self.length[slot])
            if self.free < size:
                raise PagerError("ES_PAGER_E_NO_ROOM: no room to relocate (cannot happen for a valid region)")
            self.bytes_read += size
            self.bytes_relocated += size
            self.relocations += 1
            self.start[slot] = self.head
            self._program(size)
        self.sector_erases[frontier // g.sector_bytes] += 1
        self.free += g.sector_bytes

    def _first_live_in(self, low: int) -> int | None:
        high = low + self.geometry.sector_bytes
        best: int | None = None
        for slot, (start, length) in enumerate(zip(self.start, self.length, strict=True)):
            if length and low <= start < high and (best is None or start < self.start[best]):
                best = slot
        return best

    def snapshot(self) -> tuple[int, int, int, tuple[int, ...], int, int, int]:
        return (self.bytes_read, self.bytes_programmed, self.bytes_relocated, tuple(self.sector_erases),
                self.page_outs, self.page_ins, self.relocations)


def predict(geometry: SwapGeometry, slot_bytes: Sequence[int], steps: Iterable[Sequence[PagerOp]],
            flags: int = 0) -> Prediction:
    """Run ``steps`` (each a sequence of operations) through the model; counters per step."""
    model = PagerModel(geometry, slot_bytes, flags)
    out: list[StepCounters] = []
    for ops in steps:
        before = model.snapshot()
        for op in ops:
            model.apply(op)
        after = model.snapshot()
        out.append(StepCounters(
            bytes_read=after[0] - before[0],
            bytes_programmed=after[1] - before[1],
            bytes_relocated=after[2] - before[2],
            erases=tuple(a - b for a, b in zip(after[3], before[3], strict=True)),
            page_outs=after[4] - before[4],
            page_ins=after[5] - before[5],
            relocations=after[6] - before[6],
        ))
    return Prediction(geometry, tuple(out), tuple(model.sector_erases))


def training_step(page_outs: Sequence[tuple[int, int]]) -> tuple[PagerOp, ...]:
    """The usual shape of a training step: (slot, bytes) paged out in forward order, paged in
    once each in reverse order (the backward pass), each copy dropped after its page-in."""
    ops = [PagerOp.out(slot, size) for slot, size in page_outs]
    for slot, size in reversed(page_outs):
        ops += [PagerOp.in_(slot, size), PagerOp.drop(slot)]
    return tuple(ops)
