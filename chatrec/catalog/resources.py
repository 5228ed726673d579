"""Where the bundled catalog and prompt templates are: inside the installed package, or in a source checkout."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent.parent  # the chatrec package


def _folder(name: str) -> Path:
    installed = _PACKAGE / name  # `pip install .` copies knowledge/ and prompts/ into the package
    return installed if installed.is_dir() else _PACKAGE.parent / name  # a checkout keeps them beside it


def knowledge_dir() -> Path:
    """The default item catalog folder (`knowledge/`)."""
    return _folder("knowledge")


def prompts_dir() -> Path:
    """The prompt and reply templates folder (`prompts/`)."""
    return _folder("prompts")
