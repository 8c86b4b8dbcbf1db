"""``edgesdk boards``: the boards edgesdk knows, as a table or JSON."""

from __future__ import annotations

import json

import click

from edgesdk.boards import Board, human_bytes, load_all_boards, load_board

COLUMNS = ("name", "PlatformIO id", "core", "clock", "SRAM", "flash", "storage", "emulated by")


def _row(board: Board) -> tuple[str, ...]:
    core = board.core + (" + FPU" if board.fpu else "")
    extra = "".join(f" + {human_bytes(r.size_bytes)} {r.name}" for r in board.extra_ram)
    return (
        board.name,
        board.platformio_board or "-",
        core,
        f"{board.clock_hz / 1e6:g} MHz",
        human_bytes(board.sram_bytes) + extra,
        human_bytes(board.flash_bytes),
        board.storage_summary,
        board.emulated_by,
    )


def format_table(boards: list[Board]) -> str:
    rows = [COLUMNS, *(_row(board) for board in boards)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


@click.command("boards")
@click.argument("name", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print the boards as JSON.")
def command(name: str | None, as_json: bool) -> None:
    """List the boards (or show one: NAME, edgesdk's name or the PlatformIO board id), with core,
    memory, storage and emulator. Either name works wherever a board is named."""
    boards = [load_board(name)] if name else load_all_boards()
    if as_json:
        click.echo(json.dumps([board.describe() for board in boards], indent=2))
        return
    click.echo(format_table(boards))
    if name:
        board = boards[0]
        click.echo(f"\n{board.title}")
        pio = f"{board.platformio_platform} / {board.platformio_board}" if board.platformio_board else "-"
        click.echo(f"PlatformIO: {pio}; port: {board.port}; stack reserve: {board.stack_bytes:,} B")
        for source in board.sources:
            click.echo(f"  source: {source}")
