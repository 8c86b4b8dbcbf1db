"""The pager beyond the host: the same scenario in the QEMU Cortex-M7 stand-in gives the same
counters and data as on the host, and the board swap drivers (stm32f7 internal flash + QUADSPI,
nrf52 NVMC + QSPI) compile and link with the real boards' flags."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pager_lib as pl
import pytest
from edgesdk.codegen.pager_model import VERIFY, SwapGeometry
from edgesdk.toolchain import compile_firmware, run_firmware
from elftools.elf.elffile import ELFFile

HERE = Path(__file__).resolve().parent
BOARD_PROGRAM = HERE / "c" / "pager_board.c"
PORT_KEYS = {"port.name", "counter.unit", "stack.size", "stack.high_water"}


def scenario() -> pl.Scenario:
    rng = np.random.default_rng(2024)
    slots = (1500, 700, 2048, 33, 400)
    steps = pl.random_steps(rng, slots, steps=25, ops_per_step=10, drop_probability=0.1)
    # 9 KB: just above the 8772 bytes these slots need, so sweeps relocate live copies
    return pl.Scenario(SwapGeometry(9 * 1024, 1024, 4), slots, steps, flags=VERIFY, scratch_bytes=128)


def test_qemu_cortex_m7_gives_the_host_counters(tmp_path):
    case = scenario()
    host = pl.run_host(pl.build_host(tmp_path / "host"), case, tmp_path)
    assert pl.fails(host) == [] and host["relocations"] > 0
    pl.assert_clean_device(host)
    pl.assert_matches_model(host, case.predict())

    include = pl.write_include(case, tmp_path / "scenario.inc")
    firmware = compile_firmware(pl.PAGER_SOURCES, board="stm32f746", target="emulated",
                                out_dir=tmp_path / "m7", include_dirs=[tmp_path],
                                defines=[f'PAGER_SCENARIO_INC="{include.name}"', "PAGER_POOL_BYTES=65536"],
                                name="pager_run")
    run = run_firmware(firmware, timeout_s=120).check()
    assert run.results["port.name"] == "qemu"
    emulated = {k: v for k, v in run.results.raw.items() if k not in PORT_KEYS}
    assert emulated == {k: v for k, v in host.raw.items() if k not in PORT_KEYS}
    assert run.results.all("step") == host.all("step")


@pytest.mark.parametrize("board,symbols", [
    ("stm32f746", ["es_swap_stm32f7_flash_init", "es_swap_stm32f7_qspi_init",
                   "es_swap_stm32f7_qspi_pins_disco", "es_pager_page_out"]),
    ("nrf52840", ["es_swap_nrf52_nvmc_init", "es_swap_nrf52_qspi_init", "es_pager_page_in"]),
])
def test_board_swap_drivers_compile_and_link_with_the_board_flags(tmp_path, board, symbols):
    firmware = compile_firmware([BOARD_PROGRAM, *pl.PAGER_SOURCES[1:]], board=board, target="board",
                                out_dir=tmp_path, name="pager_board")
    assert "-Werror" in firmware.command and "-std=c99" in firmware.command
    assert any(flag.startswith("-mcpu=cortex-m") for flag in firmware.command)
    with firmware.path.open("rb") as handle:
        table = ELFFile(handle).get_section_by_name(".symtab")
        names = {symbol.name for symbol in table.iter_symbols()}
    missing = [name for name in symbols if name not in names]
    assert not missing, f"{board}: the drivers were not linked in: {missing}"
    # and the driver sources are really compiled for that port (not emptied by the port macro)
    nm = subprocess.run(["arm-none-eabi-nm", str(firmware.path)], capture_output=True, text=True, check=True)
    assert "flash_program" in nm.stdout or "nvmc_program" in nm.stdout


PAGER_HEADERS = ["swap.h", "pager.h", "swap_sim.h", "swap_stm32f7.h", "swap_nrf52.h"]


@pytest.mark.parametrize("compiler,flags", [
    ("gcc", ["-x", "c", "-std=c99", "-Wpedantic"]),
    ("g++", ["-x", "c++", "-std=c++11", "-Wpedantic"]),
])
def test_pager_headers_stand_alone_in_c_and_cpp(tmp_path, compiler, flags):
    include = HERE.parent / "runtime_c" / "include"
    for header in PAGER_HEADERS:
        unit = tmp_path / "unit.c"
        unit.write_text(f'#include "edgesdk/{header}"\nint probe;\n')
        done = subprocess.run([compiler, *flags, "-Wall", "-Wextra", "-Werror", f"-I{include}",
                               "-fsyntax-only", str(unit)], capture_output=True, text=True)
        assert done.returncode == 0, f"{header}: {done.stderr}"
