"""Streaming inference in generated C (edgesdk.codegen.stream) against the numpy reference: every
activation of every inference of the four microWakeWord models over spoken phrases, built for the
host under AddressSanitizer + UndefinedBehaviorSanitizer with -Wall -Wextra -Werror; the Cortex-M4
build of the same sources; and what the generator refuses."""

from __future__ import annotations

import subprocess
from pathlib import Path

import int8_lib as il
import numpy as np
import pytest
from edgesdk.codegen.stream import stream_sources
from edgesdk.errors import UnsupportedOpError
from edgesdk.frontend import load_model
from edgesdk.reference.streaming import run_stream
from test_streaming import FEATURES, MODELS, wakeword_model

DRIVER = Path(__file__).resolve().parent / "c" / "stream_driver.c"


def build_stream(graph, folder: Path) -> Path:
    for name, text in stream_sources(graph, "stream").items():
        (folder / name).write_text(text)
    return il.build_sanitized(DRIVER, folder / "stream_driver", [folder / "stream.c", *il.int8_sources()],
                              flags=(*il.C_FLAGS, f"-I{folder}"))


def run_c(program: Path, frames: np.ndarray) -> bytes:
    result = subprocess.run([str(program)], input=np.ascontiguousarray(frames).tobytes(), capture_output=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr.decode()[-3000:]
    assert b"runtime error" not in result.stderr
    return result.stdout


# alexa and hey_mycroft have hey_jarvis's architecture: in the slow suite only
SLOW = ("alexa", "hey_mycroft")


@pytest.mark.parametrize("name", [pytest.param(m, marks=pytest.mark.slow) if m in SLOW else m
                                  for m in MODELS])
def test_generated_c_streams_like_the_reference(name, tmp_path):
    graph = load_model(wakeword_model(name).read_bytes())
    features = np.load(FEATURES)
    frames = np.concatenate([features[name], features["other"]])
    program = build_stream(graph, tmp_path)
    raw = run_c(program, frames)
    header = (tmp_path / "stream.c").read_text()
    order = [int(line.split("{")[1].split(",")[0]) for line in header.splitlines()
             if line.startswith("    { ") and line.rstrip().endswith("},") and line.count(",") == 3]
    sizes = [graph.tensor(i).nbytes for i in order]
    assert len(raw) == len(frames) * sum(sizes)
    mine = run_stream(graph, frames)
    # after a step a state's read buffer already holds the next state: the write of that frame
    after_step = {s.read: s.write for s in graph.states}
    position = 0
    for t in range(len(frames)):
        for index, size in zip(order, sizes, strict=True):
            tensor = graph.tensor(index)
            got = np.frombuffer(raw[position:position + size], tensor.dtype.numpy).reshape(tensor.shape)
            position += size
            expected = mine.values[t][after_step.get(index, index)]
            np.testing.assert_array_equal(got, expected.reshape(tensor.shape),
                                          err_msg=f"{name} frame {t} tensor {tensor.name}")
    assert set(order) >= {graph.outputs[0], *(s.read for s in graph.states), *(s.write for s in graph.states)}
    assert mine.outputs(graph).max() > 32  # live outputs compared


def test_generated_c_builds_for_the_cortex_m4(tmp_path):
    graph = load_model(wakeword_model("okay_nabu").read_bytes())
    for name, text in stream_sources(graph, "stream").items():
        (tmp_path / name).write_text(text)
    flags = ("-mcpu=cortex-m4", "-mthumb", "-mfpu=fpv4-sp-d16", "-mfloat-abi=hard", "-O2")
    result = subprocess.run(["arm-none-eabi-gcc", *il.C_FLAGS, *flags, f"-I{il.INCLUDE_DIR}", f"-I{tmp_path}",
                             "-c", str(tmp_path / "stream.c"), "-o", str(tmp_path / "stream.o")],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_generator_refuses_what_it_cannot_run():
    digits = Path(__file__).resolve().parents[1] / "examples" / "digits" / "model" / "digits_cnn.tflite"
    with pytest.raises(UnsupportedOpError, match="not a streaming model"):
        stream_sources(load_model(digits))
