"""``es_expf`` and ``es_logf`` of runtime_c/src/math_f32.c, vectorized over numpy float32.

The C runtime computes exp and log with its own float32 code (libm differs between the host and
newlib); a reference that must give the C kernels' bits uses the same operations in the same
order, which is what these functions do: every step is one float32 operation, written as the C
writes it.
"""

from __future__ import annotations

import numpy as np

F32 = np.float32
_LN2_HI = F32(float.fromhex("0x1.62ep-1"))  # ln 2 with 12 low mantissa bits zero
_LN2_LO = F32(float.fromhex("0x1.0bfbe8p-15"))  # ln 2 - _LN2_HI
_LOG2E = F32(float.fromhex("0x1.715476p+0"))
_SQRT2 = F32(float.fromhex("0x1.6a09e6p+0"))
# e^r - 1 - r = r^2 (1/2 + r (c0 + r (c1 + r (c2 + r (c3 + r c4)))))
_EXP = tuple(F32(float.fromhex(h)) for h in ("0x1.555556p-3", "0x1.555556p-5", "0x1.111112p-7",
                                               "0x1.6c16c2p-10", "0x1.a01a02p-13"))
# log: z (c0 + z (c1 + z (c2 + z (c3 + z c4))))
_LOG = tuple(F32(float.fromhex(h)) for h in ("0x1.555556p-1", "0x1.99999ap-2", "0x1.24924ap-2",
                                               "0x1.c71c72p-3", "0x1.745d18p-3"))


def _pow2(k: np.ndarray) -> np.ndarray:
    """2^k as float32 from the exponent bits, -126 <= k <= 127."""
    return ((np.asarray(k, np.int64) + 127).astype(np.uint32) << np.uint32(23)).view(F32)


def _nested(r: np.ndarray, coeffs: tuple[np.float32, ...]) -> np.ndarray:
    """c0 + r (c1 + r (c2 + ...)), innermost first, as the C nests it."""
    acc = np.full_like(r, coeffs[-1])
    for c in coeffs[-2::-1]:
        acc = c + r * acc
    return acc


def es_expf(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=F32)
    with np.errstate(all="ignore"):
        t = x * _LOG2E
        rounded = np.where(t < F32(0), t - F32(0.5), t + F32(0.5))
        k = np.trunc(np.clip(np.nan_to_num(rounded), -300, 300)).astype(np.int64)  # (int32_t) cast
        kf = k.astype(F32)
        r = (x - kf * _LN2_HI) - kf * _LN2_LO
        q = r * r * (F32(0.5) + r * _nested(r, _EXP))
        p = F32(1) + (r + q)
        normal = p * _pow2(np.clip(k, -126, 127))
        high = p * _pow2(np.full_like(k, 127)) * F32(2)
        low = p * _pow2(np.clip(k + 100, -126, 127)) * _pow2(np.full_like(k, -100))
        out = np.where(k > 127, high, np.where(k < -126, low, normal))
        out = np.where(x < F32(-104), F32(0), out)
        out = np.where(x > F32(88.8), F32(np.inf), out)
        return np.where(np.isnan(x), x, out).astype(F32)


def es_logf(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=F32)
    with np.errstate(all="ignore"):
        subnormal = (x > F32(0)) & (x < F32(np.finfo(F32).tiny))
        scaled = np.where(subnormal, x * F32(2.0**23), x)
        bits = scaled.view(np.uint32)
        e = (bits >> np.uint32(23)).astype(np.int64) - 127 - np.where(subnormal, 23, 0)
        m = ((bits & np.uint32(0x007FFFFF)) | np.uint32(0x3F800000)).view(F32)
        big = m > _SQRT2
        m = np.where(big, m * F32(0.5), m)
        e = e + big
        f = m - F32(1)
        s = f / (F32(2) + f)
        z = s * s
        big_r = z * _nested(z, _LOG)
        hf = F32(0.5) * f * f
        ef = e.astype(F32)
        out = ef * _LN2_HI - ((hf - (s * (hf + big_r) + ef * _LN2_LO)) - f)
        out = np.where(np.isinf(x) & (x > 0), x, out)
        out = np.where(x == F32(0), F32(-np.inf), out)
        return np.where(np.isnan(x) | (x < F32(0)), F32(np.nan), out).astype(F32)
