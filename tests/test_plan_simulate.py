"""The simulator catches every kind of broken schedule, and the arena layout never overlaps."""

from __future__ import annotations

import dataclasses

import pytest
from edgesdk.plan.graph import graph_from_dict
from edgesdk.plan.planner import PlanOptions, plan
from edgesdk.plan.schedule import Instruction
from edgesdk.plan.simulate import ScheduleError, simulate
from plan_support import toy_board
from test_plan_milp import TINY, paging_chain


@pytest.fixture(scope="module")
def paged() -> tuple:
    graph = paging_chain()
    board = toy_board()
    result = plan(graph, board, PlanOptions(budget_bytes=1300, mip_gap=1e-9))
    return graph, board, list(result.schedule.instructions)


def _without(instructions: list[Instruction], op: str, node: str) -> list[Instruction]:
    index = next(i for i, ins in enumerate(instructions) if ins.op == op and ins.node == node)
    return instructions[:index] + instructions[index + 1 :]


def _index(instructions: list[Instruction], op: str, node: str) -> int:
    return next(i for i, ins in enumerate(instructions) if ins.op == op and ins.node == node)


def test_valid_schedule_replays(paged: tuple) -> None:
    graph, board, ins = paged
    sim = simulate(graph, board, ins, budget_bytes=1300)
    assert sim.peak_ram_bytes <= 1300
    assert sim.paged_out_bytes == {"nor": 400} and sim.paged_in_bytes == {"nor": 400}
    assert sim.recomputations == 1
    # RAM of every instruction adds up by kind; the resident state is always there
    assert all(point["resident"] == 100 for point in sim.timeline)
    assert max(sum(p.values()) for p in sim.timeline) == sim.peak_ram_bytes


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda ins: _without(ins, "page_in", "f1"), "inputs not in RAM: f1"),
        (lambda ins: _without(ins, "page_out", "f1"), "holds no copy"),
        (lambda ins: _without(ins, "recompute", "f0"), "inputs not in RAM: f0"),
        (lambda ins: ins[:-1] if ins[-1].op == "free" else None, "still in RAM"),
        (
            lambda ins: [dataclasses.replace(i, op="compute") if i.op == "recompute" else i for i in ins],
            "first run",
        ),
        (
            lambda ins: [dataclasses.replace(i, tier="sd") if i.tier else i for i in ins],
            "unknown storage tier",
        ),
        (
            lambda ins: [dataclasses.replace(i, nbytes=1) if i.node == "f2" else i for i in ins],
            "says 1 bytes",
        ),
        (lambda ins: [i for i in ins if i.node != "b1"], "never computed: b1"),
    ],
)
def test_broken_schedules_are_refused(paged: tuple, mutate, message: str) -> None:  # noqa: ANN001
    graph, board, ins = paged
    with pytest.raises(ScheduleError, match=message):
        simulate(graph, board, mutate(list(ins)))


def test_budget_is_checked(paged: tuple) -> None:
    graph, board, ins = paged
    with pytest.raises(ScheduleError, match="over the budget of 1200 B"):
        simulate(graph, board, ins, budget_bytes=1200)


def test_overlapping_arena_ranges_are_refused(paged: tuple) -> None:
    graph, board, ins = paged
    at = _index(ins, "compute", "f1")
    clash = [
        dataclasses.replace(i, arena_offset=ins[at - 1].arena_offset) if n == at else i
        for n, i in enumerate(ins)
    ]
    with pytest.raises(ScheduleError, match="overlaps live buffer f0"):
        simulate(graph, board, clash)


def test_a_slot_holds_one_copy() -> None:
    graph = graph_from_dict(TINY[0])
    board = toy_board()
    ins = [
        Instruction("compute", "f0", 0, 400, arena_offset=0),
        Instruction("page_out", "f0", 0, 400, tier="nor", slot=0),
        Instruction("compute", "f1", 1, 400, arena_offset=400),
        Instruction("page_out", "f1", 1, 400, tier="nor", slot=0),
    ]
    with pytest.raises(ScheduleError, match="slot 0 of nor still holds f0's copy"):
        simulate(graph, board, ins)


def test_recomputing_a_node_that_must_run_once_is_refused() -> None:
    graph = graph_from_dict(TINY[1])  # x is not recomputable
    board = toy_board()
    ins = [
        Instruction("compute", "x", 0, 300, arena_offset=0),
        Instruction("free", "x", 0, 300),
        Instruction("recompute", "x", 1, 300, arena_offset=0),
    ]
    with pytest.raises(ScheduleError, match="may not run twice"):
        simulate(graph, board, ins)


def test_pager_space_is_checked() -> None:
    graph = paging_chain()
    board = toy_board(swap_bytes=8192)
    ins = list(plan(graph, toy_board(), PlanOptions(budget_bytes=1300)).schedule.instructions)
    with pytest.raises(ScheduleError, match="need a 8984 B swap region; the board has 8192 B"):
        simulate(graph, board, ins)
