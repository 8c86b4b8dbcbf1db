"""On-device personalization demo: a digits classifier adapts to one user's handwriting.

1. A small int8 CNN was pretrained on scikit-learn's digits (model/train_base_model.py).
2. A "new user" writes with a slant and a thicker pen (user_data.py): the base model does worse.
3. edgesdk builds a training runtime for the board, with a few of the user's digits embedded as the
   device's own data, and runs it in the emulated board: the firmware measures accuracy on the
   user's held-out digits, fine-tunes on-device, and measures again.

Run from the repository root: ``python examples/digits/demo.py [--board stm32f746]``.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

import click
import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from user_data import make_user_data  # noqa: E402

MODEL = HERE / "model" / "digits_cnn.tflite"


def _edgesdk(*args: str, quiet: bool = False) -> str:
    command = [sys.executable, "-m", "edgesdk", *args]
    if not quiet:
        click.secho("$ edgesdk " + " ".join(shlex.quote(a) for a in args), fg="cyan")
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        sys.stderr.write(done.stdout + done.stderr)
        raise SystemExit(done.returncode)
    return done.stdout


@click.command()
@click.option("--board", default="stm32f746", show_default=True, help="Board to build for (emulated).")
@click.option("--out", "out_dir", default="build/digits-demo", show_default=True, type=click.Path())
@click.option("--trainable", default="all", show_default=True)
@click.option("--optimizer", default="adam", show_default=True)
@click.option("--lr", default=0.002, show_default=True)
@click.option("--precision", default="auto", show_default=True, help="int8, fp32 or auto (int8 with sgd).")
@click.option("--epochs", default=5, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the device's results as JSON only.")
def main(
    board: str, out_dir: str, trainable: str, optimizer: str, lr: float, precision: str, epochs: int,
    as_json: bool,
) -> None:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    data = make_user_data()
    data_file = out / "user.npz"
    np.savez(data_file, x_train=data.train_x, y_train=data.train_y, x_test=data.test_x, y_test=data.test_y)
    say = (lambda text: None) if as_json else click.echo
    say(
        f"new user: {len(data.train_y)} digits to fine-tune on, {len(data.test_y)} held-out digits to test on"
    )
    firmware = out / board
    build_args = [
        "build", str(MODEL), "--board", board, "-o", str(firmware), "--force",
        "--trainable", trainable, "--optimizer", optimizer, "--lr", str(lr), "--batch", "1",
        "--data", str(data_file), "--epochs", str(epochs), "--precision", precision, "--compile",
    ]
    say(_edgesdk(*build_args, quiet=as_json))
    run_args = ["run", str(firmware), "--json"]
    if board != "host":
        run_args.insert(2, "--emulate")
    results = json.loads(_edgesdk(*run_args, quiet=as_json))
    if as_json:
        click.echo(json.dumps(results, indent=2))
    else:
        _report(results, board)


def _report(results: dict, board: str) -> None:
    values = results.get("results", results)
    before = values["accuracy_before"]
    after = values["accuracy_after"]
    where = "on the host" if board == "host" else f"on the emulated {board}"
    click.echo(f"\npersonalization {where}:")
    click.echo(f"  accuracy on the user's held-out digits before fine-tuning: {100 * before:5.1f} %")
    click.echo(f"  accuracy on the user's held-out digits after fine-tuning:  {100 * after:5.1f} %")
    losses = ", ".join(f"{loss:.3f}" for loss in values.get("epoch_losses", []))
    click.echo(f"  training loss per epoch: {losses}")
    unit = results.get("reported", {}).get("counter.unit", "instructions")
    per_step = values.get(f"{unit}_per_step")
    if per_step is not None:
        click.echo(f"  {unit} per training step: {per_step:,}")
    arena, state = values.get("arena_bytes", 0), values.get("state_bytes", 0)
    stack = values.get("stack_high_water_bytes", 0)
    click.echo(
        f"  training RAM: arena {arena:,} B + state {state:,} B + stack used {stack:,} B"
        f" = {arena + state + stack:,} B"
    )


if __name__ == "__main__":
    main()
