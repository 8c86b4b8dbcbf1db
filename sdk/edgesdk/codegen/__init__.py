"""Code generation: a training graph becomes a C training project for a board.

    project = generate_project("model.tflite", "stm32f746", "out/", ProjectOptions(trainable="last:2"))
    compile_project("out/", "emulated")
    run = run_project("out/", emulate=True)
    print(run.summary)

The pieces, in data-flow order: :mod:`~edgesdk.codegen.program` (the steps each program runs),
:mod:`~edgesdk.codegen.planning` (a planner schedule for a RAM budget),
:mod:`~edgesdk.codegen.layout` (the static arena), :mod:`~edgesdk.codegen.kernels` (the C call of
each node), :mod:`~edgesdk.codegen.model` (the template context), :mod:`~edgesdk.codegen.project`
(the files), :mod:`~edgesdk.codegen.swap` (the pager's devices and predicted counters),
:mod:`~edgesdk.codegen.report` (planned against measured), :mod:`~edgesdk.codegen.firmware`
(compile and run). docs/codegen.md describes the
generated project and its C API.
"""

from edgesdk.codegen.data import Dataset, load_dataset, pseudo_random_batches
from edgesdk.codegen.firmware import BuiltFirmware, ProjectRun, compile_project, run_project, summarize
from edgesdk.codegen.layout import ArenaLayout, Lifetime, check_layout, greedy_layout, render_layout
from edgesdk.codegen.model import ModelFacts, ModelSource, assemble_model, model_facts
from edgesdk.codegen.planning import PlannedStep, PlanRequest
from edgesdk.codegen.project import GeneratedProject, ProjectOptions, generate_project, training_graph

__all__ = [
    "ArenaLayout",
    "BuiltFirmware",
    "Dataset",
    "GeneratedProject",
    "Lifetime",
    "ModelFacts",
    "ModelSource",
    "PlanRequest",
    "PlannedStep",
    "ProjectOptions",
    "ProjectRun",
    "assemble_model",
    "check_layout",
    "compile_project",
    "generate_project",
    "greedy_layout",
    "load_dataset",
    "model_facts",
    "pseudo_random_batches",
    "render_layout",
    "run_project",
    "summarize",
    "training_graph",
]
