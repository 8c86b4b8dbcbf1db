"""The int8 C kernels as a host shared library, called from numpy through ctypes.

``Int8Kernels`` takes the parameter dataclasses of :mod:`edgesdk.quant.params` (what code
generation emits as C structs) and numpy arrays, fills the C structs field by field in header
order, checks the returned status, and checks that nothing was written outside the output (each
output sits between two sentinel bands).
"""

from __future__ import annotations

import ctypes
import subprocess
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from edgesdk.ir import DType, Graph, Op, OpKind
from edgesdk.quant import params as qp
from edgesdk.resources import runtime_dir

RUNTIME = runtime_dir()
INCLUDE_DIR = RUNTIME / "include"
SOURCE_DIR = RUNTIME / "src"
C_FLAGS = ("-std=c99", "-Wall", "-Wextra", "-Werror")
ARM_FLAGS = ("-mcpu=cortex-m7", "-mthumb", "-mfpu=fpv5-sp-d16", "-mfloat-abi=hard", "-O2")
SANITIZE = (
    "-g",
    "-O1",
    "-fsanitize=address,undefined",
    "-fno-sanitize-recover=all",
    "-fno-omit-frame-pointer",
)


def int8_sources() -> list[Path]:
    return sorted([*SOURCE_DIR.glob("*_int8.c"), SOURCE_DIR / "common.c"])


