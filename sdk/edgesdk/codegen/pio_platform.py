"""edgesdk's local PlatformIO platform, written into each project (``edgesdk/platform/``).

The emulated env of a generated project names it as ``symlink://${PROJECT_DIR}/edgesdk/platform``:
PlatformIO 6.2 expands ``${PROJECT_DIR}`` to the project's directory when it reads
platformio.ini, so the project keeps working wherever it is moved and with any PlatformIO home.
The platform is the builder shipped under ``boards/platformio/`` plus one board manifest: the
project board's QEMU stand-in, written from the board file.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from edgesdk.boards import Board
from edgesdk.resources import boards_dir

PLATFORM_DIR = "edgesdk/platform"  # inside the project
PLATFORM_SPEC = "symlink://${PROJECT_DIR}/" + PLATFORM_DIR


def emulated_board_id(board: Board) -> str:
    return f"edgesdk_{board.name}_emulated"


def write_platform(project_dir: Path, board: Board) -> Path:
    """Copy the platform into ``project_dir/edgesdk/platform`` with ``board``'s manifest."""
    source = boards_dir() / "platformio"
    platform = project_dir / PLATFORM_DIR
    if platform.exists():
        shutil.rmtree(platform)
    (platform / "builder").mkdir(parents=True)
    (platform / "boards").mkdir()
    shutil.copyfile(source / "platform.json", platform / "platform.json")
    shutil.copyfile(source / "builder" / "main.py", platform / "builder" / "main.py")
    manifest = platform / "boards" / f"{emulated_board_id(board)}.json"
    manifest.write_text(json.dumps(board_manifest(board), indent=2) + "\n")
    return platform


def board_manifest(board: Board) -> dict[str, object]:
    """PlatformIO's board manifest of ``board``'s QEMU stand-in."""
    assert board.emulation is not None
    return {
        "name": f"{board.title} on QEMU {board.emulation.qemu_machine}",
        "url": "https://www.qemu.org/docs/master/system/arm/mps2.html",
        "vendor": "edgesdk",
        "frameworks": [],
        "build": {
            "cpu": board.emulation.qemu_cpu,
            "mcu": board.name,
            "f_cpu": "25000000L",
            "fpu": board.fpu or "",
            "float_abi": board.float_abi,
        },
        "upload": {
            "maximum_ram_size": board.sram_bytes,
            "maximum_size": board.flash_bytes,
            "protocol": "qemu",
            "protocols": ["qemu"],
        },
        "edgesdk": {
            "board": board.name,
            "qemu_machine": board.emulation.qemu_machine,
            "qemu_cpu": board.emulation.qemu_cpu,
        },
    }
