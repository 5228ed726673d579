"""User profiles at rest: one SQLite file with each user's interest state and a log of timestamped events."""

from __future__ import annotations

import base64
import json
import sqlite3
import threading
from dataclasses import fields
from pathlib import Path
from typing import Any

import numpy as np

from .errors import StoreCorruptedError
from .interests import InterestState

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (user_id TEXT PRIMARY KEY, state TEXT NOT NULL, updated REAL NOT NULL);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT, user_id TEXT NOT NULL, ts REAL NOT NULL, kind TEXT NOT NULL, payload TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_user ON events (user_id, ts);
"""
VECTOR_FIELDS = ("short", "long")


def _encode_vector(vector: np.ndarray) -> str:
    return base64.b64encode(np.asarray(vector, dtype="<f4").tobytes()).decode("ascii")


def _decode_vector(text: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(text), dtype="<f4").copy()


def state_to_json(state: InterestState) -> str:
    data: dict[str, Any] = {f.name: getattr(state, f.name) for f in fields(state) if f.name not in (*VECTOR_FIELDS, "negatives")}
    for name in VECTOR_FIELDS:
        data[name] = _encode_vector(getattr(state, name))
    data["negatives"] = [_encode_vector(v) for v in state.negatives]
    return json.dumps(data, ensure_ascii=False)


def state_from_json(text: str, dim: int) -> InterestState:
    """The saved state; vectors of another dimension (a different embedder) are dropped, the lists kept."""
    data = json.loads(text)
    vectors = {name: _decode_vector(data.pop(name)) for name in VECTOR_FIELDS}
    negatives = [_decode_vector(v) for v in data.pop("negatives", [])]
    known = {f.name for f in fields(InterestState)}
    state = InterestState(**{k: v for k, v in data.items() if k in known and k != "dim"}, dim=dim)
    if all(len(v) == dim for v in [*vectors.values(), *negatives]):
        state.short, state.long, state.negatives = vectors["short"], vectors["long"], negatives
    return state


class ProfileStore:
    """Thread-safe access to profiles.sqlite; every save is one transaction (a crash loses at most that turn)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.executescript(SCHEMA)
            self._db.execute("SELECT count(*) FROM users").fetchone()
        except sqlite3.DatabaseError as exc:
            raise StoreCorruptedError(
                f"The profile database {path} is damaged or not a chatrec database ({exc}). "
                "Move it aside to start with empty profiles; chatrec never overwrites it."
            ) from exc

    def load(self, user_id: str, dim: int) -> InterestState | None:
        with self._lock:
            row = self._db.execute("SELECT state FROM users WHERE user_id = ?", (user_id,)).fetchone()
        return state_from_json(row[0], dim) if row else None

    def save(self, user_id: str, state: InterestState, now: float, events: list[tuple[str, dict[str, Any]]]) -> None:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute(
                    "INSERT INTO users (user_id, state, updated) VALUES (?, ?, ?) "
                    "ON CONFLICT(user_id) DO UPDATE SET state = excluded.state, updated = excluded.updated",
                    (user_id, state_to_json(state), now),
                )
                self._db.executemany(
                    "INSERT INTO events (user_id, ts, kind, payload) VALUES (?, ?, ?, ?)",
                    [(user_id, now, kind, json.dumps(payload, ensure_ascii=False)) for kind, payload in events],
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def events(self, user_id: str) -> list[tuple[float, str, dict[str, Any]]]:
        with self._lock:
            rows = self._db.execute("SELECT ts, kind, payload FROM events WHERE user_id = ? ORDER BY id", (user_id,)).fetchall()
        return [(ts, kind, json.loads(payload)) for ts, kind, payload in rows]

    def forget(self, user_id: str) -> None:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute("DELETE FROM users WHERE user_id = ?", (user_id,))
            self._db.execute("DELETE FROM events WHERE user_id = ?", (user_id,))
            self._db.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self._db.close()



