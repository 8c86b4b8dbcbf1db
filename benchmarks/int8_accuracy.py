"""Accuracy of on-device personalization in fp32, int8 without QAS and int8 + QAS.

The digits task (examples/digits): the int8 base model, a "new user" whose handwriting is slanted
and thicker, a few of the user's digits to fine-tune on (10 per class by default) and the user's
other digits held out. Each variant fine-tunes with the numpy reference trainer (the bits the C
runtime computes, for int8) for the same epochs and samples, over a few learning rates; the table
gives held-out accuracy after each, and the best per variant.

    python benchmarks/int8_accuracy.py                     # about five minutes on one core
    python benchmarks/int8_accuracy.py --trainable last:2 --epochs 5 --seeds 3

Accuracy is measured the way the model is deployed: int8 inference (TFLite-Micro-exact) of the
model holding the trained parameters (fp32-trained parameters are requantized with the model's
scales, as ``edgesdk export`` does); fp32 rows also give the float accuracy before requantization.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path

import click
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "examples" / "digits"))

from edgesdk.export import export_parameters  # noqa: E402
from edgesdk.frontend import load_model  # noqa: E402
from edgesdk.reference import ReferenceTrainer  # noqa: E402
from edgesdk.train import build_training_graph  # noqa: E402
from user_data import MODEL_DIR, make_user_data  # noqa: E402

MODEL = MODEL_DIR / "digits_cnn.tflite"
# learning rates per variant. The base model is confident (first-sample losses ~25), so fp32 and QAS
# need small rates. int8 without QAS steps by lr * grad * s instead of lr * grad / s (s ~ 0.007 for
# these weights), so it needs rates ~1/s^2 larger to move at all -- and then its biases (s_w s_x ~ 1e-4)
# still never move.
LRS = {
    "fp32": (3e-4, 1e-3, 3e-3, 1e-2, 3e-2),
    "int8": (3.0, 10.0, 30.0, 100.0, 300.0),
    "int8+qas": (3e-4, 1e-3, 3e-3, 1e-2, 3e-2),
    "int8+qas+sr": (3e-4, 1e-3, 3e-3, 1e-2, 3e-2),
    "int8+qas+master": (3e-4, 1e-3, 3e-3, 1e-2, 3e-2),
}
OPTIONS = {
    "fp32": {},
    "int8": {"precision": "int8", "int8_training": "noqas"},
    "int8+qas": {"precision": "int8", "int8_training": "qas"},
    "int8+qas+sr": {"precision": "int8", "int8_training": "qas,stochastic"},  # stochastic rounding
    "int8+qas+master": {"precision": "int8", "int8_training": "qas,master"},  # float32 master copy
}


@dataclass(frozen=True)
class Run:
    variant: str
    lr: float
    accuracy: float  # int8 inference, mean over seeds
    float_accuracy: float | None  # fp32 only: float inference before requantization
    seconds: float


def int8_accuracy(model_blob: bytes, x: np.ndarray, y: np.ndarray) -> float:
    graph = load_model(model_blob)
    trainer = ReferenceTrainer(build_training_graph(graph, precision="int8", batch=x.shape[0]))
    return float(np.mean(trainer.infer(x).reshape(len(y), -1).argmax(axis=1) == y))


def float_accuracy(trainer: ReferenceTrainer, x: np.ndarray, y: np.ndarray) -> float:
    correct = 0
    for start in range(0, len(y), 1):
        probs = trainer.infer(x[start : start + 1])
        correct += int(probs.reshape(-1).argmax() == y[start])
    return correct / len(y)


def fine_tune(
    variant: str, lr: float, trainable: str, epochs: int, seed: int, data
) -> tuple[float, float | None]:  # type: ignore[no-untyped-def]
    graph = load_model(MODEL)
    options = dict(OPTIONS[variant])
    if variant == "int8+qas+sr":
        options["int8_training"] += f",seed={seed + 1}"
    tg = build_training_graph(graph, trainable=trainable, optimizer=f"sgd:lr={lr}", batch=1, **options)
    trainer = ReferenceTrainer(tg)
    rng = np.random.default_rng(seed)
    for _ in range(epochs):
        for i in rng.permutation(len(data.train_y)):
            loss = trainer.train_step(data.train_x[i : i + 1], data.train_y[i : i + 1])
            if not np.isfinite(loss):
                break
    params = trainer.parameters
    if any(not np.all(np.isfinite(p)) for p in params.values()):
        return 0.0, 0.0 if variant == "fp32" else None
    blob = export_parameters(MODEL, params).blob
    accuracy = int8_accuracy(blob, quantized(graph, data.test_x), data.test_y)
    if variant == "fp32":
        return accuracy, float_accuracy(trainer, data.test_x, data.test_y)
    return accuracy, None


def quantized(graph, x: np.ndarray) -> np.ndarray:  # type: ignore[no-untyped-def]
    q = graph.tensor(graph.inputs[0]).quant
    return np.clip(np.round(x / np.float32(q.scale[0])) + q.zero_point[0], -128, 127).astype(np.int8)


@click.command()
@click.option("--trainable", default="all", show_default=True)
@click.option("--epochs", default=5, show_default=True)
@click.option("--seeds", default=3, show_default=True, help="Sample orders averaged per learning rate.")
@click.option("--per-class", default=10, show_default=True, help="User digits to fine-tune on, per class.")
def main(trainable: str, epochs: int, seeds: int, per_class: int) -> None:
    data = make_user_data(n_train_per_class=per_class)
    graph = load_model(MODEL)
    before = int8_accuracy(MODEL.read_bytes(), quantized(graph, data.test_x), data.test_y)
    print(
        f"digits personalization: {len(data.train_y)} user digits to fine-tune on, {len(data.test_y)} "
        f"held out; trainable {trainable}, SGD, batch 1, {epochs} epochs, mean of {seeds} sample orders"
    )
    print(f"before fine-tuning (int8 base model): {100 * before:.1f} %\n")
    print(f"{'variant':<16} {'lr':>8} {'after (int8)':>13} {'float':>7} {'s/run':>7}")
    runs: list[Run] = []
    for variant, lrs in LRS.items():
        for lr in lrs:
            start = time.perf_counter()
            results = [fine_tune(variant, lr, trainable, epochs, seed, data) for seed in range(seeds)]
            seconds = (time.perf_counter() - start) / seeds
            accuracy = float(np.mean([r[0] for r in results]))
            floats = [r[1] for r in results if r[1] is not None]
            run = Run(variant, lr, accuracy, float(np.mean(floats)) if floats else None, seconds)
            runs.append(run)
            flt = f"{100 * run.float_accuracy:6.1f}%" if run.float_accuracy is not None else f"{'':>7}"
            print(f"{variant:<16} {lr:>8g} {100 * accuracy:>12.1f}% {flt} {seconds:>7.1f}")
    print("\nbest per variant (held-out accuracy, int8 inference):")
    print("| variant | best lr | before | after |")
    print("| --- | --- | --- | --- |")
    best = {}
    for variant in LRS:
        top = max((r for r in runs if r.variant == variant), key=lambda r: r.accuracy)
        best[variant] = top
        print(f"| {variant} | {top.lr:g} | {100 * before:.1f} % | {100 * top.accuracy:.1f} % |")
    gap = 100 * (best["fp32"].accuracy - best["int8+qas"].accuracy)
    print(f"\nfp32 minus int8+QAS (best of each): {gap:.2f} points (goal: at most 1)")


if __name__ == "__main__":
    main()
