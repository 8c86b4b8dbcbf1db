"""Code generation: a training graph (and its plan) rendered as a C training project for a board.

This stage only renders; :mod:`edgesdk.pipeline` decides what to render (model, training, plan)
and calls :func:`~edgesdk.codegen.project.render_project`. The pieces, in data-flow order:
:mod:`~edgesdk.codegen.program` (the steps each program runs), :mod:`~edgesdk.codegen.layout` (the
static arena), :mod:`~edgesdk.codegen.kernels` (the C call of each node),
:mod:`~edgesdk.codegen.model` and :mod:`~edgesdk.codegen.int8` (the template context),
:mod:`~edgesdk.codegen.swap` (the pager's devices and predicted counters),
:mod:`~edgesdk.codegen.project` (the files), :mod:`~edgesdk.codegen.platformio` and
:mod:`~edgesdk.codegen.linker` (board files). docs/codegen.md describes the generated project and
its C API.
"""

from edgesdk.codegen.assemble import assemble_model
from edgesdk.codegen.data import Dataset, load_dataset, pseudo_random_batches
from edgesdk.codegen.layout import ArenaLayout, Lifetime, check_layout, greedy_layout, render_layout
from edgesdk.codegen.model import model_facts
from edgesdk.codegen.options import ProjectOptions
from edgesdk.codegen.project import GeneratedProject, render_project
from edgesdk.codegen.source import ModelFacts, ModelSource

__all__ = [
    "ArenaLayout",
    "Dataset",
    "GeneratedProject",
    "Lifetime",
    "ModelFacts",
    "ModelSource",
    "ProjectOptions",
    "assemble_model",
    "check_layout",
    "greedy_layout",
    "load_dataset",
    "model_facts",
    "pseudo_random_batches",
    "render_layout",
    "render_project",
]
