"""QEMU runs on both stand-ins (mps2-an500 Cortex-M7, mps2-an386 Cortex-M4F): exit status,
parsed results, instruction counts, stack painting, faults, and float results bit-identical with
the host build of the same program."""

from __future__ import annotations

from pathlib import Path

import pytest
from edgesdk.errors import FirmwareError
from edgesdk.toolchain import RunResult, compile_firmware, run_firmware

DEMO = Path(__file__).parent / "port_programs" / "port_demo.c"
STAND_INS = {"stm32f746": "mps2-an500", "nrf52840": "mps2-an386"}  # Cortex-M7, Cortex-M4F


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, RunResult]:
    out = tmp_path_factory.mktemp("emulation")
    found = {}
    for board in ("host", *STAND_INS):
        firmware = compile_firmware([DEMO], board=board, out_dir=out / board, defines=["DEMO_EXIT=5"])
        found[board] = run_firmware(firmware, timeout_s=30)
    return found


@pytest.mark.parametrize("board", sorted(STAND_INS))
def test_qemu_run_exit_status_and_results(runs: dict[str, RunResult], board: str):
    run = runs[board]
    assert STAND_INS[board] in run.command and "-icount" in run.command
    assert run.exit_status == 5  # main()'s return value, through SYS_EXIT_EXTENDED
    run.check(expected_status=5)
    results = run.results
    assert results["port.name"] == "qemu" and results["counter.unit"] == "instructions"
    assert results["recurse.sum"] == sum(range(9))
    assert run.wall_s < 1.0


@pytest.mark.parametrize("board", sorted(STAND_INS))
def test_instruction_counts_are_exact_to_a_tick(runs: dict[str, RunResult], board: str):
    results = runs[board].results
    # a two-instruction loop run 100000 times, plus the call: 200000 instructions, 40 per tick
    assert 200_000 <= results["spin.count"] <= 200_000 + 200
    assert results["spin.count"] % 40 == 0
    # 8 epochs x 32 samples of a 4-input SGD step: some tens of instructions per sample
    assert 5_000 < results["train.count"] < 100_000


@pytest.mark.parametrize("board", sorted(STAND_INS))
def test_stack_high_water_from_painting(runs: dict[str, RunResult], board: str, tmp_path: Path):
    shallow = runs[board].results
    assert shallow["stack.size"] == 8192
    assert 0 < shallow["stack.high_water"] < shallow["stack.size"]
    firmware = compile_firmware([DEMO], board=board, out_dir=tmp_path, defines=["DEMO_DEPTH=64"])
    deep = run_firmware(firmware, timeout_s=30).check().results
    assert deep["recurse.sum"] == sum(range(65))
    # each recursion frame holds 16 ints (64 bytes) and more
    assert deep["stack.high_water"] >= shallow["stack.high_water"] + 56 * 64
    report = firmware.report().format(deep["stack.high_water"])
    assert f"{deep['stack.high_water']:,} B used at most" in report and "RAM at peak" in report


@pytest.mark.parametrize("board", sorted(STAND_INS))
def test_float_results_are_bit_identical_with_the_host(runs: dict[str, RunResult], board: str):
    host, emulated = runs["host"].results, runs[board].results
    for key in ("sgd.weights", "sgd.loss", "sgd.final_loss"):
        assert emulated.raw[key] == host.raw[key]
    weights = emulated["sgd.weights"]
    # the model learns towards y = 0.25 + 1 x1 + 2 x2 + 3 x3 + 4 x4
    assert weights[3] > weights[2] > weights[1] > weights[0] > 0


def test_emulated_runs_are_deterministic(runs: dict[str, RunResult], tmp_path: Path):
    # same program on the other M4F board file: identical instruction counts and values
    firmware = compile_firmware([DEMO], board="stm32f407", out_dir=tmp_path, defines=["DEMO_EXIT=5"])
    first, second = (run_firmware(firmware, timeout_s=30).results for _ in range(2))
    assert first.raw == second.raw
    assert first["train.count"] == runs["nrf52840"].results["train.count"]


def test_extra_ram_region_works_in_the_stand_in(tmp_path: Path):
    source = DEMO.parent / "ccm_demo.c"
    firmware = compile_firmware([source], board="stm32f407", out_dir=tmp_path)
    results = run_firmware(firmware, timeout_s=30).check().results
    assert results["ccm.sum"] == sum(range(1024))
    assert results["ccm.address"] == 0x20300000  # the CCM's emulated origin
    [ccm] = firmware.report().extra_ram
    assert (ccm.used, ccm.size) == (4096, 65536)


def test_a_fault_is_reported_with_its_status(tmp_path: Path):
    firmware = compile_firmware([DEMO], board="stm32f746", out_dir=tmp_path, defines=["DEMO_FAULT"])
    run = run_firmware(firmware, timeout_s=30)
    assert run.exit_status == 255 and run.results["fault"] == "exception"
    assert run.results["fault.hfsr"] != 0
    with pytest.raises(FirmwareError, match="took a fault"):
        run.check()


def test_a_stack_overflow_locks_up_and_says_so(tmp_path: Path):
    firmware = compile_firmware(
        [DEMO], board="nrf52840", out_dir=tmp_path, defines=["DEMO_DEPTH=400"], stack_bytes=2048
    )
    run = run_firmware(firmware, timeout_s=30)
    assert run.locked_up
    with pytest.raises(FirmwareError, match="stack overflow"):
        run.check()


def test_a_firmware_that_never_returns_times_out(tmp_path: Path):
    firmware = compile_firmware([DEMO], board="stm32f746", out_dir=tmp_path, defines=["DEMO_HANG"])
    with pytest.raises(FirmwareError, match="did not finish within 1 s"):
        run_firmware(firmware, timeout_s=1)
