"""TFLite Micro in a child process for models with resource variables (streaming models).

Like edgesdk.testing's worker, but reads back only tensors of numeric types: reading a RESOURCE
tensor of such a model crashes the interpreter. Protocol: a pickled list of
``(model bytes, [input array per sample])`` on stdin; on stdout a pickled list, per job, of one
``{tflite tensor index: array}`` per sample (the interpreter is reset before each sample).

    python tests/int8_tflm_worker.py < jobs.pickle > results.pickle
"""

from __future__ import annotations

import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np

NUMERIC_TYPES = {"INT8", "UINT8", "INT16", "INT32", "FLOAT32"}


def run_streaming_tflm(jobs: list[tuple[bytes, list[np.ndarray]]]) -> list[list[dict[int, np.ndarray]]]:
    """Run the jobs in a child process (an aborting kernel cannot take the caller down)."""
    process = subprocess.run([sys.executable, str(Path(__file__).resolve())], input=pickle.dumps(jobs),
                             capture_output=True, timeout=300, check=False)
    if process.returncode != 0:
        raise RuntimeError(f"TFLite Micro failed ({process.returncode}): {process.stderr.decode()[-800:]}")
    return pickle.loads(process.stdout)


def _numeric_tensors(blob: bytes) -> list[int]:
    import tflite

    names = {value: name for name, value in vars(tflite.TensorType).items() if not name.startswith("_")}
    graph = tflite.Model.GetRootAs(blob, 0).Subgraphs(0)
    return [i for i in range(graph.TensorsLength()) if names.get(graph.Tensors(i).Type()) in NUMERIC_TYPES]


def _main() -> None:
    from tflite_micro.python.tflite_micro import runtime

    results = []
    for blob, samples in pickle.load(sys.stdin.buffer):
        interpreter = runtime.Interpreter.from_bytes(
            blob, arena_size=1 << 22, intrepreter_config=runtime.InterpreterConfig.kPreserveAllTensors)
        readable = _numeric_tensors(blob)
        per_sample = []
        for sample in samples:
            interpreter.reset()
            interpreter.set_input(sample, 0)
            interpreter.invoke()
            found = {}
            for index in readable:
                tensor = interpreter.GetTensor(index, 0)
                found[index] = np.array(tensor["tensor_data"]).reshape(tuple(tensor["shape"]))
            per_sample.append(found)
        results.append(per_sample)
    sys.stdout.buffer.write(pickle.dumps(results))


if __name__ == "__main__":
    _main()
