"""The static arena layout: greedy placement by size over buffer lifetimes, checked on tiny
hand-made buffer lists with known answers, on random ones (no two live buffers share a byte,
never below the lifetime peak), and on the fixtures' training programs."""

from __future__ import annotations

import dataclasses

import pytest
from codegen_support import FIXTURES, every_op_classifier
from edgesdk.codegen.assemble import assemble_model
from edgesdk.codegen.layout import (
    ArenaLayout,
    Lifetime,
    Placement,
    check_layout,
    greedy_layout,
    lifetime_peak,
    render_layout,
)
from edgesdk.codegen.program import Program, Step, default_programs, program_lifetimes
from edgesdk.frontend import load_model
from edgesdk.pipeline import ProjectOptions, training_graph
from edgesdk.train.graph import ValueKind
from hypothesis import given, settings
from hypothesis import strategies as st


def test_chain_reuses_the_first_buffer() -> None:
    # a feeds b, b feeds c: a and c never live together, so they share offset 0
    items = [Lifetime("a", 0, 1, 64), Lifetime("b", 1, 2, 128), Lifetime("c", 2, 3, 64)]
    layout = greedy_layout(items)
    offsets = {p.lifetime.buffer: p.offset for p in layout.placements}
    assert offsets == {"b": 0, "a": 128, "c": 128}
    assert layout.size == layout.peak == 192 and layout.fragmentation == 0.0


def test_alignment_and_zero_sized_buffers() -> None:
    items = [Lifetime("odd", 0, 2, 5), Lifetime("next", 0, 2, 7), Lifetime("empty", 1, 1, 0)]
    layout = greedy_layout(items, alignment=16)
    assert [p.offset % 16 for p in layout.placements] == [0, 0, 0]
    assert layout.size == 32 and layout.peak == 12
    assert layout.fragmentation == pytest.approx(32 / 12 - 1)


def test_several_lifetimes_of_one_buffer_get_their_own_offsets() -> None:
    items = [
        Lifetime("x", 0, 3, 100),
        Lifetime("big", 1, 3, 400),
        Lifetime("x", 3, 4, 100),  # x again (recomputed at step 3, which also reads the old copy)
    ]
    layout = greedy_layout(items)
    first, second = layout.of("x")
    assert first.offset != second.offset
    assert layout.locate("x", 0, written=True) == first and layout.locate("x", 2) == first
    assert layout.locate("x", 3) == first and layout.locate("x", 3, written=True) == second
    assert layout.locate("x", 4) == second
    with pytest.raises(KeyError):
        layout.locate("x", 5)
    with pytest.raises(KeyError):
        layout.locate("x", 2, written=True)
    check_layout(layout)


def test_overlap_check_catches_a_bad_layout() -> None:
    a, b = Lifetime("a", 0, 2, 64), Lifetime("b", 1, 3, 64)
    bad = ArenaLayout((Placement(a, 0), Placement(b, 32)), size=128, peak=128, alignment=16)
    with pytest.raises(AssertionError, match="overlap"):
        check_layout(bad)
    fine = dataclasses.replace(bad, placements=(Placement(a, 0), Placement(b, 64)))
    check_layout(fine)


def test_render_shows_every_buffer() -> None:
    layout = greedy_layout([Lifetime("conv.y", 0, 1, 256), Lifetime("fc.y", 1, 2, 64)])
    text = render_layout(layout, width=16)
    assert "conv.y @0 +256 [0..1]" in text and "fc.y" in text and text.count("|") == 2 * 3


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 30), st.integers(0, 10), st.integers(0, 5000)),
        min_size=1,
        max_size=40,
    ),
    st.sampled_from([1, 4, 16]),
)
def test_random_lifetimes_never_collide(raw: list[tuple[int, int, int]], alignment: int) -> None:
    items = [Lifetime(f"b{i}", start, start + length, size) for i, (start, length, size) in enumerate(raw)]
    layout = greedy_layout(items, alignment)
    check_layout(layout)
    assert layout.peak == lifetime_peak(items)
    aligned_total = sum(-(-item.size // alignment) * alignment for item in items)
    assert layout.peak <= layout.size <= aligned_total


def test_reading_before_writing_is_refused() -> None:
    tg = training_graph(load_model(every_op_classifier()), ProjectOptions(precision="fp32"))
    program = Program("train", tuple(Step(i, node) for i, node in enumerate(tg.nodes[1:])))
    transient = (ValueKind.ACTIVATION, ValueKind.GRADIENT)
    with pytest.raises(ValueError, match="reads 'conv_2d_0.y' before any step writes it"):
        program_lifetimes(program, lambda v: tg.value(v).kind in transient, lambda v: 4)


@pytest.mark.parametrize(
    ("model", "trainable"),
    [("small_cnn_int8", "all"), ("converter_patterns_int8", "last:2"), ("mobilenetv2_035_96", "bias")],
)
def test_fixture_programs_layout_at_the_lifetime_peak(model: str, trainable: str) -> None:
    """On the fixtures the greedy layout reaches the lower bound (buffers are multiples of 16 B)."""
    options = ProjectOptions(trainable=trainable, precision="fp32")
    tg = training_graph(load_model(FIXTURES / f"{model}.tflite"), options)
    source = assemble_model(tg)
    layout = source.layout
    check_layout(layout)
    assert layout.size == layout.peak
    train, infer = default_programs(tg)
    # inference shares the arena with training, never at the same time
    assert {b.program for b in source.arena_buffers} == {"train", "infer"}
    assert all(b.start > train.end for b in source.arena_buffers if b.program == "infer")
    assert max(p.lifetime.end for p in layout.placements) <= infer.end
