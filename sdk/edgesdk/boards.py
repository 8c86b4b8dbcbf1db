"""Board descriptions: one TOML file per board under ``boards/``, read into frozen dataclasses.

The schema (every key required unless marked optional) is documented in ``docs/boards.md``; the
planner's cost model, the code generator, the linker scripts and the emulator all read a
:class:`Board` and nothing else about the hardware.
"""

from __future__ import annotations

import difflib
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

from edgesdk.errors import BoardError
from edgesdk.resources import boards_dir


@dataclass(frozen=True)
class StorageTier:
    """A place tensors can be paged out to (NOR flash semantics: erase to 0xFF, program 1->0)."""

    name: str  # e.g. "internal_flash", "qspi_nor"
    size_bytes: int  # whole device
    swap_bytes: int  # the region edgesdk may use for paging
    sector_bytes: int  # erase unit inside the swap region
    read_bytes_per_s: float
    read_latency_s: float  # per access (command/address phase, wait states)
    program_bytes_per_s: float
    program_latency_s: float  # per access
    erase_sector_s: float
    erase_cycles: int  # endurance per sector
    read_current_a: float
    program_current_a: float
    erase_current_a: float


@dataclass(frozen=True)
class Costs:
    """Compute cost model; cycles per MAC per kernel family and precision, e.g. "conv2d_f32"."""

    cycles_per_mac: dict[str, float]
    default_cycles_per_mac: float  # for families not listed
    cycles_per_byte_moved: float  # elementwise/copy kernels: cycles per output byte
    run_current_a: float  # MCU running from flash at clock_hz
    voltage_v: float


@dataclass(frozen=True)
class Emulation:
    """The QEMU machine that stands in for the board, and where its memories are.

    The emulated build links at these origins but with the real board's sizes, so a program that
    fits the stand-in fits the board.
    """

    qemu_machine: str  # e.g. "mps2-an500"
    qemu_cpu: str  # e.g. "cortex-m7"
    flash_origin: int = 0x00000000  # code memory of the stand-in (vector table at reset)
    ram_origin: int = 0x20000000


@dataclass(frozen=True)
class MemoryRegion:
    """RAM outside the main SRAM range (e.g. STM32F4 CCM): not counted in ``sram_bytes``.

    The linker script gives it an output section named after it (``.ccmram``) that programs
    place data in explicitly.
    """

    name: str  # lower-case identifier, also the section name
    origin: int
    size_bytes: int
    emulated_origin: int  # where the emulated build puts it (inside the stand-in's RAM)


@dataclass(frozen=True)
class FlashSectors:
    """``count`` consecutive internal-flash sectors (erase units) of ``bytes`` each."""

    count: int
    bytes: int


KNOWN_PORTS = ("host", "stm32f7", "stm32f4", "nrf52")


