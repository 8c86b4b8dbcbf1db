"""Run one mutated model through every stage that needs no compiler: import, training graph,
planning where asked, project generation. Shared by tests/test_pipeline_fuzz.py and
benchmarks/fuzz_pipeline.py. Only the SDK's own errors may come out; anything else is an escape."""

from __future__ import annotations

import random
import shutil
import tempfile
import traceback
from dataclasses import dataclass
from pathlib import Path

from edgesdk.errors import EdgeSdkError, ModelError
from edgesdk.frontend import load_model
from edgesdk.pipeline import PlanRequest, ProjectOptions, generate_project
from model_mutations import mutate

ROOT = Path(__file__).resolve().parent.parent
SEED_MODELS = {
    "small_cnn": ROOT / "tests" / "fixtures" / "small_cnn_int8.tflite",
    "patterns": ROOT / "tests" / "fixtures" / "converter_patterns_int8.tflite",
    "float_io": ROOT / "tests" / "fixtures" / "small_cnn_float_io.tflite",
    "digits": ROOT / "examples" / "digits" / "model" / "digits_cnn.tflite",
}
# the option sets a case draws from: the defaults, each precision, sparse selections, extreme values
OPTION_SETS: tuple[dict[str, object], ...] = (
    {},
    {"precision": "fp32"},
    {"precision": "int8", "trainable": "last:1"},
    {"trainable": "bias"},
    {"optimizer": "adam", "precision": "fp32"},
    {"optimizer": "momentum", "batch": 2},
    {"lr": 1e40},
    {"optimizer": "adam:weight_decay=1e39", "precision": "fp32"},
    {"optimizer": "adam:eps=1e-50", "precision": "fp32"},
    {"plan": PlanRequest(budget_bytes=24 * 1024, time_limit_s=2.0)},
)
BOARDS = ("host", "stm32f746")


@dataclass(frozen=True)
class Outcome:
    mutation: str
    stage: str  # "import" (ModelError at load), "pipeline" (an SDK error later), "generated", "escaped"
    error: str  # the error's class (or "" when generated)
    detail: str = ""  # for an escape: the traceback's last lines


def run_case(seed_model: str, rng: random.Random, work: Path) -> Outcome:
    blob, mutation = mutate(SEED_MODELS[seed_model].read_bytes(), rng)
    try:
        graph = load_model(blob)
    except ModelError as error:
        return Outcome(mutation, "import", type(error).__name__)
    except Exception:  # noqa: BLE001 - the point: anything but the SDK's errors is a bug
        return Outcome(mutation, "escaped", "import", traceback.format_exc(limit=-3))
    options = ProjectOptions(**rng.choice(OPTION_SETS))  # type: ignore[arg-type]
    out = Path(tempfile.mkdtemp(dir=work))
    try:
        generate_project(graph, rng.choice(BOARDS), out / "fw", options)
    except EdgeSdkError as error:
        return Outcome(mutation, "pipeline", type(error).__name__)
    except Exception:  # noqa: BLE001
        return Outcome(mutation, "escaped", "pipeline", traceback.format_exc(limit=-3))
    finally:
        shutil.rmtree(out, ignore_errors=True)
    return Outcome(mutation, "generated", "")
