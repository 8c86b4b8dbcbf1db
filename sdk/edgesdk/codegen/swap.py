"""The swap devices of a generated project that pages, and what its pager will do.

A schedule pages buffers to one or more storage tiers of the board (``Instruction.tier``). The
generated ``model.c`` gives each tier a pager (runtime_c ``pager.h``) over a swap device chosen
per target at compile time:

- host (``ES_PORT_HOST``) and the QEMU stand-ins (``ES_PORT_QEMU``): the simulated NOR device
  (``swap_sim.h``, memory backend) with the tier's geometry from the board file: region
  ``swap_bytes``, sector ``sector_bytes``, 32-bit program unit. It enforces the NOR rules and
  counts double programs, so the run proves the pager never breaks them. In QEMU its memory is
  placed in the linker section ``.es_swap``, a memory region of the stand-in *outside* the RAM
  the linker script enforces (:func:`emulated_swap_board`): the RAM limit stays the real
  board's, and the device's bytes cost no SRAM, as on the board where they are in flash;
- the real board (its port macro): the board's swap driver for that tier (:class:`BoardDriver`),
  compile-only and untested on hardware until someone runs it (docs/pager.md).

:func:`pager_steps` turns a schedule into the pager calls of one training step and
:func:`predict_counters` replays K steps through :mod:`edgesdk.codegen.pager_model`, which
predicts the C pager's counters exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from edgesdk.boards import Board, MemoryRegion, StorageTier
from edgesdk.codegen.names import c_identifier
from edgesdk.codegen.pager_model import (
    DEFAULT_PROGRAM_BYTES,
    VERIFY,
    PagerOp,
    Prediction,
    SwapGeometry,
    geometry_for,
    predict,
)
from edgesdk.errors import BoardError
from edgesdk.plan.schedule import Schedule

JOURNAL_SECTORS = 2  # the pager's wear journal (pager.h), below each swap region
SCRATCH_BYTES = 256  # the pager's relocation bounce buffer (docs/pager.md: 256 B is a good size)
SWAP_SECTION = "es_swap"  # linker section and memory region of the simulated devices in QEMU
SIM_FLAGS = 0  # pager flags on the simulated device: nothing to verify, the simulation checks NOR rules
BOARD_FLAGS = VERIFY  # on real boards: read back every program until the driver is proven on hardware

# Where each QEMU stand-in has memory outside the enforced RAM (QEMU hw/arm/mps2.c, checked by a
# write/read-back test): the 16 MB PSRAM of the MPS2 FPGA images.
EMULATED_SWAP_WINDOWS: dict[str, tuple[int, int]] = {
    "mps2-an500": (0x60000000, 16 << 20),
    "mps2-an385": (0x21000000, 16 << 20),
    "mps2-an386": (0x21000000, 16 << 20),
}


@dataclass(frozen=True)
class BoardDriver:
    """A real board's swap driver for one tier (runtime_c/port/<port>/swap_*.c)."""

    kind: str  # stm32f7_qspi | stm32f7_flash | nrf52_qspi | nrf52_nvmc (a macro in model.c.j2)
    port_macro: str  # ES_PORT_STM32F7 | ES_PORT_NRF52
    header: str
    base: int  # stm32f7_flash / nrf52_nvmc: address; *_qspi: offset of the region in the chip
    first_sector: int = 0  # stm32f7_flash: flash sector number at base
    description: str = ""
    journal_base: int = 0  # the pager's wear journal: JOURNAL_SECTORS sectors just below the region


