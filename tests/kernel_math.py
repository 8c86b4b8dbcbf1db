"""numpy float32 replicas of runtime_c/src/math_f32.c, bit for bit.

es_expf / es_logf are the reference executor's own (edgesdk.reference.mathf32); es_powif, which
only the C optimizers use, is replicated here in the C's operation order.
"""

from __future__ import annotations

import numpy as np
from edgesdk.reference.mathf32 import es_expf, es_logf

F = np.float32

__all__ = ["es_expf", "es_logf", "es_powif"]


def es_powif(base: float, n: int) -> np.float32:
    if n <= 0:
        return F(1)
    if F(base) > 0:
        return es_expf(F(n) * es_logf(F(base)))[()]
    result, b = F(1), F(base)
    while n > 0:
        if n & 1:
            result = F(result * b)
        b = F(b * b)
        n >>= 1
    return result
