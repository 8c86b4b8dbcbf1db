"""The Jinja2 environment of the generated project's templates (templates/model/)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import jinja2

from edgesdk.resources import templates_dir


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir() / "model")),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
        trim_blocks=False,
        lstrip_blocks=False,
    )


def render(template: str, **context: Any) -> str:
    """Render ``templates/model/<template>``; a missing variable is an error."""
    return _environment().get_template(template).render(**context)
