"""The int8 training kernels of runtime_c (edgesdk/train_int8.h) as a host shared library, driven
like :data:`edgesdk.reference.int8_graph.KERNELS`: ``TrainKernels.run(compute, attrs, *inputs)``
takes a training-graph node's kernel, attrs and input arrays and returns the C output (losses:
``(gradient, loss)``); updates change the parameter, master and xorshift32 arrays in place.

Every output lies between two sentinel bands (``int8_lib.Guarded``) so a write outside it fails the
call even without sanitizers; every status must be ES_OK. The library is the whole runtime
(``runtime_c/src/*.c``): the int8 training kernels call the fp32 losses, the bias gradient and the
QAS updates.
"""

from __future__ import annotations

import ctypes
import re
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from edgesdk import ir
from edgesdk.resources import runtime_dir
from edgesdk.train.graph import Compute
from int8_lib import GUARD, Dims, Guarded, QasParams, QasSpan, dims, ptr, split_rows

RUNTIME = runtime_dir()
INCLUDE_DIR = RUNTIME / "include"
SOURCE_DIR = RUNTIME / "src"
UMBRELLA = INCLUDE_DIR / "edgesdk" / "train_int8.h"
C_FLAGS = ("-std=c99", "-Wall", "-Wextra", "-Werror", "-ffp-contract=off")
ARM_FLAGS = ("-mcpu=cortex-m7", "-mthumb", "-mfpu=fpv5-sp-d16", "-mfloat-abi=hard", "-O2")
SANITIZE = ("-g", "-O1", "-fsanitize=address,undefined", "-fno-sanitize-recover=all",
            "-fno-omit-frame-pointer")
C = Compute

# the sources of the int8 training kernels (the rest of the runtime is linked for what they call)
TRAIN_SOURCES = (
    "act_int8_bwd.c",
    "conv2d_int8_bwd.c",
    "depthwise_conv2d_int8_bwd.c",
    "fully_connected_int8_bwd.c",
    "fully_connected_fast_int8_bwd.c",
    "loss_int8_logits.c",
    "mean_int8_bwd.c",
    "params_image.c",
    "pool_int8_bwd.c",
    "qas_int8_train.c",
)


def runtime_sources() -> list[Path]:
    return sorted(SOURCE_DIR.glob("*.c"))


def build(out_dir: Path, flags: Sequence[str] = ("-O2",)) -> Path:
    target = out_dir / "libedgesdk_train_int8.so"
    subprocess.run(
        ["gcc", *C_FLAGS, *flags, "-fPIC", "-shared", f"-I{INCLUDE_DIR}", f"-I{SOURCE_DIR}",
         *map(str, runtime_sources()), "-o", str(target), "-lm"],
        check=True, capture_output=True, text=True,
    )
    return target


def declared_kernels() -> set[str]:
    """Every ``es_status es_...(`` declared by the headers train_int8.h includes."""
    found: set[str] = set()
    for name in re.findall(r'#include "edgesdk/(\w+\.h)"', UMBRELLA.read_text()):
        text = (INCLUDE_DIR / "edgesdk" / name).read_text()
        if name in ("common.h",):
            continue
        found |= set(re.findall(r"^es_status\s+(es_\w+)\(", text, flags=re.M))
    return found


# ---------------------------------------------------------------- C structs

i32 = ctypes.c_int32
f32 = ctypes.c_float
P = ctypes.POINTER
PD, P8, PF, PI32, PU32 = P(Dims), P(ctypes.c_int8), P(f32), P(i32), P(ctypes.c_uint32)


class ConvParams(ctypes.Structure):  # es_conv2d_params
    _fields_ = [(n, i32) for n in ("stride_h", "stride_w", "dilation_h", "dilation_w", "pad_top",
                                   "pad_left")] + [("activation", ctypes.c_int)]


class DepthwiseParams(ctypes.Structure):  # es_depthwise_conv2d_params
    _fields_ = [(n, i32) for n in ("stride_h", "stride_w", "dilation_h", "dilation_w", "pad_top",
                                   "pad_left", "depth_multiplier")] + [("activation", ctypes.c_int)]


class PoolParams(ctypes.Structure):  # es_pool2d_params
    _fields_ = [(n, i32) for n in ("filter_h", "filter_w", "stride_h", "stride_w", "pad_top",
                                   "pad_left")] + [("activation", ctypes.c_int)]


class SoftmaxParams(ctypes.Structure):
    _fields_ = [("beta", f32)]


