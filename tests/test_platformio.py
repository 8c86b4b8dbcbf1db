"""PlatformIO offline: a project with a real-board env and an emulated env, the runtime as a
library, built and run by real PlatformIO 6.2.0 with no network (local platform + tool-scons)."""

from __future__ import annotations

import configparser
import json
from pathlib import Path

import pytest
from edgesdk.codegen.platformio import PlatformIOHome, PlatformIOProject, write_library, write_project
from edgesdk.errors import BoardError
from edgesdk.targets import Target
from edgesdk.toolchain import compile_directory, compile_firmware, elf_report, layout_for, run_firmware
from edgesdk.toolchain.platformio import SCONS_PACKAGE_VERSION, pio_run, prepare_offline, program_path

DEMO = Path(__file__).parent / "port_programs" / "port_demo.c"


@pytest.fixture(scope="module")
def core_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pio-core")


@pytest.fixture(scope="module")
def home(core_dir: Path) -> PlatformIOHome:
    return prepare_offline(core_dir)


@pytest.fixture(scope="module")
def host_results(tmp_path_factory: pytest.TempPathFactory):
    firmware = compile_firmware([DEMO], board="host", out_dir=tmp_path_factory.mktemp("host"))
    return run_firmware(firmware, timeout_s=30).check().results


@pytest.fixture()
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    # any attempt to reach a registry goes to a closed local port and fails at once
    for variable in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.setenv(variable, "http://127.0.0.1:9")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)


def _ini(project: PlatformIOProject) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(project.directory / "platformio.ini")
    return parser


def test_project_files(tmp_path: Path, home: PlatformIOHome):
    project = write_project(tmp_path / "fw", "stm32f746", home, sources=[DEMO])
    ini = _ini(project)
    real, emulated = ini["env:stm32f746"], ini["env:stm32f746_emulated"]
    assert (real["platform"], real["board"]) == ("platformio/ststm32@19.6.0", "disco_f746ng")
    assert real["monitor_speed"] == "115200"
    assert "-DES_PORT_STM32F7" in real["build_flags"] and "-DES_PORT_STARTUP" in real["build_flags"]
    assert emulated["platform"] == "symlink://${PROJECT_DIR}/edgesdk/platform"
    assert emulated["board"] == "edgesdk_stm32f746_emulated"
    assert "-DES_PORT_QEMU" in emulated["build_flags"]
    assert "-ffp-contract=off" in ini["env"]["build_flags"]
    assert ini["platformio"]["default_envs"] == "stm32f746_emulated"
    for env in (real, emulated):
        assert (project.directory / env["board_build.ldscript"]).is_file()
    board_script = (project.directory / real["board_build.ldscript"]).read_text()
    assert "FLASH (rx)  : ORIGIN = 0x08000000, LENGTH = 1048576" in board_script
    library = json.loads((project.directory / "lib" / "edgesdk_runtime" / "library.json").read_text())
    assert library["name"] == "edgesdk_runtime" and library["build"]["libArchive"] is False
    assert (project.directory / "lib/edgesdk_runtime/include/edgesdk/port.h").is_file()
    assert (project.directory / "lib/edgesdk_runtime/port/cortex_m/startup.c").is_file()
    assert (project.directory / "src" / DEMO.name).is_file()
    scons = home.core_dir / "packages" / "tool-scons"
    assert json.loads((scons / "package.json").read_text())["version"] == SCONS_PACKAGE_VERSION
    assert json.loads((scons / ".piopm").read_text())["spec"]["owner"] == "platformio"
    assert (scons / "scons.py").is_file()
    assert (scons / "scons-local" / "SCons" / "Script" / "Main.py").is_file()
    platform = project.directory / "edgesdk" / "platform"
    assert (platform / "builder" / "main.py").is_file()
    assert json.loads((platform / "platform.json").read_text())["packages"] == {}
    assert [p.name for p in (platform / "boards").iterdir()] == ["edgesdk_stm32f746_emulated.json"]
    nrf = write_project(tmp_path / "nrf", "nrf52840_dk", home)
    manifests = nrf.directory / "edgesdk" / "platform" / "boards"
    manifest = json.loads((manifests / "edgesdk_nrf52840_emulated.json").read_text())
    assert manifest["edgesdk"]["qemu_machine"] == "mps2-an386"
    assert manifest["upload"]["maximum_ram_size"] == 262144
    # nothing in the project names where it is, nor where PlatformIO's home is
    for path in (project.directory, nrf.directory):
        for file in path.rglob("*"):
            if file.is_file() and file.suffix in {".ini", ".json", ".ld", ".py", ".md", ""}:
                text = file.read_text(errors="replace")
                assert str(tmp_path) not in text and str(home.core_dir) not in text, file


@pytest.mark.parametrize("board", ["stm32f746", "nrf52840"])
def test_platformio_builds_and_runs_the_emulated_env_offline(
    tmp_path: Path, home: PlatformIOHome, host_results, offline: None, board: str
):
    project = write_project(tmp_path / "fw", board, home, sources=[DEMO])
    built = pio_run(project, project.emulated_env).check()
    assert "SUCCESS" in built.stdout
    elf = program_path(project, project.emulated_env)
    layout = layout_for(project.board, Target.EMULATED)
    report = elf_report(elf, board=board, target="emulated", layout=layout,
                        flash_size=project.board.flash_bytes, sram_size=project.board.sram_bytes)
    assert report.fits and report.stack_reserved == project.board.stack_bytes

    ran = pio_run(project, project.emulated_env, "exec").check()
    assert ran.firmware_status == 0
    results = ran.results
    assert results["port.name"] == "qemu" and results["counter.unit"] == "instructions"
    assert 200_000 <= results["spin.count"] <= 200_200
    assert results["stack.high_water"] > 0
    for key in ("sgd.weights", "sgd.loss"):
        assert results.raw[key] == host_results.raw[key]

    # the same project without PlatformIO: directly with arm-none-eabi-gcc, and on the host
    direct = run_firmware(compile_directory(project.directory, board), timeout_s=30).check().results
    assert direct.raw == results.raw
    on_host = run_firmware(compile_directory(project.directory, board, target="host"), timeout_s=30).check()
    assert on_host.results.raw["sgd.loss"] == results.raw["sgd.loss"]


def test_exec_reports_the_firmware_exit_status(tmp_path: Path, home: PlatformIOHome, offline: None):
    source = tmp_path / "exit7.c"
    source.write_text('#include "edgesdk/port.h"\nint main(void) { es_port_init(); return 7; }\n')
    project = write_project(tmp_path / "fw", "stm32f746", home, sources=[source])
    ran = pio_run(project, project.emulated_env, "exec")
    assert ran.exit_status != 0 and ran.firmware_status == 7


def test_library_alone(tmp_path: Path):
    library = write_library(tmp_path / "lib" / "edgesdk_runtime")
    assert json.loads((library / "library.json").read_text())["build"]["includeDir"] == "include"
    assert sorted(p.name for p in (library / "port").iterdir()) == [
        "common", "cortex_m", "host", "nrf52", "qemu", "stm32f4", "stm32f7"
    ]


def test_host_board_has_no_platformio_project(tmp_path: Path, home: PlatformIOHome):
    with pytest.raises(BoardError, match="no PlatformIO platform"):
        write_project(tmp_path, "host", home)
