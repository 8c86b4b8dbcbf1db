"""The commit store (runtime_c/src/store.c) on the simulated NOR device, under ASan + UBSan: a
power cut at every erase and every program of a commit (torn: half done) leaves the previous or
the new image restorable, bit for bit; a commit after the cut succeeds; a second cut inside it
loses nothing either."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from edgesdk.toolchain import compile_firmware, parse_results

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "runtime_c" / "src"
SOURCES = [HERE / "c" / "store_cut.c", SRC / "store.c", SRC / "params_image.c", SRC / "swap.c"]


@pytest.fixture(scope="module")
def exe(tmp_path_factory) -> Path:
    return compile_firmware(SOURCES, board="host", out_dir=tmp_path_factory.mktemp("store"),
                            sanitize=True, name="store_cut").path


def store_bytes(image: int, sector: int, unit: int) -> int:
    header = max(32, unit)
    slot = header + -(-image // unit) * unit
    return 2 * (-(-slot // sector) * sector)


def commit_programs(image: int, sector: int, unit: int) -> int:
    """Program calls of one commit: the image body one sector's worth at a time, the padded last
    unit, then the header."""
    header = max(32, unit)
    body = image // unit * unit
    calls, at = 0, header
    while at < header + body:
        at = min((at // sector + 1) * sector, header + body)
        calls += 1
    return calls + (1 if body < image else 0) + 1


@pytest.mark.parametrize("sector,unit,image,seed", [
    (256, 4, 1000, 1),     # 5 sectors per slot, a padded last unit
    (512, 1, 77, 2),       # byte programs, one sector per slot
    (256, 16, 2048, 3),    # the header takes a whole 32 B, the image starts a sector late
    (1024, 64, 3000, 4),   # header as large as the unit
])
def test_a_cut_at_every_operation_restores_the_old_or_the_new_image(exe, sector, unit, image, seed):
    done = subprocess.run([str(exe), str(sector), str(unit), str(image), str(seed)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    r = parse_results(done.stdout)
    assert "error" not in r
    slot_sectors = store_bytes(image, sector, unit) // 2 // sector
    assert r["commit.erases"] == slot_sectors
    assert r["commit.programs"] == commit_programs(image, sector, unit)
    assert r["cuts"] == slot_sectors + r["commit.programs"]
    assert r["survived"] == r["cuts"]
    # only a cut in the header program can go either way; everything before it keeps the old one
    assert r["restored_old"] >= r["cuts"] - 1
    assert r["recommit_ok"] == r["cuts"]
    assert r["double_survived"] == r["double_cuts"] == r["cuts"]
    assert r["nor_violations"] == 0 and r["double_programs"] == 0
