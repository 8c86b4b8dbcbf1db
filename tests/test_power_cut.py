"""A short run of benchmarks/power_cut.py: the paged DS-CNN project (int8, all layers, planned to
page to the STM32F746's QSPI NOR), linked for the host under ASan + UBSan with the power-cut
driver; a few cuts inside the next commit and inside a training step's pager, each followed by a
reboot and a restore that must give back the last or the new commit bit for bit."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPEC = importlib.util.spec_from_file_location("power_cut", ROOT / "benchmarks" / "power_cut.py")
assert SPEC is not None and SPEC.loader is not None
power_cut = importlib.util.module_from_spec(SPEC)
sys.modules["power_cut"] = power_cut  # its dataclasses look their module up
SPEC.loader.exec_module(power_cut)


def test_cuts_in_a_commit_and_a_pager_step_keep_the_last_commit(tmp_path: Path) -> None:
    project = next(p for p in power_cut.projects() if "paged" in p.name)
    exe = power_cut.build_driver(project, tmp_path, sanitize=True)
    results = power_cut.run_driver(exe, steps=1, max_cuts=2, timeout_s=600)
    cuts = results.all("cut")
    # two cuts per phase and operation kind: the first and the last operation of each
    assert sorted({(c[0], c[1]) for c in cuts}) == [(0, 0), (0, 1), (1, 0), (1, 1)]
    assert len(cuts) == 8 == results["cuts"]
    assert results["commit.erases"] == 2  # one slot: a 6.6 KB image in 4 KB sectors
    assert results["commit.programs"] == 3  # two sectors' worth of image, then the header
    assert results["step.programs"] > 0 and results["step.erases"] > 0
    for phase, _kind, _op, outcome, status in cuts:
        assert status == 3  # the cut call returned ES_ERR_IO
        assert outcome in ((0, 1) if phase == 0 else (0,))  # old or new; a step's cut: the old commit
    assert results["survived"] == 8
    rows = power_cut.table_rows("ds-cnn", results)
    assert [r[3] for r in rows] == [2, 2, 2, 2] and [r[4] for r in rows] == [2, 2, 2, 2]
