"""Compile a generated project and run it: :func:`compile_project`, :func:`run_project`.

Targets (what ``edgesdk build --compile`` and ``edgesdk run`` use):

- ``host``: the system gcc and the host port; any board's project builds for the host, which is
  how the C is compared with the numpy reference and with the emulated build;
- ``emulated``: the board's QEMU stand-in. PlatformIO builds the project's emulated env when it
  is installed (offline, see :mod:`edgesdk.toolchain.platformio`); otherwise arm-none-eabi-gcc
  compiles the same sources with the same flags;
- ``board``: the real board's flags, start-up code and memory sizes (arm-none-eabi-gcc): proves
  the real-board sources compile and fit; flash it with PlatformIO.

Firmware goes to ``build/<target>/`` inside the project, and the manifest records it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgesdk.boards import Board, load_board
from edgesdk.codegen.manifest import Manifest, read_manifest, record_build
from edgesdk.codegen.platformio import LIBRARY_NAME, PlatformIOProject
from edgesdk.codegen.project import GeneratedProject
from edgesdk.codegen.swap import with_swap_region
from edgesdk.errors import BoardError, FitError, ProjectError
from edgesdk.targets import Target, layout_for
from edgesdk.toolchain.compiler import Firmware, compile_firmware
from edgesdk.toolchain.elf import ElfReport, check_fit
from edgesdk.toolchain.platformio import pio_run, prepare_offline, program_path, scons_note
from edgesdk.toolchain.protocol import Results
from edgesdk.toolchain.runner import RunResult, run_firmware
from edgesdk.toolchain.tools import find_tool, require

TARGETS = ("host", "emulated", "board")


@dataclass(frozen=True)
class BuiltFirmware:
    firmware: Firmware
    tool: str  # "gcc", "arm-none-eabi-gcc" or "platformio"
    target: str
    sanitize: bool = False
    notes: tuple[str, ...] = ()  # what the build did beyond compiling (e.g. installed tool-scons)

    def report(self) -> ElfReport:
        return self.firmware.report()


@dataclass(frozen=True)
class ProjectRun:
    built: BuiltFirmware
    run: RunResult
    summary: dict[str, Any]

    @property
    def results(self) -> Results:
        return self.run.results


def project_sources(directory: Path, manifest: Manifest) -> list[Path]:
    """The generated sources plus the runtime library's kernels and ports."""
    library = directory / "lib" / LIBRARY_NAME
    if not (library / "src").is_dir():
        raise ProjectError(
            f"{str(directory)!r} has no lib/{LIBRARY_NAME}; rebuild the project with edgesdk build"
        )
    generated = [directory / name for name in manifest.data["sources"]]
    missing = [str(path) for path in generated if not path.is_file()]
    if missing:
        raise ProjectError(f"the project misses {', '.join(missing)}; rebuild it with edgesdk build --force")
    return generated + sorted((library / "src").glob("*.c")) + sorted((library / "port").rglob("*.c"))


def linked_board(manifest: Manifest, board: Board, target: str) -> Board:
    """The board as the ``target`` firmware is linked: the emulated build of a project that pages
    has the simulated flash's ``es_swap`` region outside RAM (edgesdk.codegen.swap)."""
    swap = manifest.data.get("emulated_swap")
    if target == "emulated" and swap:
        return with_swap_region(board, int(swap["origin"]), int(swap["size_bytes"]))
    return board


def _include_dirs(directory: Path) -> list[Path]:
    library = directory / "lib" / LIBRARY_NAME
    return [directory / "src", library / "include", library / "src"]


def project_directory(project: GeneratedProject | Path | str) -> Path:
    """A project given as what :func:`edgesdk.pipeline.generate_project` returned, or its directory."""
    return project.directory if isinstance(project, GeneratedProject) else Path(project)


