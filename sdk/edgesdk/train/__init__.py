"""Compile-time training graph: forward, loss, backward and optimizer nodes over named buffers.

``build_training_graph(graph, trainable, loss, optimizer, batch)`` is the entry point; see
docs/training-graph.md for the node and kernel contract the planner, code generator and C runtime
build against.
"""

from edgesdk.train.build import build_training_graph
from edgesdk.train.graph import Compute, Node, Stage, TrainingGraph, Value, ValueKind
from edgesdk.train.spec import (
    Int8Training,
    LayerTraining,
    LossKind,
    OptimizerKind,
    OptimizerSpec,
    Precision,
    Rounding,
    TrainableMode,
    TrainableSpec,
    layer_label,
)

__all__ = [
    "Compute",
    "Int8Training",
    "LayerTraining",
    "LossKind",
    "Node",
    "OptimizerKind",
    "OptimizerSpec",
    "Precision",
    "Rounding",
    "Stage",
    "TrainableMode",
    "TrainableSpec",
    "TrainingGraph",
    "Value",
    "ValueKind",
    "build_training_graph",
    "layer_label",
]
