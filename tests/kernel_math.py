"""numpy float32 replicas of runtime_c/src/math_f32.c: the same operations in the same order, so
they reproduce es_expf / es_logf / es_powif bit for bit (a reference executor can use them to
match the C kernels exactly)."""

from __future__ import annotations

import numpy as np

F = np.float32
LN2_HI = F(float.fromhex("0x1.62ep-1"))
LN2_LO = F(float.fromhex("0x1.0bfbe8p-15"))
LOG2E = F(float.fromhex("0x1.715476p+0"))
SQRT2 = F(float.fromhex("0x1.6a09e6p+0"))
EXP_COEFFS = [F(float.fromhex(h)) for h in
              ("0x1.555556p-3", "0x1.555556p-5", "0x1.111112p-7", "0x1.6c16c2p-10", "0x1.a01a02p-13")]
LOG_COEFFS = [F(float.fromhex(h)) for h in
              ("0x1.555556p-1", "0x1.99999ap-2", "0x1.24924ap-2", "0x1.c71c72p-3", "0x1.745d18p-3")]


def _pow2(k: np.ndarray) -> np.ndarray:
    """2^k for -126 <= k <= 127 from the exponent bits."""
    return ((np.asarray(k, np.int64) + 127).astype(np.uint32) << np.uint32(23)).view(np.float32)


def _horner(r: np.ndarray, coeffs: list[np.float32]) -> np.ndarray:
    acc = np.full_like(r, coeffs[-1])
    for c in reversed(coeffs[:-1]):
        acc = c + r * acc
    return acc


def es_expf(x) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    with np.errstate(all="ignore"):
        t = x * LOG2E
        k = np.where(t < F(0), t - F(0.5), t + F(0.5))
        k = np.clip(np.nan_to_num(k), -200, 200).astype(np.int32)
        kf = k.astype(np.float32)
        r = (x - kf * LN2_HI) - kf * LN2_LO
        q = r * r * (F(0.5) + r * _horner(r, EXP_COEFFS))
        p = F(1) + (r + q)
        normal = p * _pow2(np.clip(k, -126, 127))
        high = p * _pow2(np.full_like(k, 127)) * F(2)
        low = p * _pow2(np.clip(k + 100, -126, 127)) * _pow2(np.full_like(k, -100))
        out = np.where(k > 127, high, np.where(k < -126, low, normal))
        out = np.where(x < F(-104), F(0), out)
        out = np.where(x > F(88.8), F(np.inf), out)
        return np.where(np.isnan(x), x, out).astype(np.float32)


def es_logf(x) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    with np.errstate(all="ignore"):
        subnormal = (x > F(0)) & (x < F(np.finfo(np.float32).tiny))
        scaled = np.where(subnormal, x * F(2.0**23), x)
        u = scaled.view(np.uint32)
        e = (u >> np.uint32(23)).astype(np.int32) - 127 - np.where(subnormal, 23, 0)
        m = ((u & np.uint32(0x007FFFFF)) | np.uint32(0x3F800000)).view(np.float32)
        big = m > SQRT2
        m = np.where(big, m * F(0.5), m)
        e = e + big
        f = m - F(1)
        s = f / (F(2) + f)
        z = s * s
        big_r = z * _horner(z, LOG_COEFFS)
        hf = F(0.5) * f * f
        ef = e.astype(np.float32)
        out = ef * LN2_HI - ((hf - (s * (hf + big_r) + ef * LN2_LO)) - f)
        out = np.where(np.isinf(x) & (x > 0), x, out)
        out = np.where(x == F(0), F(-np.inf), out)
        return np.where(np.isnan(x) | (x < F(0)), F(np.nan), out).astype(np.float32)


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
