"""Power cuts against generated projects: does a device keep its trained weights?

For each project the runtime is generated (edgesdk.codegen), linked for the host with
benchmarks/power_cut_main.c (ASan + UBSan unless --fast) over the simulated NOR flash, and run:
it trains and commits (image OLD), trains more (image NEW), then for every device operation of
the next commit -- each erase and each program -- cuts the power there (a torn operation: half
the sector erased, or half the program's units written; the firmware stops), reboots (es_init,
the flash's bytes kept), restores, and checks the parameters equal OLD or NEW bit for bit; for a
paged project the same for every erase and program of one training step's pager (must restore
OLD). Projects: the digits CNN (examples/digits, int8, all layers, SGD) and a DS-CNN
keyword-spotting network (tests/fixtures/ds_cnn_kws_int8.tflite) planned with a RAM budget below
its keep-all peak so that its training step pages to the STM32F746's QSPI NOR.

    python benchmarks/power_cut.py [--max-cuts N] [--steps 3] [--fast]

Prints one row per project and phase, then, last, ``survived: N/N cuts``.
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import click
from edgesdk.codegen.manifest import read_manifest
from edgesdk.pipeline import ProjectOptions, generate_project
from edgesdk.plan.project import PlanRequest
from edgesdk.toolchain import compile_firmware, parse_results
from edgesdk.toolchain.firmware import _include_dirs, project_sources
from edgesdk.toolchain.protocol import Results

ROOT = Path(__file__).resolve().parent.parent
MAIN = Path(__file__).resolve().parent / "power_cut_main.c"
DIGITS = ROOT / "examples" / "digits" / "model" / "digits_cnn.tflite"
DS_CNN = ROOT / "tests" / "fixtures" / "ds_cnn_kws_int8.tflite"
PHASES = {0: "commit", 1: "pager step"}
KINDS = {0: "erase", 1: "program"}
OUTCOMES = {0: "old", 1: "new", -1: "LOST"}


@dataclass(frozen=True)
class Project:
    name: str
    model: Path
    board: str
    options: ProjectOptions


def projects() -> tuple[Project, ...]:
    return (
        Project("digits", DIGITS, "stm32f746", ProjectOptions(
            trainable="all", optimizer="sgd", lr=0.01, precision="int8")),
        Project("ds-cnn (paged)", DS_CNN, "stm32f746", ProjectOptions(
            trainable="all", optimizer="sgd", lr=0.01, precision="int8",
            plan=PlanRequest(budget_bytes=46 * 1024, allow_remat=False))),
    )


def build_driver(project: Project, out: Path, sanitize: bool = True) -> Path:
    """Generate ``project`` into ``out`` and link its model.c with the power-cut driver (host)."""
    generated = generate_project(project.model, project.board, out / "project", project.options)
    directory = generated.directory
    manifest = read_manifest(directory)
    sources = [s for s in project_sources(directory, manifest) if s.name not in ("main.c", "dataset.c")]
    firmware = compile_firmware([*sources, MAIN], board="host", out_dir=out / "build",
                                include_dirs=_include_dirs(directory), with_port=False,
                                sanitize=sanitize, name="power_cut")
    return firmware.path


def run_driver(exe: Path, steps: int, max_cuts: int, timeout_s: float = 1800.0) -> Results:
    done = subprocess.run([str(exe), str(steps), str(max_cuts)], capture_output=True, text=True,
                          timeout=timeout_s)
    if done.returncode != 0:
        tail = done.stdout[-2000:] + done.stderr[-4000:]
        raise RuntimeError(f"{exe.name} failed ({done.returncode}):\n{tail}")
    results = parse_results(done.stdout)
    if "error" in results:
        raise RuntimeError(f"{exe.name}: {results['error']}")
    return results


def table_rows(name: str, results: Results) -> list[tuple[str, str, str, int, int, str]]:
    """(project, phase, kind, cuts, survived, outcomes) per phase and operation kind."""
    rows = []
    cuts = results.all("cut")
    for phase in PHASES:
        for kind in KINDS:
            mine = [c for c in cuts if c[0] == phase and c[1] == kind]
            if not mine:
                continue
            good = sum(1 for c in mine if (c[3] >= 0 if phase == 0 else c[3] == 0))
            seen = sorted({c[3] for c in mine})
            outcomes = ", ".join(f"{OUTCOMES[o]} {sum(1 for c in mine if c[3] == o)}" for o in seen)
            rows.append((name, PHASES[phase], KINDS[kind], len(mine), good, outcomes))
    return rows


def git_commit() -> str:
    done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    return done.stdout.strip() or "unknown"


def main_rows(selected: Sequence[Project], steps: int, max_cuts: int, sanitize: bool) -> list[tuple]:
    rows: list[tuple] = []
    with tempfile.TemporaryDirectory() as tmp:
        for index, project in enumerate(selected):
            exe = build_driver(project, Path(tmp) / str(index), sanitize)
            rows += table_rows(project.name, run_driver(exe, steps, max_cuts))
    return rows


@click.command()
@click.option("--max-cuts", default=0, show_default=True,
              help="Cuts per phase and kind (0: every operation).")
@click.option("--steps", default=3, show_default=True, help="Training steps before each image.")
@click.option("--fast", is_flag=True, help="Without ASan/UBSan.")
def main(max_cuts: int, steps: int, fast: bool) -> None:
    rows = main_rows(projects(), steps, max_cuts, sanitize=not fast)
    click.echo(f"power cuts (torn erase / torn program, then reboot and restore), commit {git_commit()}")
    click.echo(f"{'project':<16} {'phase':<11} {'operation':<9} {'cuts':>5} {'survived':>9}  restored")
    for name, phase, kind, cuts, good, outcomes in rows:
        click.echo(f"{name:<16} {phase:<11} {kind:<9} {cuts:>5} {good:>9}  {outcomes}")
    total = sum(r[3] for r in rows)
    survived = sum(r[4] for r in rows)
    click.echo(f"survived: {survived}/{total} cuts")


if __name__ == "__main__":
    main()
