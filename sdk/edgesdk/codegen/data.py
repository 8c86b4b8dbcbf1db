"""Data the demo firmware carries: a user's data set (``--data FILE.npz``), or pseudo-random
batches that Python can reproduce bit for bit.

A data file is a numpy ``.npz`` with four arrays:

- ``x_train``, ``x_test``: float inputs, ``[n, *sample shape]`` (the model input without its
  batch dimension, e.g. ``[n, 8, 8, 1]``) or ``[n, values per sample]``; real values, as the
  model's float input sees them (not quantized);
- ``y_train``, ``y_test``: class indices ``[n]`` (softmax cross-entropy) or float targets
  ``[n, *output shape]`` (mean squared error).

The firmware trains on ``x_train`` in file order, ``batch`` consecutive samples per step
(samples past the last whole batch are not used), and measures on ``x_test``.

Without a data file the demo trains on pseudo-random batches from a xorshift32 generator;
:func:`pseudo_random_batches` returns exactly the values the C code draws.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgesdk.codegen.model import ModelFacts
from edgesdk.errors import DataError

ARRAYS = ("x_train", "y_train", "x_test", "y_test")
DEFAULT_SEED = 0x2545F491


@dataclass(frozen=True)
class Dataset:
    x_train: np.ndarray  # [n, values per sample] float32
    y_train: np.ndarray  # [n, labels per sample] int32 or float32
    x_test: np.ndarray
    y_test: np.ndarray

    @property
    def train_count(self) -> int:
        return int(self.x_train.shape[0])

    @property
    def test_count(self) -> int:
        return int(self.x_test.shape[0])


def load_dataset(path: Path | str, facts: ModelFacts) -> Dataset:
    """Read and check a data file against the model (raises DataError with what to fix)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(
            f"data file {str(path)!r} does not exist; pass a .npz with arrays {', '.join(ARRAYS)}"
        )
    try:
        with np.load(path, allow_pickle=False) as archive:
            missing = [name for name in ARRAYS if name not in archive.files]
            if missing:
                raise DataError(
                    f"data file {str(path)!r} has no array {', '.join(missing)}; it must hold "
                    f"{', '.join(ARRAYS)} (np.savez(path, x_train=..., y_train=..., x_test=..., y_test=...))"
                )
            arrays = {name: np.asarray(archive[name]) for name in ARRAYS}
    except (OSError, ValueError, zipfile.BadZipFile) as error:
        raise DataError(f"data file {str(path)!r} is not a readable .npz archive: {error}") from None
    x_train = _inputs(arrays["x_train"], "x_train", facts)
    x_test = _inputs(arrays["x_test"], "x_test", facts)
    y_train = _labels(arrays["y_train"], "y_train", facts, x_train.shape[0])
    y_test = _labels(arrays["y_test"], "y_test", facts, x_test.shape[0])
    if x_train.shape[0] < facts.batch:
        raise DataError(
            f"x_train has {x_train.shape[0]} samples, fewer than one batch of {facts.batch}; "
            "add samples or build with a smaller --batch"
        )
    if x_test.shape[0] < 1:
        raise DataError("x_test is empty; keep at least one sample to measure accuracy on")
    return Dataset(x_train, y_train, x_test, y_test)


def _inputs(array: np.ndarray, name: str, facts: ModelFacts) -> np.ndarray:
    if not np.issubdtype(array.dtype, np.number) or array.ndim < 1:
        raise DataError(f"{name} must be a numeric array [n, ...], got {array.dtype} {array.shape}")
    flat = array.reshape(array.shape[0], -1) if array.shape[0] else array.reshape(0, facts.sample_input_count)
    if flat.shape[1] != facts.sample_input_count:
        sample = facts.input_shape[1:] if facts.batch == facts.input_shape[0] else facts.input_shape
        raise DataError(
            f"{name} has shape {array.shape}: {flat.shape[1]} values per sample, but the model takes "
            f"{facts.sample_input_count} per sample ({list(sample)}); give [n, {', '.join(map(str, sample))}]"
        )
    values = flat.astype(np.float32)
    if not np.all(np.isfinite(values)):
        raise DataError(f"{name} holds NaN or infinite values")
    return values


def _labels(array: np.ndarray, name: str, facts: ModelFacts, count: int) -> np.ndarray:
    if array.shape[:1] != (count,):
        raise DataError(f"{name} has {array.shape[0] if array.ndim else 0} entries but its x has {count}")
    flat = array.reshape(count, -1)
    if flat.shape[1] != facts.sample_label_count:
        raise DataError(
            f"{name} has {flat.shape[1]} values per sample; the model's {facts.loss} loss takes "
            f"{facts.sample_label_count}"
        )
    if facts.label_dtype == "int32":
        if not np.issubdtype(array.dtype, np.integer) and not np.all(np.equal(np.mod(flat, 1), 0)):
            raise DataError(f"{name} must hold class indices (integers) for the softmax cross-entropy loss")
        labels = flat.astype(np.int64)
        if labels.size and (labels.min() < 0 or labels.max() >= facts.classes):
            raise DataError(
                f"{name} holds classes {labels.min()}..{labels.max()}, but the model has "
                f"{facts.classes} classes (0..{facts.classes - 1})"
            )
        return labels.astype(np.int32)
    values = flat.astype(np.float32)
    if not np.all(np.isfinite(values)):
        raise DataError(f"{name} holds NaN or infinite values")
    return values


# ---------------------------------------------------------------- pseudo-random demo data


def _xorshift32(state: int) -> int:
    state ^= (state << 13) & 0xFFFFFFFF
    state ^= state >> 17
    state ^= (state << 5) & 0xFFFFFFFF
    return state & 0xFFFFFFFF


def pseudo_random_batches(
    facts: ModelFacts, steps: int, seed: int = DEFAULT_SEED
) -> list[tuple[np.ndarray, np.ndarray]]:
    """The (x, labels) batches the demo main draws without a data file, bit for bit.

    Per step: every input value ``low + (high - low) * u`` in float32 over the model's input
    range, then every label (``r % classes``, or a target ``u`` in [0, 1)), with
    ``u = (r >> 8) * 2**-24`` and ``r`` the next xorshift32 output.
    """
    low, high = np.float32(facts.input_range[0]), np.float32(facts.input_range[1])
    span = np.float32(high - low)
    state = seed
    batches = []
    for _ in range(steps):
        x = np.empty(facts.input_count, dtype=np.float32)
        for i in range(facts.input_count):
            state = _xorshift32(state)
            x[i] = low + span * np.float32((state >> 8) * 2.0**-24)
        if facts.label_dtype == "int32":
            labels = np.empty(facts.label_count, dtype=np.int32)
            for i in range(facts.label_count):
                state = _xorshift32(state)
                labels[i] = state % facts.classes
        else:
            labels = np.empty(facts.label_count, dtype=np.float32)
            for i in range(facts.label_count):
                state = _xorshift32(state)
                labels[i] = np.float32((state >> 8) * 2.0**-24)
        batches.append((x.reshape(facts.input_shape), labels))
    return batches
