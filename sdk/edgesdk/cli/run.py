"""``edgesdk run``: run a generated project's demo in the board's emulator, on the board itself
(flash with --upload, read its console with --monitor) or, to check the C, on this machine."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from edgesdk.boards import Board, load_board
from edgesdk.cli.progress import progress
from edgesdk.codegen.manifest import read_manifest
from edgesdk.codegen.platformio import CONSOLE_BAUD
from edgesdk.errors import BoardError, FirmwareError, ProjectError
from edgesdk.toolchain import device
from edgesdk.toolchain.firmware import ProjectRun, run_project, summarize
from edgesdk.toolchain.report import pager_lines

# large arrays and per-tier counters: in the Python API and the pager comparison, not the summary
HIDDEN_KEYS = ("params", "trace.", "infer.output", "pager.", "swap.")


@click.command("run")
@click.argument("project", type=click.Path(file_okay=False, path_type=Path))
@click.option("--emulate", is_flag=True, help="Run the board's firmware in its QEMU stand-in.")
@click.option("--host", is_flag=True, help="Compile the project for this machine and run it there.")
@click.option("--upload", is_flag=True, help="Flash the real board (pio run -t upload).")
@click.option("--monitor", is_flag=True, help="Read the real board's console and report its results.")
@click.option("--port", default=None, help="With --monitor: the serial port (default: the only one).")
@click.option("--json", "as_json", is_flag=True, help="Print the results as one JSON document.")
@click.option("--timeout", type=float, default=600.0, show_default=True, help="Seconds before giving up.")
@click.option("--rebuild", is_flag=True, help="Compile again even if a firmware was built before.")
def command(
    project: Path, emulate: bool, host: bool, upload: bool, monitor: bool, port: str | None,
    as_json: bool, timeout: float, rebuild: bool,
) -> None:
    """Run the demo of PROJECT (a directory `edgesdk build` wrote), compiling it first if needed.

    A board's project runs where you say: --emulate in the board's QEMU stand-in (the counter
    counts instructions), --upload to flash the board and --monitor to read its console (both
    together: flash, then read), or --host on this machine (checks the C, not the board). A
    project for the host board runs on this machine.
    """
    manifest = read_manifest(project)
    board = load_board(manifest.board)
    if upload or monitor:
        envs = manifest.data.get("platformio")
        _on_the_board(project, board, envs, upload, monitor, port, timeout, as_json)
        return
    if not board.is_host and not (emulate or host):
        raise BoardError(
            f"this project is for {board.title}; say where to run it: --emulate (its QEMU stand-in, "
            f"{board.emulated_by}), --upload to flash the board and --monitor to read its console, "
            "or --host (this machine: checks the C, not the board)"
        )
    where = "in the emulator" if emulate else "on this machine"
    with progress(f"compiling and running {where}", enabled=not as_json):
        done = run_project(project, emulate=emulate, timeout_s=timeout, rebuild=rebuild)
    for note in done.built.notes:
        click.echo(f"note: {note}", err=True)
    plan = manifest.data.get("plan")
    if as_json:
        document = _document(project, manifest.board, done)
        if plan is not None:
            document["pager"] = _pager_document(plan, done)
        click.echo(json.dumps(document, indent=2))
        return
    click.echo(_readable(manifest.board, done))
    if plan is not None and plan["tiers"]:
        lines, all_equal = pager_lines(plan, done.results)
        click.echo("\n".join(lines))
        click.echo(
            "  every counter as the pager model predicted"
            if all_equal
            else "  some counters differ from the prediction (see above)"
        )


def _on_the_board(
    project: Path, board: Board, envs: dict[str, str] | None, upload: bool, monitor: bool,
    port: str | None, timeout: float, as_json: bool,
) -> None:
    if board.is_host:
        raise BoardError(
            "this project is for the host board, which has nothing to flash; run it without --upload"
        )
    if upload:
        if envs is None or not (project / "platformio.ini").is_file():
            raise ProjectError(
                "this project has no platformio.ini (PlatformIO was not installed when it was built); "
                "install PlatformIO and rebuild it with `edgesdk build ... --force`"
            )
        device.upload(project.resolve(), board, envs["board_env"], timeout_s=timeout)
        click.echo(f"flashed {board.title} (env {envs['board_env']})", err=True)
    if not monitor:
        return
    console = device.monitor(port, CONSOLE_BAUD, timeout_s=timeout)
    if console.exit_status is None:
        raise FirmwareError(
            f"the board's console on {console.port} printed no exit record within {timeout:.0f} s "
            f"({len(console.lines)} lines read); reset the board to run the demo again"
        )
    summary = summarize(console.results)
    if as_json:
        document = {"project": str(project), "board": board.name, "target": "board", "port": console.port,
                    "exit_status": console.exit_status, "results": summary}
        click.echo(json.dumps(document, indent=2))
        return
    click.echo(_summary_lines(board.name, f"the board on {console.port}", summary))


def _pager_document(plan: dict[str, Any], done: ProjectRun) -> dict[str, Any]:
    """Per tier: the counters the firmware printed and the ones predicted for the run."""
    values = done.results.values
    tiers = {}
    for tier in plan["tiers"]:
        prefix = f"pager.{tier['name']}."
        measured = {
            key[len(prefix):]: value for key, value in values.items() if key.startswith(prefix)
        }
        measured["violations"] = values.get(f"swap.{tier['name']}.violations")
        tiers[tier["name"]] = {"measured": measured, "predicted": tier["predicted_run"]}
    _lines, all_equal = pager_lines(plan, done.results)
    return {"tiers": tiers, "as_predicted": all_equal}


def _document(project: Path, board: str, done: ProjectRun) -> dict[str, Any]:
    reported = {
        key: value for key, value in done.results.values.items() if not key.startswith(HIDDEN_KEYS)
    }
    return {
        "project": str(project),
        "board": board,
        "target": done.built.target,
        "firmware": str(done.built.firmware.path),
        "built_with": done.built.tool,
        "exit_status": done.run.exit_status,
        "wall_seconds": round(done.run.wall_s, 3),
        "results": done.summary,
        "reported": reported,
    }


def _readable(board: str, done: ProjectRun) -> str:
    where = "QEMU" if done.built.target == "emulated" else "this machine"
    return _summary_lines(board, where, done.summary)


def _summary_lines(board: str, where: str, s: dict[str, Any]) -> str:
    lines = [f"{s.get('model')} on {board} ({where}, port {s.get('port')}), batch {s.get('batch')}"]
    if "accuracy_before" in s:
        lines.append(f"  accuracy before training  {100 * s['accuracy_before']:6.2f} %  "
                     f"({s['test_samples']} test samples)")
        lines.append(f"  accuracy after training   {100 * s['accuracy_after']:6.2f} %")
    if "mse_before" in s:
        lines.append(f"  test MSE before / after   {s['mse_before']:.6g} / {s['mse_after']:.6g}")
    if "epoch_losses" in s:
        lines.append("  loss per epoch            " + " ".join(f"{v:.4f}" for v in s["epoch_losses"]))
    elif "step_losses" in s:
        lines.append("  loss per step             " + " ".join(f"{v:.4f}" for v in s["step_losses"]))
    lines.append(f"  training steps            {s.get('train_steps')}")
    if s.get("undone_steps"):
        lines.append(f"  undone (diverged) steps   {s['undone_steps']} (loss or parameters not finite)")
    for key, label in (
        ("instructions_per_step", "instructions per step"),
        ("cycles_per_step", "cycles per step"),
        ("nanoseconds_per_step", "nanoseconds per step"),
    ):
        if key in s:
            lines.append(f"  {label:<25} {s[key]:,}")
    if "stack_high_water_bytes" in s:
        lines.append(f"  stack high-water          {s['stack_high_water_bytes']:,} B of "
                     f"{s['stack_size_bytes']:,} B reserved")
    lines.append(f"  arena / model state       {s.get('arena_bytes', 0):,} B / {s.get('state_bytes', 0):,} B")
    if "committed_sequence" in s:
        restored = s.get("restored_sequence") or "none"
        lines.append(f"  flash commit              restored at boot: {restored}; committed after "
                     f"training: {s['committed_sequence']} ({s.get('commit_erases')} erases)")
    return "\n".join(lines)
