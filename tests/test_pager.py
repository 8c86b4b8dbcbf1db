"""The C flash pager on the host under ASan + UBSan, on the simulated NOR device.

Every run replays a scenario with tests/c/pager_run.c and checks: data paged in equals data paged
out, the device's NOR rules were never broken and no program unit was written twice between
erases, the counters equal edgesdk.codegen.pager_model's prediction exactly, erases stay within
one of each other across sectors, injected faults surface as ES_ERR_IO without harming other
slots, and a region too small for the slots is refused at init.
"""

from __future__ import annotations

import numpy as np
import pager_lib as pl
import pytest
from edgesdk.codegen.pager_model import (
    CHECKSUM,
    VERIFY,
    OpKind,
    PagerOp,
    SwapGeometry,
    required_region_bytes,
    training_step,
)


@pytest.fixture(scope="module")
def exe(tmp_path_factory):
    return pl.build_host(tmp_path_factory.mktemp("pager"))


def minimal_geometry(slot_bytes, sector=1024, program=4, extra_sectors=0) -> SwapGeometry:
    required = required_region_bytes(slot_bytes, sector, program)
    sectors = -(-required // sector) + extra_sectors
    return SwapGeometry(sectors * sector, sector, program)


# -- round trips and the model ------------------------------------------------------------------

@pytest.mark.parametrize("seed,drop,flags,program", [
    (1, 0.9, 0, 4),
    (2, 0.5, VERIFY, 4),
    (3, 0.0, 0, 4),          # nothing is ever dropped: the sweeps must relocate live copies
    (4, 0.2, CHECKSUM, 1),
    (5, 0.0, VERIFY | CHECKSUM, 16),
])
def test_random_sequences_round_trip_and_match_the_model(exe, tmp_path, seed, drop, flags, program):
    rng = np.random.default_rng(seed)
    slots = tuple(int(b) for b in rng.integers(1, 3000, size=int(rng.integers(3, 9))))
    geometry = minimal_geometry(slots, sector=512 * int(rng.integers(1, 4)), program=program)
    steps = pl.random_steps(rng, slots, steps=40, ops_per_step=12, drop_probability=drop)
    scenario = pl.Scenario(geometry, slots, steps, flags=flags)
    results = pl.run_host(exe, scenario, tmp_path)
    assert results["init"] == pl.ES_OK
    assert pl.fails(results) == []
    pl.assert_clean_device(results)
    prediction = scenario.predict()
    pl.assert_matches_model(results, prediction)
    assert results["page_ins"] == pl.count_kind(steps, OpKind.PAGE_IN)
    if drop == 0.0:
        assert results["relocations"] > 0 and results["bytes_relocated"] > 0
    sectors = results["sectors"]
    assert max(sectors) - min(sectors) <= 1


def test_relocation_at_the_smallest_region_never_runs_out_of_room(exe, tmp_path):
    """Adversarial: one large slot held for the whole run while small slots churn, region at
    exactly the required size; the held copy is relocated sweep after sweep and stays intact."""
    slots = (3000, 100, 60, 248)
    geometry = SwapGeometry(required_region_bytes(slots, 256, 4), 256, 4)  # 6912 = 27 sectors
    step = (PagerOp.out(1, 100), PagerOp.out(2, 57), PagerOp.out(3, 5), PagerOp.in_(1, 100))
    steps = ((PagerOp.out(0, 3000),), *[step] * 200, (PagerOp.in_(0, 3000), PagerOp.in_(2, 57)))
    scenario = pl.Scenario(geometry, slots, steps, scratch_bytes=12)
    results = pl.run_host(exe, scenario, tmp_path)
    assert pl.fails(results) == []
    pl.assert_clean_device(results)
    pl.assert_matches_model(results, scenario.predict())
    assert results["relocations"] >= 10
    assert results["page_ins"] == 202


def test_steady_training_pattern_spreads_erases_evenly(exe, tmp_path):
    """A training-step pattern (forward page-outs, backward page-ins and drops) for 300 steps:
    every sector within one erase of every other, and no relocation at all."""
    sizes = [(0, 3000), (1, 1500), (2, 4096), (3, 777)]
    slots = tuple(size for _, size in sizes)
    geometry = SwapGeometry(32 * 1024, 1024, 4)
    steps = (training_step(sizes),) * 300
    scenario = pl.Scenario(geometry, slots, steps, report_sectors=False)
    results = pl.run_host(exe, scenario, tmp_path)
    prediction = scenario.predict()
    pl.assert_clean_device(results)
    pl.assert_matches_model(results, prediction)
    sectors = results["sectors"]
    assert max(sectors) - min(sectors) <= 1
    assert results["relocations"] == 0
    programmed_per_step = sum(-(-s // 4) * 4 for s in slots)
    assert results.all("step")[-1][1] == programmed_per_step
    # every erased byte is programmed once or still waits ahead of the head
    assert results["erases"] * 1024 == results["bytes_programmed"] + results["free"]
    assert results["bytes_programmed"] == 300 * programmed_per_step


def test_file_backend_behaves_like_the_memory_backend(exe, tmp_path):
    rng = np.random.default_rng(7)
    slots = (700, 1300, 64)
    geometry = minimal_geometry(slots, sector=512, extra_sectors=2)
    steps = pl.random_steps(rng, slots, steps=15, ops_per_step=8, drop_probability=0.3)
    memory = pl.run_host(exe, pl.Scenario(geometry, slots, steps, backend=pl.MEMORY_DIRTY), tmp_path, "mem")
    file = pl.run_host(exe, pl.Scenario(geometry, slots, steps, backend=pl.FILE), tmp_path, "file")
    assert file["sim.close"] == 0
    assert (tmp_path / "file.img").stat().st_size == geometry.region_bytes
    pl.assert_clean_device(file)
    skip = {"port.name", "counter.unit", "stack.size", "stack.high_water", "sim.close"}
    assert {k: v for k, v in file.raw.items() if k not in skip} == {
        k: v for k, v in memory.raw.items() if k not in skip}


# -- init ------------------------------------------------------------------------------------

def test_region_too_small_for_the_slots_is_refused_at_init(exe, tmp_path):
    slots = (1000, 2000, 3000)
    required = required_region_bytes(slots, 1024, 4)
    assert required == 6000 + 3000 + 2 * 1024 - 8
    too_small = SwapGeometry((required // 1024) * 1024, 1024, 4)  # one sector short of required
    assert too_small.region_bytes < required
    results = pl.run_host(exe, pl.Scenario(too_small, slots, ((PagerOp.out(0, 10),),)), tmp_path)
    assert results["required"] == required
    assert results["init"] == pl.ES_ERR_ARG
    assert results["init.error"] == "ES_PAGER_E_REGION_SMALL"
    enough = SwapGeometry(too_small.region_bytes + 1024, 1024, 4)
    step = (PagerOp.out(2, 3000), PagerOp.in_(2, 3000))
    ok = pl.run_host(exe, pl.Scenario(enough, slots, (step,)), tmp_path)
    assert ok["init"] == pl.ES_OK and pl.fails(ok) == [] and ok["data_errors"] == 0


def test_bad_calls_are_refused_with_their_reason(exe, tmp_path):
    slots = (100, 200)
    geometry = minimal_geometry(slots, sector=256)
    step = (PagerOp.in_(0, 10),        # empty slot
            PagerOp.out(0, 101),       # longer than the slot
            PagerOp.out(2, 10),        # no such slot
            PagerOp.out(0, 50),
            PagerOp.in_(0, 49),        # length differs from the copy
            PagerOp.in_(0, 50))
    results = pl.run_host(exe, pl.Scenario(geometry, slots, (step,)), tmp_path)
    assert pl.fails(results) == [[0, pl.ES_ERR_ARG, pl.E_EMPTY, 0], [1, pl.ES_ERR_ARG, pl.E_LENGTH, 0],
                                 [2, pl.ES_ERR_ARG, pl.E_SLOT, 0], [4, pl.ES_ERR_ARG, pl.E_LENGTH, 0]]
    assert results["data_errors"] == 0 and results["page_ins"] == 1 and results["page_outs"] == 1


# -- faults ------------------------------------------------------------------------------------

def fault_scenario(faults: pl.Faults, flags: int = 0) -> pl.Scenario:
    slots = (600, 900, 300)
    geometry = minimal_geometry(slots, sector=512, extra_sectors=1)
    first = (PagerOp.out(0, 600), PagerOp.out(1, 900))
    second = (PagerOp.out(2, 300), PagerOp.in_(2, 300), PagerOp.out(2, 299), PagerOp.in_(2, 299))
    last = (PagerOp.in_(0, 600), PagerOp.in_(1, 900), PagerOp.in_(2, 299))
    return pl.Scenario(geometry, slots, (first, second, last), flags=flags, faults=faults)


def test_failed_program_is_io_error_and_spares_other_slots(exe, tmp_path):
    # program calls: slot 0, slot 1 (step 0), then slot 2 (step 1): make the third one fail
    scenario = fault_scenario(pl.Faults(fail_program=3))
    results = pl.run_host(exe, scenario, tmp_path)
    failed = scenario.op_index(1, 0)
    assert pl.fails(results) == [[failed, pl.ES_ERR_IO, pl.E_DEVICE, pl.SWAP_FAULT],
                                 [failed + 1, pl.ES_ERR_ARG, pl.E_EMPTY, 0]]  # the slot is empty
    assert results["sim.faults_injected"] == 1
    assert results["sim.nor_violations"] == 0 and results["sim.double_programs"] == 0
    # paged out again, slot 2 works; slots 0 and 1 read back intact at the end
    assert results["data_errors"] == 0
    assert results["page_ins"] == 4


def test_failed_page_in_is_io_error_and_the_copy_survives(exe, tmp_path):
    scenario = fault_scenario(pl.Faults(fail_read=1))
    results = pl.run_host(exe, scenario, tmp_path)
    assert pl.fails(results) == [[scenario.op_index(1, 1), pl.ES_ERR_IO, pl.E_DEVICE, pl.SWAP_FAULT]]
    assert results["data_errors"] == 0 and results["page_ins"] == 4


def test_failed_erase_is_io_error_and_a_retry_succeeds(exe, tmp_path):
    clean = pl.run_host(exe, fault_scenario(pl.Faults()), tmp_path, "clean")
    assert pl.fails(clean) == [] and clean["data_errors"] == 0
    assert clean.all("step.calls")[0][2] >= 3  # the first page-out erases several sectors
    scenario = fault_scenario(pl.Faults(fail_erase=2))
    results = pl.run_host(exe, scenario, tmp_path)
    # slot 0's page-out fails before programming anything; the next page-out erases the torn
    # sector again and everything else works; slot 0 is empty at the end
    assert pl.fails(results) == [[0, pl.ES_ERR_IO, pl.E_DEVICE, pl.SWAP_FAULT],
                                 [scenario.op_index(2, 0), pl.ES_ERR_ARG, pl.E_EMPTY, 0]]
    assert results["data_errors"] == 0 and results["page_ins"] == 4
    assert results["sim.nor_violations"] == 0 and results["sim.double_programs"] == 0
    assert results["sim.sectors"][1] == results["sectors"][1] + 1  # the failed erase wore it too


def test_worn_sector_surfaces_as_io_error(exe, tmp_path):
    slots = (500,)
    geometry = minimal_geometry(slots, sector=256)
    steps = ((PagerOp.out(0, 500), PagerOp.in_(0, 500)),) * 40
    results = pl.run_host(exe, pl.Scenario(geometry, slots, steps, endurance=3), tmp_path)
    failures = pl.fails(results)
    assert failures and failures[0][1:] == [pl.ES_ERR_IO, pl.E_DEVICE, pl.SWAP_WORN]
    assert max(results["sim.sectors"]) == 3
    assert results["data_errors"] == 0


def test_bit_flip_on_read_is_caught_by_the_checksum_or_the_verify(exe, tmp_path):
    # no protection: the page-in succeeds and one bit differs
    plain = pl.run_host(exe, fault_scenario(pl.Faults(flip_read=1, flip_bit=77)), tmp_path, "plain")
    assert pl.fails(plain) == [] and plain["data_errors"] == 1 and plain["bit_errors"] == 1
    # CRC-32 per copy: the page-in reports it
    scenario = fault_scenario(pl.Faults(flip_read=1, flip_bit=77), flags=CHECKSUM)
    checked = pl.run_host(exe, scenario, tmp_path, "crc")
    assert pl.fails(checked) == [[scenario.op_index(1, 1), pl.ES_ERR_IO, pl.E_CHECKSUM, 0]]
    assert checked["data_errors"] == 0
    # read-back verification: the first read is the verify of slot 0's page-out
    scenario = fault_scenario(pl.Faults(flip_read=1, flip_bit=3), flags=VERIFY)
    verified = pl.run_host(exe, scenario, tmp_path, "verify")
    assert pl.fails(verified) == [[0, pl.ES_ERR_IO, pl.E_VERIFY, 0],  # slot 0 is left empty
                                  [scenario.op_index(2, 0), pl.ES_ERR_ARG, pl.E_EMPTY, 0]]
    assert verified["data_errors"] == 0


def test_torn_relocation_keeps_the_old_copy(exe, tmp_path):
    """A program that fails while a live copy is being relocated leaves that copy where it was."""
    slots = (3000, 100)
    geometry = minimal_geometry(slots, sector=256)
    steps = ((PagerOp.out(0, 3000),), *[(PagerOp.out(1, 100),)] * 60, (PagerOp.in_(0, 3000),))
    clean = pl.run_host(exe, pl.Scenario(geometry, slots, steps, scratch_bytes=256), tmp_path, "clean")
    assert pl.fails(clean) == [] and clean["relocations"] >= 1
    first = next(i for i, step in enumerate(clean.all("step")) if step[6])
    # the step's only page-out relocates slot 0 before programming: aim at that program call
    program_call = clean.all("step.calls")[first - 1][1] + 1
    torn = pl.Scenario(geometry, slots, steps, scratch_bytes=256, faults=pl.Faults(fail_program=program_call))
    results = pl.run_host(exe, torn, tmp_path)
    failures = pl.fails(results)
    assert failures[0] == [torn.op_index(first, 0), pl.ES_ERR_IO, pl.E_DEVICE, pl.SWAP_FAULT]
    # later page-outs may find the reserve short (the frontier is blocked by slot 0's copy) ...
    assert all(f[1:] == [pl.ES_ERR_IO, pl.E_NO_ROOM, 0] for f in failures[1:])
    # ... but slot 0 still reads back exactly as written, and no NOR rule was broken
    assert results.all("step")[-1][5] == 1 and results["data_errors"] == 0
    assert results["sim.nor_violations"] == 0 and results["sim.double_programs"] == 0
