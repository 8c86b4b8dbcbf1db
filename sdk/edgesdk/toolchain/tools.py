"""Find the compilers, the emulator and PlatformIO, and say how to install what is missing.

Every tool is looked up on PATH (PlatformIO also as the ``platformio`` Python package), its version
read from its own ``--version`` output. :func:`require` raises :class:`ToolchainError` with the exact
install command; ``edgesdk doctor`` prints :func:`survey`.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from edgesdk.errors import ToolchainError

APT_PACKAGES = ("gcc-arm-none-eabi", "libnewlib-arm-none-eabi", "qemu-system-arm")
APT_INSTALL_ALL = "apt-get install -y --no-install-recommends " + " ".join(APT_PACKAGES)
PLATFORMIO_VERSION = "6.2.0"
SCONS_VERSION = "4.11.1"


@dataclass(frozen=True)
class ToolSpec:
    name: str  # what edgesdk calls it (and the executable, for the binaries)
    purpose: str
    install: str  # the command that installs it on a Debian/Ubuntu machine or in the venv


@dataclass(frozen=True)
class Tool:
    spec: ToolSpec
    command: tuple[str, ...] | None  # how to invoke it; None when missing
    version: str | None
    detail: str = ""  # e.g. what else is missing although the executable is there

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def found(self) -> bool:
        return self.command is not None and not self.detail


SPECS: dict[str, ToolSpec] = {
    spec.name: spec
    for spec in (
        ToolSpec(
            "gcc",
            "host C compiler (host builds and tests)",
            "apt-get install -y --no-install-recommends gcc",
        ),
        ToolSpec(
            "arm-none-eabi-gcc",
            "cross compiler and newlib for the Cortex-M boards",
            "apt-get install -y --no-install-recommends gcc-arm-none-eabi libnewlib-arm-none-eabi",
        ),
        ToolSpec(
            "qemu-system-arm",
            "emulator for the mps2 stand-ins of the boards (edgesdk run --emulate)",
            "apt-get install -y --no-install-recommends qemu-system-arm",
        ),
        ToolSpec(
            "pio",
            "PlatformIO Core (builds the generated projects)",
            f"pip install platformio=={PLATFORMIO_VERSION}",
        ),
        ToolSpec(
            "scons",
            "SCons, packaged as PlatformIO's tool-scons for offline builds",
            f"pip install scons=={SCONS_VERSION}",
        ),
    )
}


def _first_line(command: list[str]) -> str | None:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = (done.stdout or done.stderr).strip()
    return text.splitlines()[0] if text else None


def _version_number(line: str | None) -> str | None:
    if line is None:
        return None
    match = re.search(r"\d+\.\d+\.\d+", line) or re.search(r"\d+\.\d+", line)
    return match.group(0) if match else line


def _find_binary(spec: ToolSpec) -> Tool:
    path = shutil.which(spec.name)
    if path is None:
        return Tool(spec, None, None)
    return Tool(spec, (path,), _version_number(_first_line([path, "--version"])))


def _find_arm_gcc(spec: ToolSpec) -> Tool:
    tool = _find_binary(spec)
    if tool.command is None:
        return tool
    libc = _first_line([tool.command[0], "-print-file-name=libc_nano.a"])
    if libc is None or not Path(libc).is_absolute():
        return Tool(spec, tool.command, tool.version, detail="newlib (libnewlib-arm-none-eabi) is missing")
    return tool


def _find_platformio(spec: ToolSpec) -> Tool:
    if importlib.util.find_spec("platformio") is not None:
        version = importlib.metadata.version("platformio")
        return Tool(spec, (sys.executable, "-m", "platformio"), version)
    path = shutil.which("pio")
    if path is None:
        return Tool(spec, None, None)
    return Tool(spec, (path,), _version_number(_first_line([path, "--version"])))


def _find_scons(spec: ToolSpec) -> Tool:
    try:
        version = importlib.metadata.version("scons")
    except importlib.metadata.PackageNotFoundError:
        return Tool(spec, None, None)
    return Tool(spec, (sys.executable, "-m", "SCons"), version)


_FINDERS = {
    "gcc": _find_binary,
    "arm-none-eabi-gcc": _find_arm_gcc,
    "qemu-system-arm": _find_binary,
    "pio": _find_platformio,
    "scons": _find_scons,
}


def find_tool(name: str) -> Tool:
    """Look one tool up (see :data:`SPECS` for the names)."""
    spec = SPECS[name]
    return _FINDERS[name](spec)


def survey() -> list[Tool]:
    """Every tool edgesdk can use, found or not."""
    return [find_tool(name) for name in SPECS]


def require(name: str) -> Tool:
    """The tool, or a ToolchainError that says what it is for and how to install it."""
    tool = find_tool(name)
    if tool.found:
        return tool
    problem = tool.detail or f"{name} is not installed (or not on PATH)"
    raise ToolchainError(
        f"{problem}; edgesdk needs it as the {tool.spec.purpose}. Install it with:\n"
        f"    {tool.spec.install}\n"
        f"(everything for the boards and their emulators at once: {APT_INSTALL_ALL}; "
        "`edgesdk doctor` lists what is present)"
    )
