"""Fuzz past the importer: mutated real models (field-level edits the importer accepts, and
byte-level damage) with a spread of option sets go through import, training graph, planning and
project generation. Only the SDK's own errors may come out (the benchmark runs 10,000 cases:
benchmarks/fuzz_pipeline.py)."""

from __future__ import annotations

import collections
import random
from pathlib import Path

import pytest
from pipeline_fuzz import SEED_MODELS, run_case

CASES = 240


@pytest.mark.parametrize("seed_model", sorted(SEED_MODELS))
def test_only_sdk_errors_escape_any_stage(seed_model: str, tmp_path: Path) -> None:
    rng = random.Random(f"pipeline-fuzz-{seed_model}")
    outcomes = [run_case(seed_model, rng, tmp_path) for _ in range(CASES // len(SEED_MODELS))]
    escaped = [o for o in outcomes if o.stage == "escaped"]
    assert not escaped, "\n\n".join(f"{o.mutation} ({o.error}):\n{o.detail}" for o in escaped[:5])
    stages = collections.Counter(o.stage for o in outcomes)
    # the field-level mutations reach the later stages: the fuzz is not stuck at the importer
    assert stages["pipeline"] + stages["generated"] >= len(outcomes) // 5, stages
