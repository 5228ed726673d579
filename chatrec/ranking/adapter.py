"""The query-side adapter: a learned linear map that moves a dialogue's vector toward the items recommended in such
dialogues. Item vectors in the store stay as they are; only the query changes: `q' = normalise(q + q·A)`.

Adapters are small `.npz` files (one d×d matrix in float16 plus how it was made); `chatrec train-adapter` makes them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from chatrec.errors import ConfigError

BUNDLED = Path(__file__).resolve().parent / "adapters"


def adapt(query: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Apply the residual map to one query vector (or to rows of queries) and scale back to unit length."""
    moved = np.asarray(query, np.float32) + np.asarray(query, np.float32) @ matrix
    norms = np.linalg.norm(moved, axis=-1, keepdims=True)
    return np.asarray(moved / np.where(norms == 0, 1.0, norms), dtype=np.float32)


@dataclass(frozen=True)
class Adapter:
    """A learned map for one embedder (`embedder_id` must match the store's vectors)."""

    matrix: np.ndarray
    embedder_id: str
    info: dict[str, Any]

    def __call__(self, query: np.ndarray) -> np.ndarray:
        return adapt(query, self.matrix) if np.any(query) else query

    def save(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(
            path,
            matrix=self.matrix.astype(np.float16),
            embedder_id=np.array(self.embedder_id),
            info=np.array(json.dumps(self.info, sort_keys=True)),
        )
        return path

    @classmethod
    def load(cls, path: Path) -> Adapter:
        try:
            with np.load(path, allow_pickle=False) as data:
                return cls(data["matrix"].astype(np.float32), str(data["embedder_id"]), json.loads(str(data["info"])))
        except (OSError, KeyError, ValueError) as exc:
            raise ConfigError(f"cannot read the adapter {path}: {exc}") from exc


def bundled_path(embedder_id: str) -> Path:
    """Where the adapter shipped with chatrec for this embedder lives (it may not exist)."""
    return BUNDLED / f"dialogue-{re.sub(r'[^A-Za-z0-9._-]+', '_', embedder_id)}.npz"


def resolve(setting: str, embedder_id: str) -> Adapter | None:
    """The adapter named by `Settings.adapter`: 'none', 'auto' (the bundled one for this embedder, if any) or a path.

    A path whose adapter was made for another embedder is an error; 'auto' without a bundled file means no adapter."""
    if setting == "none":
        return None
    path = bundled_path(embedder_id) if setting == "auto" else Path(setting)
    if not path.is_file():
        if setting == "auto":
            return None
        raise ConfigError(f"adapter file not found: {path}")
    adapter = Adapter.load(path)
    if adapter.embedder_id != embedder_id:
        raise ConfigError(f"the adapter {path} was made for {adapter.embedder_id}, but the store uses {embedder_id}")
    return adapter
