"""The installed command line, found beside the interpreter that runs the tests (the venv's
``bin/``), never on PATH: the suite must test this clone's edgesdk, not one installed elsewhere."""

from __future__ import annotations

import sys
from pathlib import Path


def console_script(name: str = "edgesdk") -> Path:
    """The console script ``name`` of the environment running the tests; fails when it is missing."""
    script = Path(sys.executable).parent / name
    assert script.is_file(), (
        f"{script} is missing: install this clone into the test environment (make setup, or "
        f"{Path(sys.executable).parent / 'pip'} install -e '.[test]')"
    )
    return script
