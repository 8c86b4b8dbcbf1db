"""``edgesdk export model.tflite --params FILE -o trained.tflite``: trained parameters back into the model."""

from __future__ import annotations

from pathlib import Path

import click

from edgesdk.errors import ExportError
from edgesdk.export import ExportResult, export_parameters


@click.command("export")
@click.argument("model", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--params",
    "params",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Trained parameters: a .npz saved by the reference trainer, or a parameter image read back "
    "from a device (the bytes es_params_save wrote).",
)
@click.option(
    "-o",
    "--out",
    "out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The .tflite to write (not the input model).",
)
@click.option(
    "--refit-scales",
    "refit",
    is_flag=True,
    help="float32 parameters: fit new per-channel weight scales (bias scales follow) instead of "
    "rounding to the model's own scales.",
)
def command(model: Path, params: Path, out: Path, refit: bool) -> None:
    """Write trained PARAMS into MODEL as a new .tflite that TFLite Micro runs.

    int8 weights and int32 biases (int8 training) are written as they are; float32 values (fp32
    training) are requantized. Everything else in the file stays byte-identical.
    """
    if out.exists() and model.exists() and out.resolve() == model.resolve():
        raise ExportError(f"-o {out} is the input model; write the trained model to another file")
    result = export_parameters(model, params, refit=refit)
    try:
        out.write_bytes(result.blob)
    except OSError as error:
        raise ExportError(f"cannot write {str(out)!r}: {error.strerror or error}") from None
    _report(result, out)


def _report(result: ExportResult, out: Path) -> None:
    changed = [p for p in result.parameters if p.changed or p.refit]
    click.echo(
        f"wrote {out} ({len(result.blob):,} bytes): {len(changed)} of {len(result.parameters)} "
        "parameters differ from the model's"
    )
    for p in changed:
        how = "as given" if p.given == p.stored else f"{p.given} -> {p.stored}"
        scales = ", scales re-fitted" if p.refit else ""
        click.echo(f"  {p.name:<28} {p.changed:>8,} values changed ({how}{scales})  {p.tensor}")
