"""Streaming models: resource variables imported as explicit states, run frame by frame in the numpy
reference bit-exact with TFLite Micro (no reset between frames), on a hand-made ring buffer and on
the four pretrained microWakeWord models fed real speech features; and the errors for the ways of
keeping state edgesdk does not run."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from edgesdk.errors import UnsupportedOpError
from edgesdk.frontend import import_model, load_model
from edgesdk.frontend.reader import read_flatbuffer
from edgesdk.ir import OpKind
from edgesdk.reference.streaming import run_stream
from edgesdk.testing.flatwriter import OpSpec, SubgraphSpec, TensorSpec, write_model
from edgesdk.testing.tflm import run_tflm_stream

FEATURES = Path(__file__).parent / "fixtures" / "wakeword_features.npz"
MODELS = ("okay_nabu", "hey_jarvis", "alexa", "hey_mycroft")
Q = dict(scale=(0.05,), zero_point=(-3,))
RNG = np.random.default_rng(16)
INITIAL = RNG.integers(-128, 128, (1, 2, 4)).astype(np.int8)


def wakeword_model(name: str) -> Path:
    spec = importlib.util.find_spec("pymicro_wakeword")
    assert spec is not None and spec.submodule_search_locations, "pip install pymicro-wakeword"
    path = Path(next(iter(spec.submodule_search_locations))) / "models" / f"{name}.tflite"
    assert path.exists(), path
    return path


# -- a hand-made ring buffer: state [1, 2, 4] keeps the last two frames of the input -----------------

def _ring(order: str = "read,assign", init: str = "constant", shared: str = "ring", stateful_op: bool = False,
          second_read: bool = False) -> bytes:
    i32 = lambda name, values: TensorSpec(name, (len(values),), "int32", data=np.array(values, np.int32))  # noqa: E731
    tensors = [
        TensorSpec("frame", (1, 1, 4), "int8", **Q),                         # 0
        TensorSpec("handle", (), "resource"),                                # 1
        TensorSpec("state", (1, 2, 4), "int8", **Q),                         # 2
        TensorSpec("window", (1, 3, 4), "int8", **Q),                        # 3
        i32("begin", [0, -2, 0]), i32("end", [0, 0, 0]), i32("strides", [1, 1, 1]),  # 4 5 6
        TensorSpec("next_state", (1, 2, 4), "int8", **Q),                    # 7
        TensorSpec("state_again", (1, 2, 4), "int8", **Q),                   # 8
    ]
    read = OpSpec("READ_VARIABLE", (1,), (2,))
    assign = OpSpec("ASSIGN_VARIABLE", (1, 7), ())
    body = [
        OpSpec("CONCATENATION", (2, 0), (3,), dict(axis=1)),
        OpSpec("STRIDED_SLICE", (3, 4, 5, 6), (7,), dict(beginMask=5, endMask=7)),
    ]
    ops = [OpSpec("CALL_ONCE", (), (), dict(initSubgraphIndex=1)),
           OpSpec("VAR_HANDLE", (), (1,), dict(sharedName=shared)), read, *body, assign]
    if order == "assign,read":
        ops = [*ops[:2], read, *body, assign, OpSpec("READ_VARIABLE", (1,), (8,))]
    if second_read:
        ops.insert(3, OpSpec("READ_VARIABLE", (1,), (8,)))
    if stateful_op:
        tensors.append(TensorSpec("svdf_state", (1, 8), "int8", **Q))
        ops.append(OpSpec("SVDF", (0, 9), (8,)))
    init_tensors = [TensorSpec("handle", (), "resource"),
                    TensorSpec("zeros", (1, 2, 4), "int8", data=INITIAL, **Q),
                    TensorSpec("computed", (1, 2, 4), "int8", **Q)]
    init_ops = [OpSpec("VAR_HANDLE", (), (0,), dict(sharedName=shared))]
    if init == "constant":
        init_ops.append(OpSpec("ASSIGN_VARIABLE", (0, 1), ()))
    elif init == "computed":
        init_ops += [OpSpec("ADD", (1, 1), (2,)), OpSpec("ASSIGN_VARIABLE", (0, 2), ())]
    main = SubgraphSpec(tuple(tensors), tuple(ops), (0,), (3,))
    return write_model([main, SubgraphSpec(tuple(init_tensors), tuple(init_ops), (), (), name="init")])


def test_ring_buffer_imports_with_an_explicit_state():
    imported = import_model(_ring())
    graph = imported.graph
    assert [op.kind for op in graph.ops] == [OpKind.CONCATENATION, OpKind.SLICE]
    (state,) = graph.states
    assert state.name == "ring"
    assert graph.producer(state.read) is None and state.read not in graph.inputs
    assert graph.producer(state.write) is graph.ops[1]
    np.testing.assert_array_equal(state.initial, INITIAL)
    assert dict(graph.ops[1].attrs) == dict(begin=(0, 1, 0), end=(1, 3, 4), strides=(1, 1, 1))
    assert graph.tensor(state.read).name == "state" and graph.tensor(state.write).name == "next_state"


def test_ring_buffer_streams_like_a_ring_buffer_and_like_tflite_micro():
    blob = _ring()
    graph = load_model(blob)
    frames = RNG.integers(-128, 128, (6, 1, 1, 4)).astype(np.int8)
    run = run_stream(graph, frames)
    theirs = run_tflm_stream(blob, frames)
    history = [INITIAL[0, 0], INITIAL[0, 1]]  # the ring buffer written out by hand
    for t, frame in enumerate(frames):
        window = np.stack([history[-2], history[-1], frame[0, 0]])
        np.testing.assert_array_equal(run.values[t][graph.outputs[0]][0], window)
        np.testing.assert_array_equal(theirs[t][graph.outputs[0]][0], window)
        history.append(frame[0, 0])
    np.testing.assert_array_equal(run.states[0][0], frames[-2:, 0, 0])


@pytest.mark.parametrize(("kwargs", "fragments"), [
    (dict(order="assign,read"), ("streaming/stateful op", "READ_VARIABLE", "after op")),
    (dict(second_read=True), ("streaming/stateful op", "a second time")),
    (dict(init="none"), ("streaming/stateful op", "READ_VARIABLE", "no CALL_ONCE initialization")),
    (dict(init="computed"), ("streaming/stateful op 1:1 (ADD)", "only VAR_HANDLE and ASSIGN_VARIABLE")),
    (dict(shared=""), ("streaming/stateful op", "VAR_HANDLE", "no shared name")),
    (dict(stateful_op=True), ("streaming/stateful op 6 (SVDF)", "keeps state")),
])
def test_state_edgesdk_cannot_run_is_named_as_streaming(kwargs, fragments):
    with pytest.raises(UnsupportedOpError) as caught:
        load_model(_ring(**kwargs))
    for fragment in fragments:
        assert fragment in str(caught.value), str(caught.value)


# -- the four pretrained microWakeWord models ----------------------------------------------------------

def test_wakeword_models_import_with_their_ring_buffers():
    for name in MODELS:
        blob = wakeword_model(name).read_bytes()
        raw = read_flatbuffer(blob)
        graph = load_model(blob)
        variables = sum(op.name == "VAR_HANDLE" for op in raw.ops)
        assert len(graph.states) == variables == 6, name
        splits = sum(op.name == "SPLIT_V" for op in raw.ops)
        slices = sum(op.name == "STRIDED_SLICE" for op in raw.ops) + 2 * splits
        assert sum(op.kind is OpKind.SLICE for op in graph.ops) == slices, name
        init = raw.subgraphs[1]
        names = {op.outputs[0]: op.options["SharedName"] for op in init.ops if op.name == "VAR_HANDLE"}
        initial = {names[op.inputs[0]]: init.tensors[op.inputs[1]].data
                   for op in init.ops if op.name == "ASSIGN_VARIABLE"}
        assert sorted(initial) == sorted(s.name for s in graph.states), name
        for state in graph.states:
            np.testing.assert_array_equal(state.initial, initial[state.name])
            read = graph.tensor(state.read)
            assert state.initial.shape == read.shape and graph.tensor(state.write).shape == read.shape
            assert graph.producer(state.write) is not None and graph.producer(state.read) is None
        # every state starts as the quantized zero of its buffer (what microWakeWord's exporter writes)
        assert all(np.all(s.initial == graph.tensor(s.read).quant.zero_point[0]) for s in graph.states), name


def test_wakeword_models_stream_bit_exact_with_tflite_micro():
    """Every numeric tensor of every inference over a spoken phrase and a non-wake phrase."""
    features = np.load(FEATURES)
    for name in MODELS:
        blob = wakeword_model(name).read_bytes()
        graph = load_model(blob)
        frames = np.concatenate([features[name], features["other"]])
        mine = run_stream(graph, frames)
        theirs = run_tflm_stream(blob, frames)
        assert len(theirs) == len(frames)
        compared = 0
        for t, (ours, expected) in enumerate(zip(mine.values, theirs, strict=True)):
            for index, value in expected.items():
                if graph.tensor(index).is_constant:
                    continue
                np.testing.assert_array_equal(ours[index].reshape(value.shape), value,
                                              err_msg=f"{name} frame {t} tensor {graph.tensor(index).name}")
                compared += 1
        probability = mine.outputs(graph).ravel()
        # the phrase drives the probability up and back down: the comparison covers live outputs
        assert probability.max() > 32 and probability[-10:].max() < probability.max(), (name, probability)
        assert compared >= len(frames) * len(graph.ops), name


def test_streams_run_side_by_side_like_one_at_a_time():
    features = np.load(FEATURES)
    graph = load_model(wakeword_model("hey_jarvis").read_bytes())
    count = min(len(features[name]) for name in MODELS)
    together = np.stack([features[name][:count, 0] for name in MODELS], axis=1)  # [T, 4, 3, 40]
    batched = run_stream(graph, together).outputs(graph)[:, :, 0]
    for k, name in enumerate(MODELS):
        alone = run_stream(graph, features[name][:count]).outputs(graph)[:, 0, 0]
        np.testing.assert_array_equal(batched[:, k], alone)


def test_cli_shows_the_states_and_refuses_to_train_a_streaming_model():
    from click.testing import CliRunner
    from edgesdk.cli import main

    path = wakeword_model("hey_jarvis")
    shown = CliRunner().invoke(main, ["inspect", str(path)])
    assert shown.exit_code == 0, shown.output
    state_lines = [line for line in shown.output.splitlines() if line.strip().startswith("state ")]
    assert len(state_lines) == 6 and "stream_1/states" in shown.output
    planned = CliRunner().invoke(main, ["plan", str(path), "--board", "nrf52840"])
    assert planned.exit_code != 0 and "streaming model (6 states" in planned.output
    assert "Traceback" not in planned.output
