"""`SQLiteProfiles`: user profiles at rest in one SQLite file, each user's interest state and a log of timestamped
events (the default `ProfileStore`, `profiles_url` sqlite:///PATH).

Safe for several processes on one file: each state row carries a version, and `update` writes only over the version
it read (optimistic concurrency), re-reading and re-applying the change when another process got there first.
Forgetting overwrites what it deletes (`secure_delete`) and truncates the write-ahead log, so no copy of a
forgotten user's text stays in any file. A full disk fails a write as `DiskFullError`: SQLite undoes that
transaction, so nothing is saved and nothing is damaged, and writes work again once there is room.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import TypeVar

from chatrec.backends import versioned
from chatrec.backends.migrations import Migration, pending
from chatrec.errors import DiskFullError, StoreCorruptedError, is_disk_full
from chatrec.ports import Event, StoredEvent
from chatrec.users.interests import InterestState
from chatrec.users.stored import state_from_json, state_to_json

log = logging.getLogger(__name__)
T = TypeVar("T")
MIGRATIONS = (
    Migration(
        1,
        "users and events",
        (
            "CREATE TABLE IF NOT EXISTS users (user_id TEXT PRIMARY KEY, state TEXT NOT NULL, updated REAL NOT NULL)",
            "CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY AUTOINCREMENT, user_id TEXT NOT NULL, "
            "ts REAL NOT NULL, kind TEXT NOT NULL, payload TEXT NOT NULL)",
            "CREATE INDEX IF NOT EXISTS events_user ON events (user_id, ts)",
            "CREATE INDEX IF NOT EXISTS events_ts ON events (ts)",
        ),
    ),
    Migration(2, "row versions", ("ALTER TABLE users ADD COLUMN version INTEGER NOT NULL DEFAULT 0",)),
)


@contextmanager
def disk_full_reported(path: Path, doing: str) -> Iterator[None]:
    """Raise SQLite failing for a full disk (SQLITE_FULL, "database or disk is full") as DiskFullError."""
    try:
        yield
    except sqlite3.Error as exc:
        if not is_disk_full(exc):
            raise
        raise DiskFullError(
            f"The disk holding the profile database {path} is full: {doing} failed and nothing was saved. "
            "Free some space there; it works again without a restart."
        ) from exc


class SQLiteProfiles:
    """Thread-safe access to profiles.sqlite; every save is one transaction (a crash loses at most that turn)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        try:
            with disk_full_reported(path, "opening it"):
                self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None, timeout=30)
                self._db.execute("PRAGMA secure_delete=ON")  # deleted rows are overwritten, not left in free pages
                self._db.execute("PRAGMA journal_mode=WAL")
                self._migrate()
                self._db.execute("SELECT count(*) FROM users").fetchone()
        except sqlite3.DatabaseError as exc:
            raise StoreCorruptedError(
                f"The profile database {path} is damaged or not a chatrec database ({exc}). "
                "Move it aside to start with empty profiles; chatrec never overwrites it."
            ) from exc

    def _migrate(self) -> None:
        """Bring the file forward by the steps it lacks, in one transaction (never reinterpret it). A file from
        before the `chatrec_migrations` table is read for the steps it already has."""
        with self._transaction("bringing it up to date"):
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS chatrec_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
                "applied REAL NOT NULL)"
            )
            applied = {row[0] for row in self._db.execute("SELECT version FROM chatrec_migrations")}
            if not applied:
                applied = self._found_steps()
                self._record(MIGRATIONS, applied)
            for step in pending(MIGRATIONS, applied, self.location):
                for statement in step.statements:
                    self._db.execute(statement)
                self._record(MIGRATIONS, {step.version})

    @contextmanager
    def _transaction(self, doing: str) -> Iterator[None]:
        """BEGIN IMMEDIATE, the caller's statements, COMMIT. On an error it is rolled back unless SQLite already did
        (a COMMIT failing for a full disk undoes the transaction itself, and a second ROLLBACK would raise "no
        transaction is active" over the real error); a full disk is DiskFullError."""
        with disk_full_reported(self.path, doing):
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield
                self._db.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise

    def _found_steps(self) -> set[int]:
        """The steps a file made before the migrations table already has: its tables, then the version column."""
        tables = {row[0] for row in self._db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(users)")} if "users" in tables else set()
        return ({1} if {"users", "events"} <= tables else set()) | ({2} if "version" in columns else set())

    def _record(self, steps: tuple[Migration, ...], versions: set[int]) -> None:
        self._db.executemany(
            "INSERT INTO chatrec_migrations (version, name, applied) VALUES (?, ?, ?)",
            [(m.version, m.name, time.time()) for m in steps if m.version in versions],
        )

    def load(self, user_id: str, dim: int) -> InterestState | None:
        return self._read(user_id, dim)[0]

    def _read(self, user_id: str, dim: int) -> tuple[InterestState | None, int | None]:
        """(state, version), or (None, None) for a user with no row."""
        with self._lock:
            row = self._db.execute("SELECT state, version FROM users WHERE user_id = ?", (user_id,)).fetchone()
        return (state_from_json(row[0], dim), int(row[1])) if row else (None, None)

    def update(self, user_id: str, dim: int, change: Callable[[InterestState], tuple[list[Event], T]], now: float) -> T:
        """Apply `change` to the user's current state and save it with its events, as one atomic step across
        processes: if another process saved the user in between, read again and apply `change` again."""
        return versioned.update(self._read, self._write, user_id, dim, change, now)

    def _write(self, user_id: str, state: InterestState, version: int | None, now: float, events: list[Event]) -> bool:
        """Save over `version` (None: there was no row); False when the row is no longer at that version."""
        with self._lock, self._transaction("saving a profile"):
            if version is None:
                done = self._db.execute(
                    "INSERT INTO users (user_id, state, updated, version) VALUES (?, ?, ?, 1) "
                    "ON CONFLICT(user_id) DO NOTHING",
                    (user_id, state_to_json(state), now),
                ).rowcount
            else:
                done = self._db.execute(
                    "UPDATE users SET state = ?, updated = ?, version = version + 1 WHERE user_id = ? AND version = ?",
                    (state_to_json(state), now, user_id, version),
                ).rowcount
            if done:
                self._db.executemany(
                    "INSERT INTO events (user_id, ts, kind, payload) VALUES (?, ?, ?, ?)",
                    [(user_id, now, kind, json.dumps(payload, ensure_ascii=False)) for kind, payload in events],
                )
        return bool(done)

    @property
    def location(self) -> str:
        return f"sqlite:///{self.path}"

    def hold(self, user_id: str) -> AbstractContextManager[None]:
        """Nothing held beyond the row versions: processes sharing a SQLite file share one host and its folder, and
        no update of theirs is lost; calls of one user from two processes may interleave (docs/deploy.md)."""
        return nullcontext()

    def events(self, user_id: str) -> list[StoredEvent]:
        with self._lock:
            rows = self._db.execute(
                "SELECT ts, kind, payload FROM events WHERE user_id = ? ORDER BY id", (user_id,)
            ).fetchall()
        return [(ts, kind, json.loads(payload)) for ts, kind, payload in rows]

    def forget(self, user_id: str) -> None:
        """Delete the user's row and events, overwriting them on disk, and empty the write-ahead log."""
        with self._lock:
            with self._transaction("forgetting a user"):
                self._db.execute("DELETE FROM users WHERE user_id = ?", (user_id,))
                self._db.execute("DELETE FROM events WHERE user_id = ?", (user_id,))
            with disk_full_reported(self.path, "emptying the log after forgetting a user"):
                busy = self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
        if busy:  # another process is reading: the log is emptied by the next checkpoint that gets through
            log.warning("forget: the profile log could not be truncated now (another process is reading it)")

    def prune_events(self, before: float) -> int:
        """Delete every user's events older than `before` (Unix seconds), overwritten on disk; how many went."""
        with self._lock, disk_full_reported(self.path, "deleting old events"):
            return int(self._db.execute("DELETE FROM events WHERE ts < ?", (before,)).rowcount)

    def close(self) -> None:
        with self._lock:
            self._db.close()
