"""Runs TFLite Micro in a child process (its reference kernels may abort() on bad scales).

Protocol: a pickled list of jobs on stdin, each ``(model_bytes, samples, stream)`` where
``samples`` lists per-sample input lists; a pickled list of results on stdout, one list per job of
``{tflite tensor index: array}`` per sample, every numeric tensor of the main subgraph preserved.
The interpreter is reset before each sample, except in a ``stream`` job, where the samples are the
consecutive frames of one stream (a streaming model's resource variables carry over).

Tensors of type RESOURCE (a streaming model's variable handles) are not read back: TFLite Micro's
Python wrapper has no array type for them and ``GetTensor`` crashes the process (SIGSEGV) on one.
"""

from __future__ import annotations

import pickle
import sys

import numpy as np
import tflite
from tflite_micro.python.tflite_micro import runtime

_NOT_READABLE = {tflite.TensorType.RESOURCE, tflite.TensorType.VARIANT, tflite.TensorType.STRING}


def _readable_tensors(blob: bytes) -> list[int]:
    graph = tflite.Model.GetRootAs(blob, 0).Subgraphs(0)
    return [i for i in range(graph.TensorsLength()) if graph.Tensors(i).Type() not in _NOT_READABLE]


def _arena_size(blob: bytes) -> int:
    """Room for every tensor kept apart (all are preserved) plus TFLM's own bookkeeping."""
    graph = tflite.Model.GetRootAs(blob, 0).Subgraphs(0)
    total = 0
    for i in range(graph.TensorsLength()):
        shape = graph.Tensors(i).ShapeAsNumpy()
        elements = int(np.prod(shape, dtype=np.int64)) if isinstance(shape, np.ndarray) else 1
        total += 8 * elements + 64  # widest type, plus alignment
    return (1 << 20) + 2 * total


def _run_job(blob: bytes, samples: list[list[np.ndarray]], stream: bool) -> list[dict[int, np.ndarray]]:
    interpreter = runtime.Interpreter.from_bytes(
        blob,
        arena_size=_arena_size(blob),
        intrepreter_config=runtime.InterpreterConfig.kPreserveAllTensors,  # upstream spelling
    )
    readable = _readable_tensors(blob)
    results = []
    interpreter.reset()
    for inputs in samples:
        if not stream:
            interpreter.reset()
        for position, array in enumerate(inputs):
            interpreter.set_input(array, position)
        interpreter.invoke()
        tensors = {}
        for index in readable:
            found = interpreter.GetTensor(index, 0)
            tensors[index] = np.array(found["tensor_data"]).reshape(tuple(found["shape"]))
        results.append(tensors)
    return results


def main() -> None:
    jobs = pickle.load(sys.stdin.buffer)
    output = [_run_job(blob, samples, stream) for blob, samples, stream in jobs]
    sys.stdout.buffer.write(pickle.dumps(output, protocol=pickle.HIGHEST_PROTOCOL))
    sys.stdout.buffer.flush()


if __name__ == "__main__":
    main()
