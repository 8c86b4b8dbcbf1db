"""Runs TFLite Micro in a child process (its reference kernels may abort() on bad scales).

Protocol: a pickled list of jobs on stdin, each ``(model_bytes, [input arrays], [samples])``
where ``samples`` lists per-sample input lists; a pickled list of results on stdout, one list per
job of ``{tflite tensor index: array}`` per sample, every tensor of the main subgraph preserved.
"""

from __future__ import annotations

import pickle
import sys

import numpy as np
import tflite
from tflite_micro.python.tflite_micro import runtime


def _tensor_count(blob: bytes) -> int:
    return int(tflite.Model.GetRootAs(blob, 0).Subgraphs(0).TensorsLength())


def _arena_size(blob: bytes) -> int:
    """Room for every tensor kept apart (all are preserved) plus TFLM's own bookkeeping."""
    graph = tflite.Model.GetRootAs(blob, 0).Subgraphs(0)
    total = 0
    for i in range(graph.TensorsLength()):
        shape = graph.Tensors(i).ShapeAsNumpy()
        elements = int(np.prod(shape, dtype=np.int64)) if isinstance(shape, np.ndarray) else 1
        total += 8 * elements + 64  # widest type, plus alignment
    return (1 << 20) + 2 * total


def _run_job(blob: bytes, samples: list[list[np.ndarray]]) -> list[dict[int, np.ndarray]]:
    interpreter = runtime.Interpreter.from_bytes(
        blob,
        arena_size=_arena_size(blob),
        intrepreter_config=runtime.InterpreterConfig.kPreserveAllTensors,  # upstream spelling
    )
    count = _tensor_count(blob)
    results = []
    for inputs in samples:
        interpreter.reset()
        for position, array in enumerate(inputs):
            interpreter.set_input(array, position)
        interpreter.invoke()
        tensors = {}
        for index in range(count):
            found = interpreter.GetTensor(index, 0)
            tensors[index] = np.array(found["tensor_data"]).reshape(tuple(found["shape"]))
        results.append(tensors)
    return results


def main() -> None:
    jobs = pickle.load(sys.stdin.buffer)
    output = [_run_job(blob, samples) for blob, samples in jobs]
    sys.stdout.buffer.write(pickle.dumps(output, protocol=pickle.HIGHEST_PROTOCOL))
    sys.stdout.buffer.flush()


if __name__ == "__main__":
    main()
