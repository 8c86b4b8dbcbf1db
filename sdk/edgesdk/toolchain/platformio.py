"""Offline PlatformIO for the emulated envs: a PlatformIO home with tool-scons, and ``pio run``.

The only package PlatformIO insists on, ``tool-scons``, is made here from the installed SCons
distribution and installed into the PlatformIO home (once; :func:`prepare_offline` says whether
it did). edgesdk's local platform travels inside each project (edgesdk/platform/), so nothing
else of a project depends on the home. The project files are written by
:mod:`edgesdk.codegen.platformio`.

Which home: ``$EDGESDK_PLATFORMIO_DIR``, else ``$PLATFORMIO_CORE_DIR`` (the one a plain
``pio run`` uses), else edgesdk's own cache directory.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from edgesdk.codegen.platformio import PlatformIOHome, PlatformIOProject
from edgesdk.errors import FirmwareError, ToolchainError
from edgesdk.toolchain.protocol import Results, parse_results
from edgesdk.toolchain.tools import PLATFORMIO_VERSION, SCONS_VERSION, require

CORE_DIR_VARIABLE = "EDGESDK_PLATFORMIO_DIR"
SCONS_PACKAGE_VERSION = "4.41101.0"  # how PlatformIO 6.2.0 names SCons 4.11.1 (it requires ~4.41101.0)

_SCONS_LAUNCHER = '''\
"""Launcher of the tool-scons package that edgesdk made from the installed SCons distribution."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "scons-local"))

from SCons.Script.Main import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
'''


def default_core_dir() -> Path:
    for variable in (CORE_DIR_VARIABLE, "PLATFORMIO_CORE_DIR"):
        configured = os.environ.get(variable)
        if configured:
            return Path(configured).expanduser()
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "edgesdk" / "platformio"


def prepare_offline(core_dir: Path | str | None = None) -> PlatformIOHome:
    """Install tool-scons (made from the installed SCons) into the PlatformIO home ``core_dir``
    (default :func:`default_core_dir`) unless a matching one is there. Idempotent."""
    require("pio")
    require("scons")
    pio_version = importlib.metadata.version("platformio")
    scons_version = importlib.metadata.version("scons")
    if pio_version != PLATFORMIO_VERSION or scons_version != SCONS_VERSION:
        raise ToolchainError(
            f"offline PlatformIO builds need platformio {PLATFORMIO_VERSION} with scons {SCONS_VERSION} "
            f"(found platformio {pio_version}, scons {scons_version}); install them with:\n"
            f"    pip install platformio=={PLATFORMIO_VERSION} scons=={SCONS_VERSION}"
        )
    core = Path(core_dir) if core_dir is not None else default_core_dir()
    core = core.resolve()
    core.mkdir(parents=True, exist_ok=True)
    installed = _install_tool_scons(core / "packages" / "tool-scons")
    return PlatformIOHome(core, installed)


def scons_note(home: PlatformIOHome) -> str:
    """What a user is told when :func:`prepare_offline` installed tool-scons."""
    return (
        f"installed tool-scons {SCONS_PACKAGE_VERSION} (SCons {SCONS_VERSION} from this Python) into the "
        f"PlatformIO home {home.core_dir}, so that PlatformIO builds with no network; "
        "`pio run` uses that home when PLATFORMIO_CORE_DIR names it"
    )


def _install_tool_scons(target: Path) -> bool:
    """Make tool-scons in ``target``; False when a package of that version is already there."""
    manifest = target / "package.json"
    if manifest.is_file():
        try:
            if json.loads(manifest.read_text()).get("version") == SCONS_PACKAGE_VERSION:
                return False
        except ValueError:
            pass
    scons_package = Path(str(importlib.metadata.distribution("scons").locate_file("SCons")))
    if not (scons_package / "Script" / "Main.py").is_file():
        raise ToolchainError(
            f"the installed SCons distribution has no SCons package at {scons_package}; reinstall it with:\n"
            f"    pip install --force-reinstall scons=={SCONS_VERSION}"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".tool-scons-", dir=target.parent))
    shutil.copytree(
        scons_package,
        staging / "scons-local" / "SCons",
        ignore=shutil.ignore_patterns("__pycache__", "docbook-xsl-*"),
    )
    (staging / "scons.py").write_text(_SCONS_LAUNCHER)
    (staging / "package.json").write_text(
        json.dumps(
            {
                "name": "tool-scons",
                "version": SCONS_PACKAGE_VERSION,
                "description": f"SCons {SCONS_VERSION}, packaged by edgesdk from the installed distribution",
            },
            indent=2,
        )
    )
    piopm = {
        "type": "tool",
        "name": "tool-scons",
        "version": SCONS_PACKAGE_VERSION,
        "spec": {"owner": "platformio", "id": None, "name": "tool-scons", "requirements": None, "uri": None},
    }
    (staging / ".piopm").write_text(json.dumps(piopm))
    if target.exists():
        shutil.rmtree(target)
    staging.rename(target)
    return True


@dataclass(frozen=True)
class PioRun:
    command: tuple[str, ...]
    exit_status: int
    stdout: str
    stderr: str
    results: Results

    @property
    def firmware_status(self) -> int | None:
        """For ``-t exec``: the firmware's exit status (QEMU's), None if it never ran."""
        if self.exit_status == 0:
            return 0
        found = re.search(r"\*\*\* \[exec\] Error (\d+)", self.stdout + self.stderr)
        return int(found.group(1)) if found else None

    def check(self) -> PioRun:
        if self.exit_status != 0:
            tail = "\n".join((self.stdout + self.stderr).strip().splitlines()[-25:])
            what = " ".join(self.command[-4:])
            raise ToolchainError(f"`{what}` failed (exit status {self.exit_status}):\n{tail}")
        return self


def pio_run(
    project: PlatformIOProject, env: str, target: str | None = None, *, timeout_s: float = 300.0
) -> PioRun:
    """``pio run -e <env> [-t <target>]`` in the project, with the offline core directory.

    For ``target="exec"`` the firmware's result lines are parsed into ``results``.
    """
    pio = require("pio").command
    assert pio is not None
    command = [*pio, "run", "-d", str(project.directory), "-e", env]
    if target:
        command += ["-t", target]
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout_s, check=False,
            env=project.offline.environment(), errors="replace",
        )
    except subprocess.TimeoutExpired:
        raise FirmwareError(f"`{' '.join(command)}` did not finish within {timeout_s:.0f} s") from None
    results = parse_results(done.stdout.splitlines() + done.stderr.splitlines())
    return PioRun(tuple(command), done.returncode, done.stdout, done.stderr, results)


def program_path(project: PlatformIOProject, env: str) -> Path:
    """The ELF PlatformIO built for ``env`` (``program.elf`` or ``firmware.elf``, by platform)."""
    build = project.directory / ".pio" / "build" / env
    found = sorted(build.glob("*.elf"))
    if not found:
        raise ToolchainError(f"PlatformIO has not built env {env!r} in {project.directory} yet")
    return found[0]
