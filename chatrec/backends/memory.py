"""In-memory doubles of the store ports, for logic tests and throwaway engines: `MemoryStore` (a numpy vector store
with Chroma's filters and ordering, exact instead of approximate) and `MemoryProfiles` (a dict with row versions,
events and forget). Both pass the same contract suites as the real ones (tests/contracts/)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import TypeVar

import numpy as np

from chatrec.backends.chroma import item_metadata
from chatrec.catalog.items import Item
from chatrec.errors import ProfileBusyError, StoreCorruptedError
from chatrec.ports import Event, Hit, StoredEvent
from chatrec.users.interests import InterestState
from chatrec.users.stored import state_from_json, state_to_json

T = TypeVar("T")
ATTEMPTS = 50


class MemoryStore:
    """Item vectors in a dict, searched exactly by inner product: best first, ties in the order items were added."""

    def __init__(self, embedder_id: str, dim: int) -> None:
        self.embedder_id, self.dim = embedder_id, dim
        self._vectors: dict[str, np.ndarray] = {}
        self._meta: dict[str, dict[str, object]] = {}
        self._matrix: tuple[list[str], np.ndarray] | None = None  # rebuilt after a write
        self._lock = threading.Lock()

    @property
    def location(self) -> str:
        return "memory"

    def count(self) -> int:
        return len(self._vectors)

    def stored_hashes(self) -> dict[str, str]:
        return {i: str(m["hash"]) for i, m in self._meta.items()}

    def vectors(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        return {i: self._vectors[i].copy() for i in dict.fromkeys(ids) if i in self._vectors}

    def query(
        self,
        vector: np.ndarray,
        n: int,
        exclude: Sequence[str] = (),
        kind: str | None = None,
        with_vectors: bool = True,
    ) -> list[Hit]:
        ids, matrix = self._snapshot()
        if n <= 0 or not ids:
            return []
        scores = matrix @ np.asarray(vector, dtype=np.float32)
        skip = set(exclude)
        order = np.argsort(-scores, kind="stable")
        hits = []
        for row in order:
            item_id = ids[row]
            if item_id in skip or (kind and self._meta[item_id]["kind"] != kind):
                continue
            hits.append(Hit(item_id, float(scores[row]), matrix[row].copy() if with_vectors else None))
            if len(hits) == n:
                break
        return hits

    def upsert(self, items: Sequence[Item], vectors: np.ndarray, hashes: Sequence[str]) -> None:
        rows = np.asarray(vectors, dtype=np.float32)
        if rows.ndim != 2 or rows.shape[1] != self.dim or len(rows) != len(items):
            raise StoreCorruptedError(f"expected {len(items)} vectors of {self.dim} dimensions, got {rows.shape}")
        with self._lock:
            for item, row, content_hash in zip(items, rows, hashes, strict=True):
                self._vectors[item.id] = row.copy()
                self._meta[item.id] = item_metadata(item, content_hash)
            self._matrix = None

    def delete(self, ids: Sequence[str]) -> None:
        with self._lock:
            for item_id in ids:
                self._vectors.pop(item_id, None)
                self._meta.pop(item_id, None)
            self._matrix = None

    def clear(self) -> None:
        self.delete(list(self._vectors))

    def close(self) -> None:
        """Nothing to release."""

    def _snapshot(self) -> tuple[list[str], np.ndarray]:
        with self._lock:
            if self._matrix is None:
                ids = list(self._vectors)
                matrix = np.vstack([self._vectors[i] for i in ids]) if ids else np.zeros((0, self.dim), np.float32)
                self._matrix = (ids, matrix)
            return self._matrix


class MemoryProfiles:
    """Profiles in a dict: each state kept as its stored JSON with a version, so a loaded state is a copy and an
    update that lost a race to another writer is applied again, as on SQLite."""

    def __init__(self) -> None:
        self._rows: dict[str, tuple[str, int]] = {}
        self._events: list[tuple[str, float, str, dict[str, object]]] = []
        self._lock = threading.Lock()

    @property
    def location(self) -> str:
        return "memory"

    def load(self, user_id: str, dim: int) -> InterestState | None:
        row = self._rows.get(user_id)
        return state_from_json(row[0], dim) if row else None

    def update(self, user_id: str, dim: int, change: Callable[[InterestState], tuple[list[Event], T]], now: float) -> T:
        for _ in range(ATTEMPTS):
            with self._lock:
                row = self._rows.get(user_id)
            state = state_from_json(row[0], dim) if row else InterestState(dim=dim)
            events, result = change(state)
            with self._lock:
                if self._rows.get(user_id) == row:
                    self._rows[user_id] = (state_to_json(state), row[1] + 1 if row else 1)
                    self._events += [(user_id, now, kind, dict(payload)) for kind, payload in events]
                    return result
        raise ProfileBusyError(f"the profile of {user_id!r} changed {ATTEMPTS} times while this update was applied")

    def hold(self, user_id: str) -> AbstractContextManager[None]:
        """Nothing to hold: one process owns this store (the engine serialises its own calls)."""
        return nullcontext()

    def events(self, user_id: str) -> list[StoredEvent]:
        with self._lock:
            return [(ts, kind, dict(payload)) for user, ts, kind, payload in self._events if user == user_id]

    def forget(self, user_id: str) -> None:
        with self._lock:
            self._rows.pop(user_id, None)
            self._events = [e for e in self._events if e[0] != user_id]

    def prune_events(self, before: float) -> int:
        with self._lock:
            kept = [e for e in self._events if e[1] >= before]
            gone, self._events = len(self._events) - len(kept), kept
        return gone

    def close(self) -> None:
        """Nothing to release."""