@dataclass(frozen=True)
class Board:
    name: str
    title: str
    core: str  # gcc -mcpu value, e.g. "cortex-m7"; "host" for the host build
    fpu: str | None  # gcc -mfpu value or None
    float_abi: str  # "hard", "softfp" or "soft"
    clock_hz: int
    sram_bytes: int  # all SRAM the training runtime may use (arena + static + stack)
    flash_bytes: int  # internal flash: code + const weights
    ram_origin: int
    flash_origin: int
    storage: tuple[StorageTier, ...]
    costs: Costs
    platformio_platform: str | None
    platformio_board: str | None
    emulation: Emulation | None
    sources: tuple[str, ...]  # where the figures come from (datasheets)
    # -- added with defaults (optional in the TOML)
    port: str = "host"  # runtime_c/port/<port> for the real board: host, stm32f7, stm32f4, nrf52
    stack_bytes: int = 8192  # stack reserved by the linker script (part of sram_bytes)
    flash_sectors: tuple[FlashSectors, ...] = ()  # internal flash layout, low to high
    extra_ram: tuple[MemoryRegion, ...] = ()
    extra_cflags: tuple[str, ...] = ()  # added to cflags (e.g. a vendor define)

    @property
    def aliases(self) -> tuple[str, ...]:
        """Other names ``--board`` takes for this board: its PlatformIO board id."""
        pio = self.platformio_board
        return (pio,) if pio and pio != self.name else ()

    @property
    def is_host(self) -> bool:
        return self.core == "host"

    @property
    def cflags(self) -> tuple[str, ...]:
        """Code-generation flags for the board's core (empty for the host)."""
        if self.is_host:
            return self.extra_cflags
        flags = [f"-mcpu={self.core}", "-mthumb", f"-mfloat-abi={self.float_abi}"]
        if self.fpu:
            flags.append(f"-mfpu={self.fpu}")
        return tuple(flags) + self.extra_cflags

    @property
    def emulated_by(self) -> str:
        """What runs this board's firmware here: "host", "mps2-an500 (cortex-m7)" or "-"."""
        if self.is_host:
            return "host"
        if self.emulation is None:
            return "-"
        return f"{self.emulation.qemu_machine} ({self.emulation.qemu_cpu})"

    @property
    def storage_summary(self) -> str:
        """E.g. "internal_flash 256 KB swap, qspi_nor 16 MB"."""
        return ", ".join(f"{tier.name} {human_bytes(tier.size_bytes)}" for tier in self.storage) or "-"

    def describe(self) -> dict[str, Any]:
        """A JSON-friendly summary (what ``edgesdk boards --json`` prints for each board)."""
        return {
            "name": self.name,
            "title": self.title,
            "core": self.core,
            "fpu": self.fpu,
            "clock_hz": self.clock_hz,
            "sram_bytes": self.sram_bytes,
            "flash_bytes": self.flash_bytes,
            "stack_bytes": self.stack_bytes,
            "extra_ram": [
                {"name": r.name, "origin": r.origin, "size_bytes": r.size_bytes} for r in self.extra_ram
            ],
            "flash_sectors": [{"count": s.count, "bytes": s.bytes} for s in self.flash_sectors],
            "storage": [
                {
                    "name": t.name,
                    "size_bytes": t.size_bytes,
                    "swap_bytes": t.swap_bytes,
                    "sector_bytes": t.sector_bytes,
                    "erase_cycles": t.erase_cycles,
                }
                for t in self.storage
            ],
            "aliases": list(self.aliases),
            "port": self.port,
            "platformio": {"platform": self.platformio_platform, "board": self.platformio_board},
            "emulation": None
            if self.emulation is None
            else {"qemu_machine": self.emulation.qemu_machine, "qemu_cpu": self.emulation.qemu_cpu},
            "emulated_by": self.emulated_by,
            "sources": list(self.sources),
        }

    def cycles_per_mac(self, family: str) -> float:
        return self.costs.cycles_per_mac.get(family, self.costs.default_cycles_per_mac)


