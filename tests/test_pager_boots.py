"""Wear levelling across boots: the pager's wear journal (a second small device, one record of
the lifetime erase count after every erase) lets es_pager_init resume the sweep where the last
boot left it, so many short boots spread erases like one long run. The C pager on the host
(ASan + UBSan) against edgesdk.codegen.pager_model, which models a reboot the same way."""

from __future__ import annotations

import pager_lib as pl
import pytest
from edgesdk.codegen.pager_model import PagerOp, SwapGeometry, required_region_bytes, training_step

SLOTS = (3000, 1500, 700)
STEP = training_step([(0, 3000), (1, 1500), (2, 700)])
SECTOR = 512


@pytest.fixture(scope="module")
def exe(tmp_path_factory):
    return pl.build_host(tmp_path_factory.mktemp("pager_boots"))


def geometry(extra_sectors: int = 8) -> SwapGeometry:
    required = required_region_bytes(SLOTS, SECTOR, 4)
    return SwapGeometry((-(-required // SECTOR) + extra_sectors) * SECTOR, SECTOR, 4)


def boots(count: int, journal: bool, **faults: int) -> pl.Scenario:
    steps = tuple((PagerOp.reboot(), *STEP) for _ in range(count))
    return pl.Scenario(geometry(), SLOTS, steps, report_sectors=False,
                       journal_sectors=2 if journal else 0, journal_sector_bytes=256 if journal else 0,
                       **faults)


def spread(sector_erases, used_only: bool = True) -> float:
    """max / mean erases, over the sectors erased at least once (or over all)."""
    used = [e for e in sector_erases if e > 0 or not used_only]
    return max(used) / (sum(used) / len(used))


def test_a_thousand_boots_of_one_step_wear_evenly(exe, tmp_path):
    scenario = boots(1000, journal=True)
    results = pl.run_host(exe, scenario, tmp_path)
    assert pl.fails(results) == []
    assert results["data_errors"] == 0
    assert results["sim.nor_violations"] == 0 and results["sim.double_programs"] == 0
    assert results["journal.sim.nor_violations"] == 0 and results["journal.sim.double_programs"] == 0
    prediction = scenario.predict()
    steps = results.all("step")
    assert len(steps) == 1000
    for got, want in zip(steps, prediction.steps, strict=True):
        assert got == [want.bytes_read, want.bytes_programmed, want.bytes_relocated, want.total_erases,
                       want.page_outs, want.page_ins, want.relocations]
    # the rebuilt lifetime counts are the device's own wear, sector for sector, and the model's
    assert results["sectors"] == results["sim.sectors"] == list(prediction.sector_erases)
    assert results["journal.lifetime_erases"] == sum(results["sim.sectors"])
    sectors = results["sim.sectors"]
    assert all(e > 0 for e in sectors)
    assert max(sectors) - min(sectors) <= 1
    assert spread(sectors) <= 1.1 and spread(sectors, used_only=False) <= 1.1
    # every boot resumed the sweep: the head moved on from boot to boot
    heads = results.all("reboot.head")
    assert len(heads) == 1000 and len(set(heads)) >= 10


def test_without_the_journal_every_boot_wears_the_first_sectors(exe, tmp_path):
    results = pl.run_host(exe, boots(200, journal=False), tmp_path)
    assert pl.fails(results) == []
    sectors = results["sim.sectors"]
    # the control: every boot erases the same first sectors, the rest never
    assert sectors[0] == 200 * (max(sectors) // 200) and sectors[-1] == 0
    assert spread(sectors, used_only=False) > 1.3 and sectors.count(0) >= 5


@pytest.mark.parametrize("fault", ["journal_fail_program", "journal_fail_erase"])
def test_a_torn_journal_record_or_erase_costs_at_most_one_extra_erase(exe, tmp_path, fault):
    """A power cut inside a journal write (torn): that page-out fails with ES_PAGER_E_JOURNAL, the
    next boot finds the record before it and erases one sector again; nothing is programmed twice
    and the sweep goes on evenly."""
    call = {"journal_fail_program": 37, "journal_fail_erase": 2}[fault]
    scenario = boots(400, journal=True, **{fault: call})
    results = pl.run_host(exe, scenario, tmp_path)
    fails = pl.fails(results)
    assert fails[0][1:3] == [pl.ES_ERR_IO, pl.E_JOURNAL]
    # then only the page-in of the copy that page-out could not keep finds its slot empty
    assert [f[1:3] for f in fails[1:]] == [[pl.ES_ERR_ARG, pl.E_EMPTY]]
    assert results["sim.nor_violations"] == 0 and results["sim.double_programs"] == 0
    assert results["journal.sim.nor_violations"] == 0 and results["journal.sim.double_programs"] == 0
    device = results["sim.sectors"]
    rebuilt = results["sectors"]
    assert sum(device) - sum(rebuilt) in (0, 1)  # the erase whose record was cut is not counted
    assert max(device) - min(device) <= 2 and spread(device) <= 1.1
