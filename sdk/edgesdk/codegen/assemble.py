"""The template context of a training graph: :func:`assemble_model` picks the assembler by precision
(:class:`~edgesdk.codegen.model.FloatAssembler`, :class:`~edgesdk.codegen.int8.Int8Assembler`)."""

from __future__ import annotations

from collections.abc import Sequence

from edgesdk.codegen.int8 import Int8Assembler
from edgesdk.codegen.layout import DEFAULT_ALIGNMENT, ArenaLayout
from edgesdk.codegen.model import FloatAssembler
from edgesdk.codegen.program import Program, default_programs
from edgesdk.codegen.source import ModelSource
from edgesdk.codegen.swap import SwapTier
from edgesdk.train.graph import TrainingGraph
from edgesdk.train.spec import Precision


def assemble_model(
    graph: TrainingGraph,
    *,
    programs: tuple[Program, Program] | None = None,
    trace: bool = False,
    alignment: int = DEFAULT_ALIGNMENT,
    description: Sequence[str] = (),
    train_layout: ArenaLayout | None = None,
    swap: Sequence[SwapTier] = (),
    board_port: str = "",
) -> ModelSource:
    """The template context of ``graph`` (keep-all programs unless ``programs`` is given).

    ``train_layout``: the training program's arena, fixed by a schedule
    (:func:`edgesdk.codegen.program.schedule_arena`); without it the training and inference
    lifetimes are laid out together. ``swap``: the tiers the training program pages to;
    ``board_port``: the real board's port (which swap drivers model.c selects on it).
    """
    kind = Int8Assembler if graph.precision is Precision.INT8 else FloatAssembler
    assembler = kind(graph, programs or default_programs(graph), trace, alignment, description)
    assembler.train_layout = train_layout
    assembler.swap = tuple(swap)
    assembler.board_port = board_port
    return assembler.run()
