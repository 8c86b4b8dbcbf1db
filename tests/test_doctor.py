"""`edgesdk doctor`: versions of what is installed; what is missing and the command to install it."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from commands import console_script
from edgesdk.cli import main


def _version(command: list[str]) -> str:
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout.splitlines()[0]


def test_doctor_lists_every_tool_with_its_version():
    result = CliRunner().invoke(main, ["doctor"])
    assert result.exit_code == 0, result.output
    lines = {line.split()[1]: line for line in result.output.splitlines() if line.startswith("ok ")}
    assert set(lines) == {"gcc", "arm-none-eabi-gcc", "qemu-system-arm", "pio", "scons"}
    assert "12.2.1" in _version(["arm-none-eabi-gcc", "--version"]) and "12.2.1" in lines["arm-none-eabi-gcc"]
    qemu = _version(["qemu-system-arm", "--version"]).split()[3]  # "QEMU emulator version 7.2.x"
    assert qemu in lines["qemu-system-arm"]
    assert "6.2.0" in lines["pio"] and "4.11.1" in lines["scons"]
    assert "Everything edgesdk uses is installed." in result.output


def test_doctor_json():
    result = CliRunner().invoke(main, ["doctor", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["ok"] is True
    tools = {tool["name"]: tool for tool in report["tools"]}
    assert tools["gcc"]["found"] and tools["gcc"]["command"] == [shutil.which("gcc")]
    assert tools["qemu-system-arm"]["version"].startswith("7.2")
    assert all(tool["install"] is None for tool in tools.values())


def test_doctor_names_what_is_missing_and_how_to_install_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    # a PATH with gcc only: the cross compiler and QEMU are "missing"
    (tmp_path / "gcc").symlink_to(shutil.which("gcc"))
    monkeypatch.setenv("PATH", str(tmp_path))
    result = CliRunner().invoke(main, ["doctor"])
    assert result.exit_code == 1
    output = result.output
    assert "ok       gcc" in output
    assert "MISSING  arm-none-eabi-gcc" in output and "MISSING  qemu-system-arm" in output
    apt = "apt-get install -y --no-install-recommends"
    assert f"install: {apt} gcc-arm-none-eabi libnewlib-arm-none-eabi" in output
    assert f"install: {apt} qemu-system-arm" in output
    assert ("All system packages at once: apt-get install -y --no-install-recommends "
            "gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm") in output
    result = CliRunner().invoke(main, ["doctor", "--json"])
    report = json.loads(result.output)
    assert report["ok"] is False
    missing = {tool["name"]: tool for tool in report["tools"] if not tool["found"]}
    assert set(missing) == {"arm-none-eabi-gcc", "qemu-system-arm"}
    assert missing["qemu-system-arm"]["install"] == f"{apt} qemu-system-arm"


def test_doctor_runs_as_a_command():
    done = subprocess.run([str(console_script()), "doctor"], capture_output=True, text=True, check=False)
    assert done.returncode == 0 and "arm-none-eabi-gcc" in done.stdout and "Traceback" not in done.stderr
