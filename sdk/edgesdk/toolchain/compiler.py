"""Compile and link C sources for a board: host gcc, or arm-none-eabi-gcc with the board's flags,
edgesdk's start-up code and a linker script rendered from the board's memory sizes.

A link that does not fit is linked once more into oversized regions so that the ELF report can
say by how much it is too big (:class:`edgesdk.errors.FitError`).
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from edgesdk.boards import Board, load_board
from edgesdk.codegen.linker import render_linker_script
from edgesdk.errors import ToolchainError
from edgesdk.resources import runtime_dir
from edgesdk.targets import (
    ARM_CFLAGS,
    ARM_LDFLAGS,
    COMMON_CFLAGS,
    SANITIZE_FLAGS,
    Layout,
    Region,
    Target,
    layout_for,
    port_defines,
)
from edgesdk.toolchain.elf import ElfReport, check_fit, elf_report
from edgesdk.toolchain.tools import require

_OVERFLOW = re.compile(r"region `?(\w+)'? overflowed by (\d+) bytes|will not fit in region")


def runtime_include_dir() -> Path:
    return runtime_dir() / "include"


def port_sources() -> list[Path]:
    """Every port source: each is empty unless its ES_PORT_* macro is defined."""
    return sorted((runtime_dir() / "port").rglob("*.c"))


def kernel_sources() -> list[Path]:
    """The runtime's kernels (runtime_c/src), for callers that compile the whole runtime."""
    return sorted((runtime_dir() / "src").glob("*.c"))


@dataclass(frozen=True)
class Firmware:
    """A linked program: an ELF for the Cortex-M targets, an executable for the host."""

    path: Path
    board: Board
    target: Target
    layout: Layout | None
    linker_script: Path | None
    command: tuple[str, ...]  # the compiler invocation

    def report(self) -> ElfReport:
        sizes = {} if self.layout is None else {
            "flash_size": self.layout.flash.size_bytes,
            "sram_size": self.layout.ram.size_bytes,
        }
        return elf_report(
            self.path, board=self.board.name, target=self.target.value, layout=self.layout, **sizes
        )


def _define_flags(defines: Sequence[str]) -> list[str]:
    return [f"-D{item}" for item in defines]


def compile_firmware(
    sources: Sequence[Path | str],
    *,
    board: Board | str,
    out_dir: Path | str,
    target: Target | str = "auto",
    include_dirs: Sequence[Path | str] = (),
    defines: Sequence[str] = (),
    cflags: Sequence[str] = (),
    optimize: str = "-O2",
    stack_bytes: int | None = None,
    name: str = "firmware",
    with_port: bool = True,
    sanitize: bool = False,
    timeout_s: float = 300.0,
) -> Firmware:
    """Compile ``sources`` (plus the port, unless ``with_port`` is False) into one program.

    ``defines`` are ``NAME`` or ``NAME=VALUE``; ``sanitize`` (host only) adds ASan + UBSan.
    Raises ToolchainError when a tool is missing or the compiler fails, FitError when the program
    is larger than the board.
    """
    board = load_board(board) if isinstance(board, str) else board
    target = Target.parse(target, board)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    all_sources = [Path(s) for s in sources] + (port_sources() if with_port else [])
    includes = [f"-I{p}" for p in [*include_dirs, runtime_include_dir()]]
    common = [*COMMON_CFLAGS, optimize, *includes, *_define_flags([*port_defines(board, target), *defines])]

    if target is Target.HOST:
        compiler = require("gcc").command
        assert compiler is not None
        exe = out / name
        machine = board.cflags if board.is_host else ()  # a Cortex-M board's flags mean nothing to gcc
        command = [*compiler, *common, *machine, *(SANITIZE_FLAGS if sanitize else ()), *cflags,
                   *map(str, all_sources), "-o", str(exe), "-lm"]
        _run_compiler(command, timeout_s)
        return Firmware(exe, board, target, None, None, tuple(command))

    if sanitize:
        raise ToolchainError("sanitizers exist only for host builds; use target='host' with sanitize=True")
    compiler = require("arm-none-eabi-gcc").command
    assert compiler is not None
    layout = layout_for(board, target, stack_bytes)
    assert layout is not None
    script = out / f"{name}.ld"
    script.write_text(render_linker_script(board, target, layout))
    elf = out / f"{name}.elf"
    compile_part = [*compiler, *common, *board.cflags, *ARM_CFLAGS, *cflags, *map(str, all_sources)]

    def link(script_path: Path, elf_path: Path) -> list[str]:
        return [*compile_part, "-T", str(script_path), *ARM_LDFLAGS,
                f"-Wl,-Map={elf_path.with_suffix('.map')}", "-o", str(elf_path), "-lm"]

    command = link(script, elf)
    done = _invoke(command, timeout_s)
    firmware = Firmware(elf, board, target, layout, script, tuple(command))
    if done.returncode == 0:
        return firmware
    if not _OVERFLOW.search(done.stderr):
        raise _compiler_failed(command, done)
    # Too big: link again into oversized regions to measure by how much, then explain.
    roomy = _oversized(layout)
    roomy_script = out / f"{name}.oversized.ld"
    roomy_script.write_text(render_linker_script(board, target, roomy))
    roomy_elf = out / f"{name}.oversized.elf"
    again = _invoke(link(roomy_script, roomy_elf), timeout_s)
    if again.returncode != 0:
        raise _compiler_failed(command, done)
    check_fit(replace(firmware, path=roomy_elf).report())
    raise _compiler_failed(command, done)  # the linker found a problem the report does not see


def _oversized(layout: Layout) -> Layout:
    big = 1 << 28
    return Layout(
        flash=Region(layout.flash.name, layout.flash.origin, big),
        ram=Region(layout.ram.name, layout.ram.origin, big),
        extra_ram=tuple(Region(r.name, r.origin, big) for r in layout.extra_ram),
        stack_bytes=layout.stack_bytes,
    )


def _invoke(command: list[str], timeout_s: float) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(command, capture_output=True, text=True, timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired:
        raise ToolchainError(f"the compiler did not finish within {timeout_s:.0f} s: {command[0]}") from None
    except OSError as error:
        raise ToolchainError(f"cannot run {command[0]}: {error.strerror}") from None


def _run_compiler(command: list[str], timeout_s: float) -> None:
    done = _invoke(command, timeout_s)
    if done.returncode != 0:
        raise _compiler_failed(command, done)


def _compiler_failed(command: list[str], done: subprocess.CompletedProcess[str]) -> ToolchainError:
    output = (done.stderr or done.stdout).strip()
    if len(output) > 4000:
        output = output[:4000] + "\n[... cut]"
    tool = Path(command[0]).name
    return ToolchainError(f"compilation failed ({tool} exit status {done.returncode}):\n{output}")
