"""Board descriptions: one TOML file per board under ``boards/``, read into frozen dataclasses.

The schema (every key required unless marked optional) is documented in ``docs/boards.md``; the
planner's cost model, the code generator, the linker scripts and the emulator all read a
:class:`Board` and nothing else about the hardware.
"""

from __future__ import annotations

import difflib
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
    qemu_machine: str  # e.g. "mps2-an500"
    qemu_cpu: str  # e.g. "cortex-m7"


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

    @property
    def cflags(self) -> tuple[str, ...]:
        if self.core == "host":
            return ()
        flags = [f"-mcpu={self.core}", "-mthumb", f"-mfloat-abi={self.float_abi}"]
        if self.fpu:
            flags.append(f"-mfpu={self.fpu}")
        return tuple(flags)

    def cycles_per_mac(self, family: str) -> float:
        return self.costs.cycles_per_mac.get(family, self.costs.default_cycles_per_mac)


def available_boards() -> list[str]:
    return sorted(path.stem for path in boards_dir().glob("*.toml"))


def load_board(name_or_path: str | Path) -> Board:
    """Load a board by name (``stm32f746``) or from a TOML file path."""
    path = Path(name_or_path)
    if path.suffix != ".toml":
        path = boards_dir() / f"{name_or_path}.toml"
        if not path.is_file():
            names = available_boards()
            close = difflib.get_close_matches(str(name_or_path), names, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise BoardError(
                f"unknown board {str(name_or_path)!r}.{hint} Known boards: {', '.join(names)} "
                "(or pass the path of a board .toml file; `edgesdk boards` lists them)."
            )
    try:
        raw = tomllib.loads(path.read_text())
        return _parse_board(raw, path.stem)
    except OSError as error:
        raise BoardError(f"cannot read board file {path}: {error.strerror}") from None
    except (tomllib.TOMLDecodeError, KeyError, TypeError, ValueError) as error:
        raise BoardError(f"malformed board file {path}: {error!r}; see docs/boards.md for the schema") from None


def _parse_board(raw: dict[str, Any], stem: str) -> Board:
    core = raw["core"]
    memory = raw["memory"]
    costs = raw["costs"]
    pio = raw.get("platformio", {})
    emulation = raw.get("emulation")
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
        emulation=Emulation(emulation["qemu_machine"], emulation["qemu_cpu"]) if emulation else None,
        sources=tuple(raw.get("sources", [])),
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
