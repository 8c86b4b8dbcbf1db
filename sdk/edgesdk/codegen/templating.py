"""The one Jinja2 environment of everything edgesdk renders: templates/model/ (the generated
project's C and files) first, then templates/ (linker scripts, PlatformIO files by their subfolder)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import jinja2

from edgesdk.resources import templates_dir


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    root = templates_dir()
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(root / "model"), str(root)]),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )


def render(template: str, **context: Any) -> str:
    """Render ``template`` (``model.c.j2``, ``linker/cortex_m.ld.j2``); a missing variable is an error."""
    return _environment().get_template(template).render(**context)
