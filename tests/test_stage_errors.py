"""Models the importer accepts but a later stage cannot use get the SDK's own error at the stage
that finds the problem (the cases the pipeline fuzz found; tests/test_pipeline_fuzz.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from ai_edge_litert.tools import flatbuffer_utils
from edgesdk.errors import ModelError, NumericError, TrainingError
from edgesdk.frontend import load_model
from edgesdk.pipeline import ProjectOptions, generate_project

SMALL_CNN = Path(__file__).resolve().parent / "fixtures" / "small_cnn_int8.tflite"


def _edited(edit) -> bytes:  # noqa: ANN001
    model = flatbuffer_utils.convert_bytearray_to_object(SMALL_CNN.read_bytes())
    edit(model)
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))


def _quantized_tensor(model):  # noqa: ANN001, ANN202
    return next(t for t in model.subgraphs[0].tensors if t.quantization is not None
                and t.quantization.scale is not None and len(t.quantization.scale) == 1)


@pytest.mark.parametrize("scale", [0.0, 1e-45, 1e-39])
def test_a_scale_float32_cannot_use_is_a_model_error(scale: float) -> None:
    def edit(model) -> None:  # noqa: ANN001
        _quantized_tensor(model).quantization.scale = np.array([scale], dtype=np.float32)

    with pytest.raises(ModelError, match="quantization scale of .* positive float32 scale"):
        load_model(_edited(edit))


def test_a_constant_output_has_nothing_to_train(tmp_path: Path) -> None:
    def edit(model) -> None:  # noqa: ANN001
        graph = model.subgraphs[0]
        def holds_data(tensor) -> bool:  # noqa: ANN001
            data = model.buffers[tensor.buffer].data
            return bool(tensor.buffer) and data is not None and len(data) > 0

        constant = next(i for i, t in enumerate(graph.tensors) if holds_data(t))
        graph.outputs = np.array([constant], dtype=np.int32)

    with pytest.raises(TrainingError, match="is a constant: there is nothing to train"):
        generate_project(_edited(edit), "host", tmp_path / "fw")


def test_a_constant_beyond_float32_names_its_node(tmp_path: Path) -> None:
    """A tiny (but normal float32) weight scale makes the QAS bias factor 1/(s_w s_x) overflow float32."""
    def edit(model) -> None:  # noqa: ANN001
        graph = model.subgraphs[0]
        conv = graph.operators[0]
        graph.tensors[conv.inputs[1]].quantization.scale = np.full(
            len(graph.tensors[conv.inputs[1]].quantization.scale), 1e-37, dtype=np.float32
        )

    with pytest.raises(NumericError, match="needs a constant the device cannot hold"):
        generate_project(_edited(edit), "host", tmp_path / "fw", ProjectOptions(precision="int8"))
