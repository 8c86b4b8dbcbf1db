"""``edgesdk platformio-home``: make a PlatformIO home build edgesdk's emulated envs offline."""

from __future__ import annotations

from pathlib import Path

import click

from edgesdk.toolchain.device import board_core_dir
from edgesdk.toolchain.platformio import SCONS_PACKAGE_VERSION, prepare_offline, scons_note


@click.command("platformio-home")
@click.argument("core_dir", required=False, type=click.Path(file_okay=False, path_type=Path))
def command(core_dir: Path | None) -> None:
    """Install tool-scons, the one package PlatformIO needs before it builds anything, into the
    PlatformIO home CORE_DIR (default: $PLATFORMIO_CORE_DIR, else ~/.platformio), made from the
    SCons installed with edgesdk, so that a plain `pio run -e <board>_emulated` works with no
    network. Nothing else of a project depends on the home."""
    home = prepare_offline(core_dir or board_core_dir())
    if home.installed_scons:
        click.echo(scons_note(home))
    else:
        click.echo(f"{home.core_dir} already has tool-scons {SCONS_PACKAGE_VERSION}; nothing to do")
