"""The programs a generated runtime runs, on one timeline, and the arena lifetimes they imply.

A generated model has two programs: the training step (``es_train_step``) and inference
(``es_infer``). They never run at the same time, so they share one arena: the training step
occupies steps ``0 .. T-1`` of the timeline and inference ``T .. T+I-1``.

A :class:`Step` is one instruction of a program. Today every step computes its node once, in the
training graph's order; a planner schedule adds steps that recompute a node or page a buffer out
and back in (the :class:`Action` enum is where those go). Lifetimes follow from the steps alone:
a buffer's lifetime starts at each step that writes it and ends at the last step that reads that
copy, so a buffer written twice (recomputed) gets two lifetimes, each with its own offset.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from edgesdk.codegen.layout import Lifetime
from edgesdk.train.graph import Node, TrainingGraph


class Action(enum.Enum):
    COMPUTE = "compute"  # run the node's kernel


@dataclass(frozen=True)
class Step:
    time: int  # position on the shared timeline
    node: Node
    action: Action = Action.COMPUTE


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


def all_lifetimes(
    programs: Sequence[Program], in_arena: Callable[[str], bool], size_of: Callable[[str], int]
) -> list[Lifetime]:
    lifetimes: list[Lifetime] = []
    for program in programs:
        lifetimes.extend(program_lifetimes(program, in_arena, size_of))
    return lifetimes
