"""``edgesdk export``: trained parameters written back into the ``.tflite``.

    result = export_parameters("model.tflite", "trained.npz")           # or a device parameter image
    Path("trained.tflite").write_bytes(result.blob)

    image = write_image([(value.tensor, array), ...])                    # what es_params_save writes

See docs/int8-training.md for the parameter image format and the requantization of float32
parameters.
"""

from edgesdk.export.image import ImageRecord, read_image, write_image
from edgesdk.export.writer import (
    ExportedParameter,
    ExportResult,
    export_parameters,
    parameter_names,
    read_parameters,
)

__all__ = [
    "ExportResult",
    "ExportedParameter",
    "ImageRecord",
    "export_parameters",
    "parameter_names",
    "read_image",
    "read_parameters",
    "write_image",
]
