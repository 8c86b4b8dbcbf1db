"""numpy fp32 executor of a training graph: the oracle the generated C is held to."""

from edgesdk.reference.kernels import KERNELS
from edgesdk.reference.trainer import ReferenceTrainer, StepResult

__all__ = ["KERNELS", "ReferenceTrainer", "StepResult"]
