"""Frontend: TFLite -> IR. Round trips through the builder, attribute normalization, build-time
folding of converter patterns, dead-op removal, and the errors for unsupported or broken models."""

from __future__ import annotations

import numpy as np
import pytest
from edgesdk.errors import ModelError, UnsupportedOpError
from edgesdk.frontend import SUPPORTED_OPS, import_model, load_model
from edgesdk.ir import NO_TENSOR, Activation, DType, OpKind, Padding
from edgesdk.testing.builder import ModelBuilder
from edgesdk.testing.flatwriter import OpSpec, SubgraphSpec, TensorSpec, write_model

RNG = np.random.default_rng(7)
Q = dict(scale=(0.05,), zero_point=(-3,))  # a per-tensor int8 quantization for hand-made tensors


def _w(*shape: int) -> np.ndarray:
    return (RNG.standard_normal(shape) * 0.3).astype(np.float32)


def _model(tensors, ops, inputs, outputs, extra_subgraphs=()) -> bytes:
    main = SubgraphSpec(tuple(tensors), tuple(ops), tuple(inputs), tuple(outputs))
    return write_model([main, *extra_subgraphs])


def _act(name: str, shape, dtype: str = "int8", **quant) -> TensorSpec:
    if dtype == "int8" and not quant:
        quant = Q
    return TensorSpec(name, tuple(shape), dtype, **quant)


def _const(name: str, data, dtype: str, **quant) -> TensorSpec:
    data = np.asarray(data, dtype=dtype)
    return TensorSpec(name, data.shape, dtype, data=data, **quant)


def _int8_weights(name: str, shape, axis: int) -> TensorSpec:
    data = RNG.integers(-127, 128, size=shape, dtype=np.int8)
    scales = tuple(float(s) for s in RNG.uniform(0.01, 0.02, size=shape[axis]))
    return TensorSpec(name, tuple(shape), "int8", data=data, scale=scales, zero_point=(0,) * len(scales),
                      quantized_dimension=axis)


def _conv_model(**conv_options) -> bytes:
    """input [1,5,5,2] int8 -> CONV_2D 3x3x2 -> 4 channels."""
    options = dict(padding=0, strideH=1, strideW=1, dilationHFactor=1, dilationWFactor=1)
    options.update(conv_options)
    tensors = [
        _act("x", (1, 5, 5, 2)),
        _int8_weights("w", (4, 3, 3, 2), 0),
        _act("y", (1, 5, 5, 4)),
    ]
    return _model(tensors, [OpSpec("CONV_2D", (0, 1, -1), (2,), options)], [0], [2])


