"""Generated code running plans: per model x plan kind, planned against measured.

For each fixture model and plan kind (keep-all, remat-only, paging-only, mixed; the schedules are
made as in tests/schedule_support.py) the training project is generated from the plan, built for
the host and run for a few steps. The table shows the RAM budget, the planned peak (resident state
+ live buffers), the plan's arena and the size of ``es_arena`` in the executable, recomputations
per step, bytes paged out per step (measured by the pager / K), sector erases per step (the pager
model's steady state; the plan's amortized figure beside it), the swap region's lifetime in
training steps and whether every loss and parameter has the keep-all build's bits.

The second table runs the small models on the STM32F746's stand-in (QEMU mps2-an500, Cortex-M7):
plans for the board itself (paging to its QSPI NOR), instructions per training step in QEMU (not
Cortex-M7 cycles), and the flash lifetime on the board's 100 k-cycle QSPI NOR.

    python benchmarks/schedule_matrix.py            # about three minutes on 2 cores
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from edgesdk.boards import Board, load_board  # noqa: E402
from edgesdk.codegen.swap import predict_counters  # noqa: E402
from edgesdk.frontend import load_model  # noqa: E402
from edgesdk.pipeline import (  # noqa: E402
    ProjectOptions,
    compile_project,
    generate_project,
    training_graph,  # noqa: E402
)
from edgesdk.plan.project import planning_board  # noqa: E402
from edgesdk.plan.schedule import Schedule  # noqa: E402
from edgesdk.toolchain import run_firmware  # noqa: E402
from edgesdk.toolchain.protocol import Results  # noqa: E402
from edgesdk.toolchain.report import symbol_sizes  # noqa: E402
from edgesdk.train.graph import TrainingGraph  # noqa: E402
from schedule_support import mixed_from_paging, priced, schedule_of_kind  # noqa: E402

MODELS = {
    "small_cnn": ROOT / "tests" / "fixtures" / "small_cnn_int8.tflite",
    "converter_patterns": ROOT / "tests" / "fixtures" / "converter_patterns_int8.tflite",
    "digits": ROOT / "examples" / "digits" / "model" / "digits_cnn.tflite",
    "mobilenet_v2": ROOT / "tests" / "fixtures" / "mobilenetv2_035_96.tflite",
}
KINDS = ("keep-all", "remat", "paging", "mixed")
EMULATED = ("small_cnn", "converter_patterns", "digits")  # fit the STM32F746's 320 KB with SGD


def _commit() -> str:
    try:
        head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--", "sdk", "templates",
                                "runtime_c"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + (" (with uncommitted changes)" if dirty else "")


def _options(model: str, schedule: Schedule | None) -> ProjectOptions:
    return ProjectOptions(
        trainable="all", optimizer="sgd", lr=0.001 if model == "mobilenet_v2" else 0.02,
        steps=2 if model == "mobilenet_v2" else 3, report_params=True, schedule=schedule,
    )


def schedule_for(model: str, graph: TrainingGraph, board: Board, kind: str) -> tuple[Schedule | None, str]:
    """The plan of ``kind`` and how it was obtained."""
    if kind == "keep-all":
        return None, "-"
    fractions = (0.0,) if model == "mobilenet_v2" else (0.0, 0.25, 0.3, 0.4, 0.5, 0.75)
    limit = 2.0 if model == "mobilenet_v2" else 5.0
    try:
        return schedule_of_kind(graph, board, kind, time_limit_s=limit, fractions=fractions), "planner"
    except AssertionError:
        if kind != "mixed":
            raise
    if model == "digits" and board.is_host:
        slow = priced(board, {"depthwise_conv2d_f32": 50.0})
        return schedule_of_kind(graph, board, kind, priced_on=slow), "priced"
    return mixed_from_paging(graph, board), "constructed"


@dataclass(frozen=True)
class Row:
    model: str
    board: str
    kind: str
    how: str
    budget: int | None
    planned_peak: int | None
    plan_arena: int | None
    measured_arena: int
    recomputations: int
    paged_per_step: float
    erases_plan: float
    erases_model: float
    lifetime: float | None
    instructions: int | None
    same_bits: bool | None


def _bits(results: Results) -> tuple[bytes, bytes]:
    return (np.asarray(results.all("step.loss"), np.float32).tobytes(),
            np.asarray(results["params"], np.float32).tobytes())


def run_case(model: str, board_name: str, kind: str, work: Path, emulate: bool,
             baseline: dict[str, tuple[bytes, bytes]]) -> Row:
    board = load_board(board_name)
    graph = training_graph(load_model(MODELS[model]), _options(model, None))
    planned_on, _tier, _notes = planning_board(board, graph, None)
    schedule, how = schedule_for(model, graph, planned_on, kind)
    directory = work / f"{model}-{board_name}-{kind}"
    project = generate_project(MODELS[model], board, directory, _options(model, schedule))
    built = compile_project(project.directory, "emulated" if emulate else "host")
    results = run_firmware(built.firmware, timeout_s=900).check().results
    steps = int(results["train.steps"])
    key = f"{model}-{board_name}"
    if kind == "keep-all":
        baseline[key] = _bits(results)
    arena = symbol_sizes(built.firmware.path, ["es_arena"])["es_arena"]
    paged = erases_plan = erases_model = 0.0
    lifetime = None
    if schedule is not None:
        for tier in project.swap:
            paged += results[f"pager.{tier.name}.bytes_programmed"] / steps
            erases_plan += schedule.figures.erases_per_step[tier.name]
            long_run = predict_counters(schedule, tier, 50)
            erases_model += long_run.erases_per_step()
            cycles = next(t.erase_cycles for t in board.storage if t.name == tier.name)
            life = long_run.lifetime_steps(cycles)
            lifetime = life if lifetime is None else min(lifetime, life)
    figures = None if schedule is None else schedule.figures
    return Row(
        model=model, board=board_name, kind=kind, how=how,
        budget=None if schedule is None else schedule.budget_bytes,
        planned_peak=None if figures is None else figures.peak_ram_bytes,
        plan_arena=None if figures is None else figures.arena_bytes,
        measured_arena=arena,
        recomputations=0 if figures is None else figures.recomputations,
        paged_per_step=paged, erases_plan=erases_plan, erases_model=erases_model, lifetime=lifetime,
        instructions=int(results["step.counter"]) if emulate else None,
        same_bits=None if key not in baseline else _bits(results) == baseline[key],
    )


def _kb(value: int | None) -> str:
    return "-" if value is None else f"{value / 1024:.1f}"


def _life(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value / 1e6:.2f} M" if value >= 1e6 else f"{value:,.0f}"


def print_rows(rows: list[Row], title: str) -> None:
    print(f"\n{title}")
    header = (f"{'model':<19} {'kind':<9} {'how':<11} {'budget':>7} {'peak':>7} {'arena plan':>10} "
              f"{'arena ELF':>10} {'recomp':>6} {'paged B/step':>12} {'erases/step':>13} {'lifetime':>10} "
              f"{'instr/step':>11} {'bits':>5}")
    print(header)
    print("-" * len(header))
    for r in rows:
        erases = "-" if r.kind in ("keep-all", "remat") else f"{r.erases_model:.2f}/{r.erases_plan:.2f}"
        instr = "-" if r.instructions is None else f"{r.instructions / 1e6:.2f} M"
        bits = "-" if r.same_bits is None else ("same" if r.same_bits else "DIFF")
        print(f"{r.model:<19} {r.kind:<9} {r.how:<11} {_kb(r.budget):>7} {_kb(r.planned_peak):>7} "
              f"{'-' if r.plan_arena is None else f'{r.plan_arena:,}':>10} {r.measured_arena:>10,} "
              f"{r.recomputations:>6} {r.paged_per_step:>12,.0f} {erases:>13} {_life(r.lifetime):>10} "
              f"{instr:>11} {bits:>5}")


def main() -> None:
    print(f"edgesdk schedule matrix, commit {_commit()}")
    print(
        "budget/peak in KB; peak = resident state + live buffers (the plan's simulator); arena ELF = size "
        "of es_arena in the built program;\nerases/step = pager model (steady state) / plan (amortized); "
        "lifetime = training steps until a swap sector reaches its erase-cycle limit"
    )
    baseline: dict[str, tuple[bytes, bytes]] = {}
    with tempfile.TemporaryDirectory(prefix="schedule-matrix-") as scratch:
        work = Path(scratch)
        host = [run_case(m, "host", k, work, False, baseline) for m in MODELS for k in KINDS]
        print_rows(host, "host build (host board: simulated flash, 16 MB of 4 KB sectors, 100 k cycles)")
        board = [run_case(m, "stm32f746", k, work, True, baseline) for m in EMULATED for k in KINDS]
        print_rows(board, "STM32F746 stand-in in QEMU (plans for the board: paging to its 1 MB QSPI region)")
    same = all(r.same_bits for r in host + board if r.same_bits is not None)
    print(f"\n{len(host) + len(board)} runs; losses and parameters bit for bit as keep-all's: {same}")


if __name__ == "__main__":
    main()