class Affine(ctypes.Structure):  # es_affine_int8_params
    _fields_ = [("scale", f32), ("zero_point", i32)]


class WeightsQuant(ctypes.Structure):  # es_weights_int8_quant
    _fields_ = [("scale", PF), ("zero_point", i32), ("tail", P8), ("head_channels", i32)]


class QasLayer(ctypes.Structure):  # es_qas_layer_params
    _fields_ = [("lr", f32), ("rounding", ctypes.c_int), ("channels", i32), ("factor", PF)]


class LossParams(ctypes.Structure):  # es_loss_int8_params
    _fields_ = [("scale", f32), ("zero_point", i32), ("beta", f32)]


class ParamRecord(ctypes.Structure):  # es_param_record
    _fields_ = [("tensor", ctypes.c_uint32), ("dtype", ctypes.c_int), ("count", ctypes.c_uint32),
                ("data", ctypes.c_void_p), ("tail", ctypes.c_void_p), ("head_count", ctypes.c_uint32)]


SIGNATURES: dict[str, tuple] = {
    "es_act_int8_bwd": (i32, i32, PD, P8, PF, PF),
    "es_mean_hw_act_int8_bwd": (i32, i32, PD, P8, PD, PF, PF),
    "es_logistic_int8_bwd": (P(Affine), PD, P8, PF, PF),
    "es_softmax_int8_bwd": (P(SoftmaxParams), P(Affine), PD, P8, PF, PF),
    "es_max_pool2d_int8_bwd": (P(PoolParams), PD, P8, PD, PF, PF),
    "es_conv2d_int8_bwd_in": (P(ConvParams), P(WeightsQuant), PD, PF, PD, P8, PD, PF),
    "es_conv2d_int8_bwd_w": (P(ConvParams), P(Affine), PD, PF, PD, P8, PD, PF),
    "es_conv2d_int8_bwd_w_qas": (P(ConvParams), P(Affine), P(QasLayer), PD, PF, PD, P8, PD, P8, PF,
                                 PU32, PF),
    "es_depthwise_conv2d_int8_bwd_in": (P(DepthwiseParams), P(WeightsQuant), PD, PF, PD, P8, PD, PF),
    "es_depthwise_conv2d_int8_bwd_w": (P(DepthwiseParams), P(Affine), PD, PF, PD, P8, PD, PF),
    "es_depthwise_conv2d_int8_bwd_w_qas": (P(DepthwiseParams), P(Affine), P(QasLayer), PD, PF, PD, P8,
                                           PD, P8, PF, PU32, PF),
    "es_fully_connected_int8_bwd_in": (P(WeightsQuant), PD, PF, PD, P8, PD, PF),
    "es_fully_connected_int8_bwd_w": (P(Affine), PD, PF, PD, P8, PD, PF),
    "es_fully_connected_int8_bwd_w_qas": (P(Affine), P(QasLayer), PD, PF, PD, P8, PD, P8, PF, PU32, PF),
    "es_fully_connected_fast_int8_bwd_w_qas": (P(Affine), P(QasLayer), PD, PF, PD, P8, PD, P8, PF, PU32, PF),
    "es_loss_softmax_xent_int8": (P(LossParams), PD, P8, PI32, PF, PF),
    "es_loss_mse_int8": (P(LossParams), PD, P8, PF, PF, PF),
    "es_qas_int8_master_update": (P(QasParams), P(QasSpan), PF, PF, PF, P8),
    "es_qas_int32_master_update": (P(QasParams), P(QasSpan), PF, PF, PF, PI32),
    "es_qas_int8_master_init": (P(QasSpan), P8, PF),
    "es_qas_int32_master_init": (P(QasSpan), PI32, PF),
    "es_bias_int32_bwd_qas": (P(QasLayer), PD, PF, PI32, PF, PU32, PF),
    "es_params_image_write": (P(ParamRecord), i32, ctypes.c_void_p, ctypes.c_size_t),
    "es_params_image_read": (P(ParamRecord), i32, ctypes.c_void_p, ctypes.c_size_t),
}
SIZE_FUNCTIONS: dict[str, tuple] = {
    "es_conv2d_int8_bwd_w_qas_scratch_size": (PD,),
    "es_depthwise_conv2d_int8_bwd_w_qas_scratch_size": (P(QasLayer),),
    "es_fully_connected_int8_bwd_w_qas_scratch_size": (PD,),
    "es_bias_int32_bwd_qas_scratch_size": (P(QasLayer),),
    "es_params_image_size": (P(ParamRecord), i32),
}
# kernels of edgesdk/qas_int8.h the harness also calls
USED: dict[str, tuple] = {
    "es_qas_int8_update": (P(QasParams), P(QasSpan), PF, PF, PU32, P8),
    "es_qas_int32_update": (P(QasParams), P(QasSpan), PF, PF, PU32, PI32),
}
ACTIVATION = {ir.Activation.NONE: 0, ir.Activation.RELU: 1, ir.Activation.RELU6: 2}
ROUNDING = {"nearest": 0, "stochastic": 1}
DTYPE_CODE = {np.dtype(np.int8): 1, np.dtype(np.int32): 2, np.dtype(np.float32): 3}