def check_sram(manifest: Manifest, board: Board) -> None:
    """Before compiling for a board: the arena and the training state alone must fit its SRAM (the
    linker would say it with a dump of truncated relocations, or an object too large to exist)."""
    memory = manifest.data["memory"]
    arena, state = int(memory["arena_bytes"]), int(memory["state_bytes"])
    if arena + state <= board.sram_bytes:
        return
    batch = manifest.data["options"].get("batch", 1)
    raise FitError(
        f"the training step does not fit {board.name}: {arena + state:,} B of SRAM needed (arena "
        f"{arena:,} B + state {state:,} B, batch {batch}), {board.sram_bytes:,} B available; lower "
        "--batch, train fewer layers (--trainable), or plan it into less RAM with --budget"
    )


def compile_project(
    directory: GeneratedProject | Path | str,
    target: str = "host",
    *,
    sanitize: bool = False,
    defines: Sequence[str] = (),
    use_platformio: bool | None = None,
    optimize: str = "-O2",
    runtime_archive: Path | None = None,
) -> BuiltFirmware:
    """Build the project for ``target`` (see the module docstring). ``use_platformio`` (emulated
    only): None = when installed and the project has a platformio.ini. ``defines`` and
    ``sanitize`` (host only) go to the compiler; PlatformIO builds take neither.
    ``runtime_archive``: the runtime already compiled (kernels and ports, same flags) into an
    archive, linked instead of compiling lib/ again (test suites, repeated builds)."""
    directory = project_directory(directory)
    manifest = read_manifest(directory)
    board = load_board(manifest.board)
    if target not in TARGETS:
        raise BoardError(f"unknown target {target!r}; use one of {', '.join(TARGETS)}")
    if target != "host" and board.is_host:
        raise BoardError(
            "this project is for the host board: it has no emulated or board target; use target host"
        )
    require("gcc" if target == "host" else "arm-none-eabi-gcc")  # a clear message with the install command
    if target != "host":
        check_sram(manifest, board)
    suffix = "-sanitize" if sanitize else ""
    out = directory / "build" / f"{target}{suffix}"
    pio_possible = (
        target == "emulated"
        and manifest.data.get("platformio") is not None
        and not defines
        and (directory / "platformio.ini").is_file()
    )
    if use_platformio is None:
        use_platformio = pio_possible and find_tool("pio").found and find_tool("scons").found
    if use_platformio:
        if not pio_possible:
            raise ProjectError(
                "this project cannot be built with PlatformIO (no platformio.ini, or extra defines)"
            )
        built = _compile_platformio(directory, board, manifest)
    else:
        built_board = load_board("host") if target == "host" else linked_board(manifest, board, target)
        sources = project_sources(directory, manifest)
        if runtime_archive is not None:
            sources = [directory / name for name in manifest.data["sources"]] + [Path(runtime_archive)]
        firmware = compile_firmware(
            sources,
            board=built_board,
            out_dir=out,
            target=Target(target),
            include_dirs=_include_dirs(directory),
            defines=defines,
            optimize=optimize,
            with_port=False,
            sanitize=sanitize,
        )
        tool = "gcc" if target == "host" else "arm-none-eabi-gcc"
        built = BuiltFirmware(firmware, tool, target, sanitize)
    if target != "host":
        check_fit(built.report())
    key = target + suffix
    path = built.firmware.path.resolve().relative_to(directory.resolve())
    info: dict[str, Any] = {"path": str(path), "tool": built.tool}
    if target != "host":
        report = built.report()
        info.update(
            flash_used=report.flash_used, static_ram=report.static_ram, stack_reserved=report.stack_reserved
        )
    if not defines:
        record_build(read_manifest(directory), key, info)
    return built


def _compile_platformio(directory: Path, board: Board, manifest: Manifest) -> BuiltFirmware:
    envs = manifest.data["platformio"]
    home = prepare_offline()
    notes = (scons_note(home),) if home.installed_scons else ()
    project = PlatformIOProject(directory.resolve(), board, envs["board_env"], envs["emulated_env"], home)
    done = pio_run(project, project.emulated_env).check()
    elf = program_path(project, project.emulated_env)
    layout = layout_for(linked_board(manifest, board, "emulated"), Target.EMULATED)
    script = directory.resolve() / "edgesdk" / f"{board.name}_emulated.ld"
    firmware = Firmware(elf, board, Target.EMULATED, layout, script, done.command)
    return BuiltFirmware(firmware, "platformio", "emulated", notes=notes)


