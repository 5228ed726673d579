"""Where the bundled catalog and prompt templates are, installed (package data) or in a source checkout."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

_REPO = Path(__file__).resolve().parent.parent


def _folder(package: str, repo_name: str) -> Path:
    try:
        found = Path(str(resources.files(package)))
        if found.is_dir() and any(found.iterdir()):
            return found
    except (ModuleNotFoundError, TypeError):
        pass
    return _REPO / repo_name


def knowledge_dir() -> Path:
    """The default item catalog folder (`knowledge/`)."""
    return _folder("chatrec.knowledge", "knowledge")


def prompts_dir() -> Path:
    """The prompt and reply templates folder (`prompts/`)."""
    return _folder("chatrec.prompts", "prompts")
