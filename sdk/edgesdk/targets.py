"""Where a firmware runs (host, the QEMU stand-in, or the real board) and the memory it is linked for.

- ``host``: the build machine's gcc, the host port; no memory limits.
- ``emulated``: arm-none-eabi-gcc with the board's core flags, the qemu port, linked at the
  stand-in's origins but with the **real board's** RAM and flash sizes.
- ``board``: the real board's flags, origins and port (compile-only here; flash it with PlatformIO).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from edgesdk.boards import Board
from edgesdk.errors import BoardError

# Every build: strict C99, and no fused multiply-add so that host and target compute the same bits.
COMMON_CFLAGS = ("-std=c99", "-Wall", "-Wextra", "-Werror", "-ffp-contract=off")
# Cortex-M builds: per-function sections for --gc-sections, and start-up loops kept as loops.
ARM_CFLAGS = ("-ffunction-sections", "-fdata-sections", "-fno-tree-loop-distribute-patterns")
ARM_LDFLAGS = ("-nostartfiles", "--specs=nano.specs", "--specs=nosys.specs", "-Wl,--gc-sections")
SANITIZE_FLAGS = ("-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-g")


class Target(enum.Enum):
    HOST = "host"
    EMULATED = "emulated"
    BOARD = "board"

    @classmethod
    def parse(cls, value: Target | str, board: Board) -> Target:
        """Accept a Target or its name; "auto" means host for the host board, else emulated."""
        if isinstance(value, Target):
            target = value
        elif value == "auto":
            target = cls.HOST if board.is_host else cls.EMULATED
        else:
            try:
                target = cls(value)
            except ValueError:
                names = ", ".join(t.value for t in cls)
                raise BoardError(f"unknown target {value!r}; use one of {names} or auto") from None
        if board.is_host and target is not cls.HOST:
            raise BoardError("the host board only has the host target")
        if target is cls.EMULATED and board.emulation is None:
            raise BoardError(f"board {board.name!r} has no [emulation] section, so it cannot be emulated")
        return target


@dataclass(frozen=True)
class Region:
    name: str  # "FLASH", "RAM" or an extra RAM region's name
    origin: int
    size_bytes: int


@dataclass(frozen=True)
class Layout:
    """The memory a Cortex-M firmware is linked into (what the linker script enforces)."""

    flash: Region
    ram: Region
    extra_ram: tuple[Region, ...]
    stack_bytes: int

    def region_of(self, address: int) -> Region | None:
        for region in (self.flash, self.ram, *self.extra_ram):
            if region.origin <= address < region.origin + region.size_bytes:
                return region
        return None


def layout_for(board: Board, target: Target, stack_bytes: int | None = None) -> Layout | None:
    """The link layout for an arm target; None for the host."""
    if target is Target.HOST:
        return None
    stack = board.stack_bytes if stack_bytes is None else int(stack_bytes)
    emulated = target is Target.EMULATED
    assert not emulated or board.emulation is not None
    flash_origin = board.emulation.flash_origin if emulated and board.emulation else board.flash_origin
    ram_origin = board.emulation.ram_origin if emulated and board.emulation else board.ram_origin
    return Layout(
        flash=Region("FLASH", flash_origin, board.flash_bytes),
        ram=Region("RAM", ram_origin, board.sram_bytes),
        extra_ram=tuple(
            Region(r.name, r.emulated_origin if emulated else r.origin, r.size_bytes) for r in board.extra_ram
        ),
        stack_bytes=stack,
    )


def port_defines(board: Board, target: Target, with_startup: bool = True) -> tuple[str, ...]:
    """The -D macros that select the port (see edgesdk/port.h)."""
    if target is Target.HOST:
        return ("ES_PORT_HOST",)
    port = "qemu" if target is Target.EMULATED else board.port
    defines = [f"ES_PORT_{port.upper()}"]
    if with_startup:
        defines.append("ES_PORT_STARTUP")
    return tuple(defines)
