"""The runtime kernels as C: they build for Cortex-M7 with the exact flags, use no globals and no
libc beyond <string.h>/<math.h>, every public function is covered by the tests and runs clean
under AddressSanitizer + UndefinedBehaviorSanitizer, errors are reported by status, and the same
sources give the same bits at every optimization level."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import kernel_lib as kl
import numpy as np
import pytest

HERE = Path(__file__).resolve().parent
DRIVER = HERE / "c" / "kernel_sanitize.c"
# + the private src/*.h; <arm_acle.h>: the compiler's own DSP intrinsics (SMLAD, SXTB16: mac_int8.h
# includes it only when __ARM_FEATURE_DSP is defined), no library behind it
ALLOWED_INCLUDES = {"<string.h>", "<stdint.h>", "<stddef.h>", "<math.h>", "<arm_acle.h>"}
ALLOWED_EXTERNALS = {"memcpy", "memmove", "memset", "sqrtf"}  # exp/log/pow: math_f32.c
SANITIZE = ("-g", "-O1", "-fsanitize=address,undefined", "-fno-sanitize-recover=all",
            "-fno-omit-frame-pointer")


def umbrella_headers() -> list[Path]:
    """The kernel headers edgesdk.h includes (port.h belongs to the board ports)."""
    umbrella = kl.INCLUDE_DIR / "edgesdk" / "edgesdk.h"
    names = re.findall(r'#include "edgesdk/(\w+\.h)"', umbrella.read_text())
    return [kl.INCLUDE_DIR / "edgesdk" / name for name in names]


def declared_kernels() -> set[str]:
    found: set[str] = set()
    for header in umbrella_headers():
        found |= set(re.findall(r"^es_status\s+(es_\w+)\(", header.read_text(), flags=re.M))
    return found


def run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, text=True, **kwargs)


@pytest.fixture(scope="module")
def kernels(tmp_path_factory) -> kl.Kernels:
    return kl.session_kernels(tmp_path_factory)


def test_every_declared_kernel_is_wrapped_and_exported(kernels):
    declared = declared_kernels()
    assert len(declared) >= 30
    assert declared == set(kl.SIGNATURES), "tests/kernel_lib.py SIGNATURES must cover every kernel"
    for name in declared:
        assert hasattr(kernels.lib, name)


def test_sources_include_only_allowed_headers():
    private = {f'"{header.name}"' for header in kl.SOURCE_DIR.glob("*.h")}
    for source in [*kl.kernel_sources(), *kl.SOURCE_DIR.glob("*.h")]:
        for include in re.findall(r"^#include\s+(\S+)", source.read_text(), flags=re.M):
            allowed = include in ALLOWED_INCLUDES or include in private or include.startswith('"edgesdk/')
            assert allowed, (source.name, include)


def test_builds_for_cortex_m7_without_globals_or_extra_libc(tmp_path):
    """arm-none-eabi-gcc with the target's flags; nm: no data/bss symbols, externals allowed."""
    undefined: set[str] = set()
    defined: set[str] = set()
    for source in kl.kernel_sources():
        obj = tmp_path / (source.stem + ".o")
        result = run(["arm-none-eabi-gcc", *kl.ARM_FLAGS, *kl.C_FLAGS, f"-I{kl.INCLUDE_DIR}",
                      "-c", str(source), "-o", str(obj)])
        assert result.returncode == 0, result.stderr
        for line in run(["arm-none-eabi-nm", str(obj)]).stdout.splitlines():
            kind, name = line.split()[-2:]
            assert kind not in "BbDdCGgSs", f"{source.name} defines data symbol {name} ({kind})"
            if kind == "U":
                undefined.add(name)
            elif kind == "T":
                defined.add(name)
    assert undefined - defined <= ALLOWED_EXTERNALS, undefined - defined - ALLOWED_EXTERNALS


@pytest.mark.parametrize("compiler,flags", [
    ("gcc", ["-x", "c", "-std=c99", "-Wpedantic"]),
    ("g++", ["-x", "c++", "-std=c++11"]),
])
def test_each_public_header_stands_alone(tmp_path, compiler, flags):
    for header in [*umbrella_headers(), kl.INCLUDE_DIR / "edgesdk" / "edgesdk.h"]:
        unit = tmp_path / "unit.c"
        unit.write_text(f'#include "edgesdk/{header.name}"\nint edgesdk_header_probe;\n')
        result = run([compiler, *flags, "-Wall", "-Wextra", "-Werror", f"-I{kl.INCLUDE_DIR}",
                      "-fsyntax-only", str(unit)])
        assert result.returncode == 0, f"{header.name}: {result.stderr}"


