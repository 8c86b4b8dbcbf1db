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


def tensor_order(source: str) -> list[int]:
    """The IR indices of ``stream_tensors[]`` in the generated C, in its order."""
    start = source.index("stream_tensors[STREAM_TENSOR_COUNT] = {")
    table = source[start:source.index("};", start)]
    return [int(line.split("{")[1].split(",")[0]) for line in table.splitlines()[1:]]


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
    order = tensor_order((tmp_path / "stream.c").read_text())
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


def _fnv1a(chunks) -> int:  # noqa: ANN001
    value = 2166136261
    for chunk in chunks:
        for byte in np.ascontiguousarray(chunk).view(np.uint8).reshape(-1):
            value = ((value ^ int(byte)) * 16777619) & 0xFFFFFFFF
    return value


def test_generated_c_streams_like_the_reference_in_qemu_on_the_nrf52840(tmp_path):
    """The Cortex-M4 stand-in (mps2-an386) of the nRF52840: outputs of every frame and a checksum of
    every activation after the last one equal the reference's; instructions per inference reported."""
    from edgesdk.toolchain import compile_firmware, run_firmware

    graph = load_model(wakeword_model("hey_jarvis").read_bytes())
    frames = np.load(FEATURES)["hey_jarvis"]
    for name, text in stream_sources(graph, "stream").items():
        (tmp_path / name).write_text(text)
    rows = ",\n".join("    {" + ", ".join(str(int(v)) for v in frame.reshape(-1)) + "}" for frame in frames)
    (tmp_path / "stream_frames.h").write_text(
        f"#define STREAM_FRAME_COUNT {len(frames)}\n"
        f"static const int8_t stream_frames[{len(frames)}][STREAM_INPUT_BYTES] = {{\n{rows}\n}};\n")
    firmware = compile_firmware([Path(__file__).parent / "c" / "stream_board.c", tmp_path / "stream.c",
                                 *il.int8_sources()], board="nrf52840", target="emulated", out_dir=tmp_path,
                                include_dirs=[tmp_path])
    results = run_firmware(firmware, timeout_s=120).check().results
    mine = run_stream(graph, frames)
    assert results["outputs"] == [int(v) for v in mine.outputs(graph).reshape(-1)]
    after_step = {s.read: s.write for s in graph.states}
    text = (tmp_path / "stream.c").read_text()
    order = tensor_order(text)
    assert results["checksum"] == _fnv1a(mine.values[-1][after_step.get(i, i)] for i in order)
    assert results["counter_unit"] == "instructions" and 0 < results["step_worst"] <= results["step_total"]
    print(f"hey_jarvis on the emulated nrf52840: {results['step_total'] / len(frames):.0f} instructions per "
          f"inference (worst {results['step_worst']})")
