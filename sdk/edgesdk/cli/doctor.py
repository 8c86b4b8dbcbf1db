"""``edgesdk doctor``: which compilers, emulators and PlatformIO are present, and how to install the rest."""

from __future__ import annotations

import json

import click

from edgesdk.toolchain.tools import APT_INSTALL_ALL, survey

# what each tool enables, to say what a missing one costs
ENABLES = {
    "gcc": "host builds (edgesdk run without --emulate, the C tests)",
    "arm-none-eabi-gcc": "builds for the boards and their emulated stand-ins",
    "qemu-system-arm": "emulated runs (edgesdk run --emulate)",
    "pio": "PlatformIO builds of the generated projects",
    "scons": "offline PlatformIO builds (packaged as tool-scons)",
}


@click.command("doctor")
@click.option("--json", "as_json", is_flag=True, help="Print the findings as JSON.")
def command(as_json: bool) -> None:
    """Check the compilers, emulator and PlatformIO; print how to install what is missing.

    Exits with status 1 when something is missing.
    """
    tools = survey()
    missing = [tool for tool in tools if not tool.found]
    if as_json:
        click.echo(
            json.dumps(
                {
                    "tools": [
                        {
                            "name": tool.name,
                            "found": tool.found,
                            "version": tool.version,
                            "command": list(tool.command) if tool.command else None,
                            "problem": tool.detail or (None if tool.found else "not installed"),
                            "install": None if tool.found else tool.spec.install,
                            "purpose": tool.spec.purpose,
                        }
                        for tool in tools
                    ],
                    "ok": not missing,
                },
                indent=2,
            )
        )
    else:
        width = max(len(tool.name) for tool in tools)
        for tool in tools:
            if tool.found:
                where = " ".join(tool.command or ())
                click.echo(f"ok       {tool.name:<{width}}  {tool.version or '?':<10} {where}")
            else:
                problem = tool.detail or "not installed"
                click.echo(f"MISSING  {tool.name:<{width}}  {problem}; needed for {ENABLES[tool.name]}")
                click.echo(f"         {'':<{width}}  install: {tool.spec.install}")
        if missing:
            apt = [tool for tool in missing if tool.spec.install.startswith("apt-get")]
            if apt:
                click.echo(f"\nAll system packages at once: {APT_INSTALL_ALL}")
        else:
            click.echo("\nEverything edgesdk uses is installed.")
    if missing:
        raise SystemExit(1)
