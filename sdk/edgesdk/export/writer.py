"""Trained parameters -> a ``.tflite`` that TFLite Micro runs with them.

Parameters come by IR tensor index (from a device's parameter image) or by training-graph value
name (``conv_2d_3.w``, ``conv_2d_3.b``: a ``.npz`` saved by ``ReferenceTrainer.save_parameters``).
int8 weights / int32 biases (int8 training) are written as they are; float32 values (fp32 training)
are requantized (:mod:`edgesdk.export.requantize`), keeping the model's scales or re-fitting them;
float32 tensors of a float model take float32 values. A float parameter equal to the model's own
dequantized value is left untouched, so exporting what was not trained changes nothing. The file is
patched in place (:mod:`edgesdk.export.patch`) and read back to check every written tensor.
"""

from __future__ import annotations

import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

import numpy as np

from edgesdk import ir
from edgesdk.errors import ExportError
from edgesdk.export import requantize
from edgesdk.export.image import read_image
from edgesdk.export.patch import Patch, apply_patches
from edgesdk.frontend import ModelSource, import_model, read_model_bytes
from edgesdk.train.rules import PARAMETERS
from edgesdk.train.spec import layer_label


@dataclass(frozen=True)
class ExportedParameter:
    name: str  # training-graph value name, e.g. conv_2d_3.w
    tensor: str  # the model's tensor name
    given: str  # dtype of the values given (int8, int32, float32)
    stored: str  # dtype the model stores
    changed: int  # stored elements that now differ from the model's
    refit: bool  # quantization scales re-fitted


@dataclass(frozen=True)
class ExportResult:
    blob: bytes  # the new .tflite
    parameters: tuple[ExportedParameter, ...]  # every parameter that was given, in op order


def parameter_names(graph: ir.Graph) -> dict[str, int]:
    """Training-graph value name -> IR tensor index, for every weight and bias of the model."""
    names: dict[str, int] = {}
    for op in graph.ops:
        layout = PARAMETERS.get(op.kind)
        if layout is None:
            continue
        for slot, suffix in ((layout.weight_slot, "w"), (layout.bias_slot, "b")):
            if slot < len(op.inputs) and op.inputs[slot] != ir.NO_TENSOR:
                names[f"{layer_label(op)}.{suffix}"] = op.inputs[slot]
    return names


def read_parameters(path: str | Path, graph: ir.Graph) -> dict[int, np.ndarray]:
    """A ``.npz`` (value name -> array) or a device parameter image, as IR tensor index -> array."""
    path = Path(path)
    try:
        blob = path.read_bytes()
    except FileNotFoundError:
        raise ExportError(f"parameter file {str(path)!r} does not exist") from None
    except OSError as error:
        raise ExportError(f"cannot read parameter file {str(path)!r}: {error.strerror or error}") from None
    if blob[:4] == b"PK\x03\x04":
        return _from_npz(blob, str(path), graph)
    records = read_image(blob, f"parameter image {str(path)!r}")
    return {record.tensor: record.data for record in records}


