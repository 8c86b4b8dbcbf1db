"""Fuzz: mutated, truncated or spliced bytes of real models either import into a consistent
graph or raise ModelError (UnsupportedOpError is one). Never any other exception, never a hang."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
from edgesdk.errors import ModelError
from edgesdk.frontend import load_model
from edgesdk.ir import NO_TENSOR, Graph
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = {
    name: (ROOT / path).read_bytes()
    for name, path in {
        "small_cnn": "tests/fixtures/small_cnn_int8.tflite",
        "patterns": "tests/fixtures/converter_patterns_int8.tflite",
        "float_io": "tests/fixtures/small_cnn_float_io.tflite",
        "digits": "examples/digits/model/digits_cnn.tflite",
        "mobilenet": "tests/fixtures/mobilenetv2_035_96.tflite",
    }.items()
}
# values that break flatbuffer offsets and lengths in interesting ways
NASTY_WORDS = (0, 1, 2, 3, 4, 0x7F, 0x80, 0xFF, 0xFFFF, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF)


def _check_consistent(graph: Graph) -> None:
    count = len(graph.tensors)
    for op in graph.ops:
        for index in (*op.inputs, *op.outputs):
            assert index == NO_TENSOR or 0 <= index < count
    for tensor in graph.tensors:
        if tensor.data is not None:
            assert tensor.data.shape == tensor.shape


@st.composite
def mutated_models(draw) -> bytes:
    name = draw(st.sampled_from(sorted(FIXTURES)))
    blob = bytearray(FIXTURES[name])
    # the flatbuffer's tables sit in the first and last few kilobytes; aim most mutations there
    header = min(len(blob), 4096)
    kind = draw(st.sampled_from(("truncate", "flip", "word", "splice", "mixed")))
    if kind in ("truncate", "mixed"):
        blob = blob[: draw(st.integers(0, len(blob) - 1))]
    if kind in ("flip", "mixed") and blob:
        for _ in range(draw(st.integers(1, 8))):
            area = draw(st.sampled_from(("head", "tail", "anywhere")))
            if area == "head":
                position = draw(st.integers(0, min(header, len(blob)) - 1))
            elif area == "tail":
                position = draw(st.integers(max(0, len(blob) - header), len(blob) - 1))
            else:
                position = draw(st.integers(0, len(blob) - 1))
            blob[position] = draw(st.integers(0, 255))
    if kind == "word" and len(blob) >= 4:
        for _ in range(draw(st.integers(1, 3))):
            position = draw(st.integers(0, len(blob) - 4))
            value = draw(st.sampled_from(NASTY_WORDS + (len(blob), len(blob) - 4)))
            blob[position : position + 4] = struct.pack("<I", value & 0xFFFFFFFF)
    if kind == "splice" and len(blob) > 8:
        start = draw(st.integers(0, len(blob) - 1))
        stop = draw(st.integers(start, min(len(blob), start + 256)))
        filler = draw(st.binary(min_size=0, max_size=64))
        blob = blob[:start] + filler + blob[stop:]
    return bytes(blob)


@settings(max_examples=400, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(mutated_models())
def test_mutated_models_import_or_raise_model_error(blob: bytes) -> None:
    try:
        graph = load_model(blob)
    except ModelError as error:
        assert str(error)
        return
    _check_consistent(graph)


@settings(max_examples=100, deadline=None, derandomize=True, database=None)
@given(st.binary(min_size=0, max_size=512))
def test_random_bytes_raise_model_error(blob: bytes) -> None:
    try:
        load_model(blob)
    except ModelError:
        return
    raise AssertionError("random bytes imported as a model")


def test_every_prefix_of_a_small_model_is_rejected_cleanly() -> None:
    blob = FIXTURES["small_cnn"]
    for cut in np.linspace(0, len(blob) - 1, 97).astype(int):
        try:
            load_model(blob[:cut])
        except ModelError:
            continue
        raise AssertionError(f"a {cut}-byte prefix of a {len(blob)}-byte model imported")