def firmware_for(directory: Path | str, target: str) -> BuiltFirmware | None:
    """The firmware a previous compile recorded for ``target``, if it is still there and newer
    than every file in src/."""
    directory = Path(directory)
    manifest = read_manifest(directory)
    info = manifest.builds.get(target)
    if info is None or not (directory / info["path"]).is_file():
        return None
    built_at = (directory / info["path"]).stat().st_mtime
    if any(path.stat().st_mtime > built_at for path in (directory / "src").iterdir()):
        return None  # a source changed since: compile again
    board = load_board(manifest.board)
    kind = Target(target)
    built_board = load_board("host") if kind is Target.HOST else linked_board(manifest, board, target)
    layout = layout_for(built_board, kind)
    firmware = Firmware(directory / info["path"], built_board, kind, layout, None, ())
    return BuiltFirmware(firmware, str(info.get("tool", "")), target)


def run_project(
    directory: GeneratedProject | Path | str,
    *,
    emulate: bool = False,
    timeout_s: float = 300.0,
    rebuild: bool = False,
) -> ProjectRun:
    """Run the project's demo on the host or in QEMU (compiling it first if needed) and check
    that it finished cleanly (raises FirmwareError otherwise)."""
    directory = project_directory(directory)
    manifest = read_manifest(directory)
    target = "emulated" if emulate else "host"
    if emulate and load_board(manifest.board).is_host:
        raise BoardError(
            "this project is for the host board, which has no emulator; run it without --emulate"
        )
    built = None if rebuild else firmware_for(directory, target)
    if built is None:
        built = compile_project(directory, target)
    run = run_firmware(built.firmware, timeout_s=timeout_s).check()
    return ProjectRun(built, run, summarize(run.results))


COUNTER_KEYS = {
    "instructions": "instructions_per_step",
    "cycles": "cycles_per_step",
    "nanoseconds": "nanoseconds_per_step",
}


def summarize(results: Results) -> dict[str, Any]:
    """The demo's results in plain terms (what ``edgesdk run`` prints)."""
    v = results.values
    summary: dict[str, Any] = {
        "model": v.get("model.name"),
        "port": v.get("port.name"),
        "batch": v.get("model.batch"),
    }
    rows = v.get("data.test_rows")
    if "test.correct_before" in v and rows:
        summary["test_samples"] = rows
        summary["accuracy_before"] = v["test.correct_before"] / rows
        summary["accuracy_after"] = v.get("test.correct_after", 0) / rows
    if "test.mse_before" in v:
        summary["mse_before"] = v["test.mse_before"]
        summary["mse_after"] = v.get("test.mse_after")
    if results.all("epoch.loss"):
        summary["epoch_losses"] = results.all("epoch.loss")
    if results.all("step.loss"):
        summary["step_losses"] = results.all("step.loss")
    summary["train_steps"] = v.get("train.steps")
    if "train.undone" in v:
        summary["undone_steps"] = v["train.undone"]
    unit = v.get("counter.unit")
    if unit in COUNTER_KEYS and "step.counter" in v:
        summary[COUNTER_KEYS[unit]] = v["step.counter"]
    summary["arena_bytes"] = v.get("arena.bytes")
    summary["state_bytes"] = v.get("state.bytes")
    if v.get("stack.size"):
        summary["stack_size_bytes"] = v["stack.size"]
        summary["stack_high_water_bytes"] = v.get("stack.high_water")
    if "store.restored" in v:
        summary["restored_sequence"] = v.get("store.restored_sequence", 0)
    if "store.sequence" in v:
        summary["committed_sequence"] = v["store.sequence"]
        summary["commit_erases"] = v.get("store.erases")
    return summary