@dataclass(frozen=True)
class SwapTier:
    """One tier the schedule pages to: its pager, device geometry and slots."""

    name: str  # board tier name
    ident: str  # C identifier used in the generated names
    geometry: SwapGeometry
    slot_bytes: tuple[int, ...]  # capacity of each pager slot (Schedule.slots)
    driver: BoardDriver | None  # None: no driver for this tier on the board's port
    board_port: str

    @property
    def sectors(self) -> int:
        return self.geometry.sectors

    @property
    def bitmap_bytes(self) -> int:
        """The simulation's one-bit-per-program-unit map (double programs)."""
        return (self.geometry.region_bytes // self.geometry.program_bytes + 7) // 8

    @property
    def emulated_bytes(self) -> int:
        """What the simulated device takes in the stand-in's swap window: data, bitmap, its wear
        account and its state (es_swap_sim, under 256 B)."""
        journal = JOURNAL_SECTORS * self.geometry.sector_bytes
        journal_bitmap = (journal // self.geometry.program_bytes + 7) // 8
        return (_up(self.geometry.region_bytes, 8) + _up(self.bitmap_bytes, 8) + 4 * self.sectors + 256
                + _up(journal, 8) + _up(journal_bitmap, 8) + 4 * JOURNAL_SECTORS + 256)


def _up(value: int, unit: int) -> int:
    return -(-value // unit) * unit


def swap_tiers(board: Board, schedule: Schedule) -> tuple[SwapTier, ...]:
    """The tiers ``schedule`` pages to, with their devices on ``board``."""
    tiers = {tier.name: tier for tier in board.storage}
    found = []
    for name in schedule.tiers:
        if name not in tiers:
            raise BoardError(
                f"the schedule pages to {name!r}, which {board.name} does not have "
                f"(its storage: {', '.join(tiers) or 'none'})"
            )
        tier = tiers[name]
        found.append(
            SwapTier(
                name=name,
                ident=c_identifier(name),
                geometry=geometry_for(tier, DEFAULT_PROGRAM_BYTES),
                slot_bytes=tuple(schedule.slots[name]),
                driver=board_driver(board, tier),
                board_port=board.port,
            )
        )
    return tuple(found)


def board_driver(board: Board, tier: StorageTier) -> BoardDriver | None:
    """The real board's driver for ``tier``, placed at the top of the device (None if edgesdk has
    none for this port and tier: the project then pages only on the host and in the emulator)."""
    sectors = tier.swap_bytes // tier.sector_bytes
    qspi = "qspi" in tier.name.lower()
    top = tier.size_bytes - tier.swap_bytes
    journal = JOURNAL_SECTORS * tier.sector_bytes
    if board.port == "stm32f7" and qspi:
        return BoardDriver(
            "stm32f7_qspi", "ES_PORT_STM32F7", "edgesdk/swap_stm32f7.h", top,
            description=f"QUADSPI NOR, the chip's top {tier.swap_bytes // 1024} KB ({sectors} sectors)",
            journal_base=top - journal,
        )
    if board.port == "nrf52" and qspi:
        return BoardDriver(
            "nrf52_qspi", "ES_PORT_NRF52", "edgesdk/swap_nrf52.h", top,
            description=f"QSPI NOR, the chip's top {tier.swap_bytes // 1024} KB ({sectors} sectors)",
            journal_base=top - journal,
        )
    base = board.flash_origin + board.flash_bytes - tier.swap_bytes
    if board.port == "nrf52":
        return BoardDriver(
            "nrf52_nvmc", "ES_PORT_NRF52", "edgesdk/swap_nrf52.h", base,
            description=f"internal flash (NVMC), the top {sectors} pages from {base:#x}",
            journal_base=base - journal,
        )
    if board.port == "stm32f7":
        first = _sector_at(board, tier.swap_bytes)
        if first is None:
            return None
        return BoardDriver(
            "stm32f7_flash", "ES_PORT_STM32F7", "edgesdk/swap_stm32f7.h", base, first,
            description=f"internal flash, sectors {first}..{first + sectors - 1} from {base:#x}",
        )
    return None


def _sector_at(board: Board, swap_bytes: int) -> int | None:
    """The number of the flash sector where the top ``swap_bytes`` start, if on a boundary."""
    offset = board.flash_bytes - swap_bytes
    number = position = 0
    for group in board.flash_sectors:
        for _ in range(group.count):
            if position == offset:
                return number
            position += group.bytes
            number += 1
    return None


def emulated_swap_region(
    board: Board, tiers: Sequence[SwapTier], extra_bytes: int = 0
) -> tuple[int, int] | None:
    """(origin, bytes) of the ``es_swap`` region the simulated devices of ``tiers`` (and
    ``extra_bytes`` of other simulated flash: the commit store's) need in ``board``'s QEMU
    stand-in, outside the RAM its linker script enforces; None without either or without a
    stand-in."""
    if (not tiers and not extra_bytes) or board.emulation is None:
        return None
    window = EMULATED_SWAP_WINDOWS.get(board.emulation.qemu_machine)
    if window is None:
        raise BoardError(
            f"edgesdk knows no memory outside RAM in QEMU {board.emulation.qemu_machine} for the "
            "simulated swap device; build this project for the host"
        )
    origin, size = window
    need = _up(sum(tier.emulated_bytes for tier in tiers) + extra_bytes, 4096)
    if need > size:
        raise BoardError(
            f"the simulated swap devices need {need:,} B, more than the {size:,} B QEMU "
            f"{board.emulation.qemu_machine} has outside RAM; page to fewer tiers (--tier)"
        )
    return origin, need


def with_swap_region(board: Board, origin: int, size_bytes: int) -> Board:
    """``board`` with the ``es_swap`` memory region (used only by its emulated target's script)."""
    region = MemoryRegion(SWAP_SECTION, origin, size_bytes, origin)
    return replace(board, extra_ram=(*board.extra_ram, region))


def emulated_swap_board(board: Board, tiers: Sequence[SwapTier]) -> Board:
    """``board`` with one more memory region, ``es_swap``, in its QEMU stand-in's address space
    outside the enforced RAM, big enough for the simulated devices of ``tiers``."""
    region = emulated_swap_region(board, tiers)
    return board if region is None else with_swap_region(board, *region)


# ---------------------------------------------------------------- pager calls and counters


def pager_steps(schedule: Schedule, tier: str) -> tuple[PagerOp, ...]:
    """The pager calls of one training step on ``tier``, in order (a drop after a last read)."""
    ops: list[PagerOp] = []
    for ins in schedule.instructions:
        if ins.tier != tier or ins.slot is None:
            continue
        if ins.op == "page_out":
            ops.append(PagerOp.out(ins.slot, ins.nbytes))
        elif ins.op == "page_in":
            ops.append(PagerOp.in_(ins.slot, ins.nbytes))
            if ins.last_read:
                ops.append(PagerOp.drop(ins.slot))
    return tuple(ops)


def predict_counters(schedule: Schedule, tier: SwapTier, steps: int, flags: int = SIM_FLAGS) -> Prediction:
    """What the C pager of ``tier`` counts over ``steps`` training steps (from es_init)."""
    return predict(tier.geometry, tier.slot_bytes, [pager_steps(schedule, tier.name)] * steps, flags)
