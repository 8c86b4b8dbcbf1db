"""es_expf / es_logf / es_powif (runtime_c/src/math_f32.c): accuracy against double precision,
special values, and bit-exact agreement with the numpy float32 replicas
(edgesdk.reference.mathf32, kernel_math.py)."""

from __future__ import annotations

import ctypes

import kernel_lib as kl
import kernel_math as km
import numpy as np
import pytest


@pytest.fixture(scope="module")
def lib(tmp_path_factory) -> ctypes.CDLL:
    lib = kl.session_kernels(tmp_path_factory).lib
    for name in ("es_expf", "es_logf"):
        getattr(lib, name).argtypes = [ctypes.c_float]
        getattr(lib, name).restype = ctypes.c_float
    lib.es_powif.argtypes = [ctypes.c_float, ctypes.c_int32]
    lib.es_powif.restype = ctypes.c_float
    return lib


def c_map(function, xs: np.ndarray) -> np.ndarray:
    return np.array([function(float(x)) for x in xs], dtype=np.float32)


def ulp_error(actual: np.ndarray, exact: np.ndarray) -> np.ndarray:
    """|actual - exact| in units of the float32 spacing at the exact result."""
    return np.abs(actual.astype(np.float64) - exact) / np.spacing(np.abs(exact.astype(np.float32)))


RNG = np.random.default_rng(2024)
EXP_INPUTS = np.concatenate([RNG.uniform(-87.3, 88.7, 30000), RNG.uniform(-1, 1, 10000),
                             np.arange(-30, 31, dtype=np.float64) * np.log(2)]).astype(np.float32)
LOG_INPUTS = np.concatenate([np.exp(RNG.uniform(-87, 88, 30000)), RNG.uniform(0.5, 2, 10000),
                             RNG.uniform(0.999, 1.001, 5000), 2.0 ** np.arange(-126, 128)]).astype(np.float32)


def test_expf_within_one_ulp(lib):
    out = c_map(lib.es_expf, EXP_INPUTS)
    exact = np.exp(EXP_INPUTS.astype(np.float64))
    assert ulp_error(out, exact).max() <= 1.0
    assert np.mean(out == exact.astype(np.float32)) > 0.85  # correctly rounded most of the time


def test_logf_within_one_ulp(lib):
    out = c_map(lib.es_logf, LOG_INPUTS)
    exact = np.log(LOG_INPUTS.astype(np.float64))
    finite = exact != 0
    assert ulp_error(out[finite], exact[finite]).max() <= 1.0
    assert np.all(out[~finite] == 0)


def test_special_values(lib):
    assert lib.es_expf(0.0) == 1.0 and lib.es_logf(1.0) == 0.0
    assert lib.es_expf(89.0) == np.inf and lib.es_expf(-105.0) == 0.0
    assert np.isnan(lib.es_expf(float("nan"))) and np.isnan(lib.es_logf(-1.0))
    assert lib.es_logf(0.0) == -np.inf and lib.es_logf(float("inf")) == np.inf
    # subnormal results and arguments
    tiny = np.float32(1e-40)
    assert abs(lib.es_logf(float(tiny)) - np.log(1e-40)) < 1e-5 * abs(np.log(1e-40))
    assert 0 < lib.es_expf(-100.0) < 1e-40
    assert abs(lib.es_expf(-100.0) - np.exp(-100.0)) <= np.spacing(np.float32(0))


def test_numpy_replicas_are_bit_exact(lib):
    specials = np.array([0, -0.0, 1, -1, 88.7, -87.5, -100, -103.9, 1e-40, 3e-45, 2, 0.5], np.float32)
    for xs, c_fn, np_fn in [(np.concatenate([EXP_INPUTS, specials]), lib.es_expf, km.es_expf),
                            (np.concatenate([LOG_INPUTS, np.abs(specials)]), lib.es_logf, km.es_logf)]:
        np.testing.assert_array_equal(c_map(c_fn, xs).view(np.uint32), np_fn(xs).view(np.uint32))


@pytest.mark.parametrize("base", [0.9, 0.999, 0.8, 0.99, 1.5, -0.5])
def test_powif(lib, base):
    for n in [0, 1, 2, 3, 7, 100, 1000, 12345]:
        c = np.float32(lib.es_powif(base, n))
        assert c.view(np.uint32) == km.es_powif(base, n).view(np.uint32)
        log_exact = n * np.log(abs(float(np.float32(base))))
        if not -69 < log_exact < 69:  # below 1e-30 or above 1e30: not a bias correction
            continue
        exact = float(np.float32(base)) ** n
        # exp(n * log(base)): the product's rounding scales with |n ln base|
        ulps = abs(n * np.log(abs(float(np.float32(base))))) + 3
        assert abs(c - exact) <= ulps * np.spacing(np.float32(abs(exact))), (n, c, exact)
