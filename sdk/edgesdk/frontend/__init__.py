"""The frontend: an int8 (or float) ``.tflite`` file -> :class:`edgesdk.ir.Graph`.

    graph = load_model("model.tflite")            # or the file's bytes
    imported = import_model("model.tflite")       # the graph plus TFLite tensor/op indices

Only the main subgraph is imported. What can be computed at build time is folded; ops outside
:data:`SUPPORTED_OPS` raise :class:`edgesdk.errors.UnsupportedOpError`; anything wrong with the
file itself raises :class:`edgesdk.errors.ModelError`. No other exception escapes.
"""

from __future__ import annotations

import os
from pathlib import Path

from edgesdk.errors import ModelError
from edgesdk.frontend.convert import FOLDED_OPS, SUPPORTED_OPS, ImportedModel, convert
from edgesdk.frontend.reader import read_flatbuffer
from edgesdk.ir import Graph

ModelSource = str | os.PathLike | bytes | bytearray | memoryview

__all__ = ["FOLDED_OPS", "SUPPORTED_OPS", "ImportedModel", "import_model", "load_model", "read_model_bytes"]


def read_model_bytes(source: ModelSource) -> tuple[bytes, str]:
    """The bytes of ``source`` (a path or the bytes themselves) and a name for the model."""
    if isinstance(source, bytes | bytearray | memoryview):
        blob, name = bytes(source), "model"
    elif isinstance(source, str | os.PathLike):
        path = Path(source)
        if not path.exists():
            raise ModelError(f"model file {str(path)!r} does not exist")
        if not path.is_file():
            raise ModelError(f"{str(path)!r} is not a file; pass the path of a .tflite model")
        try:
            blob = path.read_bytes()
        except OSError as error:
            raise ModelError(f"cannot read model file {str(path)!r}: {error.strerror or error}") from None
        name = path.stem
    else:
        raise ModelError(f"expected a path or the bytes of a .tflite model, got {type(source).__name__}")
    if not blob:
        raise ModelError(f"model {name!r} is empty (0 bytes); pass a .tflite file")
    return blob, name


def import_model(source: ModelSource) -> ImportedModel:
    """Read and convert a model, keeping the TFLite index of every IR tensor and op."""
    blob, name = read_model_bytes(source)
    return convert(read_flatbuffer(blob), fallback_name=name)


def load_model(source: ModelSource) -> Graph:
    """Read a ``.tflite`` model (path or bytes) into the IR."""
    return import_model(source).graph
