"""Where a plan's graph comes from: a graph JSON file, or a ``.tflite`` model's training step."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgesdk.errors import PlanError
from edgesdk.plan.graph import PlanGraph, graph_from_dict, load_graph_json
from edgesdk.plan.training import kernel_family, planner_dict

__all__ = ["TrainingChoice", "kernel_family", "load_plan_graph", "tflite_graph_dict"]


@dataclass(frozen=True)
class TrainingChoice:
    """How a ``.tflite`` model trains (the same spellings as ``edgesdk build``)."""

    trainable: str = "all"
    optimizer: str = "sgd"
    loss: str = "auto"
    batch: int = 1
    precision: str = "fp32"


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
    from edgesdk.codegen.project import resolve_loss
    from edgesdk.frontend import load_model
    from edgesdk.train.build import build_training_graph

    model = load_model(path)
    step = build_training_graph(
        model,
        trainable=training.trainable,
        loss=resolve_loss(model, training.loss),
        optimizer=training.optimizer,
        batch=training.batch,
        precision=training.precision,
    )
    return planner_dict(step)
