"""Build a project directory written by :func:`edgesdk.codegen.platformio.write_project` directly,
without PlatformIO: the same sources (``src/``, ``lib/edgesdk_runtime``) through
:func:`compile_firmware`, for the host, the emulated stand-in or the real board's flags.

This is the fallback when PlatformIO is not installed, and the way to run a project on the host.
"""

from __future__ import annotations

from pathlib import Path

from edgesdk.boards import Board
from edgesdk.errors import ToolchainError
from edgesdk.targets import Target
from edgesdk.toolchain.compiler import Firmware, compile_firmware

LIBRARY = Path("lib") / "edgesdk_runtime"


def project_sources(directory: Path | str) -> tuple[list[Path], list[Path]]:
    """(C sources, include directories) of a project: src/**, the library's src/ and port/."""
    root = Path(directory)
    library = root / LIBRARY
    if not (root / "src").is_dir() or not library.is_dir():
        raise ToolchainError(
            f"{root} is not an edgesdk project (it needs src/ and {LIBRARY}/); write one with `edgesdk build`"
        )
    sources = sorted((root / "src").rglob("*.c"))
    sources += sorted((library / "src").glob("*.c")) + sorted((library / "port").rglob("*.c"))
    includes = [path for path in (root / "include", root / "src", library / "include") if path.is_dir()]
    return sources, includes


def compile_directory(
    directory: Path | str,
    board: Board | str,
    *,
    target: Target | str = "auto",
    out_dir: Path | str | None = None,
    **options: object,
) -> Firmware:
    """Compile the project for ``board``; ``options`` go to :func:`compile_firmware`."""
    sources, includes = project_sources(directory)
    target_name = target.value if isinstance(target, Target) else target
    out = Path(out_dir) if out_dir is not None else Path(directory) / "build" / target_name
    return compile_firmware(
        sources,
        board=board,
        out_dir=out,
        target=target,
        include_dirs=includes,
        with_port=False,  # the project's own copy of the ports is among the sources
        **options,  # type: ignore[arg-type]
    )
