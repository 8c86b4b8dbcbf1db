"""Where a plan's graph comes from: a graph JSON file, or a ``.tflite`` model's training step."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edgesdk.errors import PlanError
from edgesdk.frontend import load_model
from edgesdk.plan.graph import PlanGraph, graph_from_dict, load_graph_json
from edgesdk.plan.training import kernel_family, planner_dict
from edgesdk.train.choice import ResolvedTraining, TrainingChoice, resolve_training, training_graph

__all__ = ["TrainingChoice", "kernel_family", "load_plan_graph", "plan_source", "tflite_graph_dict"]


def load_plan_graph(path: str | Path, training: TrainingChoice | None = None) -> PlanGraph:
    return plan_source(path, training)[0]


def plan_source(
    path: str | Path, training: TrainingChoice | None = None
) -> tuple[PlanGraph, ResolvedTraining | None]:
    """The graph to plan, and for a ``.tflite`` model how it trains (the shared resolver's choice)."""
    path = Path(path)
    if not path.is_file():
        raise PlanError(f"no such file: {path}; pass a .tflite model or a graph .json")
    if path.suffix.lower() == ".json":
        return load_graph_json(path), None
    if path.suffix.lower() == ".tflite":
        model = load_model(path)
        resolved = resolve_training(model, training or TrainingChoice())
        graph = graph_from_dict(planner_dict(training_graph(model, resolved)), source=str(path))
        return graph, resolved
    raise PlanError(f"{path}: expected a .tflite model or a graph .json (docs/planner.md has the schema)")


def tflite_graph_dict(path: Path, training: TrainingChoice) -> dict[str, Any]:
    """The training step of a ``.tflite`` model in the graph JSON shape, with kernel families."""
    return planner_dict(training_graph(load_model(path), training))
