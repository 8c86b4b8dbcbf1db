"""How a model trains: the one resolver that ``edgesdk plan``, ``edgesdk build``, the demos and the
Python API share.

A :class:`TrainingChoice` holds the user's spellings (``trainable="last:2"``, ``optimizer="sgd"``,
``precision="auto"``...). :func:`resolve_training` turns it into concrete choices for a model and
says why each ``auto`` became what it did; :func:`training_graph` builds the training graph of
those choices. Nothing else decides precision or loss.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from edgesdk import ir
from edgesdk.errors import TrainingError
from edgesdk.train.build import build_training_graph
from edgesdk.train.graph import TrainingGraph
from edgesdk.train.spec import PARAMETERIZED, OptimizerKind, OptimizerSpec

PRECISIONS = ("auto", "int8", "fp32")


@dataclass(frozen=True)
class TrainingChoice:
    """What to train and how, in the CLI's spellings (``edgesdk build --help``)."""

    trainable: str = "all"  # all | last:K | bias | sparse:FILE
    optimizer: str = "sgd"  # sgd | momentum | adam, optionally ":key=value,..."
    lr: float | None = None  # overrides the optimizer's learning rate
    loss: str = "auto"  # softmax_xent | mse | auto (softmax_xent when the model ends in SOFTMAX)
    batch: int = 1
    precision: str = "auto"  # auto (int8 for an int8 model trained with plain SGD) | int8 | fp32
    int8_training: str | None = None  # int8 update options, e.g. "stochastic,unfused"


@dataclass(frozen=True)
class ResolvedTraining:
    """A :class:`TrainingChoice` made concrete for one model."""

    trainable: str
    optimizer: OptimizerSpec
    loss: str  # softmax_xent | mse
    batch: int
    precision: str  # fp32 | int8
    int8_training: str | None  # only with precision int8
    reasons: tuple[str, ...]  # why each "auto" resolved as it did, in words

    def as_dict(self) -> dict[str, object]:
        """The choices as plain data (``--json``, the project manifest)."""
        return {
            "trainable": self.trainable,
            "optimizer": self.optimizer.kind.value,
            "lr": self.optimizer.lr,
            "loss": self.loss,
            "batch": self.batch,
            "precision": self.precision,
            "int8_training": self.int8_training,
            "reasons": list(self.reasons),
        }


def int8_model(model: ir.Graph) -> bool:
    """Does every layer with weights carry int8 weights (what int8 training needs)?"""
    layers = [op for op in model.ops if op.kind in PARAMETERIZED]
    return bool(layers) and all(
        model.tensor(op.inputs[1]).dtype is ir.DType.INT8 and model.tensor(op.inputs[1]).quant is not None
        for op in layers
    )


def resolve_loss(model: ir.Graph, loss: str) -> str:
    """``auto``: softmax cross-entropy for a model that ends in SOFTMAX, else mean squared error."""
    if loss != "auto":
        return loss
    last = model.producer(model.outputs[0]) if model.outputs else None
    return "softmax_xent" if last is not None and last.kind is ir.OpKind.SOFTMAX else "mse"


def resolve_precision(
    model: ir.Graph, precision: str, optimizer: OptimizerSpec, int8_training: str | None = None
) -> str:
    """``fp32`` or ``int8`` for a build: ``auto`` is int8 for an int8 model trained with plain SGD
    (what int8 training supports), fp32 otherwise. Options for int8 updates need int8."""
    return _precision(model, precision, optimizer, int8_training)[0]


def _precision(
    model: ir.Graph, precision: str, optimizer: OptimizerSpec, int8_training: str | None
) -> tuple[str, str | None]:
    choice = precision.strip().lower()
    if choice not in PRECISIONS:
        raise TrainingError(f"precision {precision!r} is not known; use {', '.join(PRECISIONS)}")
    reason = None
    if choice == "auto":
        plain_sgd = optimizer.kind is OptimizerKind.SGD and optimizer.weight_decay == 0
        quantized = int8_model(model)
        choice = "int8" if plain_sgd and quantized else "fp32"
        if choice == "int8":
            reason = "precision int8 (auto): the model's weights are int8 and the optimizer is plain SGD"
        elif not quantized:
            reason = "precision fp32 (auto): the model's weights are not all int8"
        else:
            reason = (
                f"precision fp32 (auto): int8 training updates with plain SGD, and the optimizer is "
                f"{optimizer.kind.value}{' with weight decay' if optimizer.weight_decay else ''}; "
                "ask for --optimizer sgd to train in int8"
            )
    if choice == "fp32" and int8_training:
        raise TrainingError(
            f"int8 training options ({int8_training!r}) apply to precision int8; build with "
            "--precision int8 or drop them"
        )
    return choice, reason


def resolve_training(model: ir.Graph, choice: TrainingChoice) -> ResolvedTraining:
    """The concrete training of ``model`` that ``choice`` asks for; raises TrainingError."""
    if choice.batch < 1:
        raise TrainingError(f"--batch must be >= 1, got {choice.batch}")
    if choice.lr is not None and not choice.lr > 0:
        raise TrainingError(f"--lr must be a positive number, got {choice.lr}")
    optimizer = OptimizerSpec.parse(choice.optimizer)
    if choice.lr is not None:
        optimizer = dataclasses.replace(optimizer, lr=float(choice.lr))
    precision, precision_reason = _precision(model, choice.precision, optimizer, choice.int8_training)
    loss = resolve_loss(model, choice.loss)
    reasons = []
    if precision_reason:
        reasons.append(precision_reason)
    if choice.loss == "auto":
        ends = "ends in SOFTMAX" if loss == "softmax_xent" else "does not end in SOFTMAX"
        reasons.append(f"loss {loss} (auto): the model {ends}")
    return ResolvedTraining(
        trainable=choice.trainable,
        optimizer=optimizer,
        loss=loss,
        batch=choice.batch,
        precision=precision,
        int8_training=choice.int8_training if precision == "int8" else None,
        reasons=tuple(reasons),
    )


def training_graph(model: ir.Graph, choice: TrainingChoice | ResolvedTraining) -> TrainingGraph:
    """The training graph of ``model`` for ``choice``."""
    resolved = choice if isinstance(choice, ResolvedTraining) else resolve_training(model, choice)
    return build_training_graph(
        model,
        trainable=resolved.trainable,
        loss=resolved.loss,
        optimizer=resolved.optimizer,
        batch=resolved.batch,
        precision=resolved.precision,
        int8_training=resolved.int8_training,
    )
