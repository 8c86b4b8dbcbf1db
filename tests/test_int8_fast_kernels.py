"""The fast int8 forward kernels compute the reference kernels' integers, bit for bit.

es_conv2d_1x1_int8_fwd, es_conv2d_rows_int8_fwd and es_depthwise_conv2d_3x3_int8_fwd (runtime_c,
docs/int8-codegen.md) against es_conv2d_int8_fwd / es_depthwise_conv2d_int8_fwd and the numpy
reference: on random geometries (sizes that are not multiples of the 2x2 / 4-byte blocks, odd
channel counts, batch 2, strides 1-3, any padding, asymmetric zero points with input offsets over
their whole range, per-channel and extreme requantizations, biases at the int32 ends, activation
clamps) on the host through ctypes, on every layer of the fixtures they are chosen for, and in
tests/c/int8_fast_check.c on the host and the emulated Cortex-M7 and M4F (the SMLAD paths; there
also the fused convolution -> depthwise kernel against its two reference kernels). Also:
which kernel code generation picks, and the arguments the fast kernels refuse.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable
from pathlib import Path

import int8_lib as il
import numpy as np
import pytest
from edgesdk.codegen.kernels import fast_int8_fwd
from edgesdk.frontend import import_model
from edgesdk.ir import OpKind
from edgesdk.quant import params as qp
from edgesdk.reference import int8 as ref
from edgesdk.toolchain import compile_firmware, kernel_sources, run_firmware
from test_int8_kernels_c import _act, _bias, _graphs, _requant

HERE = Path(__file__).resolve().parent
CHECK = HERE / "c" / "int8_fast_check.c"
CASES = 60
POINTWISE = "es_conv2d_1x1_int8_fwd"
ROWS = "es_conv2d_rows_int8_fwd"
DEPTHWISE = "es_depthwise_conv2d_3x3_int8_fwd"
ARG, SHAPE = 1, 2
Pair = tuple[int, int]
Shape = tuple[int, ...]
ConvCase = tuple[np.ndarray, np.ndarray, np.ndarray | None, qp.ConvInt8Params]
DepthwiseCase = tuple[np.ndarray, np.ndarray, np.ndarray | None, qp.DepthwiseInt8Params]


@pytest.fixture(scope="module")
def kernels(tmp_path_factory: pytest.TempPathFactory) -> il.Int8Kernels:
    return il.Int8Kernels(il.load(il.build(tmp_path_factory.mktemp("int8_fast"))))


# -- random cases ---------------------------------------------------------------------------------


def _offsets(rng: np.random.Generator) -> tuple[int, int]:
    """(input_offset, output_offset); the input offset's ends (-127: zero point 127; 128: zero
    point -128, what a ReLU6 output has) come up often."""
    choice = rng.random()
    input_offset = 128 if choice < 0.2 else -127 if choice < 0.3 else int(rng.integers(-127, 129))
    return input_offset, int(rng.integers(-128, 128))


def _axis(rng: np.random.Generator, size: int, extent: int) -> tuple[int, int, int]:
    """(stride, pad_before, out) of a window of `extent` input positions: any pad the kernels accept
    (0 .. extent - 1) and any output size whose windows start inside the input."""
    stride = int(rng.integers(1, 4))
    pad = int(rng.integers(0, extent))
    largest = (size - 1 + pad) // stride + 1
    return stride, pad, largest if rng.random() < 0.6 else int(rng.integers(1, largest + 1))


def _conv_case(rng: np.random.Generator, pointwise: bool) -> ConvCase:
    n, h, w = int(rng.integers(1, 3)), int(rng.integers(1, 10)), int(rng.integers(1, 10))
    ic, oc = int(rng.integers(1, 42 if pointwise else 10)), int(rng.integers(1, 12))
    extreme = rng.random() < 0.4
    if pointwise:
        kh = kw = 1
        (sh, sw), (dh, dw), (pt, pl), (oh, ow) = (1, 1), (1, int(rng.integers(1, 3))), (0, 0), (h, w)
    else:
        kh, kw, dh, dw = int(rng.integers(1, 5)), int(rng.integers(1, 5)), int(rng.integers(1, 3)), 1
        sh, pt, oh = _axis(rng, h, (kh - 1) * dh + 1)
        sw, pl, ow = _axis(rng, w, kw)
    mult, shift = _requant(rng, oc, extreme)
    p = qp.ConvInt8Params((sh, sw), (dh, dw), pt, pl, (oh, ow), *_offsets(rng), mult, shift, *_act(rng))
    x = rng.integers(-128, 128, (n, h, w, ic)).astype(np.int8)
    weights = rng.integers(-127, 128, (oc, kh, kw, ic)).astype(np.int8)
    return x, weights, _bias(rng, oc, extreme), p


def _depthwise_case(rng: np.random.Generator) -> DepthwiseCase:
    n, h, w = int(rng.integers(1, 3)), int(rng.integers(1, 13)), int(rng.integers(1, 13))
    c = int(rng.integers(1, 20))
    sh, pt, oh = _axis(rng, h, 3)
    sw, pl, ow = _axis(rng, w, 3)
    extreme = rng.random() < 0.4
    mult, shift = _requant(rng, c, extreme)
    p = qp.DepthwiseInt8Params((sh, sw), (1, 1), pt, pl, (oh, ow), 1, *_offsets(rng), mult, shift, *_act(rng))
    x = rng.integers(-128, 128, (n, h, w, c)).astype(np.int8)
    weights = rng.integers(-127, 128, (1, 3, 3, c)).astype(np.int8)
    return x, weights, _bias(rng, c, extreme), p


@pytest.mark.parametrize("kernel", [POINTWISE, ROWS])
def test_conv_variants_equal_the_reference(kernels: il.Int8Kernels, kernel: str) -> None:
    for seed in range(CASES):
        x, w, b, p = _conv_case(np.random.default_rng(seed), pointwise=kernel == POINTWISE)
        expected = ref.conv2d(x, w, b, p)
        np.testing.assert_array_equal(kernels.conv2d(x, w, b, p), expected, err_msg=str(p))
        np.testing.assert_array_equal(kernels.conv2d(x, w, b, p, kernel=kernel), expected, err_msg=str(p))


def test_depthwise_3x3_equals_the_reference(kernels: il.Int8Kernels) -> None:
    for seed in range(CASES):
        x, w, b, p = _depthwise_case(np.random.default_rng(500 + seed))
        expected = ref.depthwise_conv2d(x, w, b, p)
        np.testing.assert_array_equal(kernels.depthwise_conv2d(x, w, b, p), expected, err_msg=str(p))
        np.testing.assert_array_equal(kernels.depthwise_conv2d(x, w, b, p, kernel=DEPTHWISE), expected,
                                      err_msg=str(p))


def test_fully_connected_equals_the_reference(kernels: il.Int8Kernels) -> None:
    """Row counts and depths off the 4-row / 4-byte blocks, input offsets over their range."""
    for seed in range(CASES):
        rng = np.random.default_rng(900 + seed)
        rows, k, out = int(rng.integers(1, 4)), int(rng.integers(1, 70)), int(rng.integers(1, 14))
        extreme = rng.random() < 0.4
        mult, shift = _requant(rng, out, extreme)
        input_offset, output_offset = _offsets(rng)
        p = qp.FullyConnectedInt8Params(input_offset, 0, output_offset, mult, shift, *_act(rng))
        x = rng.integers(-128, 128, (rows, k)).astype(np.int8)
        w = rng.integers(-128, 128, (out, k)).astype(np.int8)
        b = _bias(rng, out, extreme)
        got = kernels.fully_connected(x, w, b, p, kernel="es_fully_connected_fast_int8_fwd")
        np.testing.assert_array_equal(got, ref.fully_connected(x, w, b, p), err_msg=str(p))


def test_fully_connected_refuses_what_it_cannot_do(kernels: il.Int8Kernels) -> None:
    """A weight zero point (per-tensor asymmetric weights) and split weights: ES_ERR_ARG."""
    x, w = np.zeros((1, 8), np.int8), np.zeros((3, 8), np.int8)
    asymmetric = qp.FullyConnectedInt8Params(0, 3, 0, (1 << 30,) * 3, (0,) * 3, -128, 127)
    with pytest.raises(il.KernelError, match="status 1"):
        kernels.fully_connected(x, w, None, asymmetric, kernel="es_fully_connected_fast_int8_fwd")
    whole = qp.FullyConnectedInt8Params(0, 0, 0, (1 << 30,) * 3, (0,) * 3, -128, 127)
    with pytest.raises(il.KernelError, match="status 1"):
        kernels.fully_connected(x, w, None, whole, head_channels=1, kernel="es_fully_connected_fast_int8_fwd")


def test_pointwise_depths_with_their_own_loops(kernels: il.Int8Kernels) -> None:
    """Depths 8 and 16 run loops specialized for them (conv2d_1x1_int8.c); their neighbours the
    general one."""
    for depth in (7, 8, 9, 15, 16, 17):
        rng = np.random.default_rng(depth)
        x = rng.integers(-128, 128, (2, 3, 5, depth)).astype(np.int8)
        w = rng.integers(-127, 128, (7, 1, 1, depth)).astype(np.int8)
        mult, shift = _requant(rng, 7, False)
        p = qp.ConvInt8Params((1, 1), (1, 1), 0, 0, (3, 5), *_offsets(rng), mult, shift, *_act(rng))
        bias = _bias(rng, 7, False)
        got = kernels.conv2d(x, w, bias, p, kernel=POINTWISE)
        np.testing.assert_array_equal(got, ref.conv2d(x, w, bias, p), err_msg=str(depth))


def test_rows_kernel_covers_pointwise_and_strided_1x1(kernels: il.Int8Kernels) -> None:
    """1x1 geometries the pointwise kernel refuses (stride 2, an output smaller than the input)
    go to the rows kernel; it also computes plain pointwise layers."""
    rng = np.random.default_rng(9)
    x = rng.integers(-128, 128, (2, 7, 5, 9)).astype(np.int8)
    w = rng.integers(-127, 128, (5, 1, 1, 9)).astype(np.int8)
    mult, shift = _requant(rng, 5, False)
    for stride, out_hw in (((1, 1), (7, 5)), ((2, 2), (4, 3)), ((1, 1), (6, 4)), ((3, 1), (3, 5))):
        p = qp.ConvInt8Params(stride, (1, 1), 0, 0, out_hw, 128, -3, mult, shift, -128, 127)
        np.testing.assert_array_equal(kernels.conv2d(x, w, None, p, kernel=ROWS), ref.conv2d(x, w, None, p))


# -- the layers of real models ----------------------------------------------------------------------


def test_fast_kernels_on_every_model_layer_they_are_chosen_for(kernels: il.Int8Kernels) -> None:
    rng = np.random.default_rng(12)
    chosen: set[str] = set()
    for blob in _graphs():
        graph = import_model(blob).graph
        for op in graph.ops:
            if op.kind not in (OpKind.CONV_2D, OpKind.DEPTHWISE_CONV_2D):
                continue
            x_shape = (2, *graph.tensor(op.inputs[0]).shape[1:])
            w = graph.tensor(op.inputs[1]).data
            p = ref.prepare_op(graph, op)
            y_shape = (2, *graph.tensor(op.outputs[0]).shape[1:])
            kernel = fast_int8_fwd(p, w.shape, x_shape, y_shape)
            if kernel is None:
                continue
            x = rng.integers(-128, 128, x_shape).astype(np.int8)
            bias = graph.tensor(op.inputs[2]).data if len(op.inputs) > 2 and op.inputs[2] >= 0 else None
            if op.kind is OpKind.CONV_2D:
                got, expected = kernels.conv2d(x, w, bias, p, kernel=kernel), ref.conv2d(x, w, bias, p)
            else:
                got = kernels.depthwise_conv2d(x, w, bias, p, kernel=kernel)
                expected = ref.depthwise_conv2d(x, w, bias, p)
            np.testing.assert_array_equal(got, expected, err_msg=f"{graph.name} op {op.index} {kernel}")
            chosen.add(kernel)
    assert chosen == {POINTWISE, ROWS, DEPTHWISE}


# -- which kernel code generation calls -------------------------------------------------------------


def _conv(stride: Pair = (1, 1), dilation: Pair = (1, 1), pads: Pair = (0, 0), out_hw: Pair = (8, 8)
          ) -> qp.ConvInt8Params:
    return qp.ConvInt8Params(stride, dilation, *pads, out_hw, 0, 0, (1 << 30,), (0,), -128, 127)


def _dw(stride: Pair = (1, 1), dilation: Pair = (1, 1), multiplier: int = 1) -> qp.DepthwiseInt8Params:
    return qp.DepthwiseInt8Params(stride, dilation, 1, 1, (8, 8), multiplier, 0, 0, (1 << 30,), (0,),
                                  -128, 127)


def test_selection_by_geometry() -> None:
    x, y = (1, 8, 8, 4), (1, 8, 8, 6)
    assert fast_int8_fwd(_conv(), (6, 1, 1, 4), x, y) == POINTWISE
    assert fast_int8_fwd(_conv(stride=(2, 2), out_hw=(4, 4)), (6, 1, 1, 4), x, (1, 4, 4, 6)) == ROWS
    assert fast_int8_fwd(_conv(), (6, 1, 1, 4), x, (1, 7, 8, 6)) == ROWS  # output smaller than input
    assert fast_int8_fwd(_conv(pads=(1, 1)), (6, 3, 3, 4), x, y) == ROWS
    assert fast_int8_fwd(_conv(dilation=(2, 1)), (6, 3, 3, 4), x, y) == ROWS
    assert fast_int8_fwd(_conv(dilation=(1, 2)), (6, 3, 3, 4), x, y) is None
    assert fast_int8_fwd(_dw(), (1, 3, 3, 4), x, (1, 8, 8, 4)) == DEPTHWISE
    assert fast_int8_fwd(_dw(stride=(2, 1)), (1, 3, 3, 4), x, (1, 4, 8, 4)) == DEPTHWISE
    assert fast_int8_fwd(_dw(multiplier=2), (1, 3, 3, 8), x, (1, 8, 8, 8)) is None
    assert fast_int8_fwd(_dw(dilation=(2, 2)), (1, 3, 3, 4), x, (1, 8, 8, 4)) is None
    assert fast_int8_fwd(_dw(), (1, 5, 5, 4), x, (1, 8, 8, 4)) is None
    fc = qp.FullyConnectedInt8Params(0, 0, 0, (1 << 30,), (0,), -128, 127)
    assert fast_int8_fwd(fc, (6, 1, 1, 4), (1, 1, 1, 4), (1, 1, 1, 6)) == "es_fully_connected_fast_int8_fwd"
    per_tensor = qp.FullyConnectedInt8Params(0, 3, 0, (1 << 30,), (0,), -128, 127)  # weight zero point -3
    assert fast_int8_fwd(per_tensor, (6, 1, 1, 4), (1, 1, 1, 4), (1, 1, 1, 6)) is None


# -- refusals ---------------------------------------------------------------------------------------


def _status(kernels: il.Int8Kernels, name: str, struct: ctypes.Structure, x_shape: Shape, w_shape: Shape,
            out_shape: Shape) -> int:
    """The status of one call on zero tensors; a refused call must leave its output untouched."""
    x = np.zeros(x_shape, np.int8)
    w = np.zeros(w_shape, np.int8)
    out = il.Guarded(out_shape, fill=np.int8(77))
    kernel = getattr(kernels.lib, name)
    status = int(kernel(struct, il.dims(x_shape), il.ptr(x), il.dims(w_shape), il.ptr(w), None,
                        il.dims(out_shape), out.ptr()))
    out.check()
    if status:
        assert np.all(out.array == 77), name
    return status


MULTIPLIERS = il.i32_array([1 << 30] * 8)
SHIFTS = il.i32_array([0] * 8)


def _conv_struct(**changes: int) -> il.ConvParams:
    fields = dict(stride_h=1, stride_w=1, dilation_h=1, dilation_w=1, pad_top=0, pad_left=0, input_offset=0,
                  output_offset=0, act_min=-128, act_max=127)
    fields.update(changes)
    return il.ConvParams(**fields, multiplier=il.ptr(MULTIPLIERS, il.i32), shift=il.ptr(SHIFTS, il.i32))


def _dw_struct(**changes: int) -> il.DepthwiseParams:
    fields = dict(stride_h=1, stride_w=1, dilation_h=1, dilation_w=1, pad_top=1, pad_left=1,
                  depth_multiplier=1, input_offset=0, output_offset=0, act_min=-128, act_max=127)
    fields.update(changes)
    return il.DepthwiseParams(**fields, multiplier=il.ptr(MULTIPLIERS, il.i32), shift=il.ptr(SHIFTS, il.i32))


def test_pointwise_refuses_other_geometries(kernels: il.Int8Kernels) -> None:
    x, w, y = (1, 4, 4, 3), (5, 1, 1, 3), (1, 4, 4, 5)
    assert _status(kernels, POINTWISE, _conv_struct(), x, w, y) == 0
    assert _status(kernels, POINTWISE, _conv_struct(dilation_h=3), x, w, y) == 0  # one tap: dilation is moot
    assert _status(kernels, POINTWISE, _conv_struct(stride_h=2), x, w, (1, 2, 4, 5)) == ARG
    assert _status(kernels, POINTWISE, _conv_struct(pad_top=1, pad_left=1), x, (5, 3, 3, 3), y) == ARG
    assert _status(kernels, POINTWISE, _conv_struct(), x, (5, 3, 3, 3), (1, 2, 2, 5)) == SHAPE
    assert _status(kernels, POINTWISE, _conv_struct(), x, w, (1, 3, 4, 5)) == SHAPE  # smaller output


def test_rows_refuses_horizontal_dilation(kernels: il.Int8Kernels) -> None:
    x, w = (1, 6, 6, 3), (5, 3, 3, 3)
    assert _status(kernels, ROWS, _conv_struct(dilation_h=2), x, w, (1, 2, 4, 5)) == 0
    assert _status(kernels, ROWS, _conv_struct(dilation_w=2), x, w, (1, 4, 2, 5)) == ARG


def test_depthwise_3x3_refuses_other_geometries(kernels: il.Int8Kernels) -> None:
    x, w, y = (1, 5, 5, 4), (1, 3, 3, 4), (1, 5, 5, 4)
    assert _status(kernels, DEPTHWISE, _dw_struct(), x, w, y) == 0
    assert _status(kernels, DEPTHWISE, _dw_struct(depth_multiplier=2), (1, 5, 5, 2), w, y) == ARG
    assert _status(kernels, DEPTHWISE, _dw_struct(dilation_w=2, pad_left=2), x, w, y) == ARG
    unpadded = _dw_struct(pad_top=0, pad_left=0)
    assert _status(kernels, DEPTHWISE, unpadded, x, (1, 2, 2, 4), (1, 4, 4, 4)) == SHAPE


@pytest.mark.parametrize("fast,reference,struct", [
    (POINTWISE, "es_conv2d_int8_fwd", _conv_struct),
    (ROWS, "es_conv2d_int8_fwd", _conv_struct),
    (DEPTHWISE, "es_depthwise_conv2d_int8_fwd", _dw_struct),
])
def test_fast_kernels_refuse_what_the_reference_refuses(kernels: il.Int8Kernels, fast: str, reference: str,
                                                        struct: Callable[..., ctypes.Structure]) -> None:
    depthwise = fast == DEPTHWISE
    x, w, y = (1, 4, 4, 3), ((1, 3, 3, 3) if depthwise else (3, 1, 1, 3)), (1, 4, 4, 3)
    bad = [dict(act_min=5, act_max=4), dict(output_offset=128), dict(input_offset=-128), dict(stride_h=0),
           dict(dilation_h=0), dict(act_max=128)]
    for changes in bad:
        expected = _status(kernels, reference, struct(**changes), x, w, y)
        assert expected != 0 and _status(kernels, fast, struct(**changes), x, w, y) == expected, changes
    for shapes in ((x, w, (2, 4, 4, 3)), (x, w, (1, 4, 4, 2)), ((1, 4, 4, 2), w, y), (x, w, (1, 9, 4, 3))):
        expected = _status(kernels, reference, struct(), *shapes)
        assert expected == SHAPE and _status(kernels, fast, struct(), *shapes) == SHAPE, shapes
    bad_shift = il.i32_array([0, 32, 0])
    params = struct()
    params.shift = il.ptr(bad_shift, il.i32)
    assert _status(kernels, fast, params, x, w, y) == ARG
    params.multiplier = ctypes.cast(None, il.PI32)
    assert _status(kernels, fast, params, x, w, y) == ARG
    no_data = getattr(kernels.lib, fast)(struct(), il.dims(x), None, il.dims(w), None, None, il.dims(y), None)
    assert no_data == ARG


# -- on the device ----------------------------------------------------------------------------------


def _check_run(board: str, out_dir: Path, defines: tuple[str, ...] = ()) -> dict[str, str]:
    firmware = compile_firmware([CHECK, *kernel_sources()], board=board, target="host" if board == "host" else
                                "emulated", out_dir=out_dir, name="int8_fast_check", defines=defines,
                                include_dirs=[il.SOURCE_DIR])
    return run_firmware(firmware, timeout_s=300).check().results.raw


@pytest.fixture(scope="module")
def host_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return _check_run("host", tmp_path_factory.mktemp("fast_host"))


FAST = ("requantize", "conv2d_1x1", "conv2d_rows", "depthwise_conv2d_3x3", "conv_depthwise",
        "fully_connected", "fully_connected_qas")


def test_host_fast_kernels_equal_the_reference(host_run: dict[str, str]) -> None:
    for name in FAST:
        assert int(host_run[f"cases.{name}"]) >= 120 and int(host_run[f"differ.{name}"]) == 0, name
    assert host_run["mac.dsp"] == "0"


@pytest.mark.parametrize("board", ["stm32f746", "nrf52840"])
def test_emulated_cortex_m_dsp_paths_equal_the_reference(host_run: dict[str, str], board: str,
                                                         tmp_path: Path) -> None:
    run = _check_run(board, tmp_path)
    assert run["mac.dsp"] == "1"  # the SMLAD path is what ran
    for name in FAST:
        assert run[f"cases.{name}"] == host_run[f"cases.{name}"] and int(run[f"differ.{name}"]) == 0, name
        assert run[f"bits.{name}"] == host_run[f"bits.{name}"], name


def test_the_device_comparison_can_fail(tmp_path: Path) -> None:
    run = _check_run("host", tmp_path, defines=("ES_FAST_CHECK_CONTROL",))
    for name in FAST[1:]:
        assert run[f"differ.{name}"] == run[f"cases.{name}"], name


def test_fast_kernels_clean_under_sanitizers(tmp_path: Path) -> None:
    """The device comparison on the host under ASan + UBSan: no report, and every kernel still
    equals its reference."""
    runtime = [p for p in kernel_sources() if p.stem.endswith(("_int8", "_int8_bwd")) or p.stem in
               ("common", "qas_int8_train", "bias_grad_f32")]
    port = [il.RUNTIME / "port" / "host" / "port_host.c", il.RUNTIME / "port" / "common" / "report.c"]
    program = il.build_sanitized(CHECK, tmp_path / "int8_fast_check", [*runtime, *port],
                                 (*il.C_FLAGS, "-DES_PORT_HOST"))
    run = il.run_clean(program, timeout=300)
    lines = [line.split() for line in run.stdout.splitlines() if line.startswith("@es ")]
    results = {words[1]: words[2] for words in lines}
    for name in FAST:
        assert int(results[f"cases.{name}"]) >= 120 and int(results[f"differ.{name}"]) == 0, name
