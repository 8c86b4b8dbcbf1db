"""The simulated NOR device itself (runtime_c/port/common/swap_sim.c, port/host/swap_file.c):
it must catch what the pager tests rely on it to catch, with either backend."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from edgesdk.toolchain import compile_firmware, parse_results

CHECK = Path(__file__).resolve().parent / "c" / "pager_sim_check.c"
SWAP_SOURCE = Path(__file__).resolve().parent.parent / "runtime_c" / "src" / "swap.c"
NOR, TWICE, FAULT, WORN, RANGE, ALIGN = 3, 4, 5, 6, 1, 2


@pytest.fixture(scope="module")
def check_exe(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sim")
    return compile_firmware([CHECK, SWAP_SOURCE], board="host", out_dir=out, sanitize=True,
                            name="pager_sim_check").path


@pytest.mark.parametrize("backend", ["memory", "file"])
def test_simulated_nor_device_enforces_the_rules(check_exe, tmp_path, backend):
    args = [str(check_exe)] + ([str(tmp_path / "image.bin")] if backend == "file" else [])
    done = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    r = parse_results(done.stdout)
    assert r["init"] == 0 and r["geometry"] == 1024_256_004
    assert r["bad_geometry"] == RANGE and r["bad_unit"] == RANGE
    assert r["program_before_erase"] == NOR  # the device held 0x00 and was never erased
    assert r["erase"] == 0 and r["after_erase"] == [0xFF] * 8
    assert r["program"] == 0 and r["after_program"] == [0xF0, 0x0F, 0xAA, 0x55, 0x12, 0x34, 0x56, 0x78]
    assert r["program_twice"] == TWICE
    assert r["after_twice"] == [0xE0, 0x0F, 0xA0, 0x05]  # stored as old & new
    assert r["erase_again"] == 0 and r["program_b"] == 0
    assert r["erase_1"] == 0 and r["program_zero"] == 0
    assert r["zero_to_one"] == NOR and r["nor_violations_added"] == 1
    assert r["after_zero_to_one"] == [0, 0, 0, 0]  # a 0 never comes back without an erase
    assert r["misaligned_offset"] == ALIGN and r["misaligned_length"] == ALIGN
    assert r["out_of_range_read"] == RANGE and r["out_of_range_program"] == RANGE
    assert r["out_of_range_erase"] == RANGE
    assert [r["erase_3"], r["erase_4"], r["erase_5"], r["erase_worn"]] == [0, 0, 0, WORN]
    assert r["wear_2"] == 3
    assert r["fault_read"] == FAULT and r["fault_read_untouched"] == 1
    assert r["flip_read"] == 0 and r["flipped_byte1"] == 0x0F ^ 0x02  # bit 9 = byte 1, bit 1
    assert r["torn_program"] == FAULT
    assert r["after_torn"] == [0xF0, 0x0F, 0xAA, 0x55, 0xFF, 0xFF, 0xFF, 0xFF]  # first half only
    assert r["torn_erase"] == FAULT
    assert r["program_high"] == 0
    assert r["torn_erase_low"] == [0xFF] * 4 and r["torn_erase_high"] == [0xF0, 0x0F, 0xAA, 0x55]
    assert r["faults_injected"] == 4
    assert r["double_programs"] >= 2
    assert r["name_nor"] == "ES_SWAP_ERR_NOR"
    if backend == "file":
        assert r["close"] == 0 and (tmp_path / "image.bin").stat().st_size == 1024
