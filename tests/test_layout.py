"""The package's layout keeps the pipeline's direction: every import goes to an earlier stage (or
within a stage), no module imports itself back through others, and no Python file grows past the
size a reader can hold in mind.

    frontend < quant < train < reference, export, testing < plan < codegen < toolchain < pipeline < cli

The shared foundation sits before them all: errors and resources, then ir, boards, targets.
Every import counts: module level, inside functions and under TYPE_CHECKING.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "sdk" / "edgesdk"
MAX_LINES = 800

STAGE = {  # the foundation first, in its own order
    "edgesdk": 0,
    "errors": 0,
    "resources": 0,
    "ir": 0.2,
    "boards": 0.4,
    "targets": 0.6,
    "frontend": 1,
    "quant": 2,
    "train": 3,
    "reference": 4,
    "export": 4,
    "testing": 4,
    "plan": 5,
    "codegen": 6,
    "toolchain": 7,
    "pipeline": 8,
    "cli": 9,
    "__main__": 10,
}


def module_name(path: Path) -> str:
    parts = ["edgesdk", *path.relative_to(PACKAGE).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path, modules: set[str], source: str | None = None) -> set[str]:
    """The edgesdk modules ``path`` imports (``from edgesdk.x import y`` counts ``edgesdk.x.y`` when
    that is a module, else ``edgesdk.x``)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    text = path.read_text() if source is None else source
    for node in ast.walk(ast.parse(text, str(path))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "edgesdk")
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            if base.split(".")[0] != "edgesdk":
                continue
            for alias in node.names:
                child = f"{base}.{alias.name}"
                found.add(child if child in modules else base)
    return {m for m in found if m != name}


def stage(module: str) -> tuple[str, float]:
    parts = module.split(".")
    key = parts[1] if len(parts) > 1 else "edgesdk"
    assert key in STAGE, f"{module} is in no stage of tests/test_layout.py; give its room a place"
    return key, STAGE[key]


def import_graph() -> dict[str, set[str]]:
    files = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    return {name: imported_modules(path, set(files)) for name, path in files.items()}


def test_imports_go_to_earlier_stages_only() -> None:
    wrong = []
    for module, imports in sorted(import_graph().items()):
        room, level = stage(module)
        for target in sorted(imports):
            target_room, target_level = stage(target)
            if target_room != room and target_level >= level:
                wrong.append(f"{module} ({room}) imports {target} ({target_room})")
    assert not wrong, "imports against the pipeline's direction:\n" + "\n".join(wrong)


def test_no_import_cycles() -> None:
    graph = import_graph()
    # the package roots import their own modules to re-export them: a root is not a dependency
    edges = {m: {t for t in ts if not graph.get(t) or not m.startswith(t + ".")} for m, ts in graph.items()}
    state: dict[str, int] = {}
    path: list[str] = []
    cycles: list[list[str]] = []

    def visit(module: str) -> None:
        state[module] = 1
        path.append(module)
        for target in sorted(edges.get(module, ())):
            if state.get(target) == 1:
                cycles.append([*path[path.index(target):], target])
            elif target not in state:
                visit(target)
        path.pop()
        state[module] = 2

    for module in sorted(edges):
        if module not in state:
            visit(module)
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_python_file_over_the_limit(path: Path) -> None:
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_LINES, f"{path.name} has {lines} lines; split it by what its parts do"


def test_the_checker_sees_a_back_edge() -> None:
    """The walk resolves relative imports and submodules (so a back-edge cannot hide behind them)."""
    probe = PACKAGE / "plan" / "_layout_probe.py"  # read as if it were a module of plan/; never written
    mods = set(import_graph()) | {"edgesdk.plan._layout_probe"}
    text = "from ..codegen import kernels\nfrom edgesdk.codegen.project import render_project\n"
    found = imported_modules(probe, mods, source=text)
    assert found == {"edgesdk.codegen.kernels", "edgesdk.codegen.project"}
