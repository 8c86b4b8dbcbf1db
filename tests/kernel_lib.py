"""Build the C runtime kernels into a host shared library and call them from numpy via ctypes.

Every output buffer handed to a kernel is guarded: it sits between two bands of a sentinel bit
pattern, and the call fails if a kernel wrote outside its output. ``Kernels`` wraps each kernel
with a numpy-level function that builds the dims/params structs, checks the returned status and
returns the outputs.
"""

from __future__ import annotations

import ctypes
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from edgesdk.resources import runtime_dir

RUNTIME = runtime_dir()
INCLUDE_DIR = RUNTIME / "include"
SOURCE_DIR = RUNTIME / "src"
C_FLAGS = ("-std=c99", "-Wall", "-Wextra", "-Werror")
ARM_FLAGS = ("-mcpu=cortex-m7", "-mthumb", "-mfpu=fpv5-sp-d16", "-mfloat-abi=hard", "-O2")

ES_OK, ES_ERR_ARG, ES_ERR_SHAPE = 0, 1, 2
ACTIVATIONS = {"none": 0, "relu": 1, "relu6": 2}


def kernel_sources() -> list[Path]:
    return sorted(SOURCE_DIR.glob("*.c"))


def build_shared_library(out_dir: Path, extra_flags: Sequence[str] = ()) -> Path:
    """Compile every kernel source with gcc -O2 -fPIC -shared into ``out_dir``."""
    target = out_dir / "libedgesdk_kernels.so"
    command = [
        "gcc", *C_FLAGS, "-O2", "-fPIC", "-shared", f"-I{INCLUDE_DIR}", f"-I{SOURCE_DIR}",
        *extra_flags, *map(str, kernel_sources()), "-o", str(target), "-lm",
    ]
    subprocess.run(command, check=True, capture_output=True, text=True)
    return target


# -- ctypes mirrors of the public structs (field order and types as in the headers)

i32 = ctypes.c_int32
f32 = ctypes.c_float


class Dims(ctypes.Structure):
    _fields_ = [("n", i32), ("h", i32), ("w", i32), ("c", i32)]


class ConvParams(ctypes.Structure):
    _fields_ = [("stride_h", i32), ("stride_w", i32), ("dilation_h", i32), ("dilation_w", i32),
                ("pad_top", i32), ("pad_left", i32), ("activation", ctypes.c_int)]


class DepthwiseParams(ctypes.Structure):
    _fields_ = [("stride_h", i32), ("stride_w", i32), ("dilation_h", i32), ("dilation_w", i32),
                ("pad_top", i32), ("pad_left", i32), ("depth_multiplier", i32),
                ("activation", ctypes.c_int)]


class FcParams(ctypes.Structure):
    _fields_ = [("activation", ctypes.c_int)]


class PoolParams(ctypes.Structure):
    _fields_ = [("filter_h", i32), ("filter_w", i32), ("stride_h", i32), ("stride_w", i32),
                ("pad_top", i32), ("pad_left", i32), ("activation", ctypes.c_int)]


class PadParams(ctypes.Structure):
    _fields_ = [("before", i32 * 4), ("after", i32 * 4)]


class ConcatParams(ctypes.Structure):
    _fields_ = [("axis", i32), ("activation", ctypes.c_int)]


class SliceParams(ctypes.Structure):
    _fields_ = [("axis", i32), ("offset", i32)]


class SoftmaxParams(ctypes.Structure):
    _fields_ = [("beta", f32)]


class OptimSpan(ctypes.Structure):
    _fields_ = [("rows", i32), ("cols", i32), ("param_stride", i32), ("grad_stride", i32)]


class SgdParams(ctypes.Structure):
    _fields_ = [("lr", f32), ("weight_decay", f32)]


class MomentumParams(ctypes.Structure):
    _fields_ = [("lr", f32), ("momentum", f32), ("weight_decay", f32)]


class AdamParams(ctypes.Structure):
    _fields_ = [("lr", f32), ("beta1", f32), ("beta2", f32), ("eps", f32), ("weight_decay", f32)]