def build_sanitized(
    driver: Path, target: Path, sources: Sequence[Path], flags: Sequence[str] = C_FLAGS
) -> Path:
    """A test driver and runtime ``sources`` as one host program under ASan + UBSan; the compiler's
    message fails the test."""
    result = subprocess.run(
        ["gcc", *flags, *SANITIZE, f"-I{INCLUDE_DIR}", f"-I{SOURCE_DIR}", str(driver), *map(str, sources),
         "-o", str(target), "-lm"],
        capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stderr
    return target


def run_clean(program: Path, timeout: int = 120) -> subprocess.CompletedProcess[str]:
    """Run a sanitized driver, which must exit 0 with no sanitizer report; the run, for its output."""
    result = subprocess.run([str(program)], capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    assert "runtime error" not in result.stderr
    return result


def build(out_dir: Path, flags: Sequence[str] = ("-O2",)) -> Path:
    target = out_dir / "libedgesdk_int8.so"
    subprocess.run(
        [
            "gcc",
            *C_FLAGS,
            *flags,
            "-fPIC",
            "-shared",
            f"-I{INCLUDE_DIR}",
            f"-I{SOURCE_DIR}",
            *map(str, int8_sources()),
            "-o",
            str(target),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    return target


i32 = ctypes.c_int32
P = ctypes.POINTER
PI32 = P(i32)


class Dims(ctypes.Structure):
    _fields_ = [("n", i32), ("h", i32), ("w", i32), ("c", i32)]


class ConvParams(ctypes.Structure):
    _fields_ = [
        (name, i32)
        for name in (
            "stride_h",
            "stride_w",
            "dilation_h",
            "dilation_w",
            "pad_top",
            "pad_left",
            "input_offset",
            "output_offset",
            "act_min",
            "act_max",
        )
    ]
    _fields_ += [("multiplier", PI32), ("shift", PI32)]
    _fields_ += [("w_tail", P(ctypes.c_int8)), ("w_head_channels", i32)]  # split weights (NULL, 0: whole)


class DepthwiseParams(ctypes.Structure):
    _fields_ = [
        (name, i32)
        for name in (
            "stride_h",
            "stride_w",
            "dilation_h",
            "dilation_w",
            "pad_top",
            "pad_left",
            "depth_multiplier",
            "input_offset",
            "output_offset",
            "act_min",
            "act_max",
        )
    ]
    _fields_ += [("multiplier", PI32), ("shift", PI32)]


class FcParams(ctypes.Structure):
    _fields_ = [
        (name, i32) for name in ("input_offset", "weights_offset", "output_offset", "act_min", "act_max")
    ]
    _fields_ += [("multiplier", PI32), ("shift", PI32)]
    _fields_ += [("w_tail", P(ctypes.c_int8)), ("w_head_channels", i32)]  # split weights (NULL, 0: whole)


class AddParams(ctypes.Structure):
    _fields_ = [
        (name, i32)
        for name in (
            "input1_offset",
            "input2_offset",
            "output_offset",
            "left_shift",
            "input1_multiplier",
            "input1_shift",
            "input2_multiplier",
            "input2_shift",
            "output_multiplier",
            "output_shift",
            "act_min",
            "act_max",
        )
    ]


class PoolParams(ctypes.Structure):
    _fields_ = [
        (name, i32)
        for name in (
            "filter_h",
            "filter_w",
            "stride_h",
            "stride_w",
            "pad_top",
            "pad_left",
            "act_min",
            "act_max",
        )
    ]


class MeanParams(ctypes.Structure):
    _fields_ = [(name, i32) for name in ("input_zero_point", "output_zero_point", "multiplier", "shift")]


class PadParams(ctypes.Structure):
    _fields_ = [("before", i32 * 4), ("after", i32 * 4), ("pad_value", i32)]


class SliceParams(ctypes.Structure):
    _fields_ = [("begin", i32 * 4), ("stride", i32 * 4)]


class AffineParams(ctypes.Structure):
    _fields_ = [("scale", ctypes.c_float), ("zero_point", i32)]


class RequantParams(ctypes.Structure):
    _fields_ = [(name, i32) for name in ("input_offset", "output_offset", "multiplier", "shift")]


class ConcatParams(ctypes.Structure):
    _fields_ = [(name, i32) for name in ("axis", "act_min", "act_max")]


class SoftmaxParams(ctypes.Structure):
    _fields_ = [(name, i32) for name in ("input_multiplier", "input_left_shift", "diff_min")]


class LogisticParams(ctypes.Structure):
    _fields_ = [
        (name, i32)
        for name in ("input_zero_point", "input_range_radius", "input_multiplier", "input_left_shift")
    ]


class QasParams(ctypes.Structure):
    _fields_ = [("lr", ctypes.c_float), ("rounding", ctypes.c_int)]


class QasSpan(ctypes.Structure):
    _fields_ = [(name, i32) for name in ("rows", "cols", "param_stride", "grad_stride", "per_channel")]


PD = P(Dims)
P8 = P(ctypes.c_int8)
PF = P(ctypes.c_float)
SIGNATURES: dict[str, tuple] = {
    "es_conv2d_int8_fwd": (P(ConvParams), PD, P8, PD, P8, PI32, PD, P8),
    "es_conv2d_1x1_int8_fwd": (P(ConvParams), PD, P8, PD, P8, PI32, PD, P8),
    "es_conv2d_rows_int8_fwd": (P(ConvParams), PD, P8, PD, P8, PI32, PD, P8),
    "es_fully_connected_fast_int8_fwd": (P(FcParams), PD, P8, PD, P8, PI32, PD, P8),
    "es_depthwise_conv2d_int8_fwd": (P(DepthwiseParams), PD, P8, PD, P8, PI32, PD, P8),
    "es_conv_depthwise_int8_fwd": (
        P(ConvParams), P(DepthwiseParams), PD, P8, PD, P8, PI32, PD, PD, P8, PI32, PD, P8, P8, ctypes.c_size_t
    ),
    "es_depthwise_conv2d_3x3_int8_fwd": (P(DepthwiseParams), PD, P8, PD, P8, PI32, PD, P8),
    "es_fully_connected_int8_fwd": (P(FcParams), PD, P8, PD, P8, PI32, PD, P8),
    "es_add_int8_fwd": (P(AddParams), PD, P8, PD, P8, PD, P8),
    "es_avg_pool2d_int8_fwd": (P(PoolParams), PD, P8, PD, P8),
    "es_max_pool2d_int8_fwd": (P(PoolParams), PD, P8, PD, P8),
    "es_mean_hw_int8_fwd": (P(MeanParams), PD, P8, PD, P8),
    "es_pad_int8_fwd": (P(PadParams), PD, P8, PD, P8),
    "es_concat_int8_fwd": (P(ConcatParams), i32, PD, P(P8), P(RequantParams), PD, P8),
    "es_softmax_int8_fwd": (P(SoftmaxParams), PD, P8, P8),
    "es_logistic_int8_fwd": (P(LogisticParams), PD, P8, P8),
    "es_quantize_f32_int8_fwd": (P(AffineParams), PD, PF, P8),
    "es_requantize_int8_fwd": (P(RequantParams), PD, P8, P8),
    "es_requantize_int8_uint8_fwd": (P(RequantParams), PD, P8, P(ctypes.c_uint8)),
    "es_slice_int8_fwd": (P(SliceParams), PD, P8, PD, P8),
    "es_dequantize_int8_f32_fwd": (P(AffineParams), PD, P8, PF),
    "es_qas_int8_update": (P(QasParams), P(QasSpan), PF, PF, P(ctypes.c_uint32), P8),
    "es_qas_int32_update": (P(QasParams), P(QasSpan), PF, PF, P(ctypes.c_uint32), PI32),
}


def load(path: Path) -> ctypes.CDLL:
    lib = ctypes.CDLL(str(path))
    for name, argtypes in SIGNATURES.items():
        function = getattr(lib, name)
        function.argtypes = list(argtypes)
        function.restype = ctypes.c_int
    lib.es_conv_depthwise_int8_scratch_size.argtypes = [P(DepthwiseParams), PD, PD]
    lib.es_conv_depthwise_int8_scratch_size.restype = ctypes.c_size_t
    lib.es_xorshift32.argtypes = [ctypes.c_uint32]
    lib.es_xorshift32.restype = ctypes.c_uint32
    return lib


def dims(shape: Sequence[int]) -> Dims:
    """Rank 1..4 onto es_dims: [K] -> {1,1,1,K}; [N,K] -> {N,1,1,K}; [N,W,C] -> {N,1,W,C}."""
    s = tuple(int(d) for d in shape)
    if len(s) < 4:
        s = (1,) * (2 - len(s)) + s if len(s) < 2 else s
        s = (s[0], 1, 1, s[1]) if len(s) == 2 else (s[0], 1, s[1], s[2])
    return Dims(*s)


def es_axis(rank: int, axis: int) -> int:
    """The es_dims axis (0..3) that numpy axis ``axis`` of a rank-``rank`` tensor maps to."""
    return {1: (3,), 2: (0, 3), 3: (0, 2, 3), 4: (0, 1, 2, 3)}[rank][axis]


def conv_struct(
    p: qp.ConvInt8Params, tail: np.ndarray | None = None, head_channels: int = 0
) -> tuple[ConvParams, tuple[np.ndarray, ...]]:
    """The C struct of ``p`` and the per-channel arrays it points to (keep them alive); ``tail``
    and ``head_channels``: a split weight's frozen rows and the rows of the first array."""
    m, s = i32_array(p.multiplier), i32_array(p.shift)
    c = ConvParams(*p.stride, *p.dilation, p.pad_top, p.pad_left, p.input_offset,
                   p.output_offset, p.act_min, p.act_max, ptr(m, i32), ptr(s, i32), ptr(tail),
                   head_channels)
    return c, (m, s)


def depthwise_struct(p: qp.DepthwiseInt8Params) -> tuple[DepthwiseParams, tuple[np.ndarray, ...]]:
    m, s = i32_array(p.multiplier), i32_array(p.shift)
    c = DepthwiseParams(*p.stride, *p.dilation, p.pad_top, p.pad_left, p.depth_multiplier,
                        p.input_offset, p.output_offset, p.act_min, p.act_max, ptr(m, i32),
                        ptr(s, i32))
    return c, (m, s)


GUARD = 32


class Guarded:
    """An output array between two sentinel bands."""

    def __init__(self, shape: Sequence[int], dtype=np.int8, fill: np.ndarray | None = None):
        count = int(np.prod(shape, dtype=np.int64))
        item = np.dtype(dtype).itemsize
        self._raw = np.full((count + 2 * GUARD) * item, 0x5A, np.uint8)
        self.array = self._raw[GUARD * item : (GUARD + count) * item].view(dtype).reshape(shape)
        if fill is not None:
            self.array[...] = fill

    def ptr(self):
        ctype = {
            np.dtype(np.int8): ctypes.c_int8,
            np.dtype(np.uint8): ctypes.c_uint8,
            np.dtype(np.float32): ctypes.c_float,
            np.dtype(np.int32): i32,
        }[self.array.dtype]
        return self.array.ctypes.data_as(P(ctype))

    def check(self) -> None:
        item = self.array.itemsize
        assert np.all(self._raw[: GUARD * item] == 0x5A) and np.all(self._raw[-GUARD * item :] == 0x5A), (
            "kernel wrote outside its output"
        )


def ptr(array: np.ndarray | None, ctype=ctypes.c_int8):
    if array is None:
        return None
    assert array.flags.c_contiguous
    return array.ctypes.data_as(P(ctype))


def split_rows(w: np.ndarray, head_channels: int | None) -> tuple[np.ndarray, np.ndarray | None]:
    """A weight as the kernels take a split one: its first ``head_channels`` output rows and the
    rest, two separate exactly sized arrays (None: the whole array and no tail)."""
    if head_channels is None:
        return w, None
    return np.array(w[:head_channels], copy=True), np.array(w[head_channels:], copy=True)


def i32_array(values) -> np.ndarray:
    return np.ascontiguousarray(values, dtype=np.int32)


class KernelError(AssertionError):
    pass


class Int8Kernels:
    def __init__(self, lib: ctypes.CDLL):
        self.lib = lib

    def _run(self, name: str, out: Guarded, *args) -> np.ndarray:
        status = int(getattr(self.lib, name)(*args))
        if status != 0:
            raise KernelError(f"{name} returned status {status}")
        out.check()
        return out.array

    @staticmethod
    def _i8(x) -> np.ndarray:
        return np.ascontiguousarray(x, dtype=np.int8)

    def conv2d(self, x, w, bias, p: qp.ConvInt8Params, head_channels: int | None = None,
               kernel: str = "es_conv2d_int8_fwd") -> np.ndarray:
        """CONV_2D through ``kernel`` (the reference or a fast variant taking the same arguments);
        ``head_channels``: pass w split, its first rows and the rest as two arrays."""
        head, tail = split_rows(self._i8(w), head_channels)
        c, _alive = conv_struct(p, tail, head_channels or 0)
        return self._windowed(kernel, c, x, head, bias, p.out_hw, out_channels=w.shape[0], w_shape=w.shape)

    def depthwise_conv2d(self, x, w, bias, p: qp.DepthwiseInt8Params,
                         kernel: str = "es_depthwise_conv2d_int8_fwd") -> np.ndarray:
        c, _alive = depthwise_struct(p)
        return self._windowed(kernel, c, x, w, bias, p.out_hw, out_channels=w.shape[3])

    def conv_depthwise(self, x, conv_w, conv_b, conv_p: qp.ConvInt8Params, dw_w, dw_b,
                       dw_p: qp.DepthwiseInt8Params, scratch_bytes: int | None = None) -> np.ndarray:
        """es_conv_depthwise_int8_fwd with a guarded ring of ``scratch_bytes`` (default: the
        kernel's own es_conv_depthwise_int8_scratch_size)."""
        x, conv_w, dw_w = self._i8(x), self._i8(conv_w), self._i8(dw_w)
        conv, _conv_alive = conv_struct(conv_p)
        dw, _dw_alive = depthwise_struct(dw_p)
        mid = dims((x.shape[0], *conv_p.out_hw, conv_w.shape[0]))
        size = self.conv_depthwise_scratch_size(dw_p, dw_w.shape, mid)
        ring = Guarded((size if scratch_bytes is None else scratch_bytes,))
        out = Guarded((x.shape[0], *dw_p.out_hw, dw_w.shape[3]))
        cb = None if conv_b is None else i32_array(conv_b)
        db = None if dw_b is None else i32_array(dw_b)
        result = self._run("es_conv_depthwise_int8_fwd", out, conv, dw, dims(x.shape), ptr(x),
                           dims(conv_w.shape), ptr(conv_w), ptr(cb, i32), mid, dims(dw_w.shape),
                           ptr(dw_w), ptr(db, i32), dims(out.array.shape), out.ptr(), ring.ptr(),
                           ring.array.size)
        ring.check()
        return result

    def conv_depthwise_scratch_size(self, dw_p: qp.DepthwiseInt8Params, dw_w_shape, mid: Dims) -> int:
        dw, _alive = depthwise_struct(dw_p)
        return int(self.lib.es_conv_depthwise_int8_scratch_size(dw, dims(dw_w_shape), mid))

    def _windowed(self, name, params, x, w, bias, out_hw, out_channels: int, w_shape=None) -> np.ndarray:
        """A conv-shaped kernel: (params, x, w, bias, y); the params struct holds ``m``/``s``
        pointers, which the caller keeps alive by holding the arrays until this returns.
        ``w_shape``: the weight's shape when ``w`` is only its first rows (split weights)."""
        x, w = self._i8(x), self._i8(w)
        b = None if bias is None else i32_array(bias)
        out = Guarded((x.shape[0], *out_hw, out_channels))
        w_dims = dims(w.shape if w_shape is None else w_shape)
        return self._run(name, out, params, dims(x.shape), ptr(x), w_dims, ptr(w), ptr(b, i32),
                         dims(out.array.shape), out.ptr())

    def fully_connected(
        self, x, w, bias, p: qp.FullyConnectedInt8Params, head_channels: int | None = None,
        kernel: str = "es_fully_connected_int8_fwd",
    ) -> np.ndarray:
        """``head_channels``: pass w split, its first rows and the rest as two arrays; ``kernel``:
        the reference or its fast variant."""
        w = self._i8(w)
        x = self._i8(x).reshape(-1, w.shape[1])
        m, s = i32_array(p.multiplier), i32_array(p.shift)
        head, tail = split_rows(w, head_channels)
        c = FcParams(
            p.input_offset, p.weights_offset, p.output_offset, p.act_min, p.act_max, ptr(m, i32), ptr(s, i32),
            ptr(tail), head_channels or 0,
        )
        b = None if bias is None else i32_array(bias)
        out = Guarded((x.shape[0], w.shape[0]))
        return self._run(
            kernel,
            out,
            c,
            dims(x.shape),
            ptr(x),
            dims(w.shape),
            ptr(head),
            ptr(b, i32),
            dims(out.array.shape),
            out.ptr(),
        )

    def add(self, a, b, p: qp.AddInt8Params) -> np.ndarray:
        a, b = self._i8(a), self._i8(b)
        shape = np.broadcast_shapes(a.shape, b.shape)
        rank = len(shape)
        a_shape = (1,) * (rank - a.ndim) + a.shape
        b_shape = (1,) * (rank - b.ndim) + b.shape
        c = AddParams(
            p.input1_offset,
            p.input2_offset,
            p.output_offset,
            p.left_shift,
            p.input1_multiplier,
            p.input1_shift,
            p.input2_multiplier,
            p.input2_shift,
            p.output_multiplier,
            p.output_shift,
            p.act_min,
            p.act_max,
        )
        out = Guarded(shape)
        return self._run(
            "es_add_int8_fwd", out, c, dims(a_shape), ptr(a), dims(b_shape), ptr(b), dims(shape), out.ptr()
        )

    def pool(self, kind: str, x, p: qp.PoolInt8Params) -> np.ndarray:
        x = self._i8(x)
        c = PoolParams(*p.filter, *p.stride, p.pad_top, p.pad_left, p.act_min, p.act_max)
        out = Guarded((x.shape[0], *p.out_hw, x.shape[3]))
        return self._run(
            f"es_{kind}_pool2d_int8_fwd", out, c, dims(x.shape), ptr(x), dims(out.array.shape), out.ptr()
        )

    def mean_hw(self, x, p: qp.MeanInt8Params) -> np.ndarray:
        x = self._i8(x)
        c = MeanParams(p.input_zero_point, p.output_zero_point, p.multiplier, p.shift)
        out = Guarded((x.shape[0], 1, 1, x.shape[3]))
        return self._run(
            "es_mean_hw_int8_fwd", out, c, dims(x.shape), ptr(x), dims(out.array.shape), out.ptr()
        )

    def pad(self, x, p: qp.PadInt8Params) -> np.ndarray:
        x = self._i8(x)
        before, after = [0] * 4, [0] * 4
        for axis, (b, a) in enumerate(p.paddings):
            before[es_axis(x.ndim, axis)], after[es_axis(x.ndim, axis)] = b, a
        shape = tuple(d + b + a for d, (b, a) in zip(x.shape, p.paddings, strict=True))
        c = PadParams((i32 * 4)(*before), (i32 * 4)(*after), p.pad_value)
        out = Guarded(shape)
        return self._run("es_pad_int8_fwd", out, c, dims(x.shape), ptr(x), dims(shape), out.ptr())

    def concatenation(self, xs, p: qp.ConcatInt8Params) -> np.ndarray:
        xs = [self._i8(x) for x in xs]
        shape = list(xs[0].shape)
        shape[p.axis] = sum(x.shape[p.axis] for x in xs)
        dims_array = (Dims * len(xs))(*[dims(x.shape) for x in xs])
        pointers = (P8 * len(xs))(*[ptr(x) for x in xs])
        requant = (RequantParams * len(xs))(
            *[RequantParams(q.input_offset, q.output_offset, q.multiplier, q.shift) for q in p.inputs]
        )
        c = ConcatParams(es_axis(len(shape), p.axis), p.act_min, p.act_max)
        out = Guarded(shape)
        return self._run(
            "es_concat_int8_fwd", out, c, len(xs), dims_array, pointers, requant, dims(shape), out.ptr()
        )

    def softmax(self, x, p: qp.SoftmaxInt8Params) -> np.ndarray:
        x = self._i8(x)
        out = Guarded(x.shape)
        return self._run(
            "es_softmax_int8_fwd",
            out,
            SoftmaxParams(p.input_multiplier, p.input_left_shift, p.diff_min),
            dims(x.shape),
            ptr(x),
            out.ptr(),
        )

    def logistic(self, x, p: qp.LogisticInt8Params) -> np.ndarray:
        x = self._i8(x)
        out = Guarded(x.shape)
        c = LogisticParams(p.input_zero_point, p.input_range_radius, p.input_multiplier, p.input_left_shift)
        return self._run("es_logistic_int8_fwd", out, c, dims(x.shape), ptr(x), out.ptr())

    def quantize(self, x, p: qp.QuantizeInt8Params) -> np.ndarray:
        x = np.ascontiguousarray(x, dtype=np.float32)
        out = Guarded(x.shape)
        return self._run(
            "es_quantize_f32_int8_fwd",
            out,
            AffineParams(p.scale, p.zero_point),
            dims(x.shape),
            ptr(x, ctypes.c_float),
            out.ptr(),
        )

    def requantize(self, x, p: qp.RequantizeInt8Params) -> np.ndarray:
        x = self._i8(x)
        out = Guarded(x.shape)
        c = RequantParams(p.input_offset, p.output_offset, p.multiplier, p.shift)
        return self._run("es_requantize_int8_fwd", out, c, dims(x.shape), ptr(x), out.ptr())

    def requantize_uint8(self, x, p: qp.RequantizeInt8Params) -> np.ndarray:
        x = self._i8(x)
        out = Guarded(x.shape, np.uint8)
        c = RequantParams(p.input_offset, p.output_offset, p.multiplier, p.shift)
        return self._run("es_requantize_int8_uint8_fwd", out, c, dims(x.shape), ptr(x), out.ptr())

    def slice(self, x, begin: Sequence[int], end: Sequence[int], strides: Sequence[int]) -> np.ndarray:
        """SLICE with the IR's attributes (one entry per dimension of ``x``)."""
        x = self._i8(x)
        first, step = [0] * 4, [1] * 4
        for axis, (b, s) in enumerate(zip(begin, strides, strict=True)):
            first[es_axis(x.ndim, axis)], step[es_axis(x.ndim, axis)] = b, s
        shape = tuple(len(range(b, e, s)) for b, e, s in zip(begin, end, strides, strict=True))
        c = SliceParams((i32 * 4)(*first), (i32 * 4)(*step))
        out = Guarded(shape)
        return self._run("es_slice_int8_fwd", out, c, dims(x.shape), ptr(x), dims(shape), out.ptr())

    def dequantize(self, x, p: qp.DequantizeInt8Params) -> np.ndarray:
        x = self._i8(x)
        out = Guarded(x.shape, np.float32)
        return self._run(
            "es_dequantize_int8_f32_fwd",
            out,
            AffineParams(p.scale, p.zero_point),
            dims(x.shape),
            ptr(x),
            out.ptr(),
        )

    def qas_update(
        self, param: np.ndarray, grad, factor, lr: float, span, rounding: str, rng_state: int | None
    ) -> tuple[np.ndarray, int | None]:
        out = Guarded(param.shape, param.dtype, fill=param)
        g = np.ascontiguousarray(grad, dtype=np.float32)
        f = np.ascontiguousarray(factor, dtype=np.float32)
        state = ctypes.c_uint32(rng_state or 0)
        name = "es_qas_int8_update" if param.dtype == np.int8 else "es_qas_int32_update"
        c = QasParams(lr, 1 if rounding == "stochastic" else 0)
        s = QasSpan(span.rows, span.cols, span.param_stride, span.grad_stride, span.per_channel)
        self._run(
            name, out, c, s, ptr(f, ctypes.c_float), ptr(g, ctypes.c_float), ctypes.byref(state), out.ptr()
        )
        return out.array, (int(state.value) if rng_state else rng_state)

    # -- one IR op, as edgesdk.reference.int8.run_op does it in numpy
    def run_op(self, graph: Graph, op: Op, args: Sequence[np.ndarray], p) -> np.ndarray:
        kind = op.kind
        if kind in (OpKind.CONV_2D, OpKind.DEPTHWISE_CONV_2D, OpKind.FULLY_CONNECTED):
            w = graph.tensor(op.inputs[1]).data
            bias = graph.tensor(op.inputs[2]).data if len(op.inputs) > 2 and op.inputs[2] >= 0 else None
            kernel = {
                OpKind.CONV_2D: self.conv2d,
                OpKind.DEPTHWISE_CONV_2D: self.depthwise_conv2d,
                OpKind.FULLY_CONNECTED: self.fully_connected,
            }[kind]
            return kernel(args[0], w, bias, p)
        if kind is OpKind.MEAN:
            assert p.axes == (1, 2) and args[0].ndim == 4, "the C MEAN reduces H and W"
            return self.mean_hw(args[0], p)
        simple = {
            OpKind.ADD: lambda: self.add(args[0], args[1], p),
            OpKind.AVERAGE_POOL_2D: lambda: self.pool("avg", args[0], p),
            OpKind.MAX_POOL_2D: lambda: self.pool("max", args[0], p),
            OpKind.PAD: lambda: self.pad(args[0], p),
            OpKind.CONCATENATION: lambda: self.concatenation(args, p),
            OpKind.SOFTMAX: lambda: self.softmax(args[0], p),
            OpKind.LOGISTIC: lambda: self.logistic(args[0], p),
            OpKind.DEQUANTIZE: lambda: self.dequantize(args[0], p),
        }
        if kind is OpKind.SLICE:  # N samples on axis 0 of a batch-1 model: every sample sliced
            end = list(op.attrs["end"])
            end[0] = args[0].shape[0] if op.attrs["begin"][0] == 0 and end[0] == 1 else end[0]
            return self.slice(args[0], op.attrs["begin"], end, op.attrs["strides"])
        if kind is OpKind.QUANTIZE:
            if isinstance(p, qp.QuantizeInt8Params):
                return self.quantize(args[0], p)
            if graph.tensor(op.outputs[0]).dtype is DType.UINT8:
                return self.requantize_uint8(args[0], p)
            return self.requantize(args[0], p)
        return simple[kind]()