# -- round trip ------------------------------------------------------------------------------------
def test_builder_model_round_trips_with_every_attribute() -> None:
    b = ModelBuilder("roundtrip")
    x = b.input((1, 8, 8, 3), range=(0.0, 1.0))
    c = b.conv2d(x, _w(6, 3, 3, 3), _w(6), stride=2, padding="valid", dilation=1, activation="relu6")
    d = b.depthwise_conv2d(c, _w(1, 3, 3, 12), None, depth_multiplier=2, dilation=(1, 1), padding="same")
    e = b.add(d, b.conv2d(c, _w(12, 1, 1, 6), _w(12)), activation="relu")
    p = b.max_pool2d(e, 2, padding="same")
    a = b.avg_pool2d(e, (3, 2), (1, 1), padding="valid")
    m = b.mean(a, (-3, -2), keep_dims=True)
    r = b.reshape(m, (1, -1))
    cat = b.concat([r, b.reshape(p, (1, -1))], axis=-1)
    f = b.fully_connected(cat, _w(5, 12 + 48), _w(5), activation="none")
    padded = b.pad(b.reshape(f, (1, 5, 1, 1)), ((0, 0), (1, 2), (0, 1), (0, 0)))
    b.output(b.softmax(b.reshape(padded, (1, 16)), beta=2.0), b.logistic(f))
    model = b.compile()
    imported = import_model(model.blob)
    graph = imported.graph

    kinds = [op.kind for op in graph.ops]
    assert kinds == [
        OpKind.CONV_2D, OpKind.DEPTHWISE_CONV_2D, OpKind.CONV_2D, OpKind.ADD, OpKind.MAX_POOL_2D,
        OpKind.AVERAGE_POOL_2D, OpKind.MEAN, OpKind.RESHAPE, OpKind.RESHAPE, OpKind.CONCATENATION,
        OpKind.FULLY_CONNECTED, OpKind.RESHAPE, OpKind.PAD, OpKind.RESHAPE, OpKind.SOFTMAX, OpKind.LOGISTIC,
    ]
    ops = graph.ops
    assert dict(ops[0].attrs) == dict(stride=(2, 2), dilation=(1, 1), padding=Padding.VALID,
                                      activation=Activation.RELU6)
    assert ops[1].attrs["depth_multiplier"] == 2 and ops[1].inputs[2] == NO_TENSOR
    assert ops[3].attrs["activation"] is Activation.RELU
    assert dict(ops[4].attrs) == dict(filter=(2, 2), stride=(2, 2), padding=Padding.SAME,
                                      activation=Activation.NONE)
    assert ops[5].attrs["filter"] == (3, 2) and ops[5].attrs["stride"] == (1, 1)
    assert dict(ops[6].attrs) == dict(axes=(1, 2), keep_dims=True)  # negative axes normalized
    assert ops[7].attrs["new_shape"] == (1, 12)  # -1 resolved
    assert ops[9].attrs["axis"] == 1  # -1 normalized on rank 2
    assert dict(ops[10].attrs) == dict(activation=Activation.NONE, keep_num_dims=False)
    assert ops[12].attrs["paddings"] == ((0, 0), (1, 2), (0, 1), (0, 0))
    assert ops[14].attrs["beta"] == 2.0
    # parameterizing constants are attributes, not inputs
    for op in graph.ops:
        if op.kind in (OpKind.MEAN, OpKind.RESHAPE, OpKind.PAD):
            assert len(op.inputs) == 1
    # every tensor is referenced and sits at its index; names and data survive
    referenced = {i for op in graph.ops for i in (*op.inputs, *op.outputs)} | set(graph.inputs)
    assert referenced - {NO_TENSOR} == set(range(len(graph.tensors)))
    assert all(t.index == i for i, t in enumerate(graph.tensors))
    for value_id, quant in model.quant.items():
        tensor = graph.tensors[imported.ir_tensor(model.tensor_index[value_id])]
        assert tensor.quant.scale[0] == pytest.approx(quant.scale, rel=1e-6)
        assert tensor.quant.zero_point[0] == quant.zero_point
        assert tensor.quant.axis is None and tensor.dtype is DType.INT8 and tensor.data is None
    conv_w = graph.tensors[ops[0].inputs[1]]
    assert conv_w.dtype is DType.INT8 and conv_w.shape == (6, 3, 3, 3) and conv_w.quant.axis == 0
    assert graph.tensors[ops[0].inputs[2]].dtype is DType.INT32
    assert graph.tensors[ops[1].inputs[1]].quant.axis == 3
    assert len(graph.outputs) == 2 and graph.name == "roundtrip"


def test_mapping_to_tflite_indices() -> None:
    b = ModelBuilder("map")
    x = b.input((1, 4, 4, 1))
    y = b.mean(b.conv2d(x, _w(2, 3, 3, 1), _w(2)), (1, 2))
    b.output(y)
    model = b.compile()
    imported = import_model(model.blob)
    # the MEAN axes tensor is absorbed; everything else maps one to one
    assert len(imported.tflite_tensor) == len(imported.graph.tensors)
    assert imported.ir_tensor(model.tensor_index[y.id]) == imported.graph.outputs[0]
    assert imported.tflite_op == (0, 1)
    axes_tflite = [i for i in range(6) if i not in imported.tflite_tensor]
    assert len(axes_tflite) == 1 and imported.ir_tensor(axes_tflite[0]) is None


def test_load_from_path_and_bytes_agree(tmp_path) -> None:
    path = tmp_path / "conv.tflite"
    path.write_bytes(_conv_model())
    from_path, from_bytes = load_model(path), load_model(path.read_bytes())
    assert (from_path.name, from_bytes.name) == ("conv", "model")  # the file's stem for "main"
    assert [t.shape for t in from_path.tensors] == [t.shape for t in from_bytes.tensors]
    assert from_path.ops[0].inputs == (0, 1, NO_TENSOR)


