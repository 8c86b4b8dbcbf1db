"""A generated PlatformIO project is portable: built with `--board disco_f746ng` (PlatformIO's id),
moved to another folder and given a fresh PlatformIO home with no network, it builds its emulated
env with real `pio run` and trains there, with the host build's results bit for bit. And
`edgesdk run` on a board project says where it can run instead of guessing."""

from __future__ import annotations

import json
import shutil
import subprocess
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from codegen_support import every_op_classifier
from edgesdk.cli import main
from edgesdk.toolchain.protocol import parse_results
from edgesdk.toolchain.tools import require


def _cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def _dataset(path: Path, train: int = 16, test: int = 8) -> Path:
    rng = np.random.default_rng(11)
    mixing = rng.standard_normal((128, 4)).astype(np.float32)
    x = rng.uniform(-1.0, 1.0, size=(train + test, 8, 8, 2)).astype(np.float32)
    y = np.argmax(x.reshape(len(x), -1) @ mixing, axis=1).astype(np.int32)
    np.savez(path, x_train=x[:train], y_train=y[:train], x_test=x[train:], y_test=y[train:])
    return path


@pytest.fixture()
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.setenv(variable, "http://127.0.0.1:9")  # a closed port: any download fails at once
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)


def test_moved_project_trains_with_a_fresh_platformio_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, offline: None
) -> None:
    model = tmp_path / "classifier.tflite"
    model.write_bytes(every_op_classifier())
    data = _dataset(tmp_path / "user.npz")
    first = tmp_path / "alice" / "fw"
    monkeypatch.setenv("EDGESDK_PLATFORMIO_DIR", str(tmp_path / "build-home"))
    code, stdout, stderr = _cli(
        "build", str(model), "--board", "disco_f746ng", "-o", str(first), "--trainable", "last:2",
        "--lr", "0.05", "--data", str(data), "--epochs", "2",
    )
    assert code == 0, stderr
    manifest = json.loads((first / "edgesdk.json").read_text())
    assert manifest["board"] == "stm32f746"  # the PlatformIO id named edgesdk's board
    for file in first.rglob("*"):
        if file.is_file():
            assert str(tmp_path) not in file.read_text(errors="replace"), file

    moved = tmp_path / "bob" / "projects" / "fw"
    moved.parent.mkdir(parents=True)
    shutil.move(str(first), str(moved))
    fresh = tmp_path / "fresh-home"
    monkeypatch.delenv("EDGESDK_PLATFORMIO_DIR")
    monkeypatch.setenv("PLATFORMIO_CORE_DIR", str(fresh))

    code, stdout, stderr = _cli("run", str(moved), "--emulate", "--json")
    assert code == 0, stderr
    assert "installed tool-scons 4.41101.0" in stderr and str(fresh) in stderr
    emulated = json.loads(stdout)
    assert emulated["built_with"] == "platformio" and emulated["target"] == "emulated"
    assert (fresh / "packages" / "tool-scons" / "scons.py").is_file()
    code, stdout, stderr = _cli("run", str(moved), "--host", "--json")
    assert code == 0, stderr
    host = json.loads(stdout)["results"]
    results = emulated["results"]
    assert results["train_steps"] == 2 * 16
    assert len(results["epoch_losses"]) == 2 and results["epoch_losses"] == host["epoch_losses"]
    assert (results["accuracy_before"], results["accuracy_after"]) == (
        host["accuracy_before"], host["accuracy_after"]
    )

    # plain `pio run` in that home, offline, from the moved folder: builds and trains the same
    pio = require("pio").command
    assert pio is not None
    done = subprocess.run(
        [*pio, "run", "-d", str(moved), "-e", "stm32f746_emulated", "-t", "exec"],
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    ran = parse_results(done.stdout.splitlines() + done.stderr.splitlines())
    assert ran.all("epoch.loss") == host["epoch_losses"]
    # the readable lines a serial monitor shows, beside the records
    human = [line.strip() for line in ran.other_lines]
    last = Decimal(host["epoch_losses"][-1]).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)
    assert f"epoch 2/2  loss {last}" in human
    correct = round(host["accuracy_after"] * 8)
    percent = (Decimal(correct * 100) / 8).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    assert f"test after  acc {percent} %  ({correct}/8)" in human
    assert sum(line.startswith("step ") for line in human) == 2 * 16
    link = json.loads((fresh / "platforms" / "platform.pio-link").read_text())
    assert link["spec"]["uri"] == f"symlink://{moved}/edgesdk/platform"


def test_run_on_a_board_project_says_where_it_can_run(tmp_path: Path) -> None:
    model = tmp_path / "classifier.tflite"
    model.write_bytes(every_op_classifier())
    out = tmp_path / "fw"
    assert _cli("build", str(model), "--board", "nrf52840_dk", "-o", str(out), "--steps", "1")[0] == 0
    code, stdout, stderr = _cli("run", str(out))
    assert code == 2 and "Traceback" not in stderr
    for phrase in ("--emulate", "--upload", "--monitor", "--host", "nRF52840-DK"):
        assert phrase in stderr, stderr
    assert not (out / "build").exists()  # nothing was compiled behind the user's back


def test_upload_without_the_platform_names_the_install_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = tmp_path / "classifier.tflite"
    model.write_bytes(every_op_classifier())
    out = tmp_path / "fw"
    assert _cli("build", str(model), "--board", "stm32f746", "-o", str(out), "--steps", "1")[0] == 0
    monkeypatch.setenv("PLATFORMIO_CORE_DIR", str(tmp_path / "empty-home"))
    code, _, stderr = _cli("run", str(out), "--upload")
    assert code == 2 and "Traceback" not in stderr
    assert "ststm32 is not installed" in stderr
    assert "pio pkg install -g -p platformio/ststm32@19.6.0" in stderr


def test_platformio_home_command_installs_tool_scons_once(tmp_path: Path) -> None:
    home = tmp_path / "home"
    code, stdout, stderr = _cli("platformio-home", str(home))
    assert code == 0, stderr
    assert "installed tool-scons 4.41101.0" in stdout
    assert (home / "packages" / "tool-scons" / "scons-local" / "SCons" / "Script" / "Main.py").is_file()
    code, stdout, _ = _cli("platformio-home", str(home))
    assert code == 0 and "nothing to do" in stdout
