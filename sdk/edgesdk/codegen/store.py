"""Where a generated project commits its trained parameters (runtime_c ``store.h``).

``es_params_commit`` keeps the parameter image in a two-slot commit store on one storage tier of
the board (docs/storage.md): the board's QSPI NOR when it has one, else its first tier. The
store's region lies below the tier's swap region and the pager's wear journal (two sectors), so
the pager and the store never share a sector. Devices per target, as for the pager
(:mod:`edgesdk.codegen.swap`):

- host and the QEMU stand-ins: the simulated NOR device over a static array (in QEMU in the
  ``es_swap`` section outside the enforced RAM);
- a real board: its driver for that tier at the region's address, where edgesdk has one
  (STM32F7 QUADSPI, nRF52840 QSPI, nRF52 NVMC); elsewhere ``es_params_commit`` and
  ``es_params_restore`` return ``ES_ERR_IO`` (the project still builds).
"""

from __future__ import annotations

from dataclasses import dataclass

from edgesdk.boards import Board, StorageTier
from edgesdk.codegen.pager_model import DEFAULT_PROGRAM_BYTES
from edgesdk.codegen.swap import JOURNAL_SECTORS, BoardDriver

HEADER_BYTES = 32  # es_store header (ES_STORE_HEADER_MIN); the program unit is below it


@dataclass(frozen=True)
class StoreTier:
    """The commit store of a project: its tier, region and device."""

    tier: str  # board tier name
    region_bytes: int  # two slots (es_store_required_bytes)
    sector_bytes: int
    program_bytes: int
    driver: BoardDriver | None  # None: no store on the real board (only host and emulator)
    buffer_in_arena: bool  # the image is assembled in the arena (no extra RAM)

    @property
    def sectors(self) -> int:
        return self.region_bytes // self.sector_bytes

    @property
    def bitmap_bytes(self) -> int:
        return (self.region_bytes // self.program_bytes + 7) // 8

    @property
    def emulated_bytes(self) -> int:
        """What its simulated device takes in the QEMU stand-in's ``es_swap`` window."""
        return _up(self.region_bytes, 8) + _up(self.bitmap_bytes, 8) + 4 * self.sectors + 256


def _up(value: int, unit: int) -> int:
    return -(-value // unit) * unit


def required_store_bytes(
    image_bytes: int, sector_bytes: int, program_bytes: int = DEFAULT_PROGRAM_BYTES
) -> int:
    """es_store_required_bytes: two slots of header + padded image, each whole sectors."""
    header = max(HEADER_BYTES, program_bytes)
    slot = header + _up(image_bytes, program_bytes)
    return 2 * _up(slot, sector_bytes)


def store_tier_of(board: Board) -> StorageTier | None:
    """The tier the store uses: the first QSPI tier, else the first tier (None: no storage)."""
    for tier in board.storage:
        if "qspi" in tier.name.lower():
            return tier
    return board.storage[0] if board.storage else None


def store_for(board: Board, image_bytes: int, arena_bytes: int) -> StoreTier | None:
    """The commit store of a project whose parameter image has ``image_bytes`` (None when the
    board has no storage, or the image does not fit below the swap region)."""
    tier = store_tier_of(board)
    if tier is None or image_bytes <= 0:
        return None
    region = required_store_bytes(image_bytes, tier.sector_bytes)
    if region + JOURNAL_SECTORS * tier.sector_bytes > tier.size_bytes - tier.swap_bytes:
        return None
    return StoreTier(tier.name, region, tier.sector_bytes, DEFAULT_PROGRAM_BYTES,
                     _driver(board, tier, region), image_bytes <= arena_bytes)


def _driver(board: Board, tier: StorageTier, region: int) -> BoardDriver | None:
    """The board's driver over the ``region`` bytes below the tier's swap region and the pager's
    wear journal (JOURNAL_SECTORS sectors)."""
    qspi = "qspi" in tier.name.lower()
    journal = JOURNAL_SECTORS * tier.sector_bytes
    below = tier.size_bytes - tier.swap_bytes - journal - region
    sectors = region // tier.sector_bytes
    if board.port == "stm32f7" and qspi:
        return BoardDriver("stm32f7_qspi", "ES_PORT_STM32F7", "edgesdk/swap_stm32f7.h", below,
                           description=f"QUADSPI NOR, {sectors} sectors below the swap region")
    if board.port == "nrf52" and qspi:
        return BoardDriver("nrf52_qspi", "ES_PORT_NRF52", "edgesdk/swap_nrf52.h", below,
                           description=f"QSPI NOR, {sectors} sectors below the swap region")
    if board.port == "nrf52" and not qspi:
        base = board.flash_origin + board.flash_bytes - tier.swap_bytes - journal - region
        return BoardDriver("nrf52_nvmc", "ES_PORT_NRF52", "edgesdk/swap_nrf52.h", base,
                           description=f"internal flash (NVMC), {sectors} pages from {base:#x}")
    return None
