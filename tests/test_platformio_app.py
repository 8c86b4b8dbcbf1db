"""examples/platformio-app: a user's own firmware (its own main, a sensor ring buffer feeding
es_input_int8, training, inference, es_params_save/load) built from the pieces `edgesdk build`
writes, by real PlatformIO, offline, and run in the emulated STM32F746; the same C on the host
gives the same losses, bit for bit."""

from __future__ import annotations

import importlib.util
import math
import subprocess
from pathlib import Path

import pytest
from edgesdk.toolchain import compile_firmware, run_firmware
from edgesdk.toolchain.platformio import prepare_offline
from edgesdk.toolchain.protocol import parse_results
from edgesdk.toolchain.tools import require

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "platformio-app"


def _make_project():
    spec = importlib.util.spec_from_file_location("make_project", EXAMPLE / "make_project.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.make_project


def test_users_own_firmware_trains_in_the_emulated_board(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    for variable in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.setenv(variable, "http://127.0.0.1:9")
    home = prepare_offline(tmp_path / "home")
    monkeypatch.setenv("PLATFORMIO_CORE_DIR", str(home.core_dir))
    app = _make_project()(tmp_path / "user")
    pio = require("pio").command
    assert pio is not None
    done = subprocess.run([*pio, "run", "-d", str(app), "-t", "exec"], capture_output=True, text=True,
                          timeout=600, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    device = parse_results(done.stdout.splitlines() + done.stderr.splitlines())
    losses = device.all("app.loss")
    assert len(losses) == 40 and all(math.isfinite(v) and v >= 0.0 for v in losses)
    assert device["port.name"] == "qemu" and 0 < device["stack.high_water"] < 8192
    assert device["app.reloaded_same"] == 1  # saved, reset, reloaded: the same outputs
    assert 0 <= device["app.correct_before"] <= 20 and 0 <= device["app.correct_after"] <= 20
    assert any(line.startswith("step 40  loss ") for line in device.other_lines)

    library = app / "lib" / "edgesdk_runtime"
    sources = [app / "src" / "app.c", app / "src" / "model.c", *sorted((library / "src").glob("*.c"))]
    host = run_firmware(
        compile_firmware(sources, board="host", out_dir=tmp_path / "host",
                         include_dirs=[app / "src", library / "include", library / "src"]),
        timeout_s=60,
    ).check().results
    assert host.all("app.loss") == losses
    for key in ("app.correct_before", "app.correct_after", "app.outputs_hash"):
        assert host[key] == device[key], key
