"""The one arena layout (edgesdk.plan.arena) on hand-made lifetime lists, random ones and real
schedules. Every layout any test makes passes the overlap check (check_layout): greedy_layout runs
it on its own result, and the tests run it again."""

from __future__ import annotations

import dataclasses

import pytest
from codegen_support import FIXTURES
from edgesdk.boards import load_board
from edgesdk.frontend import load_model
from edgesdk.pipeline import ProjectOptions, training_graph
from edgesdk.plan.arena import (
    ArenaLayout,
    Lifetime,
    Placement,
    check_layout,
    combine,
    given_layout,
    greedy_layout,
    lifetime_peak,
    place,
    render_layout,
    schedule_layout,
    schedule_lifetimes,
)
from edgesdk.plan.planner import PlanOptions, plan
from edgesdk.plan.schedule import Instruction
from edgesdk.plan.training import plan_graph
from hypothesis import given, settings
from hypothesis import strategies as st


def _layout(items: list[Lifetime], **kwargs) -> ArenaLayout:  # noqa: ANN003
    layout = greedy_layout(items, **kwargs)
    check_layout(layout)
    return layout


def test_three_overlapping_buffers_stack_up() -> None:
    layout = _layout([Lifetime("a", 0, 2, 64), Lifetime("b", 1, 3, 64), Lifetime("c", 2, 4, 64)])
    assert layout.size == layout.peak == 192


def test_a_gap_left_by_a_short_buffer_is_reused() -> None:
    # big lives throughout; s1 and s2 never overlap in time: they share the bytes above big
    items = [Lifetime("big", 0, 9, 256), Lifetime("s1", 0, 3, 128), Lifetime("s2", 5, 9, 128)]
    layout = _layout(items)
    offsets = {p.lifetime.buffer: p.offset for p in layout.placements}
    assert offsets == {"big": 0, "s1": 256, "s2": 256} and layout.size == 384


def test_the_second_order_beats_largest_first() -> None:
    """Largest first: wide (96 B, one step) at 0, long (64 B, 5 steps) above it, then mid2 under
    wide's bytes, and mid1 no longer fits anywhere below 160: 208 B. Size x duration first: long at
    0, mid1 above it, wide reuses mid1's bytes after it ends, mid2 on top: the peak, 176 B."""
    items = [
        Lifetime("mid1", 2, 5, 48),
        Lifetime("wide", 6, 6, 96),
        Lifetime("long", 3, 7, 64),
        Lifetime("mid2", 5, 5, 64),
    ]
    by_size = greedy_layout(items, orders=("size",), search=False)
    check_layout(by_size)
    best = _layout(items)
    assert by_size.size == 208
    assert best.size == best.peak == 176 and best.order == "area"
    # the local search finds the bound from the largest-first order alone
    searched = greedy_layout(items, orders=("size",))
    assert searched.size == searched.peak == 176 and searched.order == "size+search"


def test_reserved_bytes_are_kept_free_while_reserved() -> None:
    """A reserved region (bytes someone else fills, e.g. an input batch) is avoided by every
    lifetime live at the same time and reused by the others; it is not part of the layout."""
    reserved = [Placement(Lifetime("batch", 0, 2, 64), 32)]
    items = [Lifetime("a", 0, 1, 32), Lifetime("b", 1, 2, 48), Lifetime("c", 3, 4, 128)]
    layout = greedy_layout(items, reserved=reserved)
    check_layout(layout)
    offsets = {p.lifetime.buffer: p.offset for p in layout.placements}
    assert offsets == {"a": 0, "b": 96, "c": 0} and layout.size == 144
    assert {p.lifetime.buffer for p in layout.placements} == {"a", "b", "c"}
    assert _layout(items).of("b")[0].offset == 0  # without the reservation b takes 16 of its bytes


def test_several_lifetimes_of_one_buffer() -> None:
    # x is freed, something big takes its place, x comes back (recomputed or paged in) elsewhere
    items = [
        Lifetime("x", 0, 1, 64),
        Lifetime("big", 2, 3, 128),
        Lifetime("x", 3, 5, 64),
        Lifetime("y", 1, 4, 64),
    ]
    layout = _layout(items)
    first, second = layout.of("x")
    assert layout.locate("x", 1) == first and layout.locate("x", 3, written=True) == second
    assert layout.locate("x", 4) == second
    with pytest.raises(KeyError):
        layout.locate("x", 2)


def test_zero_sized_and_odd_sized_buffers() -> None:
    items = [Lifetime("u", 0, 5, 0), Lifetime("odd", 0, 1, 7), Lifetime("next", 1, 2, 9)]
    layout = _layout(items, alignment=16)
    assert layout.size == 32 and layout.peak == 16
    assert layout.aligned_peak == 32
    assert "16 B alignment padding" in layout.report() and "0 B gaps" in layout.report()


