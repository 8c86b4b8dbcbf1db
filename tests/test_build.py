"""Builds for every board: host gcc with sanitizers, arm-none-eabi-gcc with each real board's flags
and memory limits, the fit check, the ELF report, the result protocol and toolchain errors."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from edgesdk.boards import load_board
from edgesdk.errors import BoardError, FirmwareError, FitError, ToolchainError
from edgesdk.toolchain import Target, compile_firmware, parse_results, require, run_firmware
from edgesdk.toolchain.protocol import f32_from_hex, f32_to_hex
from edgesdk.toolchain.tools import APT_INSTALL_ALL

DEMO = Path(__file__).parent / "port_programs" / "port_demo.c"
ARM_BOARDS = ("stm32f746", "stm32f407", "nrf52840", "nrf52832")
REAL_PORT = {"stm32f746": "ES_PORT_STM32F7", "stm32f407": "ES_PORT_STM32F4",
             "nrf52840": "ES_PORT_NRF52", "nrf52832": "ES_PORT_NRF52"}


def test_host_build_and_run_with_sanitizers(tmp_path: Path):
    firmware = compile_firmware(
        [DEMO], board="host", out_dir=tmp_path, sanitize=True, defines=["DEMO_EXIT=3"]
    )
    assert firmware.target is Target.HOST and "-fsanitize=address,undefined" in firmware.command
    run = run_firmware(firmware, timeout_s=30)
    run.check(expected_status=3)
    results = run.results
    assert results["port.name"] == "host" and results["counter.unit"] == "nanoseconds"
    assert results["recurse.sum"] == sum(range(9))
    assert results["spin.iterations"] == 100000 and results["spin.count"] > 0
    # SGD on y = 0.25 + x1 + 2 x2 + 3 x3 + 4 x4 lowers the loss every epoch
    losses = results["sgd.loss"]
    assert len(losses) == 8 and all(b < a for a, b in zip(losses, losses[1:], strict=False))
    assert results["sgd.final_loss"] == losses[-1]
    assert (results["stack.size"], results["stack.high_water"]) == (0, 0)
    assert "runtime error" not in run.stderr


@pytest.mark.parametrize("name", ARM_BOARDS)
def test_real_board_build_uses_the_board_flags_and_memory(tmp_path: Path, name: str):
    board = load_board(name)
    firmware = compile_firmware([DEMO], board=board, out_dir=tmp_path, target="board")
    command = " ".join(firmware.command)
    for flag in board.cflags:
        assert flag in command
    assert f"-D{REAL_PORT[name]}" in command and "-DES_PORT_QEMU" not in command
    script = firmware.linker_script.read_text()
    assert f"ORIGIN = 0x{board.flash_origin:08X}, LENGTH = {board.flash_bytes}" in script
    assert f"ORIGIN = 0x{board.ram_origin:08X}, LENGTH = {board.sram_bytes}" in script
    report = firmware.report()
    assert report.fits and report.sram_size == board.sram_bytes and report.flash_size == board.flash_bytes
    assert report.stack_reserved == board.stack_bytes
    # the demo's static data: 32x4 + 32 floats, plus the port's counters
    assert 32 * 5 * 4 <= report.static_ram < 32 * 5 * 4 + 256
    assert 1000 < report.flash_used < 16 * 1024
    sections = {s.name: s for s in report.sections}
    assert sections[".isr_vector"].address == board.flash_origin
    assert sections[".stack"].address == board.ram_origin  # stack at the bottom of RAM
    assert sections[".data"].place == "ram+flash" or ".data" not in sections


def test_emulated_build_links_at_the_stand_in_with_the_real_sizes(tmp_path: Path):
    board = load_board("stm32f746")
    firmware = compile_firmware([DEMO], board=board, out_dir=tmp_path)  # auto: emulated
    assert firmware.target is Target.EMULATED and "-DES_PORT_QEMU" in firmware.command
    script = firmware.linker_script.read_text()
    assert f"ORIGIN = 0x00000000, LENGTH = {board.flash_bytes}" in script
    assert f"ORIGIN = 0x20000000, LENGTH = {board.sram_bytes}" in script


def test_extra_ram_region_is_linked_and_reported(tmp_path: Path):
    firmware = compile_firmware([DEMO], board="stm32f407", out_dir=tmp_path, target="board")
    assert "CCMRAM (rw) : ORIGIN = 0x10000000, LENGTH = 65536" in firmware.linker_script.read_text()
    [ccm] = firmware.report().extra_ram
    assert (ccm.name, ccm.used, ccm.size) == ("ccmram", 0, 65536)


@pytest.mark.parametrize("name", ["nrf52832", "stm32f407"])
def test_static_ram_above_the_board_fails_with_the_excess(tmp_path: Path, name: str):
    board = load_board(name)
    big = board.sram_bytes  # one array as large as the whole SRAM
    with pytest.raises(FitError) as caught:
        compile_firmware([DEMO], board=board, out_dir=tmp_path, defines=[f"DEMO_BIG_BYTES={big}"])
    message = str(caught.value)
    found = re.search(r"RAM: ([\d,]+) bytes \(static data ([\d,]+) \+ stack ([\d,]+)\) but the board has "
                      r"([\d,]+): ([\d,]+) bytes too many", message)
    assert found, message
    used, static, stack, size, over = (int(g.replace(",", "")) for g in found.groups())
    assert size == board.sram_bytes and stack == board.stack_bytes
    assert static > big and used == static + stack and over == used - size
    assert "--budget" in message and name in message


def test_a_program_that_just_fits_links(tmp_path: Path):
    board = load_board("nrf52832")
    first = compile_firmware([DEMO], board=board, out_dir=tmp_path / "a").report()
    room = board.sram_bytes - first.ram_used
    fitting = compile_firmware(
        [DEMO], board=board, out_dir=tmp_path / "b", defines=[f"DEMO_BIG_BYTES={room - 8}"]
    )
    assert 0 <= fitting.report().ram_free < 16
    with pytest.raises(FitError, match=r"bytes too many"):
        compile_firmware([DEMO], board=board, out_dir=tmp_path / "c", defines=[f"DEMO_BIG_BYTES={room + 64}"])


def test_compile_errors_are_reported(tmp_path: Path):
    broken = tmp_path / "broken.c"
    broken.write_text("int main(void) { return undefined_name; }\n")
    with pytest.raises(ToolchainError, match="undefined_name"):
        compile_firmware([broken], board="host", out_dir=tmp_path / "out")


def test_a_real_board_build_cannot_run_here(tmp_path: Path):
    firmware = compile_firmware([DEMO], board="nrf52840", out_dir=tmp_path, target="board")
    with pytest.raises(ToolchainError, match="cannot run here"):
        run_firmware(firmware)


def test_target_validation():
    with pytest.raises(BoardError, match="only has the host target"):
        compile_firmware([DEMO], board="host", out_dir="unused", target="emulated")
    with pytest.raises(BoardError, match="unknown target 'qemu'"):
        compile_firmware([DEMO], board="stm32f746", out_dir="unused", target="qemu")


def test_missing_cross_compiler_says_how_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # nothing on PATH
    with pytest.raises(ToolchainError) as caught:
        require("arm-none-eabi-gcc")
    message = str(caught.value)
    assert "apt-get install -y --no-install-recommends gcc-arm-none-eabi libnewlib-arm-none-eabi" in message
    assert APT_INSTALL_ALL in message
    with pytest.raises(ToolchainError, match="arm-none-eabi-gcc is not installed"):
        compile_firmware([DEMO], board="stm32f746", out_dir=tmp_path / "fw")
    with pytest.raises(ToolchainError, match="apt-get install -y --no-install-recommends qemu-system-arm"):
        require("qemu-system-arm")


def test_protocol_parser():
    results = parse_results(
        "booting\n"
        '@es loss {"f32":"0x3f800000"}\n'
        '@es loss {"f32":"0x3f000000"}\n'
        '@es weights {"f32":["0x40490fdb","0x80000000"]}\n'
        "@es steps 12\n"
        "@es delta -3\n"
        '@es name "a \\"b\\"\\n"\n'
        "@es ints [1,-2,3]\n"
    )
    assert results["loss"] == 0.5 and results.all("loss") == [1.0, 0.5]
    assert results["weights"][0] == pytest.approx(3.14159274) and str(results["weights"][1]) == "-0.0"
    assert (results["steps"], results["delta"], results["ints"]) == (12, -3, [1, -2, 3])
    assert results["name"] == 'a "b"\n'
    assert results.raw["loss"] == '{"f32":"0x3f000000"}'
    assert results.other_lines == ("booting",)
    assert f32_to_hex(f32_from_hex("0x3eb9d454")) == "0x3eb9d454"
    with pytest.raises(KeyError, match="reported no 'missing'"):
        results["missing"]
    with pytest.raises(FirmwareError, match="not JSON"):
        parse_results("@es broken {nope\n")
    with pytest.raises(FirmwareError, match="malformed result line"):
        parse_results("@es lonely\n")
