"""How the resolved training choice is shown: the same lines in ``edgesdk plan`` and ``edgesdk build``."""

from __future__ import annotations

from edgesdk.train.choice import ResolvedTraining


def training_lines(training: ResolvedTraining, trained: str | None = None) -> list[str]:
    """``training: int8, sgd (lr 0.01), trainable all, loss softmax_xent, batch 1`` and why."""
    opt = training.optimizer
    lines = [
        f"training: precision {training.precision}, optimizer {opt.kind.value} (lr {opt.lr:g}), "
        f"trainable {training.trainable}{'' if trained is None else f' ({trained})'}, "
        f"loss {training.loss}, batch {training.batch}"
    ]
    lines += [f"  why: {reason}" for reason in training.reasons]
    return lines
