"""``edgesdk plan`` from the command line: table, JSON, plot, schedule file and error messages."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from commands import console_script
from edgesdk.cli import main
from test_plan_milp import TINY

FIXTURES = Path(__file__).parent / "fixtures"


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["plan", *args])
    return result.exit_code, result.output


@pytest.fixture()
def chain_json(tmp_path: Path) -> Path:
    path = tmp_path / "chain.json"
    path.write_text(json.dumps(TINY[0]))
    return path


def test_table_with_baselines_and_plot(chain_json: Path, tmp_path: Path) -> None:
    png = tmp_path / "timeline.png"
    code, out = run(str(chain_json), "--board", "stm32f746", "--budget", "1300B", "--plot", str(png))
    assert code == 0, out
    lines = out.splitlines()
    assert lines[0].startswith("chain on stm32f746: budget 1.3 KB (resident state 0.1 KB), objective energy")
    names = [line.split("  ")[0].strip() for line in lines if line[:1].isalpha()]
    for expected in (
        "edgesdk (remat + paging MILP)",
        "keep-all",
        "remat-only (Checkmate)",
        "paging-only",
        "Chen sqrt(n)",
        "greedy",
    ):
        assert expected in names, out
    keep_all = next(line for line in lines if line.startswith("keep-all"))
    assert "infeasible: over the RAM budget" in keep_all and "1.000" in keep_all
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000


def test_json_document_and_schedule_file(chain_json: Path, tmp_path: Path) -> None:
    sched = tmp_path / "schedule.json"
    code, out = run(
        str(chain_json),
        "--board",
        "stm32f746",
        "--budget",
        "1400B",
        "--json",
        "--objective",
        "time",
        "--schedule",
        str(sched),
        "--no-baselines",
    )
    assert code == 0, out
    doc = json.loads(out)
    assert doc["plan"]["gap"] is not None and doc["plan"]["gap"] <= 0.01
    assert doc["baselines"] == []
    schedule = doc["schedule"]
    assert schedule["objective"] == "time" and schedule["budget_bytes"] == 1400
    ops = [i["op"] for i in schedule["instructions"]]
    assert ops.count("compute") == 6 and ops[-1] == "free"
    assert schedule["figures"]["peak_ram_bytes"] <= 1400
    assert json.loads(sched.read_text()) == schedule


def test_tflite_model_is_planned(tmp_path: Path) -> None:
    code, out = run(
        str(FIXTURES / "small_cnn_int8.tflite"),
        "--board",
        "stm32f746",
        "--budget",
        "60KB",
        "--time-limit",
        "10",
        "--json",
    )
    assert code == 0, out
    doc = json.loads(out)
    assert doc["schedule"]["figures"]["peak_ram_bytes"] <= 60 * 1024
    assert doc["schedule"]["resident_bytes"] > 0
    assert {i["op"] for i in doc["schedule"]["instructions"]} >= {"compute", "free"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--budget", "ninety"], "cannot read the size 'ninety'"),
        (["--budget", "900KB"], "more than the 320.0 KB of SRAM stm32f746 has"),
        (["--budget", "100B"], "the smallest budget this graph fits is 1.3 KB"),
        (["--budget", "2KB", "--runtime-budget", "0.5x"], "allow at least 1.0x"),
        (["--budget", "2KB", "--runtime-budget", "soon"], "cannot read the runtime budget"),
        (["--budget", "2KB", "--board", "stm32f764"], "Did you mean 'stm32f746'"),
    ],
)
def test_errors_are_messages_not_tracebacks(chain_json: Path, args: list[str], message: str) -> None:
    if "--board" not in args:
        args = [*args, "--board", "stm32f746"]
    code, out = run(str(chain_json), *args)
    assert code == 2, out
    assert message in out and "Traceback" not in out


def test_missing_and_wrong_files(tmp_path: Path) -> None:
    code, out = run(str(tmp_path / "none.json"), "--board", "stm32f746")
    assert code == 2 and "no such file" in out
    other = tmp_path / "model.onnx"
    other.write_text("x")
    code, out = run(str(other), "--board", "stm32f746")
    assert code == 2 and "expected a .tflite model or a graph .json" in out


@pytest.mark.parametrize("how", ["console script", "python -m edgesdk"])
def test_console_script_runs(how: str) -> None:
    command = [str(console_script())] if how == "console script" else [sys.executable, "-m", "edgesdk"]
    out = subprocess.run([*command, "plan", "--help"], capture_output=True, text=True, check=True)
    assert "--runtime-budget" in out.stdout and "--plot" in out.stdout
