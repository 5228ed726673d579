"""chatrec: a conversational recommender. `Engine.load()` and `engine.chat(user, message)` are the front door.

Heavy libraries (torch, transformers, chromadb, gradio) are imported only when an Engine is loaded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chatrec.config import Settings
from chatrec.errors import (
    CatalogError,
    ChatrecError,
    ConfigError,
    GeneratorError,
    InputError,
    StoreCorruptedError,
    StoreError,
    StoreLockedError,
    UnknownItemError,
)
from chatrec.results import Recommendation, Turn

if TYPE_CHECKING:
    from chatrec.engine import Engine

__all__ = [
    "CatalogError",
    "ChatrecError",
    "ConfigError",
    "Engine",
    "GeneratorError",
    "InputError",
    "Recommendation",
    "Settings",
    "StoreCorruptedError",
    "StoreError",
    "StoreLockedError",
    "Turn",
    "UnknownItemError",
]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    if name == "Engine":  # the engine module pulls in numpy-heavy parts; load it on first use
        from chatrec.engine import Engine

        return Engine
    raise AttributeError(f"module 'chatrec' has no attribute {name!r}")
