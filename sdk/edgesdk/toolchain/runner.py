"""Run a firmware: the host executable directly, a Cortex-M ELF in QEMU on the board's stand-in.

QEMU runs with ``-icount shift=0`` (one instruction per virtual nanosecond, so the qemu port's
SysTick counts instructions deterministically) and semihosting (the firmware's text and its exit
status come back through it). The output is parsed with :mod:`edgesdk.toolchain.protocol`.
"""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from edgesdk.boards import Board
from edgesdk.errors import FirmwareError, ToolchainError
from edgesdk.targets import Target
from edgesdk.toolchain.compiler import Firmware
from edgesdk.toolchain.protocol import Results, parse_results
from edgesdk.toolchain.tools import require

FAULT_STATUS = 255  # ES_PORT_FAULT_STATUS in runtime_c/port/cortex_m/cortex_m.h
REGISTER_DUMP = ("R0", "R1", "R2", "R3", "R4", "R5", "R6", "R7", "R8", "R9", "R1", "s", "d", "XPSR", "FPSCR")


@dataclass(frozen=True)
class RunResult:
    command: tuple[str, ...]
    exit_status: int
    stdout: str
    stderr: str
    results: Results
    wall_s: float

    @property
    def ok(self) -> bool:
        return self.exit_status == 0 and "fault" not in self.results

    @property
    def locked_up(self) -> bool:
        """QEMU stopped the core: a fault while handling a fault (e.g. the stack ran off RAM)."""
        return "Lockup" in self.stderr

    def check(self, expected_status: int = 0) -> RunResult:
        """Raise FirmwareError unless the firmware exited with ``expected_status`` and no fault."""
        if "fault" in self.results:
            raise FirmwareError(
                f"the firmware took a fault (HFSR {self.results.get('fault.hfsr', 0):#010x}, CFSR "
                f"{self.results.get('fault.cfsr', 0):#010x}); a stack overflow or an access outside "
                f"RAM is the usual cause.{self._tail()}"
            )
        if self.locked_up:
            raise FirmwareError(
                "the core locked up (a fault inside the fault handler); the usual cause is a stack "
                "overflow off the start of RAM: reserve more stack ([firmware] stack_bytes in the "
                "board file, or stack_bytes= when building)" + self._tail()
            )
        if self.exit_status != expected_status:
            raise FirmwareError(
                f"the firmware exited with status {self.exit_status}, expected {expected_status}."
                + self._tail()
            )
        return self

    def _tail(self) -> str:
        lines = (self.stdout + self.stderr).strip().splitlines()
        text = [line for line in lines if not line.startswith(REGISTER_DUMP)][-15:]
        return ("\nlast output:\n" + "\n".join(text)) if text else ""


def qemu_command(board: Board, elf: Path) -> list[str]:
    if board.emulation is None:
        raise ToolchainError(f"board {board.name!r} has no QEMU stand-in ([emulation] in its board file)")
    qemu = require("qemu-system-arm").command
    assert qemu is not None
    return [
        *qemu,
        "-M", board.emulation.qemu_machine,
        "-cpu", board.emulation.qemu_cpu,
        "-icount", "shift=0",
        "-semihosting-config", "enable=on,target=native",
        "-nographic", "-monitor", "none", "-serial", "null",
        "-kernel", str(elf),
    ]


def run_firmware(firmware: Firmware, *, timeout_s: float = 120.0) -> RunResult:
    """Run on the host or in QEMU and parse the result lines. Raises FirmwareError on a time-out
    or malformed output; a non-zero exit status is returned (see :meth:`RunResult.check`)."""
    if firmware.target is Target.HOST:
        command = [str(firmware.path)]
    elif firmware.target is Target.EMULATED:
        command = qemu_command(firmware.board, firmware.path)
    else:
        raise ToolchainError(
            f"a firmware built for the real {firmware.board.name} cannot run here; build the emulated "
            "target to run it in QEMU, or flash the board with PlatformIO "
            "(`pio run -e <board env> -t upload`)"
        )
    start = time.perf_counter()
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s, check=False,
                              errors="replace")
    except subprocess.TimeoutExpired:
        raise FirmwareError(
            f"the firmware did not finish within {timeout_s:.0f} s ({' '.join(command)}); it may loop "
            "forever, or it faulted where it could not report (e.g. a stack overflow off the start of RAM)"
        ) from None
    except OSError as error:
        raise ToolchainError(f"cannot run {command[0]}: {error.strerror}") from None
    wall = time.perf_counter() - start
    # semihosting text arrives on QEMU's stderr; the host port writes to stdout
    results = parse_results(done.stdout.splitlines() + done.stderr.splitlines())
    return RunResult(tuple(command), done.returncode, done.stdout, done.stderr, results, wall)
