"""Progress for work that takes more than a moment: a spinner with the elapsed time on the
terminal, nothing at all when the output is not a terminal or is a JSON document.

    with progress("planning", enabled=not as_json) as status:
        status.update("MILP: 755 binaries")
        ...

Drawn on stderr, so that stdout stays the command's own output (tables, JSON).
"""

from __future__ import annotations

import itertools
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from edgesdk.plan.milp import SOLVER_PROGRESS

FRAMES = "|/-\\"
INTERVAL_S = 0.2


class Status:
    """What the spinner line says after its label; :meth:`update` changes it."""

    def __init__(self) -> None:
        self.detail = ""

    def update(self, detail: str) -> None:
        self.detail = detail


@contextmanager
def progress(label: str, *, enabled: bool = True) -> Iterator[Status]:
    """The spinner; the planner's solver reports (incumbent, bound, gap) show in its line."""
    status = Status()
    stream = sys.stderr
    if not (enabled and stream.isatty()):
        yield status
        return
    token = SOLVER_PROGRESS.set(status.update)
    started = time.monotonic()
    done = threading.Event()

    def draw() -> None:
        width = 0
        for frame in itertools.cycle(FRAMES):
            if done.wait(INTERVAL_S):
                break
            line = f"{frame} {label} {time.monotonic() - started:5.1f} s"
            line += f"  {status.detail}" if status.detail else ""
            stream.write("\r" + line.ljust(width))
            stream.flush()
            width = len(line)
        stream.write("\r" + " " * width + "\r")
        stream.flush()

    thread = threading.Thread(target=draw, daemon=True)
    thread.start()
    try:
        yield status
    finally:
        SOLVER_PROGRESS.reset(token)
        done.set()
        thread.join()
