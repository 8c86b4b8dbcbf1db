"""The README's main job: the digits personalization demo, trained in the emulated boards."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("board", ["stm32f746", "nrf52840"])
def test_demo_personalizes_in_the_emulated_board(board: str, tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(REPO / "examples" / "digits" / "demo.py"), "--board", board,
         "--out", str(tmp_path), "--json"],
        capture_output=True, text=True, cwd=REPO, timeout=600,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    results = report["results"]
    assert report["target"] == "emulated"
    assert results["port"] == "qemu"
    assert results["test_samples"] == 350
    # the new user's writing: the base model is poor on it, fine-tuning on-device must really help
    assert results["accuracy_before"] < 0.6
    assert results["accuracy_after"] >= results["accuracy_before"] + 0.3
    losses = results["epoch_losses"]
    assert len(losses) == 5 and losses[-1] < losses[0] / 2
    assert results["instructions_per_step"] > 100_000
    assert 0 < results["stack_high_water_bytes"] < results["stack_size_bytes"]
