"""Prompt and reply templates from `prompts/`, rendered strictly: a missing variable is an error, not a blank."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from chatrec.catalog.resources import prompts_dir


@lru_cache(maxsize=1)
def _environment() -> Any:
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(prompts_dir())),
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # plain text; the browser UI escapes everything it shows
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )


def template_names() -> list[str]:
    return sorted(p.name for p in prompts_dir().glob("*.j2"))


def render(name: str, **variables: Any) -> str:
    """Render `prompts/<name>` with exactly the variables it uses."""
    return str(_environment().get_template(name).render(**variables)).strip()