# -- folding --------------------------------------------------------------------------------------
def test_folds_the_dynamic_flatten_chain() -> None:
    """SHAPE -> STRIDED_SLICE -> PACK -> RESHAPE, as converted Keras Flatten layers carry it."""
    tensors = [
        _act("x", (1, 4, 4, 2)),
        _act("shape", (4,), "int32"),
        _const("begin", [0], "int32"), _const("end", [1], "int32"), _const("strides", [1], "int32"),
        _act("batch", (), "int32"),
        _const("minus_one", -1, "int32"),
        _act("new_shape", (2,), "int32"),
        _act("flat", (1, 32)),
        _int8_weights("w", (3, 32), 0),
        _act("y", (1, 3)),
    ]
    ops = [
        OpSpec("SHAPE", (0,), (1,), dict(outType=2)),
        OpSpec("STRIDED_SLICE", (1, 2, 3, 4), (5,), dict(shrinkAxisMask=1)),
        OpSpec("PACK", (5, 6), (7,), dict(valuesCount=2, axis=0)),
        OpSpec("RESHAPE", (0, 7), (8,)),
        OpSpec("FULLY_CONNECTED", (8, 9, -1), (10,)),
    ]
    graph = load_model(_model(tensors, ops, [0], [10]))
    assert [op.kind for op in graph.ops] == [OpKind.RESHAPE, OpKind.FULLY_CONNECTED]
    assert graph.ops[0].attrs["new_shape"] == (1, 32)
    assert [t.name for t in graph.tensors] == ["x", "flat", "w", "y"]
    assert graph.ops[1].inputs == (1, 2, NO_TENSOR) and graph.outputs == (3,)


def test_folds_dequantized_float16_weights_of_a_float_model() -> None:
    w16 = _w(4, 3, 3, 2).astype(np.float16)
    tensors = [
        _act("x", (1, 5, 5, 2), "float32"),
        _const("w16", w16, "float16"),
        _act("w", (4, 3, 3, 2), "float32"),
        _act("y", (1, 3, 3, 4), "float32"),
    ]
    ops = [
        OpSpec("DEQUANTIZE", (1,), (2,)),
        OpSpec("CONV_2D", (0, 2, -1), (3,), dict(padding=1, strideH=1, strideW=1)),
    ]
    graph = load_model(_model(tensors, ops, [0], [3]))
    assert [op.kind for op in graph.ops] == [OpKind.CONV_2D]
    weights = graph.tensors[graph.ops[0].inputs[1]]
    assert weights.dtype is DType.FLOAT32 and weights.name == "w"
    np.testing.assert_array_equal(weights.data, w16.astype(np.float32))


def test_folds_quantize_and_transpose_of_weight_constants() -> None:
    w_float = _w(8, 3)  # stored [in, out]: the FC needs [out, in]
    scales = np.abs(w_float.T).max(axis=1) / 127
    tensors = [
        _act("x", (1, 8)),
        _const("w_in_out", w_float, "float32"),
        _const("perm", [1, 0], "int32"),
        _act("w_out_in_float", (3, 8), "float32"),
        TensorSpec("w", (3, 8), "int8", scale=tuple(scales), zero_point=(0, 0, 0), quantized_dimension=0),
        _act("y", (1, 3)),
    ]
    ops = [
        OpSpec("TRANSPOSE", (1, 2), (3,)),
        OpSpec("QUANTIZE", (3,), (4,)),
        OpSpec("FULLY_CONNECTED", (0, 4, -1), (5,)),
    ]
    graph = load_model(_model(tensors, ops, [0], [5]))
    assert [op.kind for op in graph.ops] == [OpKind.FULLY_CONNECTED]
    weights = graph.tensors[graph.ops[0].inputs[1]]
    expected = np.clip(np.round(w_float.T / scales[:, None]), -128, 127).astype(np.int8)
    np.testing.assert_array_equal(weights.data, expected)
    assert weights.quant.axis == 0 and len(graph.tensors) == 3


def test_folds_integer_arithmetic_on_shape_vectors_and_gather() -> None:
    tensors = [
        _act("x", (1, 2, 3, 4)),
        _act("shape", (4,), "int32"),
        _const("idx", [0, 3], "int32"),
        _act("picked", (2,), "int32"),  # [1, 4]
        _const("scale", [1, 6], "int32"),
        _act("new_shape", (2,), "int32"),  # [1, 24]
        _act("y", (1, 24)),
    ]
    ops = [
        OpSpec("SHAPE", (0,), (1,), dict(outType=2)),
        OpSpec("GATHER", (1, 2), (3,), dict(axis=0)),
        OpSpec("MUL", (3, 4), (5,)),
        OpSpec("RESHAPE", (0, 5), (6,)),
    ]
    graph = load_model(_model(tensors, ops, [0], [6]))
    assert [op.kind for op in graph.ops] == [OpKind.RESHAPE]
    assert graph.ops[0].attrs["new_shape"] == (1, 24) and len(graph.tensors) == 2