P = ctypes.POINTER
PF = P(f32)
PD = P(Dims)
ACT = ctypes.c_int

# name -> argument types, in the order of the C prototypes
SIGNATURES: dict[str, tuple] = {
    "es_conv2d_f32_fwd": (P(ConvParams), PD, PF, PD, PF, PF, PD, PF),
    "es_conv2d_f32_bwd_in": (P(ConvParams), PD, PF, PD, PF, PD, PF),
    "es_conv2d_f32_bwd_w": (P(ConvParams), PD, PF, PD, PF, PD, PF),
    "es_depthwise_conv2d_f32_fwd": (P(DepthwiseParams), PD, PF, PD, PF, PF, PD, PF),
    "es_depthwise_conv2d_f32_bwd_in": (P(DepthwiseParams), PD, PF, PD, PF, PD, PF),
    "es_depthwise_conv2d_f32_bwd_w": (P(DepthwiseParams), PD, PF, PD, PF, PD, PF),
    "es_fully_connected_f32_fwd": (P(FcParams), PD, PF, PD, PF, PF, PD, PF),
    "es_fully_connected_f32_bwd_in": (PD, PF, PD, PF, PD, PF),
    "es_fully_connected_f32_bwd_w": (PD, PF, PD, PF, PD, PF),
    "es_bias_grad_f32": (PD, PF, i32, PF),
    "es_avg_pool2d_f32_fwd": (P(PoolParams), PD, PF, PD, PF),
    "es_avg_pool2d_f32_bwd": (P(PoolParams), PD, PF, PD, PF),
    "es_max_pool2d_f32_fwd": (P(PoolParams), PD, PF, PD, PF),
    "es_max_pool2d_f32_bwd": (P(PoolParams), PD, PF, PD, PF, PF),
    "es_add_f32_fwd": (ACT, PD, PF, PD, PF, PD, PF),
    "es_act_f32_bwd": (ACT, PD, PF, PF, PF),
    "es_logistic_f32_fwd": (PD, PF, PF),
    "es_logistic_f32_bwd": (PD, PF, PF, PF),
    "es_copy_f32": (PD, PF, PF),
    "es_accumulate_f32": (PD, PF, PF),
    "es_mean_hw_f32_fwd": (PD, PF, PD, PF),
    "es_mean_hw_f32_bwd": (PD, PF, PD, PF),
    "es_mean_hw_act_f32_bwd": (ACT, PD, PF, PD, PF, PF),
    "es_pad_f32_fwd": (P(PadParams), PD, PF, PD, PF),
    "es_pad_f32_bwd": (P(PadParams), PD, PF, PD, PF),
    "es_concat_f32_fwd": (P(ConcatParams), i32, PD, P(PF), PD, PF),
    "es_concat_f32_bwd": (P(SliceParams), PD, PF, PD, PF),
    "es_softmax_f32_fwd": (P(SoftmaxParams), PD, PF, PF),
    "es_softmax_f32_bwd": (P(SoftmaxParams), PD, PF, PF, PF),
    "es_loss_softmax_xent_f32": (PD, PF, P(i32), PF, PF),
    "es_loss_mse_f32": (PD, PF, PF, PF, PF),
    "es_argmax_f32": (PD, PF, P(i32)),
    "es_sgd_f32_update": (P(SgdParams), P(OptimSpan), PF, PF),
    "es_sgd_momentum_f32_update": (P(MomentumParams), P(OptimSpan), PF, PF, PF),
    "es_adam_f32_update": (P(AdamParams), i32, P(OptimSpan), PF, PF, PF, PF),
}


def load(path: Path) -> ctypes.CDLL:
    lib = ctypes.CDLL(str(path))
    for name, argtypes in SIGNATURES.items():
        function = getattr(lib, name)
        function.argtypes = list(argtypes)
        function.restype = ctypes.c_int
    lib.es_status_name.argtypes = [ctypes.c_int]
    lib.es_status_name.restype = ctypes.c_char_p
    return lib


# -- buffers

