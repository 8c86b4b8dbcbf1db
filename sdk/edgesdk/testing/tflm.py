"""TFLite Micro as an oracle: every tensor of a model after one inference, keyed by IR index.

    values = run_tflm(blob, x_int8)          # {IR tensor index: array}
    values[graph.outputs[0]]

TFLite Micro runs in a child process (its reference softmax can ``abort()`` the process on
degenerate scales) with all intermediate tensors preserved. TFLite tensor indices are mapped to
the IR's through :func:`edgesdk.frontend.import_model`; tensors the frontend folded away or dropped
are not returned (``run_tflm_raw`` keeps the TFLite indices and returns everything).

Batches: an input of shape ``[N, *shape[1:]]`` with ``N`` larger than the model's batch runs
``N`` inferences; activations are stacked along axis 0, constants returned once.

Streaming models (resource variables): ``run_tflm_stream(blob, frames)`` invokes the interpreter
once per frame without a reset in between, so the variables carry over, and returns one
``{IR tensor index: array}`` per frame. Variable handles (RESOURCE tensors) are never read back.
"""

from __future__ import annotations

import pickle
import subprocess
import sys
from collections.abc import Sequence

import numpy as np

from edgesdk.frontend import import_model
from edgesdk.frontend.reader import read_flatbuffer


class TflmError(RuntimeError):
    """TFLite Micro rejected the model or crashed while running it."""


def _split_samples(blob: bytes, inputs: np.ndarray | Sequence[np.ndarray]) -> list[list[np.ndarray]]:
    raw = read_flatbuffer(blob)
    arrays = [inputs] if isinstance(inputs, np.ndarray) else list(inputs)
    if len(arrays) != len(raw.inputs):
        raise ValueError(f"the model has {len(raw.inputs)} inputs, {len(arrays)} arrays given")
    per_input: list[list[np.ndarray]] = []
    for array, index in zip(arrays, raw.inputs, strict=True):
        tensor = raw.tensors[index]
        array = np.asarray(array).astype(tensor.dtype)
        if array.shape == tensor.shape:
            per_input.append([array])
        elif tensor.shape and tensor.shape[0] == 1 and array.shape[1:] == tensor.shape[1:]:
            per_input.append([array[i : i + 1] for i in range(array.shape[0])])
        else:
            raise ValueError(f"input {tensor.name!r} has shape {list(tensor.shape)}, got {list(array.shape)}")
    if len({len(samples) for samples in per_input}) != 1:
        raise ValueError("all inputs must hold the same number of samples")
    return [list(sample) for sample in zip(*per_input, strict=True)]


def run_tflm_raw_batch(
    jobs: Sequence[tuple[bytes, np.ndarray | Sequence[np.ndarray]]], *, timeout: float = 300.0,
    stream: bool = False,
) -> list[list[dict[int, np.ndarray]]]:
    """Run several models in one child process; per job, per sample, ``{TFLite index: array}``.

    ``stream``: the samples of a job are consecutive frames (no reset between them)."""
    payload = [(bytes(blob), _split_samples(bytes(blob), inputs), stream) for blob, inputs in jobs]
    process = subprocess.run(
        [sys.executable, "-m", "edgesdk.testing._tflm_worker"],
        input=pickle.dumps(payload), capture_output=True, timeout=timeout, check=False,
    )
    if process.returncode != 0:
        detail = process.stderr.decode(errors="replace").strip().splitlines()[-5:]
        raise TflmError(f"TFLite Micro exited with status {process.returncode}: " + " | ".join(detail))
    return pickle.loads(process.stdout)


def run_tflm_raw(blob: bytes, inputs: np.ndarray | Sequence[np.ndarray]) -> list[dict[int, np.ndarray]]:
    """Every tensor by TFLite index, one dict per sample."""
    return run_tflm_raw_batch([(blob, inputs)])[0]


def _to_ir(blob: bytes, samples: list[dict[int, np.ndarray]]) -> dict[int, np.ndarray]:
    imported = import_model(blob)
    result: dict[int, np.ndarray] = {}
    for ir_index, tflite_index in enumerate(imported.tflite_tensor):
        tensor = imported.graph.tensors[ir_index]
        if tensor.is_constant or len(samples) == 1:
            result[ir_index] = samples[0][tflite_index]
        else:
            result[ir_index] = np.concatenate([s[tflite_index] for s in samples], axis=0)
    return result


def run_tflm_batch(
    jobs: Sequence[tuple[bytes, np.ndarray | Sequence[np.ndarray]]], *, timeout: float = 300.0
) -> list[dict[int, np.ndarray]]:
    """:func:`run_tflm` for several models in one child process (saves the start-up per model)."""
    raw = run_tflm_raw_batch(jobs, timeout=timeout)
    return [_to_ir(bytes(blob), samples) for (blob, _), samples in zip(jobs, raw, strict=True)]


def run_tflm_stream(model_bytes: bytes, frames: np.ndarray, *, timeout: float = 300.0
                    ) -> list[dict[int, np.ndarray]]:
    """A streaming model invoked once per frame (``frames`` [T, *input shape]), states carried over;
    every numeric tensor of every inference, keyed by IR tensor index."""
    frames = np.asarray(frames)
    samples = run_tflm_raw_batch([(model_bytes, frames.reshape(-1, *frames.shape[2:]))], timeout=timeout,
                                 stream=True)[0]
    imported = import_model(model_bytes)
    return [{ir: sample[tf] for ir, tf in enumerate(imported.tflite_tensor)} for sample in samples]


def run_tflm(model_bytes: bytes, input_int8: np.ndarray | Sequence[np.ndarray]) -> dict[int, np.ndarray]:
    """All tensors after inference, keyed by IR tensor index (see the module docstring)."""
    return run_tflm_batch([(model_bytes, input_int8)])[0]