def test_squeeze_expand_dims_become_reshape_and_zero_padv2_becomes_pad() -> None:
    tensors = [
        _act("x", (1, 1, 1, 6)),
        _act("squeezed", (1, 6)),
        _const("axis", [1], "int32"),
        _act("expanded", (1, 1, 6)),
        _const("pads", [[0, 0], [1, 1], [0, 2]], "int32"),
        _const("pad_value", [-3], "int8", **Q),  # the zero point: real zero
        _act("padded", (1, 3, 8)),
    ]
    ops = [
        OpSpec("SQUEEZE", (0,), (1,), dict(squeezeDims=[1, 2])),
        OpSpec("EXPAND_DIMS", (1, 2), (3,)),
        OpSpec("PADV2", (3, 4, 5), (6,)),
    ]
    graph = load_model(_model(tensors, ops, [0], [6]))
    assert [op.kind for op in graph.ops] == [OpKind.RESHAPE, OpKind.RESHAPE, OpKind.PAD]
    assert graph.ops[0].attrs["new_shape"] == (1, 6) and graph.ops[1].attrs["new_shape"] == (1, 1, 6)
    assert graph.ops[2].attrs["paddings"] == ((0, 0), (1, 1), (0, 2)) and len(graph.ops[2].inputs) == 1


def test_ops_no_output_depends_on_are_dropped() -> None:
    tensors = [_act("x", (1, 4)), _act("side", (1, 4)), _act("y", (1, 4))]
    ops = [OpSpec("TANH", (0,), (1,)), OpSpec("LOGISTIC", (0,), (2,))]
    graph = load_model(_model(tensors, ops, [0], [2]))
    assert [op.kind for op in graph.ops] == [OpKind.LOGISTIC]
    assert [t.name for t in graph.tensors] == ["x", "y"]


def test_quantize_dequantize_at_the_graph_boundary_are_kept() -> None:
    b = ModelBuilder("boundary")
    x = b.input((1, 4, 4, 2), dtype="float32")
    y = b.conv2d(b.quantize(x), _w(3, 1, 1, 2), _w(3))
    b.output(b.dequantize(y))
    graph = load_model(b.build())
    assert [op.kind for op in graph.ops] == [OpKind.QUANTIZE, OpKind.CONV_2D, OpKind.DEQUANTIZE]
    assert graph.tensors[graph.inputs[0]].dtype is DType.FLOAT32
    assert graph.tensors[graph.outputs[0]].dtype is DType.FLOAT32


# -- unsupported models ---------------------------------------------------------------------------
def _check_unsupported(blob: bytes, *fragments: str) -> str:
    with pytest.raises(UnsupportedOpError) as caught:
        load_model(blob)
    message = str(caught.value)
    for fragment in fragments:
        assert fragment in message, message
    return message


def test_unsupported_builtin_names_op_index_and_supported_set() -> None:
    tensors = [_act("x", (1, 4)), _act("h", (1, 4)), _act("y", (1, 4))]
    ops = [OpSpec("LOGISTIC", (0,), (1,)), OpSpec("TANH", (1,), (2,))]
    message = _check_unsupported(_model(tensors, ops, [0], [2]), "op 1 (TANH)", "not supported")
    for name in SUPPORTED_OPS:
        assert name in message


def test_unsupported_custom_op_names_its_code() -> None:
    tensors = [_act("x", (1, 4)), _act("y", (1, 4))]
    ops = [OpSpec("CUSTOM", (0,), (1,), custom_code="EdgeMagic")]
    _check_unsupported(_model(tensors, ops, [0], [1]), "op 0 (CUSTOM(EdgeMagic))", "CONV_2D")


def test_main_subgraph_calling_another_is_unsupported() -> None:
    body = SubgraphSpec((_act("a", (1, 4)),), (), (0,), (0,), name="body")
    tensors = [_act("x", (1, 4)), _act("y", (1, 4))]
    ops = [OpSpec("WHILE", (0,), (1,), dict(condSubgraphIndex=1, bodySubgraphIndex=1))]
    _check_unsupported(_model(tensors, ops, [0], [1], [body]), "op 0 (WHILE)", "calls other subgraphs")


@pytest.mark.parametrize(
    ("options", "fragment"),
    [(dict(fusedActivationFunction=4), "fused activation TANH"),
     (dict(fusedActivationFunction=2), "RELU_N1_TO_1")],
)
def test_unsupported_fused_activation(options, fragment) -> None:
    _check_unsupported(_conv_model(**options), "op 0 (CONV_2D)", fragment)


