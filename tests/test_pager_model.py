"""edgesdk.codegen.pager_model on its own: the region bound, its tightness, the accounting
identities and the lifetime figure. (Agreement with the C pager: tests/test_pager.py.)"""

from __future__ import annotations

import numpy as np
import pytest
from edgesdk.boards import load_board
from edgesdk.codegen.pager_model import (
    OpKind,
    PagerError,
    PagerModel,
    PagerOp,
    SwapGeometry,
    geometry_for,
    max_slot_total,
    predict,
    required_region_bytes,
    training_step,
)


def test_required_region_is_slots_plus_largest_plus_two_sectors():
    assert required_region_bytes([1000, 3001, 7], 4096, 4) == (1000 + 3004 + 8) + 3004 + 2 * 4096 - 8
    assert required_region_bytes([5], 16, 1) == 5 + 5 + 32 - 2
    geometry = SwapGeometry(64 * 1024, 4096, 4)
    total = max_slot_total(geometry, largest=8192)
    assert total == 49160
    assert required_region_bytes([8192] * 6 + [8], 4096, 4) == geometry.region_bytes


def test_a_region_below_the_bound_is_refused_with_the_figures():
    with pytest.raises(PagerError, match=r"ES_PAGER_E_REGION_SMALL.*8192 bytes.*need 11040"):
        PagerModel(SwapGeometry(8192, 1024, 4), [3000, 3000])


@pytest.mark.parametrize("bad", [(4096, 1000, 4), (4000, 1024, 4), (4096, 1024, 3), (4096, 1024, 2048)])
def test_inconsistent_geometry_is_refused(bad):
    with pytest.raises(ValueError, match="inconsistent swap geometry"):
        SwapGeometry(*bad)


def exact_region_slots(rng: np.random.Generator, sector: int, unit: int) -> list[int] | None:
    """Random slots whose required region is a whole number of sectors (so it is met exactly)."""
    slots = [int(x) for x in rng.integers(1, 6 * sector, size=int(rng.integers(2, 7)))]
    short = -required_region_bytes(slots, sector, unit) % sector
    big = max(range(len(slots)), key=lambda i: slots[i])
    other = (big + 1) % len(slots)
    slots[other] = -(-slots[other] // unit) * unit + short  # grows W, not M
    return slots if slots[other] <= -(-slots[big] // unit) * unit else None


def churn(model: PagerModel, rng: np.random.Generator, ops: int) -> None:
    """Page-outs of random slots (full or partial), rare drops, nothing ever paged in."""
    for _ in range(ops):
        slot = int(rng.integers(len(model.slot_bytes)))
        if rng.random() < 0.1:
            model.drop(slot)
        else:
            full = model.slot_bytes[slot]
            model.page_out(slot, full if rng.random() < 0.5 else int(rng.integers(1, full + 1)))


def test_the_bound_suffices_and_one_sector_less_does_not():
    rng = np.random.default_rng(11)
    exact_runs = short_runs = short_stalls = 0
    while exact_runs < 150:
        sector, unit = int(rng.choice([16, 32, 64, 256])), int(rng.choice([1, 4, 8]))
        slots = exact_region_slots(rng, sector, unit)
        if slots is None:
            continue
        region = required_region_bytes(slots, sector, unit)
        churn(PagerModel(SwapGeometry(region, sector, unit), slots), rng, 300)  # never raises
        exact_runs += 1
        small = PagerModel(SwapGeometry(region - sector, sector, unit), slots, allow_small_region=True)
        short_runs += 1
        try:
            churn(small, rng, 300)
        except PagerError as error:
            assert "ES_PAGER_E_NO_ROOM" in str(error)
            short_stalls += 1
    assert short_stalls > 0.8 * short_runs


def test_erased_bytes_are_programmed_or_still_free_and_wear_is_even():
    rng = np.random.default_rng(3)
    slots = [700, 1200, 90, 4000]
    model = PagerModel(SwapGeometry(16 * 1024, 512, 4), slots)
    churn(model, rng, 2000)
    assert sum(model.sector_erases) * 512 == model.bytes_programmed + model.free
    assert max(model.sector_erases) - min(model.sector_erases) <= 1
    assert model.relocations > 0  # copies left behind were carried forward


def test_training_step_pages_out_in_order_and_back_in_reverse():
    ops = training_step([(0, 10), (1, 20)])
    assert [(op.kind, op.slot) for op in ops] == [
        (OpKind.PAGE_OUT, 0), (OpKind.PAGE_OUT, 1),
        (OpKind.PAGE_IN, 1), (OpKind.DROP, 1), (OpKind.PAGE_IN, 0), (OpKind.DROP, 0)]


def test_prediction_for_a_board_tier_gives_erases_per_step_and_lifetime():
    tier = next(t for t in load_board("stm32f746").storage if t.name == "qspi_nor")
    geometry = geometry_for(tier)
    assert (geometry.region_bytes, geometry.sector_bytes, geometry.program_bytes) == (1 << 20, 4096, 4)
    sizes = [(0, 24576), (1, 24576), (2, 12288), (3, 6144)]  # 66 KB paged per step
    prediction = predict(geometry, [s for _, s in sizes], [training_step(sizes)] * 64)
    steady = prediction.steps[1:]
    assert all(s.bytes_programmed == 67584 and s.bytes_read == 67584 for s in steady)
    assert all(s.relocations == 0 for s in prediction.steps)
    # 67584 bytes = 16.5 sectors per step: 16 or 17 erases, 16.5 on average
    assert {s.total_erases for s in steady} <= {16, 17}
    assert prediction.erases_per_step() == pytest.approx(16.5, abs=0.02)
    lifetime = prediction.lifetime_steps(tier.erase_cycles)
    assert lifetime == pytest.approx(tier.erase_cycles * 256 / prediction.erases_per_step())
    assert 1.5e6 < lifetime < 1.6e6  # 100k cycles x 256 sectors / 16.5


def test_page_in_and_drop_rules_match_the_c_statuses():
    model = PagerModel(SwapGeometry(8192, 512, 4), [100, 200])
    with pytest.raises(PagerError, match="ES_PAGER_E_EMPTY"):
        model.page_in(0, 100)
    model.apply(PagerOp.out(0, 60))
    with pytest.raises(PagerError, match="ES_PAGER_E_LENGTH"):
        model.page_in(0, 100)
    with pytest.raises(PagerError, match="ES_PAGER_E_LENGTH"):
        model.page_out(1, 201)
    with pytest.raises(PagerError, match="ES_PAGER_E_SLOT"):
        model.drop(2)
    model.apply(PagerOp.in_(0, 60))
    assert (model.page_outs, model.page_ins, model.bytes_read, model.bytes_programmed) == (1, 1, 60, 60)
