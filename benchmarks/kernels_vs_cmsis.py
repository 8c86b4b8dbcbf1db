"""Instructions per MAC of edgesdk's int8 training kernels beside CMSIS-NN's int8 forward.

    python benchmarks/kernels_vs_cmsis.py [--cmsis-nn DIR]      (or CMSIS_NN_DIR=DIR)

Builds benchmarks/kernels_vs_cmsis.c for the emulated STM32F746 (QEMU mps2-an500, Cortex-M7) and
runs it under -icount (the counter is instructions, not cycles). Five layer shapes, one row
each: edgesdk's forward, input gradient (dx), weight gradient (dw) and weight gradient fused
with its QAS update, each the kernel code generation calls for that layer, in instructions per
forward MAC; in brackets the reference kernel's figure where a faster kernel replaces it. Every
picked kernel's output is compared with its reference kernel's, bit for bit.

CMSIS-NN is not part of edgesdk: give the root of a copy of ARM-software/CMSIS-NN (the directory
holding Include/ and Source/) and its int8 kernels are compiled into the same firmware with the
same compiler and flags (warnings are not errors there), run on the same data, and their outputs
compared byte for byte with edgesdk's. Without it the table has the edgesdk columns alone.

The firmware's RAM is the board's 320 KB raised to 2 MiB (QEMU's machine has 4 MiB): the float
gradients of the largest shapes do not fit beside each other and their reference copies.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

from edgesdk.boards import load_board
from edgesdk.targets import ARM_CFLAGS
from edgesdk.toolchain import compile_firmware, kernel_sources, run_firmware
from edgesdk.toolchain.tools import require

ROOT = Path(__file__).resolve().parent.parent
SOURCE = Path(__file__).resolve().parent / "kernels_vs_cmsis.c"
BOARD = "stm32f746"
RAM_BYTES = 2 * 1024 * 1024
KINDS = ("conv", "depthwise", "FC")
COLUMNS = ("fwd", "dx", "dw", "qas")
# the CMSIS-NN sources of its int8 convolution, depthwise and fully connected kernels
CMSIS_SOURCES = ("ConvolutionFunctions/*_s8*.c", "FullyConnectedFunctions/*_s8*.c", "NNSupportFunctions/*.c")


@dataclass(frozen=True)
class Row:
    shape: tuple[int, ...]  # kind, H, W, IC, OC, K, stride, pad
    macs: int
    picked: dict[str, int]  # column -> instructions of the kernel code generation calls
    reference: dict[str, int]  # column -> instructions of the reference kernel
    same: dict[str, bool]  # column -> picked output == reference output
    own: dict[str, bool]  # column -> the picked kernel is not the reference kernel
    cmsis: int | None
    cmsis_same: bool | None

    @property
    def label(self) -> str:
        kind, h, w, ic, oc, k, stride, pad = self.shape
        if KINDS[kind] == "FC":
            return f"FC {ic}->{oc}"
        if KINDS[kind] == "depthwise":
            return f"depthwise {k}x{k} {h}x{w}x{ic} pad {pad}"
        return f"{k}x{k} conv {h}x{w} {ic}->{oc}" + (f" /{stride} pad {pad}" if k > 1 else "")


def cmsis_objects(cmsis: Path, out_dir: Path) -> list[Path]:
    """CMSIS-NN's int8 kernels compiled for the board, with the flags of edgesdk's firmware."""
    if not (cmsis / "Include" / "arm_nnfunctions.h").is_file():
        raise SystemExit(f"{cmsis} is not a CMSIS-NN copy (no Include/arm_nnfunctions.h); give the "
                         "directory that holds CMSIS-NN's Include/ and Source/")
    board = load_board(BOARD)
    compiler = require("arm-none-eabi-gcc").command
    assert compiler is not None
    sources = sorted(p for pattern in CMSIS_SOURCES for p in (cmsis / "Source").glob(pattern)
                     if not p.stem.endswith(("_f16", "_f32")))
    objects = []
    for source in sources:
        obj = out_dir / f"{source.stem}.o"
        command = [*compiler, "-std=c99", "-O2", "-ffp-contract=off", *board.cflags, *ARM_CFLAGS,
                   f"-I{cmsis / 'Include'}", "-c", str(source), "-o", str(obj)]
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"compiling CMSIS-NN's {source.name} failed:\n{done.stderr.strip()}")
        objects.append(obj)
    return objects


def measure(out_dir: Path, cmsis: Path | None) -> list[Row]:
    board = replace(load_board(BOARD), sram_bytes=RAM_BYTES)
    extra: list[Path] = []
    include_dirs: list[Path] = []
    defines: list[str] = []
    if cmsis is not None:
        (out_dir / "cmsis").mkdir(parents=True, exist_ok=True)
        extra = cmsis_objects(cmsis, out_dir / "cmsis")
        include_dirs = [cmsis / "Include"]
        defines = ["ES_BENCH_CMSIS"]
    firmware = compile_firmware([SOURCE, *kernel_sources(), *extra], board=board, target="emulated",
                                out_dir=out_dir, name="kernels_vs_cmsis", include_dirs=include_dirs,
                                defines=defines)
    results = run_firmware(firmware, timeout_s=900).check().results
    indices = sorted(key.removeprefix("macs.") for key in results.raw if key.startswith("macs."))
    rows = []
    for i in indices:
        has_cmsis = f"cmsis.{i}" in results.raw
        rows.append(Row(
            tuple(results[f"shape.{i}"]), int(results[f"macs.{i}"]),
            {c: int(results[f"{c}.{i}"]) for c in COLUMNS},
            {c: int(results[f"{c}_ref.{i}"]) for c in COLUMNS},
            {c: int(results[f"{c}_same.{i}"]) == 1 for c in COLUMNS},
            {c: int(results[f"{c}_own.{i}"]) == 1 for c in COLUMNS},
            int(results[f"cmsis.{i}"]) if has_cmsis else None,
            int(results[f"cmsis_same.{i}"]) == 1 if has_cmsis else None,
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


def cmsis_commit(cmsis: Path) -> str:
    done = subprocess.run(["git", "-C", str(cmsis), "rev-parse", "--short", "HEAD"], capture_output=True,
                          text=True)
    return done.stdout.strip() or "unknown commit"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cmsis-nn", type=Path, default=os.environ.get("CMSIS_NN_DIR") or None,
                        help="root of a CMSIS-NN copy (default: $CMSIS_NN_DIR; none: edgesdk alone)")
    args = parser.parse_args()
    cmsis = args.cmsis_nn.resolve() if args.cmsis_nn else None
    with tempfile.TemporaryDirectory() as tmp:
        rows = measure(Path(tmp), cmsis)
    print(f"commit {commit()}; QEMU mps2-an500 (Cortex-M7), instructions per forward MAC (-icount); "
          "(reference kernel) where code generation picks a faster one")
    if cmsis is not None:
        print(f"CMSIS-NN {cmsis_commit(cmsis)}")
    head = ["shape", "MACs"] + (["CMSIS-NN fwd"] if cmsis else []) + ["edgesdk fwd"]
    head += (["ratio"] if cmsis else []) + ["bwd dx", "bwd dw", "dw + QAS update"]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for row in rows:
        cells = [row.label, f"{row.macs:,}"]
        if row.cmsis is not None:
            cells.append(f"{row.cmsis / row.macs:.2f}")
        cells.append(cell(row, "fwd"))
        if row.cmsis is not None:
            cells.append(f"{row.picked['fwd'] / row.cmsis:.2f}")
        cells += [cell(row, c) for c in ("dx", "dw", "qas")]
        print("| " + " | ".join(cells) + " |")
    differing = [f"{r.label} {c}" for r in rows for c in COLUMNS if not r.same[c]]
    differing += [f"{r.label} CMSIS-NN" for r in rows if r.cmsis_same is False]
    if differing:
        raise SystemExit(f"DIFFERENT OUTPUTS: {differing}")
    checked = "picked == reference kernel" + ("; edgesdk == CMSIS-NN forward" if cmsis else "")
    print(f"outputs equal on every shape ({checked})")


if __name__ == "__main__":
    main()