def _from_npz(blob: bytes, source: str, graph: ir.Graph) -> dict[int, np.ndarray]:
    try:
        with np.load(BytesIO(blob), allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
    except (OSError, ValueError, zipfile.BadZipFile) as error:
        raise ExportError(f"{source} is not a readable .npz: {error}") from None
    return by_tensor(arrays, graph, source)


def by_tensor(
    arrays: Mapping[str, np.ndarray], graph: ir.Graph, source: str = "the parameters"
) -> dict[int, np.ndarray]:
    names = parameter_names(graph)
    unknown = sorted(set(arrays) - set(names))
    if unknown:
        known = ", ".join(list(names)[:6]) + (", ..." if len(names) > 6 else "")
        raise ExportError(
            f"{source} names {', '.join(unknown[:5])}, which {'is' if len(unknown) == 1 else 'are'} not a "
            f"weight or bias of model {graph.name!r} (its parameters: {known}); was it trained on "
            "another model?"
        )
    return {names[name]: np.asarray(array) for name, array in arrays.items()}


def export_parameters(
    model: ModelSource,
    params: Mapping[str, np.ndarray] | Mapping[int, np.ndarray] | str | Path,
    *,
    refit: bool = False,
) -> ExportResult:
    """The model with ``params`` written in; see the module docstring. ``params``: a path (.npz or
    parameter image), value name -> array, or IR tensor index -> array."""
    blob, _ = read_model_bytes(model)
    imported = import_model(blob)
    graph = imported.graph
    if isinstance(params, str | Path):
        values = read_parameters(params, graph)
    elif all(isinstance(key, str) for key in params):
        values = by_tensor(params, graph)  # type: ignore[arg-type]
    else:
        values = {int(k): np.asarray(v) for k, v in params.items()}
    owners = _owners(graph)
    for index in values:
        if index not in owners:
            name = graph.tensor(index).name if 0 <= index < len(graph.tensors) else f"#{index}"
            raise ExportError(
                f"the parameters hold tensor {index} ({name}), which is not a weight or bias of model "
                f"{graph.name!r}; the parameter image or .npz comes from another model"
            )
    patches: list[Patch] = []
    exported: list[ExportedParameter] = []
    expected: dict[int, tuple[np.ndarray, np.ndarray | None]] = {}
    for op in graph.ops:
        layout = PARAMETERS.get(op.kind)
        if layout is None:
            continue
        for index, result in _layer(graph, op, layout.channel_axis, values, refit).items():
            data, scale, given = result
            tensor = graph.tensor(index)
            original = tensor.data
            assert original is not None
            name = _value_name(op, index)
            changed = int((data != original).sum())
            refitted = scale is not None
            if changed == 0 and not refitted:
                if given is not None:
                    exported.append(ExportedParameter(name, tensor.name, given, tensor.dtype.value, 0, False))
                continue
            stored = data.astype(np.dtype(tensor.dtype.numpy).newbyteorder("<"))
            patches.append(Patch(imported.tflite_tensor[index], stored.tobytes(), scale))
            expected[index] = (data, scale)
            exported.append(
                ExportedParameter(
                    name, tensor.name, given or tensor.dtype.value, tensor.dtype.value, changed, refitted
                )
            )
    out = apply_patches(blob, patches)
    _check(out, expected)
    return ExportResult(out, tuple(exported))


def _owners(graph: ir.Graph) -> dict[int, ir.Op]:
    owners = {}
    for op in graph.ops:
        layout = PARAMETERS.get(op.kind)
        if layout is not None:
            for slot in (layout.weight_slot, layout.bias_slot):
                if slot < len(op.inputs) and op.inputs[slot] != ir.NO_TENSOR:
                    owners[op.inputs[slot]] = op
    return owners


def _value_name(op: ir.Op, index: int) -> str:
    return f"{layer_label(op)}.{'w' if op.inputs[1] == index else 'b'}"


def _checked(values: np.ndarray, tensor: ir.Tensor, name: str) -> np.ndarray:
    if values.size != tensor.size:
        raise ExportError(
            f"{name} ({tensor.name!r}) has {values.size} values but the model's tensor has shape "
            f"{list(tensor.shape)} ({tensor.size} values)"
        )
    values = values.reshape(tensor.shape)
    if values.dtype.kind in "iu" and values.dtype != tensor.dtype.numpy:
        raise ExportError(
            f"{name} ({tensor.name!r}) is {values.dtype}, but the model stores {tensor.dtype.value}; "
            "integer parameters must be the stored integers (int8 weights, int32 biases)"
        )
    if values.dtype.kind == "f" and not np.all(np.isfinite(values)):
        raise ExportError(f"{name} ({tensor.name!r}) holds NaN or infinite values; training diverged")
    if values.dtype.kind not in "iuf":
        raise ExportError(f"{name} ({tensor.name!r}) is {values.dtype}; expected numbers")
    return values


def _layer(
    graph: ir.Graph, op: ir.Op, axis: int, values: Mapping[int, np.ndarray], refit: bool
) -> dict[int, tuple[np.ndarray, np.ndarray | None, str | None]]:
    """IR tensor -> (stored data, new scales or None, dtype given or None) for one layer's weight
    and bias. A bias is rewritten when its weights' scales were re-fitted, given or not."""
    out: dict[int, tuple[np.ndarray, np.ndarray | None, str | None]] = {}
    w_index = op.inputs[1]
    b_index = op.inputs[2] if len(op.inputs) > 2 and op.inputs[2] != ir.NO_TENSOR else None
    new_bias_scales = None
    weight = graph.tensor(w_index)
    if w_index in values:
        given = _checked(values[w_index], weight, _value_name(op, w_index))
        data, scale = _convert_weight(given, weight, axis, refit)
        out[w_index] = (data, scale, str(given.dtype))
        if scale is not None and b_index is not None:
            bias = graph.tensor(b_index)
            assert bias.quant is not None
            s_x = float(graph.tensor(op.inputs[0]).quant.scale[0])  # type: ignore[union-attr]
            new_bias_scales = requantize.bias_scales(s_x, scale, bias.quant.scale.size)
    if b_index is None:
        return out
    bias = graph.tensor(b_index)
    if b_index in values:
        given = _checked(values[b_index], bias, _value_name(op, b_index))
        out[b_index] = (*_convert_bias(given, bias, new_bias_scales), str(given.dtype))
    elif new_bias_scales is not None:  # the same real bias in the weights' new scales
        out[b_index] = (*_convert_bias(bias.dequantized(), bias, new_bias_scales), None)
    return out


def _convert_weight(
    values: np.ndarray, tensor: ir.Tensor, axis: int, refit: bool
) -> tuple[np.ndarray, np.ndarray | None]:
    assert tensor.data is not None
    if values.dtype.kind in "iu" or tensor.dtype is ir.DType.FLOAT32:
        return values.astype(tensor.dtype.numpy), None
    if np.array_equal(values.astype(np.float32), tensor.dequantized()):
        return tensor.data, None  # not trained: the stored integers as they are
    quantized = requantize.quantize_weight(values, tensor, axis, refit)
    return quantized.data, quantized.scale


def _convert_bias(
    values: np.ndarray, tensor: ir.Tensor, scales: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray | None]:
    assert tensor.data is not None
    if values.dtype.kind in "iu" or tensor.dtype is ir.DType.FLOAT32:
        return values.astype(tensor.dtype.numpy), None
    if scales is None and np.array_equal(values.astype(np.float32), tensor.dequantized()):
        return tensor.data, None
    quantized = requantize.quantize_bias(values, tensor, scales)
    return quantized.data, quantized.scale


def _check(blob: bytes, expected: Mapping[int, tuple[np.ndarray, np.ndarray | None]]) -> None:
    """Read the written model back: every patched tensor holds what was meant."""
    graph = import_model(blob).graph
    for index, (data, scale) in expected.items():
        tensor = graph.tensor(index)
        if not np.array_equal(tensor.data, data):
            raise AssertionError(f"tensor {tensor.name!r} does not hold the exported values")
        if scale is not None:
            assert tensor.quant is not None
            if not np.array_equal(np.float32(tensor.quant.scale), np.float32(scale)):
                raise AssertionError(f"tensor {tensor.name!r} does not hold the exported scales")
