"""The manifest that marks a directory as a project edgesdk generated (``edgesdk.json``).

``edgesdk build`` writes into an empty or new directory, or -- with ``--force`` -- replaces a
directory that holds this manifest; it never touches a non-empty directory without one.
``edgesdk run`` reads the manifest to know the board, the model's sizes and the firmware built.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgesdk.errors import ProjectError

MANIFEST = "edgesdk.json"
GENERATOR = "edgesdk"
FORMAT = 1


@dataclass(frozen=True)
class Manifest:
    directory: Path
    data: dict[str, Any]

    @property
    def board(self) -> str:
        return str(self.data["board"])

    @property
    def builds(self) -> dict[str, dict[str, Any]]:
        return dict(self.data.get("builds", {}))

    def path(self, relative: str) -> Path:
        return self.directory / relative


def is_project(directory: Path) -> bool:
    path = directory / MANIFEST
    if not path.is_file():
        return False
    try:
        return json.loads(path.read_text()).get("generator") == GENERATOR
    except (OSError, ValueError, AttributeError):
        return False


def prepare_directory(directory: Path, force: bool) -> None:
    """Make ``directory`` ready for a new project (see the module docstring)."""
    try:
        _prepare(directory, force)
    except OSError as error:
        raise ProjectError(
            f"cannot make the project directory {str(directory)!r}: {error.strerror or error}; "
            "choose a writable directory with -o"
        ) from None


def _prepare(directory: Path, force: bool) -> None:
    if directory.exists() and not directory.is_dir():
        raise ProjectError(f"{str(directory)!r} is a file; choose a directory for the project with -o")
    if directory.is_dir() and any(directory.iterdir()):
        if not is_project(directory):
            raise ProjectError(
                f"{str(directory)!r} is not empty and was not made by edgesdk (no {MANIFEST}); "
                "choose a new or empty directory with -o, edgesdk will not write into it"
            )
        if not force:
            raise ProjectError(
                f"{str(directory)!r} already holds an edgesdk project; pass --force to replace it, "
                "or choose another directory with -o"
            )
        shutil.rmtree(directory)
    directory.mkdir(parents=True, exist_ok=True)


def write_manifest(directory: Path, data: dict[str, Any]) -> Manifest:
    document = {"generator": GENERATOR, "format": FORMAT, **data}
    (directory / MANIFEST).write_text(json.dumps(document, indent=2, sort_keys=False) + "\n")
    return Manifest(directory, document)


def read_manifest(directory: Path | str) -> Manifest:
    directory = Path(directory)
    path = directory / MANIFEST
    if not directory.is_dir():
        raise ProjectError(
            f"{str(directory)!r} is not a directory; give the directory `edgesdk build -o` wrote"
        )
    if not path.is_file():
        raise ProjectError(
            f"{str(directory)!r} has no {MANIFEST}, so it is not a project made by `edgesdk build`"
        )
    try:
        document = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise ProjectError(f"{str(path)!r} is not readable JSON ({error}); rebuild the project") from None
    if document.get("generator") != GENERATOR or document.get("format") != FORMAT:
        raise ProjectError(f"{str(path)!r} was not written by this version of edgesdk; rebuild the project")
    return Manifest(directory, document)


def record_build(manifest: Manifest, target: str, info: dict[str, Any]) -> Manifest:
    """Store what a compile produced (firmware path relative to the project, how, sizes)."""
    document = dict(manifest.data)
    builds = dict(document.get("builds", {}))
    builds[target] = info
    document["builds"] = builds
    (manifest.directory / MANIFEST).write_text(json.dumps(document, indent=2) + "\n")
    return Manifest(manifest.directory, document)
