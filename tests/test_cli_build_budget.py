"""`edgesdk build --budget` and `edgesdk run` on a planned project: the plan is generated and
stored, the report shows planned against measured RAM and the flash wear, the run shows the pager
counters beside the prediction, a stored plan can be built again, every mistake gets a message,
and the board swap drivers the generated code selects compile for the real boards."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from codegen_support import FIXTURES
from edgesdk.boards import load_board
from edgesdk.cli import main
from edgesdk.codegen.swap import board_driver
from edgesdk.frontend import load_model
from edgesdk.pipeline import ProjectOptions, compile_project, generate_project, training_graph
from edgesdk.plan.planner import PlanOptions, minimal_budget
from edgesdk.plan.project import PlanRequest, default_tier, planning_board
from edgesdk.plan.schedule import Schedule
from edgesdk.plan.training import plan_graph
from edgesdk.toolchain.report import symbol_sizes
from schedule_support import resident_input_view

SMALL_CNN = FIXTURES / "small_cnn_int8.tflite"


def _cli(*args: str) -> tuple[int, str, str]:
    if args[0] in ("build", "plan"):  # the plans and figures here are fp32's (int8 is this model's default)
        args = (*args, "--precision", "fp32")
    result = CliRunner().invoke(main, [str(a) for a in args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def _error(code: int, stderr: str, *phrases: str) -> None:
    assert code == 2, stderr
    assert "Traceback" not in stderr
    for phrase in phrases:
        assert phrase in stderr, stderr


def test_budget_build_and_run_on_the_host(tmp_path: Path) -> None:
    out = tmp_path / "fw"
    code, stdout, stderr = _cli(
        "build", SMALL_CNN, "--board", "host", "--budget", "50KB", "--no-remat", "-o", out
    )
    assert code == 0, stderr
    assert "plan (paging)" in stdout and "paging      simulated_flash" in stdout
    assert "erases      6.00 per step planned, 6.00 by the pager model" in stdout
    schedule = Schedule.from_json((out / "plan.json").read_text())
    assert schedule.kind == "paging" and schedule.budget_bytes == 50 * 1024
    manifest = json.loads((out / "edgesdk.json").read_text())
    assert manifest["plan"]["tiers"][0]["predicted_run"]["steps"] == 3
    code, stdout, stderr = _cli("run", out)
    assert code == 0, stderr
    assert "pager simulated_flash, 3 steps" in stdout
    assert "every counter as the pager model predicted" in stdout
    assert "DIFFERENT" not in stdout
    code, stdout, _ = _cli("run", out, "--json")
    document = json.loads(stdout)
    assert document["pager"]["as_predicted"] is True
    tier = document["pager"]["tiers"]["simulated_flash"]
    assert tier["measured"]["bytes_programmed"] == tier["predicted"]["bytes_programmed"] == 3 * 24576


def test_a_stored_plan_builds_again(tmp_path: Path) -> None:
    plan_file = tmp_path / "plan.json"
    code, _, stderr = _cli(
        "plan", SMALL_CNN, "--board", "host", "--budget", "56KB", "--no-baselines", "--time-limit", "5",
        "--schedule", plan_file,
    )
    assert code == 0, stderr
    code, stdout, stderr = _cli(
        "build", SMALL_CNN, "--board", "host", "--plan", plan_file, "-o", tmp_path / "fw"
    )
    assert code == 0, stderr
    assert "given" in stdout
    stored = Schedule.from_json((tmp_path / "fw" / "plan.json").read_text())
    assert stored == Schedule.from_json(plan_file.read_text())
    # a plan for another training set-up (other trainable layers) is refused
    code, _, stderr = _cli(
        "build", SMALL_CNN, "--board", "host", "--plan", plan_file, "--trainable", "last:1",
        "-o", tmp_path / "x",
    )
    _error(code, stderr, "does not fit this training graph")
    (tmp_path / "bad.json").write_text("{}")
    code, _, stderr = _cli("build", SMALL_CNN, "--plan", tmp_path / "bad.json", "-o", tmp_path / "y")
    _error(code, stderr, "is not a plan edgesdk wrote")


def test_mistakes_get_messages(tmp_path: Path) -> None:
    out = tmp_path / "fw"
    code, _, stderr = _cli("build", SMALL_CNN, "--board", "stm32f746", "--budget", "40KB", "-o", out)
    _error(code, stderr, "the smallest budget this graph fits is 49.4 KB")
    assert not out.exists()
    code, _, stderr = _cli("build", SMALL_CNN, "--board", "stm32f746", "--budget", "400KB", "-o", out)
    _error(code, stderr, "more than the 320.0 KB of SRAM")
    code, _, stderr = _cli(
        "build", SMALL_CNN, "--board", "stm32f746", "--budget", "60KB", "--tier", "internal_flash", "-o", out
    )
    _error(code, stderr, "cannot page to internal_flash", "(qspi_nor)")
    code, _, stderr = _cli(
        "build", SMALL_CNN, "--board", "stm32f746", "--budget", "60KB", "--tier", "sd", "-o", out
    )
    _error(code, stderr, "has no storage tier 'sd'", "internal_flash, qspi_nor")
    code, _, stderr = _cli("build", SMALL_CNN, "--tier", "qspi_nor", "-o", out)
    _error(code, stderr, "give a RAM budget with --budget")
    code, _, stderr = _cli("build", SMALL_CNN, "--budget", "lots", "-o", out)
    _error(code, stderr, "cannot read the size 'lots'")


def test_int8_smallest_budget_no_longer_counts_the_input_batch(tmp_path: Path) -> None:
    """An int8 build whose budget is too small is told the smallest budget of the planner's view,
    in which the int8 input batch is a buffer of the plan (dead after the first convolution when
    only the classifier trains) rather than resident state: lower by the batch's 3 KB."""
    options = ProjectOptions(trainable="last:1", optimizer="sgd", precision="int8")
    graph = training_graph(load_model(SMALL_CNN), options)
    board = planning_board(load_board("stm32f746"), graph, None)[0]
    probe = PlanOptions(budget_bytes=1)
    smallest = minimal_budget(plan_graph(graph), board, probe)
    resident_view = minimal_budget(resident_input_view(graph), board, probe)
    batch = graph.value(graph.input).nbytes
    assert smallest is not None and resident_view is not None
    assert batch - 1024 <= resident_view - smallest <= batch, (smallest, resident_view)
    result = CliRunner().invoke(main, [
        "build", str(SMALL_CNN), "--board", "stm32f746", "--precision", "int8", "--trainable", "last:1",
        "--budget", "4KB", "-o", str(tmp_path / "fw"),
    ])
    kb = f"{-(-smallest * 10 // 1024) / 10:.1f} KB"
    _error(result.exit_code, result.stderr, f"the smallest budget this graph fits is {kb}",
           f"resident state {-(-plan_graph(graph).total_resident_bytes * 10 // 1024) / 10:.1f} KB")