@pytest.fixture(scope="module")
def sanitized_driver(tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp("asan") / "kernel_sanitize"
    result = run(["gcc", *kl.C_FLAGS, *SANITIZE, f"-I{kl.INCLUDE_DIR}", f"-I{kl.SOURCE_DIR}",
                  str(DRIVER), *map(str, kl.kernel_sources()), "-o", str(target), "-lm"])
    assert result.returncode == 0, result.stderr
    return target


def test_every_kernel_runs_clean_under_asan_and_ubsan(sanitized_driver):
    result = run([str(sanitized_driver)], timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    called = set(re.findall(r"^called (\w+)$", result.stdout, flags=re.M))
    assert called == declared_kernels(), declared_kernels() ^ called


def test_asan_build_catches_an_out_of_bounds_write(sanitized_driver):
    """The control: a conv output one float short must be reported, or the run above proves nothing."""
    result = run([str(sanitized_driver), "overflow"], timeout=60)
    assert result.returncode != 0
    assert "heap-buffer-overflow" in result.stderr
    assert "es_conv2d_f32_fwd" in result.stderr


# -- statuses: refused input is reported and leaves the outputs untouched

def test_shape_mismatch_is_refused_without_writing(kernels):
    x = np.ones((1, 5, 5, 3), np.float32)
    w = np.ones((2, 3, 3, 4), np.float32)  # 4 input channels, x has 3
    y = kl.Guarded((1, 5, 5, 2), fill=np.float32(7))
    status = kernels.call("es_conv2d_f32_fwd", kl.ConvParams(1, 1, 1, 1, 1, 1, 0), kl.dims(x.shape),
                          kl.fptr(x), kl.dims(w.shape), kl.fptr(w), None, kl.dims((1, 5, 5, 2)), y.ptr())
    assert status == kl.ES_ERR_SHAPE
    assert np.all(y.array == 7)
    y.check()


@pytest.mark.parametrize("params,status", [
    (kl.ConvParams(0, 1, 1, 1, 0, 0, 0), kl.ES_ERR_ARG),    # stride 0
    (kl.ConvParams(1, 1, 0, 1, 0, 0, 0), kl.ES_ERR_ARG),    # dilation 0
    (kl.ConvParams(1, 1, 1, 1, -1, 0, 0), kl.ES_ERR_ARG),   # negative padding
    (kl.ConvParams(1, 1, 1, 1, 0, 0, 9), kl.ES_ERR_ARG),    # unknown activation
    (kl.ConvParams(1, 1, 1, 1, 3, 0, 0), kl.ES_ERR_SHAPE),  # padding larger than the window
    (kl.ConvParams(3, 1, 1, 1, 0, 0, 0), kl.ES_ERR_SHAPE),  # stride 3: the 3rd row starts past 5
])
def test_bad_conv_parameters(kernels, params, status):
    x = np.ones((1, 5, 5, 1), np.float32)
    w = np.ones((1, 3, 3, 1), np.float32)
    y = kl.Guarded((1, 3, 3, 1))
    got = kernels.call("es_conv2d_f32_fwd", params, kl.dims(x.shape), kl.fptr(x), kl.dims(w.shape),
                       kl.fptr(w), None, kl.dims((1, 3, 3, 1)), y.ptr())
    assert got == status
    assert kernels.lib.es_status_name(got).decode() == {1: "ES_ERR_ARG", 2: "ES_ERR_SHAPE"}[status]


def test_label_out_of_range_and_null_pointers(kernels):
    z = np.zeros((2, 4), np.float32)
    labels = np.array([1, 4], np.int32)
    loss = kl.Guarded((1,), fill=np.float32(-1))
    got = kernels.call("es_loss_softmax_xent_f32", kl.dims(z.shape), kl.fptr(z),
                       labels.ctypes.data_as(kl.P(kl.i32)), loss.ptr(), None)
    assert got == kl.ES_ERR_ARG and loss.array[0] == -1
    got = kernels.call("es_copy_f32", kl.dims(z.shape), None, kl.fptr(z))
    assert got == kl.ES_ERR_ARG


# -- the same bits everywhere

BIT_FLAGS = [("-O0",), ("-O3", "-march=native", "-funroll-loops")]


def test_results_do_not_depend_on_optimization_level(tmp_path, kernels):
    """C99 mode forbids contracting a*b+c into an FMA and GCC never reassociates float sums
    without -ffast-math, so -O0 and -O3 -march=native (FMA-capable) give identical bits."""
    rng = np.random.default_rng(9)
    x = rng.standard_normal((2, 9, 8, 5)).astype(np.float32)
    w = rng.standard_normal((6, 3, 3, 5)).astype(np.float32)
    b = rng.standard_normal(6).astype(np.float32)
    p = kl.ConvParams(2, 2, 1, 1, 1, 1, 1)
    dz = rng.standard_normal((2, 5, 4, 6)).astype(np.float32)
    logits = rng.standard_normal((4, 10)).astype(np.float32) * 5
    labels = np.array([0, 3, 9, 2], np.int32)

    def outputs(k: kl.Kernels) -> list[np.ndarray]:
        loss, dlogits = k.softmax_xent(logits, labels)
        adam = k.adam(kl.AdamParams(0.01, 0.9, 0.999, 1e-8, 0.0), 3, kl.OptimSpan(1, 40, 40, 40),
                      dlogits, np.zeros(40, np.float32), np.zeros(40, np.float32), logits.ravel())
        return [k.conv2d_fwd(p, x, w, b, (2, 5, 4, 6)), k.conv2d_bwd_in(p, dz, w, x.shape),
                k.conv2d_bwd_w(p, dz, x, w.shape), np.float32(loss), dlogits, *adam,
                k.softmax_fwd(1.0, logits), k.logistic_fwd(logits)]

    reference = outputs(kernels)
    for number, flags in enumerate(BIT_FLAGS):
        build_dir = tmp_path / f"build{number}"  # a distinct path: dlopen reuses a loaded one
        build_dir.mkdir()
        other = kl.Kernels(kl.load(kl.build_shared_library(build_dir, flags)))
        for a, b_ in zip(reference, outputs(other), strict=True):
            np.testing.assert_array_equal(np.asarray(a).view(np.uint32), np.asarray(b_).view(np.uint32),
                                          err_msg=" ".join(flags))