def human_bytes(size: int) -> str:
    for unit, scale in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if size >= scale and size % (scale // 4 or 1) == 0:
            value = size / scale
            return f"{value:g} {unit}"
    return f"{size} B"


def available_boards() -> list[str]:
    return sorted(path.stem for path in boards_dir().glob("*.toml"))


def board_names() -> dict[str, str]:
    """Every name ``--board`` takes (edgesdk's names and PlatformIO board ids) -> edgesdk's name."""
    names = {name: name for name in available_boards()}
    for name in available_boards():
        for alias in _read_board(boards_dir() / f"{name}.toml").aliases:
            names.setdefault(alias, name)
    return names


def load_board(name_or_path: str | Path) -> Board:
    """Load a board by name (``stm32f746``), PlatformIO board id (``disco_f746ng``) or from a TOML
    file path."""
    path = Path(name_or_path)
    if path.suffix != ".toml":
        path = boards_dir() / f"{name_or_path}.toml"
        if not path.is_file():
            names = board_names()
            if str(name_or_path) in names:
                return load_board(names[str(name_or_path)])
            close = difflib.get_close_matches(str(name_or_path), list(names), n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            known = ", ".join(
                f"{board.name} ({', '.join(board.aliases)})" if board.aliases else board.name
                for board in load_all_boards()
            )
            raise BoardError(
                f"unknown board {str(name_or_path)!r}.{hint} Known boards (PlatformIO ids in brackets): "
                f"{known} (or pass the path of a board .toml file; `edgesdk boards` lists them)."
            )
    return _read_board(path)


def _read_board(path: Path) -> Board:
    try:
        raw = tomllib.loads(path.read_text())
        board = _parse_board(raw, path.stem)
    except OSError as error:
        raise BoardError(f"cannot read board file {path}: {error.strerror}") from None
    except (tomllib.TOMLDecodeError, KeyError, TypeError, ValueError) as error:
        raise BoardError(
            f"malformed board file {path}: {error!r}; see docs/boards.md for the schema"
        ) from None
    _check_board(board, path)
    return board


def load_all_boards() -> list[Board]:
    return [load_board(name) for name in available_boards()]


def _check_board(board: Board, path: Path) -> None:
    problems = []
    if board.port not in KNOWN_PORTS:
        problems.append(f"[firmware] port {board.port!r} is not one of {', '.join(KNOWN_PORTS)}")
    if board.sram_bytes <= 0 or board.flash_bytes <= 0:
        problems.append("[memory] sram_bytes and flash_bytes must be positive")
    if not board.is_host and not 0 < board.stack_bytes < board.sram_bytes:
        problems.append("[firmware] stack_bytes must be positive and below sram_bytes")
    if board.flash_sectors:
        total = sum(s.count * s.bytes for s in board.flash_sectors)
        if total != board.flash_bytes:
            problems.append(
                f"[memory] flash_sectors add up to {total} bytes, not flash_bytes={board.flash_bytes}"
            )
    for tier in board.storage:
        if tier.swap_bytes > tier.size_bytes or tier.sector_bytes <= 0 or tier.swap_bytes % tier.sector_bytes:
            problems.append(
                f"storage {tier.name!r}: swap_bytes must be a multiple of sector_bytes and at most size_bytes"
            )
    if problems:
        raise BoardError(
            f"board file {path} is inconsistent: " + "; ".join(problems) + " (see docs/boards.md)"
        )


def _parse_board(raw: dict[str, Any], stem: str) -> Board:
    core = raw["core"]
    memory = raw["memory"]
    costs = raw["costs"]
    pio = raw.get("platformio", {})
    emulation = raw.get("emulation")
    firmware = raw.get("firmware", {})
    is_host = core["cpu"] == "host"
    return Board(
        name=raw.get("name", stem),
        title=raw["title"],
        core=core["cpu"],
        fpu=core.get("fpu"),
        float_abi=core.get("float_abi", "soft"),
        clock_hz=int(core["clock_hz"]),
        sram_bytes=int(memory["sram_bytes"]),
        flash_bytes=int(memory["flash_bytes"]),
        ram_origin=int(memory.get("ram_origin", 0x20000000)),
        flash_origin=int(memory.get("flash_origin", 0x08000000)),
        storage=tuple(_parse_storage(tier) for tier in raw.get("storage", [])),
        costs=Costs(
            cycles_per_mac={str(k): float(v) for k, v in costs["cycles_per_mac"].items()},
            default_cycles_per_mac=float(costs["default_cycles_per_mac"]),
            cycles_per_byte_moved=float(costs["cycles_per_byte_moved"]),
            run_current_a=float(costs["run_current_a"]),
            voltage_v=float(costs["voltage_v"]),
        ),
        platformio_platform=pio.get("platform"),
        platformio_board=pio.get("board"),
        emulation=_parse_emulation(emulation) if emulation else None,
        sources=tuple(raw.get("sources", [])),
        port=str(firmware.get("port", "host" if is_host else "")),
        stack_bytes=int(firmware.get("stack_bytes", 0 if is_host else 8192)),
        flash_sectors=tuple(
            FlashSectors(int(item["count"]), int(item["bytes"])) for item in memory.get("flash_sectors", [])
        ),
        extra_ram=tuple(
            MemoryRegion(
                name=str(item["name"]),
                origin=int(item["origin"]),
                size_bytes=int(item["size_bytes"]),
                emulated_origin=int(item["emulated_origin"]),
            )
            for item in memory.get("extra_ram", [])
        ),
        extra_cflags=tuple(str(flag) for flag in core.get("extra_cflags", [])),
    )


def _parse_emulation(raw: dict[str, Any]) -> Emulation:
    return Emulation(
        qemu_machine=raw["qemu_machine"],
        qemu_cpu=raw["qemu_cpu"],
        flash_origin=int(raw.get("flash_origin", 0x00000000)),
        ram_origin=int(raw.get("ram_origin", 0x20000000)),
    )


def _parse_storage(raw: dict[str, Any]) -> StorageTier:
    return StorageTier(
        name=raw["name"],
        size_bytes=int(raw["size_bytes"]),
        swap_bytes=int(raw["swap_bytes"]),
        sector_bytes=int(raw["sector_bytes"]),
        read_bytes_per_s=float(raw["read_bytes_per_s"]),
        read_latency_s=float(raw["read_latency_s"]),
        program_bytes_per_s=float(raw["program_bytes_per_s"]),
        program_latency_s=float(raw["program_latency_s"]),
        erase_sector_s=float(raw["erase_sector_s"]),
        erase_cycles=int(raw["erase_cycles"]),
        read_current_a=float(raw["read_current_a"]),
        program_current_a=float(raw["program_current_a"]),
        erase_current_a=float(raw["erase_current_a"]),
    )
