"""Board files: the schema, each board's figures, the emulation profile, and `edgesdk boards`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from edgesdk.boards import KNOWN_PORTS, available_boards, board_names, load_all_boards, load_board
from edgesdk.cli import main
from edgesdk.errors import BoardError
from edgesdk.resources import boards_dir

KB = 1024

# name -> (core, fpu, clock MHz, SRAM KB, flash KB, QEMU machine, PlatformIO platform, board id)
EXPECTED = {
    "stm32f746": ("cortex-m7", "fpv5-sp-d16", 216, 320, 1024, "mps2-an500", "ststm32", "disco_f746ng"),
    "stm32f407": ("cortex-m4", "fpv4-sp-d16", 168, 128, 1024, "mps2-an386", "ststm32", "disco_f407vg"),
    "nrf52840": ("cortex-m4", "fpv4-sp-d16", 64, 256, 1024, "mps2-an386", "nordicnrf52", "nrf52840_dk"),
    "nrf52832": ("cortex-m4", "fpv4-sp-d16", 64, 64, 512, "mps2-an386", "nordicnrf52", "nrf52_dk"),
    # 1 MB less the 64 KB the bootloader keeps
    "arduino_nano33ble": ("cortex-m4", "fpv4-sp-d16", 64, 256, 960, "mps2-an386", "nordicnrf52", "nano33ble"),
}


def test_the_six_boards_are_there():
    assert available_boards() == [
        "arduino_nano33ble", "host", "nrf52832", "nrf52840", "stm32f407", "stm32f746"
    ]


@pytest.mark.parametrize(
    ("alias", "name"),
    [("disco_f746ng", "stm32f746"), ("nrf52840_dk", "nrf52840"), ("nano33ble", "arduino_nano33ble"),
     ("disco_f407vg", "stm32f407"), ("nrf52_dk", "nrf52832")],
)
def test_platformio_ids_name_the_same_board(alias: str, name: str):
    assert load_board(alias) == load_board(name)
    assert board_names()[alias] == name


def test_unknown_board_lists_both_names():
    with pytest.raises(BoardError) as caught:
        load_board("disco_f746")
    message = str(caught.value)
    assert "Did you mean 'disco_f746ng'?" in message
    assert "stm32f746 (disco_f746ng)" in message and "arduino_nano33ble (nano33ble)" in message


def test_nano33ble_links_behind_its_bootloader():
    board = load_board("nano33ble")
    assert (board.flash_origin, board.flash_bytes) == (0x10000, 1024 * KB - 64 * KB)
    assert board.port == "nrf52" and [t.name for t in board.storage] == ["internal_flash"]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_board_figures(name):
    core, fpu, mhz, sram_kb, flash_kb, machine, platform, pio_board = EXPECTED[name]
    board = load_board(name)
    assert (board.core, board.fpu, board.float_abi) == (core, fpu, "hard")
    assert board.clock_hz == mhz * 1_000_000
    assert (board.sram_bytes, board.flash_bytes) == (sram_kb * KB, flash_kb * KB)
    assert board.emulation is not None
    # M7 boards stand in on mps2-an500, M4F boards on mps2-an386, each with the matching CPU
    assert (board.emulation.qemu_machine, board.emulation.qemu_cpu) == (machine, core)
    assert (board.emulation.flash_origin, board.emulation.ram_origin) == (0x0, 0x20000000)
    assert board.platformio_platform.startswith(f"platformio/{platform}@")  # pinned
    assert board.platformio_board == pio_board
    assert board.port in KNOWN_PORTS and board.port != "host"
    assert board.cflags[:3] == (f"-mcpu={core}", "-mthumb", "-mfloat-abi=hard")
    assert f"-mfpu={fpu}" in board.cflags
    assert sum(s.count * s.bytes for s in board.flash_sectors) == board.flash_bytes
    assert 0 < board.stack_bytes < board.sram_bytes // 8
    assert board.sources and all(isinstance(source, str) and source for source in board.sources)
    assert board.costs.run_current_a > 0 and board.costs.voltage_v > 0


def test_storage_tiers_follow_nor_flash_rules():
    for board in load_all_boards():
        assert board.storage, board.name
        for tier in board.storage:
            assert tier.swap_bytes % tier.sector_bytes == 0
            assert 0 < tier.swap_bytes <= tier.size_bytes
            assert tier.erase_cycles >= 10_000
            assert tier.program_bytes_per_s > 0 and tier.read_bytes_per_s > 0 and tier.erase_sector_s > 0


def test_board_specific_memory_facts():
    f746 = load_board("stm32f746")
    assert [(s.count, s.bytes) for s in f746.flash_sectors] == [(4, 32 * KB), (1, 128 * KB), (3, 256 * KB)]
    assert [t.name for t in f746.storage] == ["internal_flash", "qspi_nor"]
    assert f746.storage[1].size_bytes == 16 * KB * KB
    f407 = load_board("stm32f407")
    assert [(r.name, r.origin, r.size_bytes) for r in f407.extra_ram] == [("ccmram", 0x10000000, 64 * KB)]
    assert [(s.count, s.bytes) for s in f407.flash_sectors] == [(4, 16 * KB), (1, 64 * KB), (7, 128 * KB)]
    nrf = load_board("nrf52840")
    assert nrf.flash_origin == 0 and nrf.storage[0].sector_bytes == 4 * KB
    assert nrf.storage[1].size_bytes == 8 * KB * KB
    assert [t.name for t in load_board("nrf52832").storage] == ["internal_flash"]


def test_host_board():
    host = load_board("host")
    assert host.is_host and host.port == "host" and host.cflags == () and host.emulated_by == "host"
    assert host.emulation is None


def test_misspelt_board_names_the_closest_and_lists_all():
    with pytest.raises(BoardError) as caught:
        load_board("stm32f74")
    message = str(caught.value)
    assert "Did you mean 'stm32f746'?" in message
    for name in available_boards():
        assert name in message


def test_inconsistent_board_file_is_rejected(tmp_path: Path):
    text = (boards_dir() / "nrf52832.toml").read_text()
    broken = tmp_path / "broken.toml"
    broken.write_text(text.replace("count = 128, bytes = 4_096", "count = 100, bytes = 4_096"))
    with pytest.raises(BoardError, match="flash_sectors add up to 409600 bytes"):
        load_board(broken)
    wrong_port = tmp_path / "port.toml"
    wrong_port.write_text(text.replace('port = "nrf52"', 'port = "esp32"'))
    with pytest.raises(BoardError, match="port 'esp32' is not one of"):
        load_board(wrong_port)
    garbage = tmp_path / "garbage.toml"
    garbage.write_text("[core\n")
    with pytest.raises(BoardError, match="malformed board file"):
        load_board(garbage)


def test_cli_boards_table():
    result = CliRunner().invoke(main, ["boards"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split()[:5] == ["name", "PlatformIO", "id", "core", "clock"]
    assert "emulated by" in lines[0]
    rows = {line.split()[0]: line for line in lines[2:]}
    assert set(rows) == set(available_boards())
    assert "216 MHz" in rows["stm32f746"] and "320 KB" in rows["stm32f746"]
    assert "mps2-an500 (cortex-m7)" in rows["stm32f746"]
    assert "mps2-an386 (cortex-m4)" in rows["nrf52840"] and "qspi_nor 8 MB" in rows["nrf52840"]
    assert "64 KB ccmram" in rows["stm32f407"]


def test_cli_boards_json():
    result = CliRunner().invoke(main, ["boards", "--json"])
    assert result.exit_code == 0, result.output
    boards = {entry["name"]: entry for entry in json.loads(result.output)}
    assert boards["nrf52832"]["sram_bytes"] == 65536
    assert boards["stm32f746"]["emulation"] == {"qemu_machine": "mps2-an500", "qemu_cpu": "cortex-m7"}
    assert boards["stm32f746"]["platformio"] == {
        "platform": "platformio/ststm32@19.6.0", "board": "disco_f746ng"
    }
    assert boards["stm32f746"]["aliases"] == ["disco_f746ng"]
    table = CliRunner().invoke(main, ["boards"]).output
    assert "PlatformIO id" in table.splitlines()[0]
    assert any(line.split()[:2] == ["nrf52832", "nrf52_dk"] for line in table.splitlines())
    assert boards["host"]["emulation"] is None


def test_cli_boards_misspelt_is_a_message_not_a_traceback():
    result = CliRunner().invoke(main, ["boards", "nrf52480"])
    assert result.exit_code == 2
    assert "Did you mean 'nrf52840'?" in result.output
    assert "Traceback" not in result.output
