"""A real board: flash a generated project with ``pio run -t upload`` and read its console.

Both use the user's ordinary PlatformIO home (``$PLATFORMIO_CORE_DIR``, else ``~/.platformio``),
where the real board's platform (e.g. ``platformio/ststm32@19.6.0``) is installed once with
``pio pkg install -g -p <platform>`` (that needs the network). Before anything runs, the
functions here check what can be checked and say what is missing: PlatformIO, the platform, a
serial port. The console is read with pyserial (a PlatformIO dependency); its lines are parsed
with :mod:`edgesdk.toolchain.protocol` until the firmware's ``exit`` record.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from edgesdk.boards import Board
from edgesdk.errors import FirmwareError, ToolchainError
from edgesdk.toolchain.protocol import Results, parse_results
from edgesdk.toolchain.tools import require

EXIT_KEY = "exit"  # the last record a real-board firmware prints (runtime_c/port/cortex_m/board.c)
NO_BOARD_HINTS = (
    "no connected", "unable to connect", "not found", "could not find", "error: no", "no device",
    "no st-link", "no j-link", "failed to open",
)


def board_core_dir() -> Path:
    """The PlatformIO home a plain ``pio`` command uses."""
    configured = os.environ.get("PLATFORMIO_CORE_DIR")
    return Path(configured).expanduser() if configured else Path.home() / ".platformio"


def platform_name(spec: str) -> str:
    """``platformio/ststm32@19.6.0`` -> ``ststm32``."""
    return spec.split("@", 1)[0].rsplit("/", 1)[-1]


def installed_platform_version(core_dir: Path, spec: str) -> str | None:
    """The version of ``spec``'s platform installed in ``core_dir``, None if there is none."""
    name = platform_name(spec)
    platforms = core_dir / "platforms"
    if not platforms.is_dir():
        return None
    for manifest in sorted(platforms.glob("*/platform.json")):
        try:
            data = json.loads(manifest.read_text())
        except (OSError, ValueError):
            continue
        if data.get("name") == name:
            return str(data.get("version", "?"))
    return None


def require_platform(board: Board, core_dir: Path | None = None) -> None:
    """Raise ToolchainError naming the ``pio pkg install`` to run when the platform is missing."""
    spec = board.platformio_platform
    if spec is None:
        raise ToolchainError(
            f"board {board.name!r} names no PlatformIO platform ([platformio] in its board file)"
        )
    core = core_dir or board_core_dir()
    if installed_platform_version(core, spec) is None:
        raise ToolchainError(
            f"the PlatformIO platform {platform_name(spec)} is not installed in the PlatformIO home {core}; "
            f"install it once (this needs the network) with:\n    pio pkg install -g -p {spec}"
        )


@dataclass(frozen=True)
class Upload:
    command: tuple[str, ...]
    output: str


def upload(directory: Path, board: Board, env: str, *, timeout_s: float = 600.0) -> Upload:
    """``pio run -e <env> -t upload`` in the project; clear errors for no platform and no board."""
    pio = require("pio").command
    assert pio is not None
    require_platform(board)
    command = (*pio, "run", "-d", str(directory), "-e", env, "-t", "upload")
    environment = dict(os.environ, PLATFORMIO_SETTING_ENABLE_TELEMETRY="No")
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout_s, check=False, env=environment,
            errors="replace",
        )
    except subprocess.TimeoutExpired:
        raise FirmwareError(f"`{' '.join(command)}` did not finish within {timeout_s:.0f} s") from None
    output = done.stdout + done.stderr
    if done.returncode != 0:
        tail = "\n".join(output.strip().splitlines()[-15:])
        if any(hint in output.lower() for hint in NO_BOARD_HINTS):
            raise FirmwareError(
                f"no {board.title} answered the upload: connect the board's debug USB port (its "
                f"on-board programmer) and try again.\n{tail}"
            )
        raise FirmwareError(f"`pio run -e {env} -t upload` failed (exit status {done.returncode}):\n{tail}")
    return Upload(command, output)


def serial_ports() -> list[str]:
    from serial.tools import list_ports

    return sorted(port.device for port in list_ports.comports())


@dataclass(frozen=True)
class ConsoleRun:
    port: str
    lines: tuple[str, ...]
    results: Results
    exit_status: int | None  # the firmware's exit record, None if it did not arrive in time
    wall_s: float


def monitor(port: str | None, baud: int, *, timeout_s: float = 600.0) -> ConsoleRun:
    """Read the board's console until its ``@es exit`` record (or ``timeout_s``)."""
    import serial

    if port is None:
        ports = serial_ports()
        if not ports:
            raise FirmwareError(
                "no board found: this machine has no serial port; connect the board's USB port "
                "(its virtual COM port carries the console) or name the port with --port"
            )
        if len(ports) > 1:
            raise FirmwareError(f"several serial ports ({', '.join(ports)}): name the board's with --port")
        port = ports[0]
    start = time.monotonic()
    lines: list[str] = []
    try:
        with serial.Serial(port, baud, timeout=1.0) as link:
            while time.monotonic() - start < timeout_s:
                raw = link.readline()
                if not raw:
                    continue
                line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
                lines.append(line)
                if line.startswith(f"@es {EXIT_KEY} "):
                    break
    except serial.SerialException as error:
        raise FirmwareError(f"cannot read the console on {port}: {error}") from None
    results = parse_results(lines)
    status = results.get(EXIT_KEY)
    return ConsoleRun(port, tuple(lines), results, None if status is None else int(status),
                      time.monotonic() - start)
