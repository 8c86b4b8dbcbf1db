"""Where a plan's graph comes from: a graph JSON file, or a ``.tflite`` model's training step."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edgesdk.errors import PlanError
from edgesdk.frontend import load_model
from edgesdk.plan.graph import PlanGraph, graph_from_dict, load_graph_json
from edgesdk.plan.training import kernel_family, planner_dict
from edgesdk.train.choice import TrainingChoice, training_graph

__all__ = ["TrainingChoice", "kernel_family", "load_plan_graph", "tflite_graph_dict"]


def load_plan_graph(path: str | Path, training: TrainingChoice | None = None) -> PlanGraph:
    path = Path(path)
    if not path.is_file():
        raise PlanError(f"no such file: {path}; pass a .tflite model or a graph .json")
    if path.suffix.lower() == ".json":
        return load_graph_json(path)
    if path.suffix.lower() == ".tflite":
        return graph_from_dict(tflite_graph_dict(path, training or TrainingChoice()), source=str(path))
    raise PlanError(f"{path}: expected a .tflite model or a graph .json (docs/planner.md has the schema)")


def tflite_graph_dict(path: Path, training: TrainingChoice) -> dict[str, Any]:
    """The training step of a ``.tflite`` model in the graph JSON shape, with kernel families."""
    return planner_dict(training_graph(load_model(path), training))
