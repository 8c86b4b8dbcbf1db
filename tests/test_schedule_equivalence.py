"""The equivalence matrix: any plan the generated code runs gives the bits of keep-all.

For every fixture model (the small CNN, the converter patterns, the digits CNN, MobileNetV2-0.35)
and every plan kind (remat-only, paging-only, mixed; tests/schedule_support.py says how each is
obtained and that the kind really occurs), in fp32 and, for the small CNN and the digits CNN, in
int8 (TFLite Micro's integer forward, QAS updates), the project is generated from the schedule, built for
the host (under AddressSanitizer + UndefinedBehaviorSanitizer for the three small models) and run
for K steps on the demo's pseudo-random batches. Then:

- every loss, every trained parameter (es_params_save) and the inference output have exactly the
  float32 bits of the keep-all build of the same model and options: recomputation and paging
  never change the mathematics;
- the arena the firmware reports, and the size of ``es_arena`` in the executable, equal the
  plan's arena (inference fits inside it), which is within 5 % of the plan's live-bytes peak;
- the pager's counters (bytes read and programmed, erases, erases per sector, page-outs, page-ins,
  relocations) equal what ``edgesdk.codegen.pager_model`` predicts for the same K steps, and the
  plan's own figures: programmed = K x its paged-out bytes, read = K x its paged-in bytes, and the
  erases K x its erases per step up to the pager's reserve; the simulated NOR device saw no
  rule violation; erase counts differ by at most one between sectors.

One mixed plan (the small CNN on the STM32F746 at a 64 KB budget, planned by `generate_project`
itself) runs in QEMU's Cortex-M7 stand-in with the simulated flash outside the board's RAM, and
gives the same bits and counters as its host build.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from codegen_support import FIXTURES, float_bits, runtime_archive
from edgesdk.boards import load_board
from edgesdk.codegen.pager_model import DEFAULT_PROGRAM_BYTES
from edgesdk.codegen.swap import SWAP_SECTION, predict_counters
from edgesdk.frontend import load_model
from edgesdk.pipeline import (
    GeneratedProject,
    ProjectOptions,
    compile_project,
    generate_project,
    training_graph,
)
from edgesdk.plan.arena import schedule_layout
from edgesdk.plan.project import PlanRequest
from edgesdk.plan.schedule import Schedule
from edgesdk.toolchain import run_firmware
from edgesdk.toolchain.protocol import Results
from edgesdk.toolchain.report import symbol_sizes
from schedule_support import mixed_from_paging, priced, schedule_of_kind

DIGITS = Path(__file__).resolve().parent.parent / "examples" / "digits" / "model" / "digits_cnn.tflite"
MODELS = {
    "small_cnn": FIXTURES / "small_cnn_int8.tflite",
    "converter_patterns": FIXTURES / "converter_patterns_int8.tflite",
    "digits": DIGITS,
    "mobilenet_v2": FIXTURES / "mobilenetv2_035_96.tflite",
}
OPTIMIZER = {"small_cnn": "adam", "converter_patterns": "sgd", "digits": "momentum", "mobilenet_v2": "sgd"}
STEPS = {"mobilenet_v2": 2}
SANITIZED = {"small_cnn", "converter_patterns", "digits"}
KINDS = ("remat", "paging", "mixed")
CASES = [(model, kind, "fp32") for model in MODELS for kind in KINDS] + [
    (model, kind, "int8") for model in ("small_cnn", "digits") for kind in KINDS
]


def _options(model: str, schedule: Schedule | None = None, precision: str = "fp32") -> ProjectOptions:
    return ProjectOptions(
        trainable="all",
        optimizer=OPTIMIZER[model] if precision == "fp32" else "sgd",
        lr=0.001 if model == "mobilenet_v2" else 0.02,
        steps=STEPS.get(model, 3),
        report_params=True,
        schedule=schedule,
        precision=precision,
    )


def _schedule(model: str, kind: str, precision: str = "fp32") -> Schedule:
    host = load_board("host")
    graph = training_graph(load_model(MODELS[model]), _options(model, precision=precision))
    if precision == "int8" and kind == "mixed":  # no budget makes mixing optimal for these in int8
        return mixed_from_paging(graph, host)
    if model == "converter_patterns" and kind == "mixed":
        return mixed_from_paging(graph, host)
    if model == "digits" and kind == "mixed":
        return schedule_of_kind(graph, host, kind, priced_on=priced(host, {"depthwise_conv2d_f32": 50.0}))
    if model == "mobilenet_v2":  # the greedy evictor alone takes ~5 s on this graph at the floor
        return schedule_of_kind(graph, host, kind, time_limit_s=8.0, fractions=(0.0,))
    return schedule_of_kind(graph, host, kind)


def _build_and_run(directory: Path, model: str, options: ProjectOptions, work: Path, board: str = "host"):  # type: ignore[no-untyped-def]
    sanitize = model in SANITIZED
    project = generate_project(MODELS[model], board, directory, options)
    archive = runtime_archive(work, sanitize=sanitize)
    built = compile_project(project.directory, "host", sanitize=sanitize, runtime_archive=archive)
    run = run_firmware(built.firmware, timeout_s=600).check()
    if sanitize:
        assert "runtime error" not in run.stderr and "AddressSanitizer" not in run.stderr
    return project, built, run


@pytest.fixture(scope="module")
def keep_all(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """Keep-all runs by model and precision, built once."""
    runs: dict[tuple[str, str], Results] = {}
    work = tmp_path_factory.mktemp("keep-all")

    def get(model: str, precision: str = "fp32") -> Results:
        if (model, precision) not in runs:
            runtime = work.parent / "edgesdk-runtime"
            options = _options(model, precision=precision)
            _p, _b, run = _build_and_run(work / f"{model}-{precision}", model, options, runtime)
            runs[model, precision] = run.results
        return runs[model, precision]

    return get


def _bits(results: Results) -> dict[str, np.ndarray]:
    return {
        "step.loss": float_bits(results.all("step.loss")),
        "params": float_bits(results["params"]),
        "infer.output": float_bits(results["infer.output"]),
    }


def assert_same_bits(expected: Results, got: Results, what: str) -> None:
    want, have = _bits(expected), _bits(got)
    for key, bits in want.items():
        assert bits.shape == have[key].shape, key
        differ = int(np.count_nonzero(bits != have[key]))
        assert differ == 0, f"{what}: {differ} of {bits.size} values of {key} differ from keep-all"


def assert_pager_as_planned(project: GeneratedProject, results: Results, steps: int) -> None:
    schedule = project.planned.schedule
    f = schedule.figures
    assert {t.name for t in project.swap} == set(schedule.tiers)
    for tier in project.swap:
        prefix = f"pager.{tier.name}."
        predicted = predict_counters(schedule, tier, steps)
        measured = {k[len(prefix) :]: v for k, v in results.values.items() if k.startswith(prefix)}
        # the pager model, exactly
        assert measured["bytes_programmed"] == predicted.bytes_programmed
        assert measured["bytes_read"] == predicted.bytes_read
        assert measured["erases"] == predicted.erases
        assert measured["sector_erases"] == list(predicted.sector_erases)
        assert measured["page_outs"] == sum(s.page_outs for s in predicted.steps)
        assert measured["page_ins"] == sum(s.page_ins for s in predicted.steps)
        assert measured["relocations"] == 0 and measured["bytes_relocated"] == 0
        # the plan's figures
        assert measured["bytes_programmed"] == steps * f.paged_out_bytes[tier.name]
        assert measured["bytes_read"] == steps * f.paged_in_bytes[tier.name]
        assert measured["page_outs"] == steps * schedule.page_outs
        largest = max(tier.slot_bytes)
        sector = tier.geometry.sector_bytes
        ahead = measured["erases"] * sector - measured["bytes_programmed"]  # erased, not yet programmed
        reserve = largest + sector - DEFAULT_PROGRAM_BYTES
        assert reserve <= ahead < reserve + largest + sector
        assert abs(measured["erases"] - steps * f.erases_per_step[tier.name]) <= (ahead + sector) / sector
        # wear levelling and the NOR rules
        assert max(measured["sector_erases"]) - min(measured["sector_erases"]) <= 1
        assert results[f"swap.{tier.name}.violations"] == 0


def assert_arena_as_planned(project: GeneratedProject, results: Results, elf: Path | None) -> None:
    """The arena is the plan's, workspaces included (int8: the fused updates' gradient chunks and
    the fused forward nodes' rings at the plan's offsets); int8's arena may hold more than the
    training step (the real-valued API's quantized input and output)."""
    schedule = project.planned.schedule
    f = schedule.figures
    model = project.model
    buffers = schedule_layout(schedule.instructions).size
    assert model.train_arena_bytes == buffers == f.arena_bytes
    int8 = project.graph.precision.value == "int8"
    assert model.infer_arena_bytes <= buffers  # inference fits in the training arena
    assert results["arena.bytes"] == model.arena_size
    assert model.arena_size == buffers or (int8 and model.arena_size > buffers)  # int8: + quantized I/O
    if elf is not None:
        assert symbol_sizes(elf, ["es_arena"])["es_arena"] == model.arena_size
    live_peak = f.peak_ram_bytes - schedule.resident_bytes
    assert f.arena_bytes <= 1.05 * live_peak, (f.arena_bytes, live_peak)


@pytest.mark.parametrize(("model", "kind", "precision"), CASES, ids=[f"{m}-{k}-{p}" for m, k, p in CASES])
def test_schedule_runs_bit_identical_to_keep_all(  # type: ignore[no-untyped-def]
    tmp_path: Path, keep_all, model: str, kind: str, precision: str
) -> None:
    schedule = _schedule(model, kind, precision)
    assert schedule.kind == kind
    if kind in ("remat", "mixed"):
        assert schedule.figures.recomputations > 0
    if kind in ("paging", "mixed"):
        assert schedule.page_outs > 0
    steps = STEPS.get(model, 3)
    project, built, run = _build_and_run(
        tmp_path / "project", model, _options(model, schedule, precision), tmp_path.parent / "edgesdk-runtime"
    )
    assert (project.directory / "plan.json").is_file()
    assert Schedule.from_json((project.directory / "plan.json").read_text()) == schedule
    assert run.results["train.steps"] == steps
    assert_same_bits(keep_all(model, precision), run.results, f"{model} {kind} {precision}")
    assert_arena_as_planned(project, run.results, None if model in SANITIZED else built.firmware.path)
    if kind == "remat":
        assert not project.model.paged and not any(k.startswith("pager.") for k in run.results.values)
    else:
        assert_pager_as_planned(project, run.results, steps)


def test_mixed_plan_in_qemu_matches_host(tmp_path: Path, keep_all) -> None:  # type: ignore[no-untyped-def]
    """The STM32F746 stand-in (Cortex-M7, QEMU mps2-an500) runs a planned mixed schedule with the
    simulated QSPI flash in the stand-in's PSRAM, outside the 320 KB the linker script enforces."""
    options = dataclasses.replace(_options("small_cnn"), plan=PlanRequest(budget_bytes=64 * 1024))
    project = generate_project(MODELS["small_cnn"], "stm32f746", tmp_path / "project", options)
    schedule = project.planned.schedule
    assert schedule.kind == "mixed" and schedule.tiers == ("qspi_nor",)
    host = run_firmware(compile_project(project.directory, "host").firmware).check()
    emulated_build = compile_project(project.directory, "emulated")
    emulated = run_firmware(emulated_build.firmware, timeout_s=300).check()
    assert emulated.results["port.name"] == "qemu" and emulated.results["step.counter"] > 0
    assert_same_bits(host.results, emulated.results, "QEMU against host")
    assert_same_bits(keep_all("small_cnn"), emulated.results, "QEMU against keep-all")
    for key, value in host.results.values.items():
        if key.startswith(("pager.", "swap.")):
            assert emulated.results[key] == value, key
    assert_pager_as_planned(project, emulated.results, 3)
    assert_arena_as_planned(project, emulated.results, emulated_build.firmware.path)
    # the simulated flash lies outside the board's RAM: static RAM is what the real board would hold
    report = emulated_build.report()
    swap = [r for r in report.extra_ram if r.name == SWAP_SECTION]
    assert swap and swap[0].used >= 1 << 20
    real = compile_project(project.directory, "board").report()
    assert report.static_ram <= real.static_ram + 1024 and report.fits and real.fits
