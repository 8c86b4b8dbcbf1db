"""``edgesdk inspect model.tflite [--json]``: ops, tensors, quantization, bytes and MACs per layer."""

from __future__ import annotations

import json
from pathlib import Path

import click

from edgesdk.frontend import import_model
from edgesdk.frontend.summary import ModelSummary, OpSummary, summarize, summary_json

_NAME_WIDTH = 48
_QUANT_WIDTH = 46
_PAIRS = frozenset({"stride", "dilation", "filter"})  # (h, w) attributes shown as HxW


def _short_name(name: str) -> str:
    """Converter names can hold several ';'-joined names; show the first, clipped."""
    first = name.split(";")[0]
    if len(first) > _NAME_WIDTH or first != name:
        return first[: _NAME_WIDTH - 1] + "~"
    return first


def _shape(shape: tuple[int, ...]) -> str:
    return "[" + ",".join(str(d) for d in shape) + "]"


def _bytes(count: int) -> str:
    if count >= 1024 * 1024:
        return f"{count:,} B ({count / 1024 / 1024:.2f} MiB)"
    if count >= 1024:
        return f"{count:,} B ({count / 1024:.1f} KiB)"
    return f"{count:,} B"


def _attrs(op: OpSummary) -> str:
    parts = []
    for key, value in op.attrs.items():
        if key in _PAIRS:
            text = f"{value[0]}x{value[1]}"
        elif isinstance(value, list):
            text = json.dumps(value).replace(" ", "")
        else:
            text = str(value).lower() if isinstance(value, bool) else str(value)
        parts.append(f"{key}={text}")
    return " ".join(parts)


def render(summary: ModelSummary) -> str:
    tensors = summary.tensors
    lines = [f"model {summary.name}: {len(summary.ops)} ops, {len(tensors)} tensors"]
    for label, indices in (("input ", summary.inputs), ("output", summary.outputs)):
        for i in indices:
            t = tensors[i]
            lines.append(f"  {label} t{i} {t.dtype} {_shape(t.shape)} {t.quant}  {_short_name(t.name)}")
    for name, read, write in summary.states:  # a streaming model: t_read holds what t_write left last time
        t = tensors[read]
        lines.append(f"  state  t{read} <- t{write} {t.dtype} {_shape(t.shape)} {t.quant}  {name}")
    lines += ["", "ops"]
    header = (f"  {'#':>3}  {'kind':<18} {'inputs':<14} {'out':<5} {'output shape':<16} {'dtype':<7}"
              f" {'MACs':>11} {'param B':>9} {'act B':>9}  attributes")
    lines.append(header)
    for op in summary.ops:
        ins = ",".join("-" if i < 0 else str(i) for i in op.inputs)
        out = tensors[op.outputs[0]]
        lines.append(
            f"  {op.index:>3}  {op.kind:<18} {ins:<14} {','.join(map(str, op.outputs)):<5} "
            f"{_shape(out.shape):<16} {out.dtype:<7} {op.macs:>11,} {op.param_bytes:>9,} "
            f"{op.activation_bytes:>9,}  {_attrs(op)}"
        )
    lines += ["", "tensors"]
    lines.append(f"  {'#':>3}  {'role':<10} {'dtype':<7} {'shape':<16} {'bytes':>9}  "
                 f"{'quantization':<{_QUANT_WIDTH}} name")
    for t in tensors:
        lines.append(f"  {t.index:>3}  {t.role:<10} {t.dtype:<7} {_shape(t.shape):<16} {t.nbytes:>9,}  "
                     f"{t.quant:<{_QUANT_WIDTH}} {_short_name(t.name)}")
    lines += [
        "",
        "totals",
        f"  MACs per inference         {summary.macs:,}",
        f"  parameters                 {_bytes(summary.param_bytes)} as stored, "
        f"{summary.param_elements:,} elements",
        f"  activations                {_bytes(summary.activation_bytes)} as stored, "
        f"{summary.activation_elements:,} elements",
        f"  training memory, all kept  {_bytes(summary.training_bytes_fp32)} in fp32 = "
        f"4 x ({summary.activation_elements:,} activations + 2 x {summary.param_elements:,} parameters)",
    ]
    return "\n".join(lines)


@click.command(name="inspect")
@click.argument("model", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print a JSON document instead of tables.")
def command(model: Path, as_json: bool) -> None:
    """Show a TFLite model as edgesdk sees it: ops, tensors, quantization, bytes and MACs per layer,
    and the training memory if every activation, parameter and gradient were kept in fp32."""
    imported = import_model(model)
    summary = summarize(imported)
    if as_json:
        click.echo(json.dumps(summary_json(summary, imported.graph), indent=1))
    else:
        click.echo(render(summary))
