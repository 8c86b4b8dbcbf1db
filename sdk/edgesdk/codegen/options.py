"""The options of a generated project: what to train (a :class:`~edgesdk.train.choice.TrainingChoice`),
what the demo program does, and the plan its training step runs."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from edgesdk.codegen.data import DEFAULT_SEED
from edgesdk.errors import PlanError, TrainingError
from edgesdk.plan.project import PlanRequest
from edgesdk.plan.schedule import Schedule
from edgesdk.train.choice import TrainingChoice


@dataclass(frozen=True)
class ProjectOptions:
    """What to train and what the demo program does (the ``edgesdk build`` options)."""

    trainable: str = "all"
    optimizer: str = "sgd"  # sgd | momentum | adam, optionally ":key=value,..."
    lr: float | None = None  # overrides the optimizer's learning rate
    loss: str = "auto"  # softmax_xent | mse | auto (softmax_xent when the model ends in SOFTMAX)
    batch: int = 1
    data: Path | None = None  # .npz with x_train, y_train, x_test, y_test
    epochs: int = 1  # with data
    steps: int = 3  # without data: pseudo-random steps
    seed: int = DEFAULT_SEED
    trace: bool = False  # every step reports its output buffer (debugging, equivalence tests)
    report_params: bool = False  # the demo reports the trained parameters
    report_steps: bool = False  # the demo reports every step's loss
    precision: str = "auto"  # auto (int8 for an int8 model trained with plain SGD) | int8 | fp32
    int8_training: str | None = None  # int8 update options, e.g. "stochastic,unfused" (Int8Training)
    plan: PlanRequest | None = None  # plan the training step for a RAM budget (edgesdk build --budget)
    schedule: Schedule | Path | None = None  # or run this schedule (a plan.json): any plan for the graph

    def __post_init__(self) -> None:
        if self.plan is not None and self.schedule is not None:
            raise PlanError("give either a RAM budget to plan for or a stored schedule, not both")
        if self.batch < 1:
            raise TrainingError(f"--batch must be >= 1, got {self.batch}")
        if self.epochs < 0 or self.steps < 0:
            raise TrainingError("--epochs and --steps must be >= 0")
        if self.lr is not None and not self.lr > 0:
            raise TrainingError(f"--lr must be a positive number, got {self.lr}")

    @property
    def training(self) -> TrainingChoice:
        """What to train, for the shared resolver (:func:`edgesdk.train.choice.resolve_training`):
        the fields of :class:`TrainingChoice`, taken from these options by name."""
        return TrainingChoice(**{f.name: getattr(self, f.name) for f in dataclasses.fields(TrainingChoice)})
