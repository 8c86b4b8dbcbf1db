"""A non-editable install into a fresh virtual environment carries everything the SDK needs.

templates/, runtime_c/ and boards/ live at the top of the repository; the wheel must ship them
inside the package, and the installed ``edgesdk`` must find them there (not in this checkout).
"""

from __future__ import annotations

import json
import site
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
FIXTURES = sorted((REPO / "tests" / "fixtures").glob("*.tflite"))


def _test_site_packages() -> list[str]:
    """The site-packages of the environment running the tests (the clone's .venv): where the
    wheel's dependencies are installed. Never the base interpreter's, which may lack them."""
    return [p for p in site.getsitepackages() if Path(p).is_dir()]


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv that gets edgesdk from a built wheel and its dependencies from the test environment's
    site-packages (a .pth line; the editable install's finder there is not loaded: .pth files of
    a directory named in a .pth are not processed)."""
    root = tmp_path_factory.mktemp("wheel")
    wheel_dir = root / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(wheel_dir), str(REPO)],
        check=True, capture_output=True, text=True,
    )
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site_dir = next((venv / "lib").glob("python*/site-packages"))
    (site_dir / "edgesdk_test_dependencies.pth").write_text("\n".join(_test_site_packages()) + "\n")
    wheels = list(wheel_dir.glob("edgesdk-*.whl"))
    assert len(wheels) == 1, wheels
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "-q", "--no-deps",
         "--force-reinstall", str(wheels[0])],
        check=True, capture_output=True, text=True, cwd=root,
    )
    return venv


def _files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*")
                  if p.is_file() and "__pycache__" not in p.parts)


def _run(venv: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # cwd outside the checkout, so nothing can be found through the source tree by accident
    return subprocess.run([str(venv / "bin" / "edgesdk"), *args], capture_output=True, text=True,
                          cwd=venv.parent)


def test_wheel_ships_data_folders_inside_the_package(installed: Path) -> None:
    code = (
        "import json, edgesdk.resources as r; "
        "print(json.dumps([str(r.data_root()), str(r.templates_dir()), "
        "str(r.runtime_dir()), str(r.boards_dir())]))"
    )
    done = subprocess.run([str(installed / "bin" / "python"), "-c", code], capture_output=True, text=True,
                          cwd=installed.parent, check=True)
    root, templates, runtime, boards = (Path(p) for p in json.loads(done.stdout))
    assert root.name == "_data" and str(installed) in str(root)
    assert REPO not in root.parents
    for repo_dir, shipped in (("templates", templates), ("runtime_c", runtime), ("boards", boards)):
        assert _files(shipped) == _files(REPO / repo_dir), repo_dir


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda p: p.stem)
def test_installed_inspect_reads_every_fixture(installed: Path, fixture: Path) -> None:
    done = _run(installed, "inspect", str(fixture), "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert len(report["ops"]) > 0
    assert report["totals"]["param_bytes"] > 0 and report["totals"]["macs"] > 0


def test_installed_boards_come_from_the_wheel(installed: Path) -> None:
    done = _run(installed, "boards", "--json")
    assert done.returncode == 0, done.stderr
    names = {board["name"] for board in json.loads(done.stdout)}
    assert {"stm32f746", "nrf52840", "host"} <= names
