"""Where the shipped data folders (templates/, runtime_c/, boards/) are on this installation."""

from __future__ import annotations

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


def data_root() -> Path:
    """The folder that holds templates/, runtime_c/ and boards/.

    A wheel carries them in ``edgesdk/_data``; a source checkout (editable install) has them at the
    repository's top level, two levels above this package.
    """
    installed = _PACKAGE_DIR / "_data"
    if (installed / "templates").is_dir():
        return installed
    return _PACKAGE_DIR.parent.parent


def templates_dir() -> Path:
    return data_root() / "templates"


def runtime_dir() -> Path:
    return data_root() / "runtime_c"


def boards_dir() -> Path:
    return data_root() / "boards"
