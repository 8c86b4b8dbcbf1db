"""Streaming inference in numpy: a streaming model (``graph.states``) run frame after frame.

    run = run_stream(graph, frames)          # frames [T, *input shape] (or [T, N, ...] for N streams)
    run.values[t][graph.outputs[0]]          # every tensor of inference t, keyed by IR index
    run.states                               # the states after the last frame

Each inference is :func:`edgesdk.reference.int8.run_int8` with the states the previous one wrote
(the ``write`` tensor of each :class:`edgesdk.ir.State` becomes its ``read`` tensor), starting
from the initial values: what TFLite Micro computes when it is invoked once per frame without a
reset. N independent streams run side by side when each frame carries N samples on axis 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from edgesdk.ir import Graph
from edgesdk.reference.int8 import run_int8


@dataclass(frozen=True)
class StreamRun:
    values: tuple[dict[int, np.ndarray], ...]  # per frame, every tensor by IR index
    states: tuple[np.ndarray, ...]  # the states after the last frame, in graph.states order

    def outputs(self, graph: Graph, position: int = 0) -> np.ndarray:
        """Output ``position`` of every frame, stacked on a new axis 0."""
        return np.stack([v[graph.outputs[position]] for v in self.values])


def initial_states(graph: Graph) -> tuple[np.ndarray, ...]:
    return tuple(np.array(state.initial) for state in graph.states)


def run_stream(graph: Graph, frames: np.ndarray | Sequence[np.ndarray],
               states: Sequence[np.ndarray] | None = None) -> StreamRun:
    """Run one inference per frame, carrying the states from each to the next."""
    if not graph.states:
        raise ValueError(f"model {graph.name!r} has no states; run_int8 runs it")
    current = initial_states(graph) if states is None else tuple(np.asarray(s) for s in states)
    per_frame = []
    for frame in frames:
        values = run_int8(graph, np.asarray(frame), current)
        current = tuple(values[state.write] for state in graph.states)
        per_frame.append(values)
    return StreamRun(tuple(per_frame), current)
