"""The SDK's own error types. The CLI turns every EdgeSdkError into a clear message, never a traceback."""

from __future__ import annotations


class EdgeSdkError(Exception):
    """Base class: something the user can fix; the message says what is wrong and what to do."""


class ModelError(EdgeSdkError):
    """The model file is missing, empty, truncated or not a valid TFLite flatbuffer."""


class UnsupportedOpError(ModelError):
    """The model uses an operator (or an attribute of one) that edgesdk does not support."""


class TrainingError(EdgeSdkError):
    """The training set-up is invalid (trainable selection, loss, optimizer, batch)."""


class NumericError(TrainingError):
    """A value the generated code needs does not fit float32 (a learning rate of 1e40, a constant
    derived from a subnormal quantization scale)."""


class PlanError(EdgeSdkError):
    """The planner cannot produce a schedule (for example the RAM budget is below the floor)."""


class BoardError(EdgeSdkError):
    """Unknown board or malformed board file."""


class ToolchainError(EdgeSdkError):
    """A compiler, emulator or PlatformIO is missing or failed."""


class FitError(EdgeSdkError):
    """The firmware does not fit the board: static RAM + stack above its SRAM, or code above its flash."""


class FirmwareError(EdgeSdkError):
    """The firmware ran but failed: a fault, a time-out, or result lines that cannot be parsed."""


class DataError(EdgeSdkError):
    """A data set (``--data FILE.npz``) is missing, unreadable or does not fit the model."""


class ProjectError(EdgeSdkError):
    """A generated project directory cannot be written or read (not made by edgesdk, incomplete)."""


class ExportError(EdgeSdkError):
    """Trained parameters cannot be written back into the model (unknown names, wrong shapes, a
    parameter image that does not belong to the model)."""
