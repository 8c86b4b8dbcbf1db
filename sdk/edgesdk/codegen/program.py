"""The programs a generated runtime runs, on one timeline, and the arena lifetimes they imply.

A generated model has two programs: the training step (``es_train_step``) and inference
(``es_infer``). They never run at the same time, so they share one arena: the training step
occupies steps ``0 .. T-1`` of the timeline and inference ``T .. T+I-1``.

A :class:`Step` is one instruction of a program. Keep-all programs (:func:`default_programs`)
compute every node once, in the training graph's order, and their lifetimes follow from the steps
alone: a buffer's lifetime starts at each step that writes it and ends at the last step that reads
that copy, so a buffer written twice gets two lifetimes, each with its own offset.

A planner schedule (:func:`scheduled_programs`) becomes the training program instruction for
instruction: ``compute`` and ``recompute`` run the node's kernel, ``page_out`` / ``page_in`` call
the pager, ``free`` only ends a lifetime. Its arena layout is the schedule's own (each allocating
instruction's ``arena_offset``), from :func:`schedule_arena`; step ``time`` is the instruction's
index, so the schedule's lifetimes and the steps share one clock.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from edgesdk.codegen import kernels as K
from edgesdk.codegen.layout import ArenaLayout, Lifetime, Placement, given_layout
from edgesdk.plan.arena import DEFAULT_ALIGNMENT, schedule_layout, workspace_name
from edgesdk.plan.schedule import Schedule
from edgesdk.train.graph import Node, TrainingGraph


class Action(enum.Enum):
    COMPUTE = "compute"  # run the node's kernel
    RECOMPUTE = "recompute"  # run it again: the same bytes as its first run
    PAGE_OUT = "page_out"  # copy the node's output buffer to a pager slot
    PAGE_IN = "page_in"  # read the copy back into the arena (and drop it after its last read)
    FREE = "free"  # the buffer's arena range is free from here (no code)

    @property
    def runs_kernel(self) -> bool:
        return self in (Action.COMPUTE, Action.RECOMPUTE)


@dataclass(frozen=True)
class Step:
    time: int  # position on the shared timeline
    node: Node
    action: Action = Action.COMPUTE
    tier: str | None = None  # PAGE_OUT / PAGE_IN: storage tier
    slot: int | None = None  # PAGE_OUT / PAGE_IN: pager slot in that tier
    drop: bool = False  # PAGE_IN: the copy's last read: drop it afterwards
    nbytes: int = 0  # PAGE_OUT / PAGE_IN: bytes copied


@dataclass(frozen=True)
class Program:
    name: str  # "train" or "infer"
    steps: tuple[Step, ...]

    @property
    def start(self) -> int:
        return self.steps[0].time if self.steps else 0

    @property
    def end(self) -> int:
        return self.steps[-1].time if self.steps else -1


def default_programs(graph: TrainingGraph) -> tuple[Program, Program]:
    """Keep-all: the training step in the graph's order, then inference, on one timeline."""
    train = Program("train", tuple(Step(i, node) for i, node in enumerate(graph.nodes)))
    offset = len(graph.nodes)
    infer = Program("infer", tuple(Step(offset + i, node) for i, node in enumerate(graph.inference_nodes)))
    return train, infer


def step_reads(step: Step) -> tuple[str, ...]:
    """Values a step reads (an update also reads the buffers it rewrites)."""
    return tuple(dict.fromkeys(step.node.inputs))


def step_writes(step: Step) -> tuple[str, ...]:
    """Values a step writes fresh (its output and side outputs; not in-place updates)."""
    node = step.node
    return ((node.output,) if node.output is not None else ()) + tuple(node.side_outputs)


def program_lifetimes(
    program: Program, in_arena: Callable[[str], bool], size_of: Callable[[str], int]
) -> list[Lifetime]:
    """Lifetimes of the arena buffers of ``program``: one per write, ending at its last read.

    Raises ValueError when a step reads an arena buffer no earlier step of the program wrote.
    """
    open_: dict[str, Lifetime] = {}
    done: list[Lifetime] = []
    for step in program.steps:
        for name in step_reads(step):
            if not in_arena(name):
                continue
            current = open_.get(name)
            if current is None:
                raise ValueError(
                    f"program {program.name!r}: step {step.time} ({step.node.name}) reads {name!r} "
                    "before any step writes it"
                )
            open_[name] = Lifetime(name, current.start, step.time, current.size)
        for name in step_writes(step):
            if not in_arena(name):
                continue
            if name in open_:
                done.append(open_.pop(name))
            open_[name] = Lifetime(name, step.time, step.time, size_of(name))
    done.extend(open_.values())
    return sorted(done, key=lambda item: (item.start, item.buffer))


