"""One set of defaults: `edgesdk plan`, `edgesdk build` and the Python API resolve precision,
loss and optimizer through the same resolver (edgesdk.train.choice), say what they chose and why,
and so plan and build the same training step."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from edgesdk.cli import main
from edgesdk.frontend import load_model
from edgesdk.pipeline import PlanRequest, ProjectOptions, compile_project, generate_project
from edgesdk.train.choice import TrainingChoice, resolve_training

ROOT = Path(__file__).resolve().parent.parent
SMALL_CNN = ROOT / "tests" / "fixtures" / "small_cnn_int8.tflite"
BUDGET = "32KB"


def _json(*args: str) -> dict:
    done = CliRunner().invoke(main, [*args, "--json"], catch_exceptions=False)
    assert done.exit_code == 0, done.output
    return json.loads(done.stdout)


def test_the_resolver_says_why() -> None:
    model = load_model(SMALL_CNN)
    auto = resolve_training(model, TrainingChoice())
    assert (auto.precision, auto.loss) == ("int8", "softmax_xent")
    assert any("plain SGD" in r for r in auto.reasons) and any("SOFTMAX" in r for r in auto.reasons)
    adam = resolve_training(model, TrainingChoice(optimizer="adam"))
    assert adam.precision == "fp32"
    assert any("adam" in r and "--optimizer sgd" in r for r in adam.reasons)
    explicit = resolve_training(model, TrainingChoice(precision="fp32", loss="mse"))
    assert explicit.reasons == ()  # nothing was "auto": nothing to explain


def test_plan_build_and_the_api_choose_and_plan_alike(tmp_path: Path) -> None:
    planned = _json("plan", str(SMALL_CNN), "--board", "stm32f746", "--budget", BUDGET, "--no-baselines")
    built = _json(
        "build", str(SMALL_CNN), "--board", "stm32f746", "--budget", BUDGET, "-o", str(tmp_path / "cli")
    )
    api = generate_project(
        SMALL_CNN, "stm32f746", tmp_path / "api", ProjectOptions(plan=PlanRequest(budget_bytes=32 * 1024))
    )
    assert planned["training"]["precision"] == built["training"]["precision"] == "int8"
    assert api.training is not None and api.training.precision == api.graph.precision.value == "int8"
    assert planned["training"] == built["training"] == api.training.as_dict()
    arena = planned["schedule"]["figures"]["arena_bytes"]
    assert built["plan"]["arena_bytes"] == arena == api.manifest.data["plan"]["arena_bytes"]
    assert api.manifest.data["options"]["precision"] == "int8"
    assert api.manifest.data["options"]["why"] == list(api.training.reasons)


def test_build_json_reports_the_compiled_firmware(tmp_path: Path) -> None:
    document = _json("build", str(SMALL_CNN), "--board", "stm32f746", "-o", str(tmp_path / "fw"), "--compile")
    assert set(document["compiled"]) == {"emulated", "board"}
    board = document["compiled"]["board"]
    assert Path(board["elf"]).is_file() and board["flash_bytes"] > 0
    assert board["ram"]["arena"] == document["memory"]["arena_bytes"]  # the ELF's es_arena is the plan's
    assert document["training"]["precision"] == "int8" and document["trains"]


def test_compile_project_takes_the_generated_project(tmp_path: Path) -> None:
    project = generate_project(SMALL_CNN, "host", tmp_path / "fw", ProjectOptions(steps=1))
    built = compile_project(project, "host")
    assert built.firmware.path.is_file() and built.firmware.path.is_relative_to(project.directory)


@pytest.mark.parametrize(
    "args, phrases",
    [
        (["build", "-o", "/proc/edgesdk-x"], ["cannot make the project directory", "-o"]),
        (["build", "-o", "/etc/hostname/sub"], ["Not a directory", "-o"]),
        (["build", "-o", "{tmp}/fw", "--lr", "1e40"], ["lr = 1e+40 overflows float32"]),
        (["build", "-o", "{tmp}/fw", "--optimizer", "adam:weight_decay=1e39", "--precision", "fp32"],
         ["weight_decay = 1e+39 overflows float32"]),
        (["build", "-o", "{tmp}/fw", "--optimizer", "adam:eps=1e-50", "--precision", "fp32"],
         ["eps = 1e-50 rounds to 0 in float32"]),
        (["build", "-o", "{tmp}/fw", "--board", "stm32f746", "--budget", "30KB", "--max-erases", "-1"],
         ["--max-erases", ">= 0"]),
        (["plan", "--board", "stm32f746", "--time-limit", "nan"], ["--time-limit"]),
        (["build", "-o", "{tmp}/fw", "--board", "stm32f746", "--batch", "100000", "--compile"],
         ["does not fit stm32f746", "SRAM needed", "--batch"]),
    ],
)
def test_bad_options_get_the_sdks_own_message(tmp_path: Path, args: list[str], phrases: list[str]) -> None:
    command = [a.replace("{tmp}", str(tmp_path)) for a in args]
    done = CliRunner().invoke(main, [command[0], str(SMALL_CNN), *command[1:]])
    assert done.exit_code == 2, done.output
    assert done.exception is None or isinstance(done.exception, SystemExit)
    for phrase in phrases:
        assert phrase in done.output, done.output
