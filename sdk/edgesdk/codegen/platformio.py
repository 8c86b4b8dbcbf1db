"""PlatformIO project files for a board: ``platformio.ini``, the runtime as a library, linker scripts.

A project has two envs: ``<board>`` for the real board (a pinned ``platformio/ststm32@...`` /
``platformio/nordicnrf52@...`` and the board's PlatformIO id; needs PlatformIO's registry once to
fetch the platform) and ``<board>_emulated`` for its QEMU stand-in, which uses edgesdk's local
platform, copied into the project (``edgesdk/platform/``, see :mod:`edgesdk.codegen.pio_platform`),
and the system's arm-none-eabi-gcc, so it builds and runs with no network. No file of the project
names an absolute path: it can be moved or handed on. The PlatformIO home it is built with (the
one package PlatformIO needs, tool-scons) is a :class:`PlatformIOHome` the toolchain prepares
(:func:`edgesdk.toolchain.platformio.prepare_offline`); this module only writes files.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from edgesdk import __version__
from edgesdk.boards import Board, load_board
from edgesdk.codegen.linker import render_linker_script
from edgesdk.codegen.pio_platform import PLATFORM_SPEC, emulated_board_id, write_platform
from edgesdk.codegen.templating import render
from edgesdk.errors import BoardError
from edgesdk.resources import runtime_dir
from edgesdk.targets import ARM_CFLAGS, COMMON_CFLAGS, Target, layout_for, port_defines

LIBRARY_NAME = "edgesdk_runtime"
CONSOLE_BAUD = 115200  # the real-board ports' UART console (runtime_c/port/*/console_*.c)
PROJECT_CFLAGS = (*COMMON_CFLAGS, "-O2", *ARM_CFLAGS)


@dataclass(frozen=True)
class PlatformIOHome:
    """A PlatformIO core directory ready for offline builds of the emulated envs."""

    core_dir: Path
    installed_scons: bool = False  # True when preparing it installed tool-scons just now

    def environment(self) -> dict[str, str]:
        env = dict(os.environ)
        env["PLATFORMIO_CORE_DIR"] = str(self.core_dir)
        env["PLATFORMIO_SETTING_ENABLE_TELEMETRY"] = "No"
        return env


__all__ = [
    "CONSOLE_BAUD", "LIBRARY_NAME", "PlatformIOHome", "PlatformIOProject", "emulated_board_id",
    "write_library", "write_project",
]


@dataclass(frozen=True)
class PlatformIOProject:
    directory: Path
    board: Board
    board_env: str  # the real board
    emulated_env: str  # its QEMU stand-in
    offline: PlatformIOHome


def write_project(
    directory: Path | str,
    board: Board | str,
    home: PlatformIOHome,
    *,
    sources: Sequence[Path | str] = (),
    stack_bytes: int | None = None,
) -> PlatformIOProject:
    """Write platformio.ini, lib/edgesdk_runtime (the runtime as a library), the linker scripts in
    edgesdk/, edgesdk's local platform in edgesdk/platform/, and copy ``sources`` into src/.
    Existing files of the project are overwritten (callers check the directory first)."""
    board = load_board(board) if isinstance(board, str) else board
    if board.is_host or board.platformio_platform is None or board.emulation is None:
        raise BoardError(
            f"board {board.name!r} has no PlatformIO platform and QEMU stand-in; a PlatformIO project "
            "needs both ([platformio] and [emulation] in the board file)"
        )
    root = Path(directory).resolve()
    (root / "src").mkdir(parents=True, exist_ok=True)
    for source in sources:
        shutil.copyfile(source, root / "src" / Path(source).name)

    scripts = root / "edgesdk"
    scripts.mkdir(exist_ok=True)
    for target in (Target.BOARD, Target.EMULATED):
        layout = layout_for(board, target, stack_bytes)
        assert layout is not None
        (scripts / f"{board.name}_{target.value}.ld").write_text(render_linker_script(board, target, layout))

    write_library(root / "lib" / LIBRARY_NAME)
    write_platform(root, board)
    board_env, emulated_env = board.name, f"{board.name}_emulated"
    (root / "platformio.ini").write_text(
        render(
            "platformio/platformio.ini.j2",
            board=board,
            version=__version__,
            board_env=board_env,
            emulated_env=emulated_env,
            common_flags=PROJECT_CFLAGS,
            board_ldscript=f"edgesdk/{board.name}_board.ld",
            emulated_ldscript=f"edgesdk/{board.name}_emulated.ld",
            board_defines=port_defines(board, Target.BOARD),
            emulated_defines=port_defines(board, Target.EMULATED),
            platform_spec=PLATFORM_SPEC,
            monitor_speed=CONSOLE_BAUD,
            emulated_board_id=emulated_board_id(board),
        )
    )
    return PlatformIOProject(root, board, board_env, emulated_env, home)


def write_library(directory: Path | str) -> Path:
    """The runtime as a PlatformIO library: include/, src/ (kernels), port/ and library.json."""
    library = Path(directory)
    if library.exists():
        shutil.rmtree(library)
    library.mkdir(parents=True)
    runtime = runtime_dir()
    ignore = shutil.ignore_patterns("__pycache__", "*.o")
    for part in ("include", "src", "port"):
        if (runtime / part).is_dir():
            shutil.copytree(runtime / part, library / part, ignore=ignore)
    (library / "library.json").write_text(render("platformio/library.json.j2", version=__version__))
    return library