def test_hybrid_and_grouped_convolutions_are_unsupported() -> None:
    hybrid = [_act("x", (1, 5, 5, 2), "float32"), _int8_weights("w", (4, 3, 3, 2), 0),
              _act("y", (1, 5, 5, 4), "float32")]
    _check_unsupported(_model(hybrid, [OpSpec("CONV_2D", (0, 1, -1), (2,), dict(strideH=1, strideW=1))],
                              [0], [2]), "hybrid")
    grouped = [_act("x", (1, 5, 5, 4)), _int8_weights("w", (4, 3, 3, 2), 0), _act("y", (1, 5, 5, 4))]
    _check_unsupported(_model(grouped, [OpSpec("CONV_2D", (0, 1, -1), (2,), dict(strideH=1, strideW=1))],
                              [0], [2]), "grouped")


def test_weights_quantized_on_the_wrong_axis_are_unsupported() -> None:
    tensors = [_act("x", (1, 5, 5, 2)), _int8_weights("w", (4, 3, 3, 2), 3), _act("y", (1, 5, 5, 4))]
    ops = [OpSpec("CONV_2D", (0, 1, -1), (2,), dict(strideH=1, strideW=1))]
    _check_unsupported(_model(tensors, ops, [0], [2]), "axis 3", "axis 0")


def test_padv2_with_a_nonzero_value_and_non_constant_weights_are_unsupported() -> None:
    tensors = [_act("x", (1, 4)), _const("pads", [[0, 0], [1, 1]], "int32"),
               _const("v", [5], "int8", **Q), _act("y", (1, 6))]
    _check_unsupported(_model(tensors, [OpSpec("PADV2", (0, 1, 2), (3,))], [0], [3]), "real zero")
    matmul = [_act("x", (1, 4)), _act("w", (3, 4)), _act("y", (1, 3))]
    _check_unsupported(_model(matmul, [OpSpec("FULLY_CONNECTED", (0, 1, -1), (2,))], [0, 1], [2]),
                       "must be a constant")


# -- malformed models -----------------------------------------------------------------------------
def test_missing_empty_directory_and_non_tflite_files(tmp_path) -> None:
    with pytest.raises(ModelError, match="does not exist"):
        load_model(tmp_path / "nope.tflite")
    with pytest.raises(ModelError, match="not a file"):
        load_model(tmp_path)
    (tmp_path / "empty.tflite").write_bytes(b"")
    with pytest.raises(ModelError, match="empty"):
        load_model(tmp_path / "empty.tflite")
    (tmp_path / "text.tflite").write_text("this is not a model at all, just some text\n")
    with pytest.raises(ModelError, match="TFL3"):
        load_model(tmp_path / "text.tflite")
    with pytest.raises(ModelError, match="expected a path"):
        load_model(42)  # type: ignore[arg-type]


def test_truncated_model_is_a_model_error() -> None:
    blob = _conv_model()
    for cut in (8, 16, len(blob) // 2, len(blob) - 1):
        with pytest.raises(ModelError):
            load_model(blob[:cut])


def test_stored_output_shape_must_match_the_op() -> None:
    tensors = [_act("x", (1, 5, 5, 2)), _int8_weights("w", (4, 3, 3, 2), 0), _act("y", (1, 5, 5, 3))]
    ops = [OpSpec("CONV_2D", (0, 1, -1), (2,), dict(strideH=1, strideW=1))]
    expected = r"output 'y' has shape \[1, 5, 5, 3\], the op computes \[1, 5, 5, 4\]"
    with pytest.raises(ModelError, match=expected):
        load_model(_model(tensors, ops, [0], [2]))


def test_structural_errors() -> None:
    unwritten = [_act("x", (1, 4)), _act("ghost", (1, 4)), _act("y", (1, 4))]
    with pytest.raises(ModelError, match="before any op writes it"):
        load_model(_model(unwritten, [OpSpec("ADD", (0, 1), (2,))], [0], [2]))
    no_quant = [_act("x", (1, 4)), TensorSpec("y", (1, 4), "int8")]
    with pytest.raises(ModelError, match="no quantization"):
        load_model(_model(no_quant, [OpSpec("LOGISTIC", (0,), (1,))], [0], [1]))
    bad_stride = _conv_model(strideH=0, strideW=1)
    with pytest.raises(ModelError, match="stride"):
        load_model(bad_stride)
