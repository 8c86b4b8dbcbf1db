"""Fuzz every stage that needs no compiler with mutated real models (tests/model_mutations.py):
import, training graph, planning, project generation. Prints the outcomes by class and every
escape (an exception that is not one of the SDK's errors), with the commit.

    python benchmarks/fuzz_pipeline.py --cases 10000
"""

from __future__ import annotations

import collections
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import click

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from pipeline_fuzz import SEED_MODELS, run_case  # noqa: E402


def _commit() -> str:
    done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT)
    return done.stdout.strip() or "unknown"


@click.command()
@click.option("--cases", type=int, default=10_000, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
def main(cases: int, seed: int) -> None:
    rng = random.Random(seed)
    counts: collections.Counter[tuple[str, str]] = collections.Counter()
    escapes = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as work:
        for index in range(cases):
            outcome = run_case(rng.choice(sorted(SEED_MODELS)), rng, Path(work))
            counts[(outcome.stage, outcome.error)] += 1
            if outcome.stage == "escaped":
                escapes.append(outcome)
            if sys.stderr.isatty() and index % 100 == 0:
                print(f"\r{index}/{cases} cases, {len(escapes)} escaped", end="", file=sys.stderr)
    if sys.stderr.isatty():
        print(file=sys.stderr)
    elapsed = time.perf_counter() - started
    print(f"pipeline fuzz at {_commit()}: {cases:,} cases in {elapsed:.0f} s (seed {seed})")
    print(f"| {'outcome':<10} | {'error':<22} | {'cases':>7} |")
    print(f"|{'-' * 12}|{'-' * 24}|{'-' * 9}|")
    for (stage, error), count in sorted(counts.items()):
        print(f"| {stage:<10} | {error or '-':<22} | {count:>7,} |")
    for outcome in escapes[:20]:
        print(f"\nescaped ({outcome.mutation}, at {outcome.error}):\n{outcome.detail}")
    print(f"\nescaped: {len(escapes)}/{cases}")


if __name__ == "__main__":
    main()
