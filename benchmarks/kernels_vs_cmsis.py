"""Instructions per MAC of edgesdk's int8 training kernels beside CMSIS-NN's int8 forward.

    python benchmarks/kernels_vs_cmsis.py

Builds benchmarks/kernels_vs_cmsis.c for the emulated STM32F746 (QEMU mps2-an500, Cortex-M7) and
runs it under -icount (the counter is instructions, not cycles). Five layer shapes, one row
each: edgesdk's forward, input gradient (dx), weight gradient (dw) and weight gradient fused
with its QAS update, each the kernel code generation calls for that layer, in instructions per
forward MAC; in brackets the reference kernel's figure where a faster kernel replaces it. Every
picked kernel's output is compared with its reference kernel's, bit for bit.

CMSIS-NN is not part of edgesdk and this script does not build it: its column holds CMSIS-NN's
forward instructions per MAC on the same five shapes, measured on the same emulated core with the
same compiler and flags (CMSIS-NN commit 99f736a6, GCC 12.2 -O2, QEMU mps2-an500 -icount shift=0;
the project's recorded reference figures), and the ratio divides edgesdk's measured figure by it.

The firmware's RAM is the board's 320 KB raised to 2 MiB (QEMU's machine has 4 MiB): the float
gradients of the largest shapes do not fit beside each other and their reference copies.
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

from edgesdk.boards import load_board
from edgesdk.toolchain import compile_firmware, kernel_sources, run_firmware

ROOT = Path(__file__).resolve().parent.parent
SOURCE = Path(__file__).resolve().parent / "kernels_vs_cmsis.c"
BOARD = "stm32f746"
RAM_BYTES = 2 * 1024 * 1024
KINDS = ("conv", "depthwise", "FC")
COLUMNS = ("fwd", "dx", "dw", "qas")
# CMSIS-NN's int8 forward, instructions per MAC on the firmware's five shapes in their order (see above)
CMSIS_NN_COMMIT = "99f736a6"
CMSIS_NN_FWD = (2.66, 1.73, 8.01, 4.88, 1.93)


@dataclass(frozen=True)
class Row:
    shape: tuple[int, ...]  # kind, H, W, IC, OC, K, stride, pad
    macs: int
    picked: dict[str, int]  # column -> instructions of the kernel code generation calls
    reference: dict[str, int]  # column -> instructions of the reference kernel
    same: dict[str, bool]  # column -> picked output == reference output
    own: dict[str, bool]  # column -> the picked kernel is not the reference kernel
    cmsis: float  # CMSIS-NN's forward instructions per MAC (recorded, see the module docstring)

    @property
    def label(self) -> str:
        kind, h, w, ic, oc, k, stride, pad = self.shape
        if KINDS[kind] == "FC":
            return f"FC {ic}->{oc}"
        if KINDS[kind] == "depthwise":
            return f"depthwise {k}x{k} {h}x{w}x{ic} pad {pad}"
        return f"{k}x{k} conv {h}x{w} {ic}->{oc}" + (f" /{stride} pad {pad}" if k > 1 else "")


def measure(out_dir: Path) -> list[Row]:
    board = replace(load_board(BOARD), sram_bytes=RAM_BYTES)
    firmware = compile_firmware([SOURCE, *kernel_sources()], board=board, target="emulated",
                                out_dir=out_dir, name="kernels_vs_cmsis")
    results = run_firmware(firmware, timeout_s=900).check().results
    indices = sorted(key.removeprefix("macs.") for key in results.raw if key.startswith("macs."))
    rows = []
    assert len(indices) == len(CMSIS_NN_FWD), "the firmware's shapes are not the five of the table"
    for i in indices:
        rows.append(Row(
            tuple(results[f"shape.{i}"]), int(results[f"macs.{i}"]),
            {c: int(results[f"{c}.{i}"]) for c in COLUMNS},
            {c: int(results[f"{c}_ref.{i}"]) for c in COLUMNS},
            {c: int(results[f"{c}_same.{i}"]) == 1 for c in COLUMNS},
            {c: int(results[f"{c}_own.{i}"]) == 1 for c in COLUMNS},
            CMSIS_NN_FWD[int(i)],
        ))
    return rows


def commit() -> str:
    command = ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"]
    done = subprocess.run(command, capture_output=True, text=True)
    dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True).stdout.strip()
    return (done.stdout.strip() or "unknown") + (" (with uncommitted changes)" if dirty else "")


def cell(row: Row, column: str) -> str:
    picked = row.picked[column] / row.macs
    if not row.own[column]:
        return f"{picked:.2f}"
    return f"{picked:.2f} ({row.reference[column] / row.macs:.2f})"


def main() -> None:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        rows = measure(Path(tmp))
    print(f"commit {commit()}; QEMU mps2-an500 (Cortex-M7), instructions per forward MAC (-icount); "
          "(reference kernel) where code generation picks a faster one")
    print(f"CMSIS-NN fwd: recorded figures of CMSIS-NN {CMSIS_NN_COMMIT} on the same shapes and core")
    head = ["shape", "MACs", "CMSIS-NN fwd", "edgesdk fwd", "ratio", "bwd dx", "bwd dw", "dw + QAS update"]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for row in rows:
        fwd = row.picked["fwd"] / row.macs
        cells = [row.label, f"{row.macs:,}", f"{row.cmsis:.2f}", cell(row, "fwd"), f"{fwd / row.cmsis:.2f}"]
        cells += [cell(row, c) for c in ("dx", "dw", "qas")]
        print("| " + " | ".join(cells) + " |")
    differing = [f"{r.label} {c}" for r in rows for c in COLUMNS if not r.same[c]]
    if differing:
        raise SystemExit(f"DIFFERENT OUTPUTS: {differing}")
    print("outputs equal on every shape (picked == reference kernel)")


if __name__ == "__main__":
    main()
