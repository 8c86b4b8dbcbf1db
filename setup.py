"""Ship the top-level templates/, runtime_c/ and boards/ folders inside the wheel.

They live at the top of the repository (the product's layout) but an installed edgesdk must find
them, so build_py copies them into ``edgesdk/_data/``. ``edgesdk.resources`` looks there first and
falls back to the source checkout (editable installs).
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

SHIPPED_DIRS = ("templates", "runtime_c", "boards")


class BuildPyWithData(build_py):
    def run(self) -> None:
        super().run()
        here = Path(__file__).resolve().parent
        target = Path(self.build_lib) / "edgesdk" / "_data"
        shutil.rmtree(target, ignore_errors=True)  # a stale build/ must not ship removed files
        for name in SHIPPED_DIRS:
            source = here / name
            if source.is_dir():
                shutil.copytree(
                    source, target / name, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("__pycache__", "*.o", "*.pyc"),
                )


setup(cmdclass={"build_py": BuildPyWithData})
