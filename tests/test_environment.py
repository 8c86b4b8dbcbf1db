"""The suite runs on the clone's own environment: its .venv, with every package it imports
installed there. A package found only in the base interpreter (or the user's site-packages) would
pass here and fail on a fresh machine, so it fails here."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# what the SDK and the suite import from outside the standard library
PACKAGES = (
    "numpy", "scipy", "jinja2", "click", "tflite", "flatbuffers", "matplotlib", "elftools",
    "pytest", "hypothesis", "tflite_micro", "ai_edge_litert", "torch", "sklearn", "platformio",
    "SCons", "pymicro_wakeword", "pymicro_features", "highspy",
)


def test_runs_in_a_virtual_environment() -> None:
    assert sys.prefix != sys.base_prefix, f"the tests run on {sys.executable}, not in a virtual environment"


def test_the_user_site_is_not_on_the_path() -> None:
    import site

    user_site = site.getusersitepackages()
    assert not any(Path(p) == Path(user_site) for p in sys.path if p), f"{user_site} is on sys.path"


@pytest.mark.parametrize("name", PACKAGES)
def test_package_comes_from_the_test_environment(name: str) -> None:
    module = importlib.import_module(name)
    location = Path(module.__file__ or next(iter(module.__path__))).resolve()
    assert Path(sys.prefix).resolve() in location.parents, (
        f"{name} is imported from {location}, outside the test environment {sys.prefix}; "
        f"install it there (it is missing from pyproject.toml's test extras?)"
    )


def test_edgesdk_is_this_clone() -> None:
    import edgesdk

    assert REPO / "sdk" / "edgesdk" == Path(edgesdk.__file__).resolve().parent
