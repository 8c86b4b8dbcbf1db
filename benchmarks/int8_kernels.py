"""Instructions per MAC of the int8 forward kernels, reference vs fast, on MobileNetV2's layers.

    python benchmarks/int8_kernels.py

Builds benchmarks/int8_kernels.c with edgesdk.toolchain for the emulated STM32F746 (QEMU mps2-an500,
Cortex-M7) and nRF52840 (mps2-an386, Cortex-M4F), runs it (-icount: the counter is instructions,
not cycles), and prints one row per layer shape of MobileNetV2-alpha-0.35 at 96x96: the reference
kernel's and the fast kernel's instructions per MAC (the fast kernel is the one code generation
picks for that shape; the reference where there is none), then the totals over the model's
layers, each shape weighted by how many layers have it. The "fused" rows are the model's frozen
convolution -> depthwise pairs: the two reference kernels against es_conv_depthwise_int8_fwd
(their layers are counted in the conv / pointwise / depthwise rows too, so "all layers" leaves
them out).
"""

from __future__ import annotations

import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from edgesdk.toolchain import compile_firmware, kernel_sources, run_firmware

ROOT = Path(__file__).resolve().parent.parent
SOURCE = Path(__file__).resolve().parent / "int8_kernels.c"
BOARDS = {"stm32f746": "M7", "nrf52840": "M4F"}
KINDS = ("conv", "depthwise", "pointwise", "fc", "fused")


@dataclass(frozen=True)
class Row:
    shape: tuple[int, ...]  # kind, H, W, IC, OC, K, stride
    count: int
    macs: int
    reference: int
    fast: int
    same: bool

    @property
    def label(self) -> str:
        kind, h, w, ic, oc, k, stride = self.shape
        if KINDS[kind] == "fused":
            return f"fused {k}x{k} {h}x{w}x{ic}->{oc} dw/{stride}"
        return f"{KINDS[kind]} {k}x{k}/{stride} {h}x{w}x{ic}->{oc}"


def measure(board: str, out_dir: Path) -> list[Row]:
    firmware = compile_firmware([SOURCE, *kernel_sources()], board=board, target="emulated",
                                out_dir=out_dir, name="int8_kernels")
    results = run_firmware(firmware, timeout_s=900).check().results
    indices = sorted(key.removeprefix("macs.") for key in results.raw if key.startswith("macs."))
    return [
        Row(tuple(results[f"shape.{i}"]), int(results[f"count.{i}"]), int(results[f"macs.{i}"]),
            int(results[f"ref.{i}"]), int(results[f"fast.{i}"]), int(results[f"same.{i}"]) == 1)
        for i in indices
    ]


def weighted(rows: list[Row], field: str) -> int:
    """The instructions of the model's layers of these shapes (each shape times its layer count)."""
    return sum(getattr(r, field) * r.count for r in rows)


def _counted(total: str | None, kind: str) -> bool:
    """Whether a row of this kind counts in the total (None: all layers, fused pairs excluded)."""
    return kind == total if total is not None else kind != "fused"


def commit() -> str:
    command = ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"]
    done = subprocess.run(command, capture_output=True, text=True)
    return done.stdout.strip() or "unknown"


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        table = {board: measure(board, Path(tmp) / board) for board in BOARDS}
    print(f"commit {commit()}; instructions per MAC (QEMU -icount), reference -> fast")
    columns = " ".join(f"{core + ' ref':>9} {core + ' fast':>9}" for core in BOARDS.values())
    print(f"{'layer shape':34} {'layers':>6} {'MACs':>9} {columns}")
    rows = table["stm32f746"]
    for index, row in enumerate(rows):
        cells = " ".join(f"{r[index].reference / r[index].macs:9.2f} {r[index].fast / r[index].macs:9.2f}"
                         for r in table.values())
        print(f"{row.label:34} {row.count:6} {row.macs:9,} {cells}")
    for kind in (*KINDS, None):
        picked = {board: [r for r in rs if _counted(kind, KINDS[r.shape[0]])] for board, rs in table.items()}
        macs = sum(r.macs * r.count for r in picked["stm32f746"])
        layers = sum(r.count for r in picked["stm32f746"])
        cells = " ".join(f"{weighted(rs, 'reference') / macs:9.2f} {weighted(rs, 'fast') / macs:9.2f}"
                         for rs in picked.values())
        print(f"{'all ' + (kind or 'layers'):34} {layers:6} {macs:9,} {cells}")
    differing = [r.label for rs in table.values() for r in rs if not r.same]
    print("fast == reference on every shape" if not differing else f"DIFFERENT OUTPUTS: {differing}")


if __name__ == "__main__":
    main()
