"""The ``edgesdk`` command line. Each command lives in its own module of this package.

Every :class:`edgesdk.errors.EdgeSdkError` becomes a one-paragraph message and exit status 2,
never a traceback.
"""

from __future__ import annotations

import importlib
import sys

import click

from edgesdk import __version__
from edgesdk.errors import EdgeSdkError

# module name in this package -> the click command it defines (same name unless noted)
COMMAND_MODULES: tuple[str, ...] = (
    "boards", "doctor", "inspect", "build", "run", "export", "plan", "pio_home",
)


class _Group(click.Group):
    def invoke(self, ctx: click.Context):  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except EdgeSdkError as error:
            click.secho(f"error: {error}", fg="red", err=True)
            sys.exit(2)


@click.group(cls=_Group)
@click.version_option(__version__, prog_name="edgesdk")
def main() -> None:
    """On-device training for microcontrollers: int8 TFLite model in, planned C training runtime out."""


for _name in COMMAND_MODULES:
    _module = importlib.import_module(f"edgesdk.cli.{_name}")
    main.add_command(_module.command)