GUARD = 16
SENTINEL = np.uint32(0x7FA5A5A5)  # a NaN payload no kernel produces


class Guarded:
    """A float32 (or int32) output array with sentinel bands before and after it."""

    def __init__(self, shape: Sequence[int], dtype: type = np.float32, fill: np.ndarray | None = None):
        count = int(np.prod(shape, dtype=np.int64))
        self._raw = np.full(count + 2 * GUARD, SENTINEL, dtype=np.uint32)
        self.array = self._raw[GUARD:GUARD + count].view(dtype).reshape(shape)
        if fill is not None:
            self.array[...] = fill

    def ptr(self):
        ctype = f32 if self.array.dtype == np.float32 else i32
        return self.array.ctypes.data_as(P(ctype))

    def check(self) -> None:
        for band in (self._raw[:GUARD], self._raw[-GUARD:]):
            if not np.all(band == SENTINEL):
                raise AssertionError("kernel wrote outside its output buffer")


def fptr(array: np.ndarray | None):
    if array is None:
        return None
    assert array.dtype == np.float32 and array.flags.c_contiguous
    return array.ctypes.data_as(PF)


def f32c(array) -> np.ndarray:
    return np.ascontiguousarray(array, dtype=np.float32)


def dims(shape: Sequence[int]) -> Dims:
    """Map a tensor shape of rank 1..4 onto es_dims (rank 2 [N, K] -> {N, 1, 1, K})."""
    s = tuple(int(d) for d in shape)
    if len(s) == 1:
        return Dims(1, 1, 1, s[0])
    if len(s) == 2:
        return Dims(s[0], 1, 1, s[1])
    if len(s) == 3:
        return Dims(s[0], 1, s[1], s[2])
    assert len(s) == 4, f"rank {len(s)} does not map onto es_dims"
    return Dims(*s)


@dataclass(frozen=True)
class Window:
    """One axis of a sliding window: output size and zero padding (input rows a stride skips at
    the end are not padding: pad_after counts only added zeros)."""

    out: int
    pad_before: int
    pad_after: int