def test_default_tiers() -> None:
    graph = training_graph(load_model(SMALL_CNN), ProjectOptions(precision="fp32"))
    tier, notes = default_tier(load_board("stm32f746"), graph)
    assert tier == "qspi_nor" and "internal_flash" in notes[0] and "reserve" in notes[0]
    assert default_tier(load_board("nrf52840"), graph) == ("qspi_nor", ())
    assert default_tier(load_board("nrf52832"), graph)[0] == "internal_flash"
    assert default_tier(load_board("host"), graph)[0] == "simulated_flash"
    assert default_tier(load_board("stm32f407"), graph)[0] is None  # two 128 KB sectors: unusable


def test_board_drivers_per_tier() -> None:
    f746, nrf = load_board("stm32f746"), load_board("nrf52840")
    qspi = board_driver(f746, f746.storage[1])
    assert qspi is not None and qspi.kind == "stm32f7_qspi" and qspi.base == 15 << 20
    flash = board_driver(f746, f746.storage[0])
    assert flash is not None and flash.kind == "stm32f7_flash"
    assert flash.base == 0x080C0000 and flash.first_sector == 7
    nvmc = board_driver(nrf, nrf.storage[0])
    assert nvmc is not None and nvmc.kind == "nrf52_nvmc" and nvmc.base == 0xE0000
    assert board_driver(load_board("host"), load_board("host").storage[0]) is None


@pytest.mark.parametrize("tier", ["qspi_nor", "internal_flash"])
def test_nrf52840_board_firmware_with_its_swap_driver_compiles(tmp_path: Path, tier: str) -> None:
    """The real-board build selects the nRF52 QSPI or NVMC driver and links within the board;
    its RAM holds the arena and the pager's state but no simulated flash."""
    options = ProjectOptions(
        plan=PlanRequest(budget_bytes=50 * 1024, tier=tier, allow_remat=False), precision="fp32"
    )
    project = generate_project(SMALL_CNN, "nrf52840", tmp_path / "fw", options)
    assert project.planned.schedule.tiers == (tier,)
    source = (project.directory / "src" / "model.c").read_text()
    assert ("es_swap_nrf52_qspi_init" if tier == "qspi_nor" else "es_swap_nrf52_nvmc_init") in source
    built = compile_project(project.directory, "board")
    report = built.report()
    assert report.fits
    sizes = symbol_sizes(built.firmware.path, [f"es_sim_memory_{tier}", "es_arena", f"es_pager_{tier}"])
    assert f"es_sim_memory_{tier}" not in sizes
    assert sizes["es_arena"] == project.planned.schedule.figures.arena_bytes and f"es_pager_{tier}" in sizes