def load(path: Path) -> ctypes.CDLL:
    lib = ctypes.CDLL(str(path))
    for name, argtypes in {**SIGNATURES, **USED}.items():
        function = getattr(lib, name)
        function.argtypes = list(argtypes)
        function.restype = ctypes.c_int
    for name, argtypes in SIZE_FUNCTIONS.items():
        function = getattr(lib, name)
        function.argtypes = list(argtypes)
        function.restype = ctypes.c_size_t
    lib.es_crc32.argtypes = [ctypes.c_uint32, ctypes.c_void_p, ctypes.c_size_t]
    lib.es_crc32.restype = ctypes.c_uint32
    return lib


class KernelError(AssertionError):
    pass


def _f32(array: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(array, dtype=np.float32)


def _i8(array: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(array, dtype=np.int8)


def _activation(attrs) -> int:
    return ACTIVATION[attrs.get("activation", ir.Activation.NONE)]


def conv_params(attrs) -> ConvParams:
    top, _, left, _ = attrs["pad"]
    return ConvParams(*attrs["stride"], *attrs["dilation"], top, left, _activation(attrs))


def depthwise_params(attrs) -> DepthwiseParams:
    top, _, left, _ = attrs["pad"]
    return DepthwiseParams(*attrs["stride"], *attrs["dilation"], top, left, attrs["depth_multiplier"],
                           _activation(attrs))


class TrainKernels:
    """Call the C kernel of a training-graph node. Arrays passed in are never modified, except the
    in-place arguments of updates (parameter, master copy, xorshift32 state), as the reference."""

    def __init__(self, lib: ctypes.CDLL) -> None:
        self.lib = lib
        self._keep: list[object] = []
        self.calls: dict[Compute, Callable[..., object]] = {
            C.ACT_BWD_INT8: self.act_bwd,
            C.MEAN_ACT_BWD_INT8: self.mean_act_bwd,
            C.LOGISTIC_BWD_INT8: self.logistic_bwd,
            C.SOFTMAX_BWD_INT8: self.softmax_bwd,
            C.MAX_POOL_2D_BWD_INT8: self.max_pool_bwd,
            C.CONV_2D_BWD_IN_INT8: self.conv_bwd_in,
            C.CONV_2D_BWD_W_INT8: self.conv_bwd_w,
            C.DEPTHWISE_CONV_2D_BWD_IN_INT8: self.depthwise_bwd_in,
            C.DEPTHWISE_CONV_2D_BWD_W_INT8: self.depthwise_bwd_w,
            C.FULLY_CONNECTED_BWD_IN_INT8: self.fc_bwd_in,
            C.FULLY_CONNECTED_BWD_W_INT8: self.fc_bwd_w,
            C.LOSS_SOFTMAX_XENT_INT8: self.loss_xent,
            C.LOSS_MSE_INT8: self.loss_mse,
            C.QAS_UPDATE_INT8: self.qas_update,
            C.QAS_UPDATE_INT32: self.qas_update,
            C.CONV_2D_BWD_W_QAS: self.conv_bwd_w_qas,
            C.DEPTHWISE_CONV_2D_BWD_W_QAS: self.depthwise_bwd_w_qas,
            C.FULLY_CONNECTED_BWD_W_QAS: self.fc_bwd_w_qas,
            C.BIAS_BWD_QAS: self.bias_bwd_qas,
        }

    def run(self, compute: Compute, attrs, *inputs: np.ndarray):
        return self.calls[compute](attrs, *inputs)

    def _call(self, name: str, *args) -> None:
        status = int(getattr(self.lib, name)(*args))
        if status != 0:
            raise KernelError(f"{name} returned status {status}")

    def _out(self, shape, dtype=np.float32) -> Guarded:
        return Guarded(shape, dtype)

    def _finish(self, out: Guarded) -> np.ndarray:
        out.check()
        return out.array.copy()

    # ------------------------------------------------------------ helpers
    @staticmethod
    def affine(attrs, role: str) -> Affine:
        return Affine(attrs[f"{role}_scale"], attrs[f"{role}_zero_point"])

    def weights(self, attrs, tail: np.ndarray | None = None, head_channels: int = 0) -> WeightsQuant:
        scale = _f32(attrs["w_scale"])
        self._keep.append(scale)
        return WeightsQuant(ptr(scale, f32), attrs["w_zero_point"], ptr(tail), head_channels)

    def layer(self, attrs) -> QasLayer:
        factor = _f32(attrs["factor"])
        self._keep.append(factor)
        return QasLayer(attrs["lr"], ROUNDING[attrs["rounding"].value], attrs["channels"],
                        ptr(factor, f32))

    @staticmethod
    def state(attrs, rest: Sequence[np.ndarray]) -> tuple[np.ndarray | None, np.ndarray | None]:
        """(master, rng) among an update's trailing inputs, as the reference orders them."""
        items = list(rest)
        master = items.pop(0) if attrs["master"] else None
        rng = items.pop(0) if attrs["rounding"].value == "stochastic" else None
        return master, rng

    @staticmethod
    def _in_place(array: np.ndarray | None, dtype) -> np.ndarray | None:
        if array is None:
            return None
        assert array.dtype == dtype and array.flags.c_contiguous, (array.dtype, dtype)
        return array

    # ------------------------------------------------------------ elementwise
    def act_bwd(self, attrs, y, dy):
        out = self._out(np.shape(dy))
        self._call("es_act_int8_bwd", attrs["act_min"], attrs["act_max"], dims((np.size(dy),)),
                   ptr(_i8(y)), ptr(_f32(dy), f32), out.ptr())
        return self._finish(out)

    def mean_act_bwd(self, attrs, y, dy):
        """The fused node's attrs: ``mean`` (x_shape, the shape y is read in) and ``act``."""
        x_shape, act = tuple(attrs["mean"]["x_shape"]), attrs["act"]
        n, c = x_shape[0], x_shape[-1]
        out = self._out(np.shape(y))
        self._call("es_mean_hw_act_int8_bwd", act["act_min"], act["act_max"], dims(x_shape), ptr(_i8(y)),
                   dims((n, c)), ptr(_f32(dy), f32), out.ptr())
        return self._finish(out)

    def logistic_bwd(self, attrs, y, dy):
        out = self._out(np.shape(dy))
        self._call("es_logistic_int8_bwd", self.affine(attrs, "y"), dims((np.size(dy),)), ptr(_i8(y)),
                   ptr(_f32(dy), f32), out.ptr())
        return self._finish(out)

    def softmax_bwd(self, attrs, y, dy):
        shape = (attrs["rows"], attrs["classes"])
        out = self._out(shape)
        self._call("es_softmax_int8_bwd", SoftmaxParams(attrs["beta"]), self.affine(attrs, "y"), dims(shape),
                   ptr(_i8(y)), ptr(_f32(dy), f32), out.ptr())
        return self._finish(out)

    def max_pool_bwd(self, attrs, x, dz):
        top, _, left, _ = attrs["pad"]
        p = PoolParams(*attrs["filter"], *attrs["stride"], top, left, _activation(attrs))
        out = self._out(attrs["x_shape"])
        self._call("es_max_pool2d_int8_bwd", p, dims(attrs["x_shape"]), ptr(_i8(x)), dims(attrs["y_shape"]),
                   ptr(_f32(dz), f32), out.ptr())
        return self._finish(out)

    # ------------------------------------------------------------ layers
    def conv_bwd_in(self, attrs, dz, w, head_channels: int | None = None):
        """``head_channels``: pass w split, its first rows and the rest as two arrays."""
        out = self._out(attrs["x_shape"])
        head, tail = split_rows(_i8(w), head_channels)
        self._call("es_conv2d_int8_bwd_in", conv_params(attrs), self.weights(attrs, tail, head_channels or 0),
                   dims(attrs["y_shape"]), ptr(_f32(dz), f32), dims(attrs["w_shape"]), ptr(head),
                   dims(attrs["x_shape"]), out.ptr())
        return self._finish(out)

    def conv_bwd_w(self, attrs, dz, x):
        k = attrs["channels"]
        shape = (k, *attrs["w_shape"][1:])
        out = self._out(shape)
        self._call("es_conv2d_int8_bwd_w", conv_params(attrs), self.affine(attrs, "x"),
                   dims(attrs["y_shape"]), ptr(_f32(dz), f32), dims(attrs["x_shape"]), ptr(_i8(x)),
                   dims(shape), out.ptr())
        return self._finish(out)

    def depthwise_bwd_in(self, attrs, dz, w):
        out = self._out(attrs["x_shape"])
        self._call("es_depthwise_conv2d_int8_bwd_in", depthwise_params(attrs), self.weights(attrs),
                   dims(attrs["y_shape"]), ptr(_f32(dz), f32), dims(attrs["w_shape"]), ptr(_i8(w)),
                   dims(attrs["x_shape"]), out.ptr())
        return self._finish(out)

    def depthwise_bwd_w(self, attrs, dz, x):
        shape = (*attrs["w_shape"][:3], attrs["channels"])
        out = self._out(shape)
        self._call("es_depthwise_conv2d_int8_bwd_w", depthwise_params(attrs), self.affine(attrs, "x"),
                   dims(attrs["y_shape"]), ptr(_f32(dz), f32), dims(attrs["x_shape"]), ptr(_i8(x)),
                   dims(shape), out.ptr())
        return self._finish(out)

    def fc_bwd_in(self, attrs, dz, w, head_channels: int | None = None):
        """``head_channels``: pass w split, its first rows and the rest as two arrays."""
        out = self._out(attrs["x_shape"])
        head, tail = split_rows(_i8(w), head_channels)
        self._call("es_fully_connected_int8_bwd_in", self.weights(attrs, tail, head_channels or 0),
                   dims(attrs["y_shape"]), ptr(_f32(dz), f32), dims(attrs["w_shape"]), ptr(head),
                   dims(attrs["x_shape"]), out.ptr())
        return self._finish(out)

    def fc_bwd_w(self, attrs, dz, x):
        shape = (attrs["channels"], attrs["w_shape"][1])
        out = self._out(shape)
        self._call("es_fully_connected_int8_bwd_w", self.affine(attrs, "x"), dims(attrs["y_shape"]),
                   ptr(_f32(dz), f32), dims(attrs["x_shape"]), ptr(_i8(x)), dims(shape), out.ptr())
        return self._finish(out)

    # ------------------------------------------------------------ losses
    def loss_xent(self, attrs, logits, labels):
        shape = (attrs["rows"], attrs["classes"])
        out = self._out(shape)
        loss = np.zeros(1, np.float32)
        labels = np.ascontiguousarray(labels, dtype=np.int32)
        params = LossParams(attrs["scale"], attrs["zero_point"], attrs["beta"])
        self._call("es_loss_softmax_xent_int8", params, dims(shape), ptr(_i8(logits)), ptr(labels, i32),
                   ptr(loss, f32), out.ptr())
        return self._finish(out), float(loss[0])

    def loss_mse(self, attrs, y, target):
        out = self._out(np.shape(y))
        loss = np.zeros(1, np.float32)
        params = LossParams(attrs["scale"], attrs["zero_point"], 1.0)
        self._call("es_loss_mse_int8", params, dims((np.size(y),)), ptr(_i8(y)), ptr(_f32(target), f32),
                   ptr(loss, f32), out.ptr())
        return self._finish(out), float(loss[0])

    # ------------------------------------------------------------ updates (in place)
    def qas_update(self, attrs, param, grad, *rest, step: int = 1) -> None:
        master, rng = self.state(attrs, rest)
        span = attrs["span"]
        c_span = QasSpan(span.rows, span.cols, span.param_stride, span.grad_stride, span.per_channel)
        factor = _f32(attrs["factor"])
        params = QasParams(attrs["lr"], ROUNDING[attrs["rounding"].value])
        is_int8 = param.dtype == np.int8
        ctype = ctypes.c_int8 if is_int8 else i32
        param = self._in_place(param, param.dtype)
        if master is not None:
            name = "es_qas_int8_master_update" if is_int8 else "es_qas_int32_master_update"
            self._call(name, params, c_span, ptr(factor, f32), ptr(_f32(grad), f32),
                       ptr(self._in_place(master, np.float32), f32), ptr(param, ctype))
            return
        name = "es_qas_int8_update" if is_int8 else "es_qas_int32_update"
        rng_ptr = ptr(self._in_place(rng, np.uint32), ctypes.c_uint32) if rng is not None else None
        self._call(name, params, c_span, ptr(factor, f32), ptr(_f32(grad), f32), rng_ptr, ptr(param, ctype))

    def _fused(self, name: str, head: tuple, attrs, param, dz, x, rest, scratch_elements: int) -> None:
        master, rng = self.state(attrs, rest)
        scratch = Guarded((scratch_elements,), np.float32)
        master_ptr = ptr(self._in_place(master, np.float32), f32) if master is not None else None
        rng_ptr = ptr(self._in_place(rng, np.uint32), ctypes.c_uint32) if rng is not None else None
        self._call(name, *head, self.layer(attrs), dims(attrs["y_shape"]), ptr(_f32(dz), f32),
                   dims(attrs["x_shape"]), ptr(_i8(x)), dims(attrs["w_shape"]),
                   ptr(self._in_place(param, np.int8)), master_ptr, rng_ptr, scratch.ptr())
        scratch.check()

    def conv_bwd_w_qas(self, attrs, w, dz, x, *rest, step: int = 1) -> None:
        head = (conv_params(attrs), self.affine(attrs, "x"))
        self._fused("es_conv2d_int8_bwd_w_qas", head, attrs, w, dz, x, rest, attrs["w_shape"][3])

    def depthwise_bwd_w_qas(self, attrs, w, dz, x, *rest, step: int = 1) -> None:
        head = (depthwise_params(attrs), self.affine(attrs, "x"))
        self._fused("es_depthwise_conv2d_int8_bwd_w_qas", head, attrs, w, dz, x, rest, attrs["channels"])

    def fc_bwd_w_qas(self, attrs, w, dz, x, *rest, step: int = 1) -> None:
        head = (self.affine(attrs, "x"),)
        # the kernel code generation calls (the reference's bits; tests/c/int8_fast_check.c)
        kernel = "es_fully_connected_fast_int8_bwd_w_qas"
        self._fused(kernel, head, attrs, w, dz, x, rest, attrs["w_shape"][1])

    def bias_bwd_qas(self, attrs, b, dz, *rest, step: int = 1) -> None:
        master, rng = self.state(attrs, rest)
        scratch = Guarded((attrs["channels"],), np.float32)
        master_ptr = ptr(self._in_place(master, np.float32), f32) if master is not None else None
        rng_ptr = ptr(self._in_place(rng, np.uint32), ctypes.c_uint32) if rng is not None else None
        self._call("es_bias_int32_bwd_qas", self.layer(attrs), dims(attrs["y_shape"]), ptr(_f32(dz), f32),
                   ptr(self._in_place(b, np.int32), i32), master_ptr, rng_ptr, scratch.ptr())
        scratch.check()

    # ------------------------------------------------------------ parameter image
    def records(self, arrays: Sequence[tuple[int, np.ndarray]],
                tails: Sequence[np.ndarray | None] | None = None) -> ctypes.Array:
        """One es_param_record per (tensor, array); with ``tails``, a record whose tail is given is
        a split weight: the array holds its first elements, the tail the rest."""
        items = []
        for index, (tensor, array) in enumerate(arrays):
            assert array.flags.c_contiguous
            tail = None if tails is None else tails[index]
            if tail is None:
                items.append(ParamRecord(tensor, DTYPE_CODE[array.dtype], array.size, array.ctypes.data))
                continue
            assert tail.flags.c_contiguous and tail.dtype == array.dtype
            count, code = array.size + tail.size, DTYPE_CODE[array.dtype]
            items.append(ParamRecord(tensor, code, count, array.ctypes.data, tail.ctypes.data, array.size))
        return (ParamRecord * max(1, len(items)))(*items)

    def image_write(self, arrays: Sequence[tuple[int, np.ndarray]], extra: int = 0,
                    tails: Sequence[np.ndarray | None] | None = None) -> bytes:
        records = self.records(arrays, tails)
        size = int(self.lib.es_params_image_size(records, len(arrays)))
        buffer = np.full(size + extra + 2 * GUARD, 0x5A, np.uint8)
        self._call("es_params_image_write", records, len(arrays), buffer.ctypes.data + GUARD, size + extra)
        assert np.all(buffer[:GUARD] == 0x5A) and np.all(buffer[GUARD + size :] == 0x5A)
        return buffer[GUARD : GUARD + size].tobytes()

    def image_read(self, arrays: Sequence[tuple[int, np.ndarray]], blob: bytes,
                   tails: Sequence[np.ndarray | None] | None = None) -> int:
        records = self.records(arrays, tails)
        data = np.frombuffer(blob, np.uint8).copy()
        return int(self.lib.es_params_image_read(records, len(arrays), data.ctypes.data, data.size))
