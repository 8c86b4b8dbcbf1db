"""The divergence guard: a training step whose loss or updated parameters are not finite is
undone and counted (ES_ERR_DIVERGED from es_train_step, `train.undone` in the demo's report),
a commit never writes non-finite weights, and optimizer hyper-parameters that round to 0 or 1 in
float32 are refused at build time with the SDK's error."""

from __future__ import annotations

import math
import struct
from pathlib import Path

import pytest
from edgesdk.errors import TrainingError
from edgesdk.pipeline import ProjectOptions, generate_project
from edgesdk.toolchain import run_firmware
from edgesdk.toolchain.firmware import compile_project
from edgesdk.train.spec import OptimizerSpec

ROOT = Path(__file__).resolve().parent.parent
DIGITS = ROOT / "examples" / "digits" / "model" / "digits_cnn.tflite"


def _run(tmp_path: Path, lr: float) -> dict:
    options = ProjectOptions(trainable="all", optimizer="sgd", lr=lr, precision="fp32", steps=8,
                             report_params=True)
    project = generate_project(DIGITS, "host", tmp_path / f"lr{lr:g}", options)
    built = compile_project(project.directory, "host", sanitize=True)
    return run_firmware(built.firmware, timeout_s=300).check().results.values


def test_an_lr_1e9_sgd_run_ends_with_finite_weights_and_counts_the_undone_steps(tmp_path):
    r = _run(tmp_path, 1e9)
    assert r["train.steps"] == 8
    assert r["train.undone"] >= 6  # from step 2 the loss is not finite (measured: 7 of 8)
    params = r["params"]
    assert params and all(math.isfinite(v) for v in params)
    assert r["store.sequence"] == 1  # the commit after training wrote finite weights


def test_a_sane_run_undoes_nothing(tmp_path):
    r = _run(tmp_path, 0.01)
    assert r["train.undone"] == 0 and r["store.sequence"] == 1


@pytest.mark.parametrize("text,needle", [
    ("adam:eps=1e-50", "eps = 1e-50 rounds to 0 in float32"),
    ("adam:beta2=0.9999999999", "beta2 = 0.9999999999 rounds to 1 in float32"),
    ("momentum:momentum=0.99999999", "momentum = 0.99999999 rounds to 1"),
    ("sgd:lr=1e-46", "lr = 1e-46 rounds to 0"),
    ("sgd:lr=1e39", "lr = 1e+39 overflows float32"),
    ("adam:weight_decay=1e-60", "weight_decay = 1e-60 rounds to 0"),
])
def test_hyper_parameters_that_round_away_in_float32_are_refused(text, needle):
    with pytest.raises(TrainingError, match=needle.replace("+", r"\+")):
        OptimizerSpec.parse(text)


def test_hyper_parameters_that_survive_float32_are_kept():
    spec = OptimizerSpec.parse("adam:eps=1e-30,beta2=0.9999")
    assert struct.unpack("<f", struct.pack("<f", spec.eps))[0] > 0 and spec.beta2 == 0.9999
