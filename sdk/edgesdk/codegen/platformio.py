"""PlatformIO project files for a board: ``platformio.ini``, the runtime as a library, linker scripts.

A project has two envs: ``<board>`` for the real board (``platform = ststm32`` / ``nordicnrf52``
and the board's PlatformIO id; needs PlatformIO's registry once to fetch the platform) and
``<board>_emulated`` for its QEMU stand-in, which uses edgesdk's local platform (shipped under
boards/platformio/) and the system's arm-none-eabi-gcc, so it builds and runs with no network.
Where that platform and PlatformIO's home are is a :class:`PlatformIOHome` the toolchain prepares
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
from edgesdk.codegen.templating import render
from edgesdk.errors import BoardError
from edgesdk.resources import runtime_dir
from edgesdk.targets import ARM_CFLAGS, COMMON_CFLAGS, Target, layout_for, port_defines

LIBRARY_NAME = "edgesdk_runtime"
PROJECT_CFLAGS = (*COMMON_CFLAGS, "-O2", *ARM_CFLAGS)


@dataclass(frozen=True)
class PlatformIOHome:
    """A PlatformIO core directory ready for offline builds of the emulated envs."""

    core_dir: Path
    platform_dir: Path  # the local platform, referenced as symlink://<platform_dir>

    def environment(self) -> dict[str, str]:
        env = dict(os.environ)
        env["PLATFORMIO_CORE_DIR"] = str(self.core_dir)
        env["PLATFORMIO_SETTING_ENABLE_TELEMETRY"] = "No"
        return env


def emulated_board_id(board: Board) -> str:
    return f"edgesdk_{board.name}_emulated"



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
    edgesdk/, and copy ``sources`` into src/. Existing files of the project are overwritten."""
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
            platform_dir=home.platform_dir,
            emulated_board_id=emulated_board_id(board),
            core_dir=home.core_dir,
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
