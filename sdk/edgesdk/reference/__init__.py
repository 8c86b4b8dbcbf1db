"""numpy executor of a training graph (fp32, or int8 with the C runtime's exact arithmetic): the
oracle the generated C is held to."""

from edgesdk.reference.kernels import KERNELS
from edgesdk.reference.trainer import ReferenceTrainer, StepResult

__all__ = ["KERNELS", "ReferenceTrainer", "StepResult"]