def window(n_in: int, k: int, stride: int, dilation: int, padding: str) -> Window:
    """TFLite's SAME / VALID output size and padding for one axis."""
    effective = (k - 1) * dilation + 1
    if padding == "valid":
        return Window((n_in - effective) // stride + 1, 0, 0)
    out = -(-n_in // stride)
    total = max((out - 1) * stride + effective - n_in, 0)
    return Window(out, total // 2, total - total // 2)


class KernelError(AssertionError):
    def __init__(self, name: str, status: int, text: str):
        super().__init__(f"{name} returned {text} ({status})")
        self.status = status


class Kernels:
    """numpy-level wrappers; each checks the status and the output guards."""

    def __init__(self, lib: ctypes.CDLL):
        self.lib = lib

    def call(self, name: str, *args) -> int:
        return int(getattr(self.lib, name)(*args))

    def _run(self, name: str, outputs: Sequence[Guarded], *args) -> None:
        status = self.call(name, *args)
        if status != ES_OK:
            raise KernelError(name, status, self.lib.es_status_name(status).decode())
        for out in outputs:
            out.check()

    # -- CONV_2D
    def conv2d_fwd(self, p: ConvParams, x, w, b, out_shape):
        x, w = f32c(x), f32c(w)
        b = None if b is None else f32c(b)
        y = Guarded(out_shape)
        self._run("es_conv2d_f32_fwd", [y], p, dims(x.shape), fptr(x), dims(w.shape), fptr(w),
                  fptr(b), dims(out_shape), y.ptr())
        return y.array

    def conv2d_bwd_in(self, p: ConvParams, dz, w, in_shape):
        dz, w = f32c(dz), f32c(w)
        dx = Guarded(in_shape)
        self._run("es_conv2d_f32_bwd_in", [dx], p, dims(dz.shape), fptr(dz), dims(w.shape),
                  fptr(w), dims(in_shape), dx.ptr())
        return dx.array

    def conv2d_bwd_w(self, p: ConvParams, dz, x, dw_shape):
        dz, x = f32c(dz), f32c(x)
        dw = Guarded(dw_shape)
        self._run("es_conv2d_f32_bwd_w", [dw], p, dims(dz.shape), fptr(dz), dims(x.shape),
                  fptr(x), dims(dw_shape), dw.ptr())
        return dw.array

    # -- DEPTHWISE_CONV_2D
    def depthwise_fwd(self, p: DepthwiseParams, x, w, b, out_shape):
        x, w = f32c(x), f32c(w)
        b = None if b is None else f32c(b)
        y = Guarded(out_shape)
        self._run("es_depthwise_conv2d_f32_fwd", [y], p, dims(x.shape), fptr(x), dims(w.shape),
                  fptr(w), fptr(b), dims(out_shape), y.ptr())
        return y.array

    def depthwise_bwd_in(self, p: DepthwiseParams, dz, w, in_shape):
        dz, w = f32c(dz), f32c(w)
        dx = Guarded(in_shape)
        self._run("es_depthwise_conv2d_f32_bwd_in", [dx], p, dims(dz.shape), fptr(dz),
                  dims(w.shape), fptr(w), dims(in_shape), dx.ptr())
        return dx.array

    def depthwise_bwd_w(self, p: DepthwiseParams, dz, x, dw_shape):
        dz, x = f32c(dz), f32c(x)
        dw = Guarded(dw_shape)
        self._run("es_depthwise_conv2d_f32_bwd_w", [dw], p, dims(dz.shape), fptr(dz),
                  dims(x.shape), fptr(x), dims(dw_shape), dw.ptr())
        return dw.array

    # -- FULLY_CONNECTED
    def fc_fwd(self, activation: str, x, w, b, out_shape):
        x, w = f32c(x), f32c(w)
        b = None if b is None else f32c(b)
        y = Guarded(out_shape)
        self._run("es_fully_connected_f32_fwd", [y], FcParams(ACTIVATIONS[activation]),
                  dims(x.shape), fptr(x), dims(w.shape), fptr(w), fptr(b), dims(out_shape),
                  y.ptr())
        return y.array

    def fc_bwd_in(self, dz, w, in_shape):
        dz, w = f32c(dz), f32c(w)
        dx = Guarded(in_shape)
        self._run("es_fully_connected_f32_bwd_in", [dx], dims(dz.shape), fptr(dz), dims(w.shape),
                  fptr(w), dims(in_shape), dx.ptr())
        return dx.array

    def fc_bwd_w(self, dz, x, dw_shape):
        dz, x = f32c(dz), f32c(x)
        dw = Guarded(dw_shape)
        self._run("es_fully_connected_f32_bwd_w", [dw], dims(dz.shape), fptr(dz), dims(x.shape),
                  fptr(x), dims(dw_shape), dw.ptr())
        return dw.array

    def bias_grad(self, dz, count: int):
        dz = f32c(dz)
        db = Guarded((count,))
        self._run("es_bias_grad_f32", [db], dims(dz.shape), fptr(dz), count, db.ptr())
        return db.array

    # -- pooling
    def pool_fwd(self, kind: str, p: PoolParams, x, out_shape):
        x = f32c(x)
        y = Guarded(out_shape)
        self._run(f"es_{kind}_pool2d_f32_fwd", [y], p, dims(x.shape), fptr(x), dims(out_shape),
                  y.ptr())
        return y.array

    def avg_pool_bwd(self, p: PoolParams, dz, in_shape):
        dz = f32c(dz)
        dx = Guarded(in_shape)
        self._run("es_avg_pool2d_f32_bwd", [dx], p, dims(dz.shape), fptr(dz), dims(in_shape),
                  dx.ptr())
        return dx.array

    def max_pool_bwd(self, p: PoolParams, x, dz):
        x, dz = f32c(x), f32c(dz)
        dx = Guarded(x.shape)
        self._run("es_max_pool2d_f32_bwd", [dx], p, dims(x.shape), fptr(x), dims(dz.shape),
                  fptr(dz), dx.ptr())
        return dx.array

    # -- elementwise
    def add_fwd(self, activation: str, a, b):
        a, b = f32c(a), f32c(b)
        y = Guarded(a.shape)
        self._run("es_add_f32_fwd", [y], ACTIVATIONS[activation], dims(a.shape), fptr(a),
                  dims(b.shape), fptr(b), dims(a.shape), y.ptr())
        return y.array

    def act_bwd(self, activation: str, y, dy):
        y, dy = f32c(y), f32c(dy)
        dz = Guarded(y.shape)
        self._run("es_act_f32_bwd", [dz], ACTIVATIONS[activation], dims(y.shape), fptr(y),
                  fptr(dy), dz.ptr())
        return dz.array

    def logistic_fwd(self, x):
        x = f32c(x)
        y = Guarded(x.shape)
        self._run("es_logistic_f32_fwd", [y], dims(x.shape), fptr(x), y.ptr())
        return y.array

    def logistic_bwd(self, y, dy):
        y, dy = f32c(y), f32c(dy)
        dx = Guarded(y.shape)
        self._run("es_logistic_f32_bwd", [dx], dims(y.shape), fptr(y), fptr(dy), dx.ptr())
        return dx.array

    def copy(self, x):
        x = f32c(x)
        y = Guarded(x.shape)
        self._run("es_copy_f32", [y], dims(x.shape), fptr(x), y.ptr())
        return y.array

    def accumulate(self, src, dst):
        src = f32c(src)
        out = Guarded(src.shape, fill=dst)
        self._run("es_accumulate_f32", [out], dims(src.shape), fptr(src), out.ptr())
        return out.array

    # -- MEAN over H, W
    def mean_fwd(self, x):
        x = f32c(x)
        y = Guarded((x.shape[0], 1, 1, x.shape[3]))
        self._run("es_mean_hw_f32_fwd", [y], dims(x.shape), fptr(x), dims(y.array.shape), y.ptr())
        return y.array

    def mean_bwd(self, dz, in_shape):
        dz = f32c(dz)
        dx = Guarded(in_shape)
        self._run("es_mean_hw_f32_bwd", [dx], dims(dz.shape), fptr(dz), dims(in_shape), dx.ptr())
        return dx.array

    def mean_act_bwd(self, activation: str, y, dy):
        """es_mean_hw_act_f32_bwd: y [N, H, W, C], dy [N, 1, 1, C] -> dz like y."""
        y, dy = f32c(y), f32c(dy)
        dz = Guarded(y.shape)
        self._run("es_mean_hw_act_f32_bwd", [dz], ACTIVATIONS[activation], dims(y.shape), fptr(y),
                  dims(dy.shape), fptr(dy), dz.ptr())
        return dz.array

    # -- PAD
    def pad_fwd(self, before: Sequence[int], after: Sequence[int], x):
        x = f32c(x)
        p = PadParams((i32 * 4)(*before), (i32 * 4)(*after))
        out_shape = tuple(d + a + b for d, a, b in zip(x.shape, before, after, strict=True))
        y = Guarded(out_shape)
        self._run("es_pad_f32_fwd", [y], p, dims(x.shape), fptr(x), dims(out_shape), y.ptr())
        return y.array

    def pad_bwd(self, before: Sequence[int], after: Sequence[int], dy, in_shape):
        dy = f32c(dy)
        p = PadParams((i32 * 4)(*before), (i32 * 4)(*after))
        dx = Guarded(in_shape)
        self._run("es_pad_f32_bwd", [dx], p, dims(dy.shape), fptr(dy), dims(in_shape), dx.ptr())
        return dx.array

    # -- CONCATENATION
    def concat_fwd(self, axis: int, activation: str, inputs: Sequence[np.ndarray],
                   out_shape: Sequence[int]):
        """axis counts es_dims axes (0..3); shapes are numpy shapes mapped by ``dims``."""
        inputs = [f32c(x) for x in inputs]
        y = Guarded(out_shape)
        dims_array = (Dims * len(inputs))(*[dims(x.shape) for x in inputs])
        pointers = (PF * len(inputs))(*[fptr(x) for x in inputs])
        self._run("es_concat_f32_fwd", [y], ConcatParams(axis, ACTIVATIONS[activation]),
                  len(inputs), dims_array, pointers, dims(out_shape), y.ptr())
        return y.array

    def concat_bwd(self, axis: int, offset: int, dy, in_shape):
        dy = f32c(dy)
        dx = Guarded(in_shape)
        self._run("es_concat_f32_bwd", [dx], SliceParams(axis, offset), dims(dy.shape), fptr(dy),
                  dims(in_shape), dx.ptr())
        return dx.array

    # -- SOFTMAX
    def softmax_fwd(self, beta: float, x):
        x = f32c(x)
        y = Guarded(x.shape)
        self._run("es_softmax_f32_fwd", [y], SoftmaxParams(beta), dims(x.shape), fptr(x), y.ptr())
        return y.array

    def softmax_bwd(self, beta: float, y, dy):
        y, dy = f32c(y), f32c(dy)
        dx = Guarded(y.shape)
        self._run("es_softmax_f32_bwd", [dx], SoftmaxParams(beta), dims(y.shape), fptr(y),
                  fptr(dy), dx.ptr())
        return dx.array

    # -- losses
    def softmax_xent(self, logits, labels):
        logits = f32c(logits)
        labels = np.ascontiguousarray(labels, dtype=np.int32)
        loss = Guarded((1,))
        grad = Guarded(logits.shape)
        self._run("es_loss_softmax_xent_f32", [loss, grad], dims(logits.shape), fptr(logits),
                  labels.ctypes.data_as(P(i32)), loss.ptr(), grad.ptr())
        return float(loss.array[0]), grad.array

    def mse(self, y, target):
        y, target = f32c(y), f32c(target)
        loss = Guarded((1,))
        grad = Guarded(y.shape)
        self._run("es_loss_mse_f32", [loss, grad], dims(y.shape), fptr(y), fptr(target),
                  loss.ptr(), grad.ptr())
        return float(loss.array[0]), grad.array

    def argmax(self, x):
        x = f32c(x)
        out = Guarded((x.shape[0],), dtype=np.int32)
        self._run("es_argmax_f32", [out], dims(x.shape), fptr(x), out.ptr())
        return out.array

    # -- optimizers (parameter and state updated in place in guarded copies, returned)
    def sgd(self, lr: float, wd: float, span: OptimSpan, grad, param):
        grad = f32c(grad)
        w = Guarded(param.shape, fill=param)
        self._run("es_sgd_f32_update", [w], SgdParams(lr, wd), span, fptr(grad), w.ptr())
        return w.array

    def momentum(self, lr: float, mu: float, wd: float, span: OptimSpan, grad, velocity, param):
        grad = f32c(grad)
        v = Guarded(velocity.shape, fill=velocity)
        w = Guarded(param.shape, fill=param)
        self._run("es_sgd_momentum_f32_update", [v, w], MomentumParams(lr, mu, wd), span,
                  fptr(grad), v.ptr(), w.ptr())
        return v.array, w.array

    def adam(self, p: AdamParams, step: int, span: OptimSpan, grad, m, v, param):
        grad = f32c(grad)
        mg, vg, w = Guarded(m.shape, fill=m), Guarded(v.shape, fill=v), Guarded(param.shape, fill=param)
        self._run("es_adam_f32_update", [mg, vg, w], p, step, span, fptr(grad), mg.ptr(), vg.ptr(),
                  w.ptr())
        return mg.array, vg.array, w.array


_LIBRARIES: dict[tuple[str, ...], Kernels] = {}


def session_kernels(tmp_dir_factory, extra_flags: Sequence[str] = ()) -> Kernels:
    """The kernels built once per test session (per flag set), whichever module asks first."""
    key = tuple(extra_flags)
    if key not in _LIBRARIES:
        path = build_shared_library(tmp_dir_factory.mktemp("kernels"), extra_flags)
        _LIBRARIES[key] = Kernels(load(path))
    return _LIBRARIES[key]