def test_overlap_check_catches_every_kind_of_error() -> None:
    a, b = Lifetime("a", 0, 2, 64), Lifetime("b", 2, 3, 64)
    with pytest.raises(AssertionError, match="overlap while both are live"):
        check_layout(ArenaLayout((Placement(a, 0), Placement(b, 48)), 128, 128, 16))
    with pytest.raises(AssertionError, match="not 16-aligned"):
        check_layout(ArenaLayout((Placement(a, 8),), 128, 64, 16))
    with pytest.raises(AssertionError, match="past the arena"):
        check_layout(ArenaLayout((Placement(a, 96),), 128, 64, 16))
    check_layout(ArenaLayout((Placement(a, 0), Placement(Lifetime("c", 3, 4, 64), 0)), 64, 64, 16))


def test_given_and_combined_layouts_are_checked() -> None:
    train = given_layout([Placement(Lifetime("a", 0, 1, 32), 0), Placement(Lifetime("b", 1, 2, 32), 32)])
    infer = _layout([Lifetime("c", 3, 4, 96)])
    both = combine([train, infer])
    assert both.size == 96 and both.peak == 96
    with pytest.raises(AssertionError):
        given_layout([Placement(Lifetime("a", 0, 1, 32), 0), Placement(Lifetime("b", 1, 2, 32), 16)])


def test_render_draws_each_position() -> None:
    layout = _layout([Lifetime("p", 0, 1, 64), Lifetime("q", 1, 2, 64)])
    art = render_layout(layout, width=8)
    assert art.count("\n") == 1 + 3 + 1 and "p @" in art


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 40), st.integers(0, 12), st.integers(0, 4096)), min_size=1, max_size=50
    ),
    st.sampled_from([4, 8, 16]),
)
def test_random_lifetimes(raw: list[tuple[int, int, int]], alignment: int) -> None:
    items = [Lifetime(f"b{i}", start, start + length, size) for i, (start, length, size) in enumerate(raw)]
    layout = _layout(items, alignment=alignment)
    greedy = greedy_layout(items, alignment, search=False)
    single = [greedy_layout(items, alignment, orders=(order,), search=False).size
              for order in ("size", "area", "start")]
    assert greedy.size == min(single)  # the best of the three orders
    assert layout.size <= greedy.size  # the local search only ever keeps a smaller layout
    assert layout.peak == lifetime_peak(items) <= layout.aligned_peak <= layout.size


def test_schedule_lifetimes_and_place() -> None:
    instructions = [
        Instruction("compute", "a", 0, 100, workspace_bytes=40),
        Instruction("compute", "b", 1, 200),
        Instruction("free", "a", 1, 100),
        Instruction("compute", "c", 2, 100),
        Instruction("free", "b", 2, 200),
        Instruction("free", "c", 2, 100),
    ]
    lifetimes = schedule_lifetimes(instructions)
    assert [(t.buffer, t.start, t.end, t.size) for t in lifetimes] == [
        ("a", 0, 2, 100), ("a:workspace", 0, 0, 40), ("b", 1, 4, 200), ("c", 3, 5, 100)
    ]
    placed, size = place(instructions)
    layout = schedule_layout(placed)
    # b at 0 (208 B aligned), a and later c above it (208 + 100, rounded up to 320); a's workspace
    # lives before b exists, so it takes offset 0 below nothing
    assert layout.size == size == 320
    assert placed[0].workspace_offset == 0 and placed[1].arena_offset == 0
    assert placed[0].workspace_offset is not None
    with pytest.raises(ValueError, match="never freed"):
        schedule_lifetimes(instructions[:-1])
    with pytest.raises(ValueError, match="not in RAM"):
        schedule_lifetimes([Instruction("free", "z", 0, 4)])


@pytest.mark.parametrize("model", ["small_cnn_int8", "converter_patterns_int8", "mobilenetv2_035_96"])
def test_real_schedules_reach_the_plan_peak(model: str) -> None:
    """Planned schedules of the fixtures (remat + paging at budgets near the floor): the arena is
    the plan's, checked, and within 5 % of the live-bytes peak (on these: at most 0.1 % above)."""
    trainable = "bias" if model.startswith("mobilenet") else "all"
    options = ProjectOptions(trainable=trainable, precision="fp32")
    graph = plan_graph(training_graph(load_model(FIXTURES / f"{model}.tflite"), options))
    board = load_board("host")
    for budget in (graph.floor_bytes(), graph.floor_bytes() + 8192):
        schedule = plan(graph, board, PlanOptions(budget_bytes=budget, time_limit_s=2)).schedule
        layout = schedule_layout(schedule.instructions)
        check_layout(layout)
        live = schedule.figures.peak_ram_bytes - schedule.resident_bytes
        assert layout.size == schedule.figures.arena_bytes
        assert layout.peak == live
        assert layout.size <= 1.001 * live
        # the same instructions placed again give the same arena
        bare = [
            dataclasses.replace(i, arena_offset=None, workspace_offset=None) for i in schedule.instructions
        ]
        again, size = place(bare)
        assert size == layout.size and schedule_layout(again).size == size
