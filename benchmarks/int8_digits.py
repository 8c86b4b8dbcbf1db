"""Digits personalization on the emulated STM32F746: fp32 against int8 + QAS, measured on the device.

Each variant is built with ``edgesdk build`` (the user's 100 digits embedded, batch 1, 5 epochs
in file order, trainable all) and run in QEMU (mps2-an500, Cortex-M7): the firmware measures its
accuracy on the user's 350 held-out digits before and after fine-tuning, counts instructions per
training step and reports its RAM. Learning rates are the best ones of benchmarks/int8_accuracy.py
(docs/int8-training.md), which averages over sample orders; here one order, the device's own run.

    python benchmarks/int8_digits.py [--board stm32f746] [--trainable all] [--epochs 5]
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import click
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "examples" / "digits"))

from user_data import make_user_data  # noqa: E402

MODEL = ROOT / "examples" / "digits" / "model" / "digits_cnn.tflite"

# name, precision, optimizer, learning rate, int8 options
VARIANTS = (
    ("fp32 SGD", "fp32", "sgd", 1e-3, None),
    ("int8 without QAS", "int8", "sgd", 100.0, "noqas,nearest"),
    ("int8 + QAS, nearest", "int8", "sgd", 1e-3, "qas,nearest"),
    ("int8 + QAS, stochastic", "int8", "sgd", 1e-3, "qas,stochastic"),
    ("int8 + QAS, master copy", "int8", "sgd", 3e-3, "qas,master"),
    ("fp32 Adam (the demo's default)", "fp32", "adam", 2e-3, None),
)


def edgesdk(*args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "edgesdk", *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(done.stdout + done.stderr)
    return done.stdout


def flash_bytes(header: Path) -> int:
    """ES_MODEL_FLASH_BYTES of a generated model.h."""
    for line in header.read_text().splitlines():
        if line.startswith("#define ES_MODEL_FLASH_BYTES"):
            return int(line.split()[2])
    return 0


def commit() -> str:
    command = ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"]
    done = subprocess.run(command, capture_output=True, text=True)
    return done.stdout.strip() or "unknown"


@click.command()
@click.option("--board", default="stm32f746", show_default=True)
@click.option("--trainable", default="all", show_default=True)
@click.option("--epochs", default=5, show_default=True)
def main(board: str, trainable: str, epochs: int) -> None:
    data = make_user_data()
    click.echo(f"commit {commit()}; digits personalization on the emulated {board}, trainable {trainable}, "
               f"{epochs} epochs, batch 1, {len(data.train_y)} training / {len(data.test_y)} test digits")
    header = (f"{'variant':34} {'lr':>7} {'before':>7} {'after':>7} {'instr/step':>11} {'RAM B':>7} "
              f"{'flash B':>8}")
    click.echo(header)
    click.echo("-" * len(header))
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        data_file = work / "user.npz"
        np.savez(data_file, x_train=data.train_x, y_train=data.train_y,
                 x_test=data.test_x, y_test=data.test_y)
        for index, (name, precision, optimizer, lr, options) in enumerate(VARIANTS):
            out = work / f"v{index}"
            args = ["build", str(MODEL), "--board", board, "-o", str(out), "--trainable", trainable,
                    "--optimizer", optimizer, "--lr", str(lr), "--batch", "1", "--data", str(data_file),
                    "--epochs", str(epochs), "--precision", precision, "--compile"]
            if options:
                args += ["--int8-training", options]
            edgesdk(*args)
            run = json.loads(edgesdk("run", str(out), "--emulate", "--json"))
            values = run["results"]
            ram = values["arena_bytes"] + values["state_bytes"] + values["stack_high_water_bytes"]
            flash = flash_bytes(out / "src" / "model.h")
            click.echo(
                f"{name:34} {lr:7.0e} {100 * values['accuracy_before']:6.1f}% "
                f"{100 * values['accuracy_after']:6.1f}% {values['instructions_per_step']:11,} {ram:7,} "
                f"{flash:8,}"
            )
    click.echo("RAM: arena + parameters/gradients/masters/scratch + stack used; flash: the weights and "
               "constants of model.c (the embedded data set not counted)")


if __name__ == "__main__":
    main()