def is_workspace(buffer: str) -> bool:
    """Is this lifetime a kernel's workspace (``<node>:workspace``) rather than a value's buffer?"""
    return buffer.endswith(":workspace")


def workspace_lifetimes(program: Program) -> list[Lifetime]:
    """The workspace of every kernel run (compute or recompute) whose kernel takes its scratch from
    the arena (kernels.ARENA_WORKSPACE): live during that step only."""
    return [
        Lifetime(workspace_name(step.node.name), step.time, step.time, step.node.workspace_bytes)
        for step in program.steps
        if step.action.runs_kernel and step.node.compute in K.ARENA_WORKSPACE and step.node.workspace_bytes
    ]


def all_lifetimes(
    programs: Sequence[Program], in_arena: Callable[[str], bool], size_of: Callable[[str], int]
) -> list[Lifetime]:
    lifetimes: list[Lifetime] = []
    for program in programs:
        lifetimes.extend(program_lifetimes(program, in_arena, size_of))
    return lifetimes


def scheduled_programs(graph: TrainingGraph, schedule: Schedule) -> tuple[Program, Program]:
    """The training program of ``schedule`` (one step per instruction) and the inference program
    after it on the timeline. The input node of an int8 graph (``TrainingGraph.input_node``) is a
    step like any other: its compute runs no kernel, its page-outs and page-ins call the pager."""
    nodes = {node.name: node for node in graph.scheduled_nodes}
    steps = []
    for time, ins in enumerate(schedule.instructions):
        node = nodes.get(ins.node)
        if node is None:
            raise ValueError(f"instruction {time} names {ins.node!r}, which is not a node of {graph.name}")
        steps.append(
            Step(
                time,
                node,
                Action(ins.op),
                tier=ins.tier,
                slot=ins.slot,
                drop=bool(ins.last_read),
                nbytes=ins.nbytes,
            )
        )
    offset = len(steps)
    infer = Program("infer", tuple(Step(offset + i, node) for i, node in enumerate(graph.inference_nodes)))
    return Program("train", tuple(steps)), infer


def schedule_arena(
    graph: TrainingGraph,
    schedule: Schedule,
    in_arena: Callable[[str], bool],
    alignment: int = DEFAULT_ALIGNMENT,
) -> ArenaLayout:
    """The training step's arena at the schedule's own offsets, one lifetime per allocation, named
    after the buffer (the node's output value) or, for a kernel that takes its workspace from the
    arena, the workspace (``<node>:workspace``). The input node's lifetimes (an int8 batch in the
    arena) are the input value's. Raises ValueError when an offset is missing, an arena buffer's
    size is not the node's, or two live buffers overlap."""
    nodes = {node.name: node for node in graph.scheduled_nodes}
    placements = []
    for placement in schedule_layout(schedule.instructions, alignment).placements:
        lifetime = placement.lifetime
        node = nodes.get(lifetime.buffer)
        owner = nodes.get(lifetime.buffer.rpartition(":")[0])
        if node is None and owner is not None and owner.compute in K.ARENA_WORKSPACE:
            placements.append(placement)  # a fused node's ring or a fused update's gradient chunk
            continue
        if node is None:  # a workspace: the fp32 kernels take none
            raise ValueError(f"the schedule gives {lifetime.buffer} scratch the generated kernels cannot use")
        value = node.output
        if value is None or not in_arena(value):
            if lifetime.size:
                raise ValueError(
                    f"{node.name} writes no arena buffer, but the schedule gives it {lifetime.size} B"
                )
            continue
        size = graph.value(value).nbytes
        if lifetime.size != size:
            raise ValueError(f"the schedule gives {value} {lifetime.size} B; it has {size} B")
        placements.append(Placement(Lifetime(value, lifetime.start, lifetime.end, size), placement.offset))
    return given_layout(placements, alignment)
