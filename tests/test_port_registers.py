"""The STM32F746 clock and console sequence (runtime_c/port/stm32f7/clock_stm32f7.c) driven on the
host against a register model that raises ready flags late and checks the order RM0385 requires
(PWR clock first, VOS with the PLL off, HSERDY before PLLON, ODRDY before ODSWEN, 7 wait states read
back and ODSWRDY/PLLRDY seen before the switch, APB prescalers, USART1 on PA9/PB7 at 115200); a copy
of the sequence with the wait states moved after the switch must be caught."""

from __future__ import annotations

import subprocess
from pathlib import Path

from int8_lib import RUNTIME, build_sanitized

DRIVER = Path(__file__).parent / "c" / "stm32f7_clock_model.c"
SEQUENCE = RUNTIME / "port" / "stm32f7" / "clock_stm32f7.c"
FLAGS = ("-std=c99", "-Wall", "-Wextra", "-Werror", "-DES_MMIO_MODEL")


def _run(source: Path, out: Path) -> subprocess.CompletedProcess[str]:
    program = build_sanitized(DRIVER, out, [source], flags=FLAGS)
    return subprocess.run([str(program)], capture_output=True, text=True, timeout=60, check=False)


def test_clock_and_console_follow_the_manual(tmp_path: Path) -> None:
    done = _run(SEQUENCE, tmp_path / "model")
    assert "runtime error" not in done.stderr, done.stderr
    assert done.stdout.splitlines() == ["ok"] and done.returncode == 0, done.stdout


def test_the_model_catches_a_switch_before_the_wait_states(tmp_path: Path) -> None:
    text = SEQUENCE.read_text()
    latency = text[text.index("    ES_MMIO_WRITE(FLASH_ACR"): text.index("    /* AHB /1")]
    switch = "    ES_MMIO_WRITE(RCC_CFGR, ES_MMIO_READ(RCC_CFGR) | 2u);\n"
    assert latency and switch in text
    broken = text.replace(latency, "").replace(switch, switch + latency)
    mutated = tmp_path / "port" / "stm32f7" / "clock_stm32f7.c"
    mutated.parent.mkdir(parents=True)
    (tmp_path / "port" / "cortex_m").mkdir()
    (tmp_path / "port" / "cortex_m" / "mmio.h").write_text((RUNTIME / "port/cortex_m/mmio.h").read_text())
    mutated.write_text(broken)
    done = _run(mutated, tmp_path / "broken")
    assert done.returncode == 1
    assert "violation: SYSCLK switched to the PLL before 7 wait states were read back" in done.stdout


def _symbols(elf: Path) -> set[str]:
    from elftools.elf.elffile import ELFFile

    with elf.open("rb") as handle:
        table = ELFFile(handle).get_section_by_name(".symtab")
        return {symbol.name for symbol in table.iter_symbols()}


def test_the_board_firmware_links_the_sequence_and_the_emulated_one_does_not(tmp_path: Path) -> None:
    from edgesdk.toolchain import compile_firmware

    demo = Path(__file__).parent / "port_programs" / "port_demo.c"
    board = compile_firmware([demo], board="disco_f746ng", out_dir=tmp_path / "board", target="board")
    emulated = compile_firmware([demo], board="stm32f746", out_dir=tmp_path / "emulated")
    wanted = {"es_stm32f7_clock_216mhz", "es_stm32f7_console_init", "es_stm32f7_console_write"}
    assert wanted <= _symbols(board.path) and board.report().fits
    assert not wanted & _symbols(emulated.path)  # semihosting only in the emulated build
