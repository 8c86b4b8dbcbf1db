"""Instructions per MAC of the fp32 runtime kernels on the emulated Cortex-M7 and Cortex-M4F.

    python benchmarks/kernel_instructions.py

Builds benchmarks/kernel_instructions.c with edgesdk.toolchain for each emulated board, runs it in
QEMU (-icount: the counter is instructions, not cycles) and prints one row per kernel.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from edgesdk.toolchain import compile_firmware, kernel_sources, run_firmware

SOURCE = Path(__file__).resolve().parent / "kernel_instructions.c"
BOARDS = ("stm32f746", "nrf52840")


def measure(board: str, out_dir: Path) -> dict[str, tuple[int, int]]:
    firmware = compile_firmware([SOURCE, *kernel_sources()], board=board, out_dir=out_dir,
                                name="kernel_instructions")
    results = run_firmware(firmware, timeout_s=600).check().results
    names = [key.removeprefix("kernel.") for key in results.raw if key.startswith("kernel.")]
    return {name: (int(results[f"kernel.{name}"]), int(results[f"macs.{name}"])) for name in names}


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        table = {board: measure(board, Path(tmp) / board) for board in BOARDS}
    names = list(table[BOARDS[0]])
    print(f"{'kernel':<18} {'MACs':>8} " + " ".join(f"{b + ' instr/MAC':>20}" for b in BOARDS))
    for name in names:
        macs = table[BOARDS[0]][name][1]
        cells = " ".join(f"{table[b][name][0] / macs:>20.2f}" for b in BOARDS)
        print(f"{name:<18} {macs:>8} {cells}")


if __name__ == "__main__":
    main()
