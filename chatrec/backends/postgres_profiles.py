"""`PostgresProfiles`: user profiles in PostgreSQL (`profiles_url` postgresql://…), for app processes on several
hosts that share one profile database.

Each user's state is one row with a version, saved in one transaction with the turn's events only over the version
it was read at (optimistic concurrency, as in SQLite): two processes changing the same user both get their change
applied, the later one re-read and re-applied, and neither update is lost. Connections come from a
psycopg_pool pool; the schema is brought forward by the numbered steps below (`chatrec/backends/migrations.py`),
under an advisory lock so that processes starting together migrate once. A server that cannot be reached raises
`ProfilesUnavailableError` (the API answers 503 with Retry-After) and nothing is half saved.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

from chatrec.backends import versioned
from chatrec.backends.migrations import Migration, pending
from chatrec.errors import ProfileBusyError, ProfilesUnavailableError
from chatrec.ports import Event, StoredEvent
from chatrec.users.interests import InterestState
from chatrec.users.stored import state_from_json, state_to_json

log = logging.getLogger(__name__)
T = TypeVar("T")
MIGRATION_LOCK = 7_302_114  # pg_advisory_xact_lock key: one process migrates at a time
HOLD_WAIT_S = 60.0  # how long a call waits for another process's call of the same user before giving up (busy)
HOLD_POLL_S = 0.02
MIGRATIONS = (
    Migration(
        1,
        "users and events",
        (
            "CREATE TABLE IF NOT EXISTS chatrec_users (user_id TEXT PRIMARY KEY, state TEXT NOT NULL, "
            "updated DOUBLE PRECISION NOT NULL)",
            "CREATE TABLE IF NOT EXISTS chatrec_events (id BIGSERIAL PRIMARY KEY, user_id TEXT NOT NULL, "
            "ts DOUBLE PRECISION NOT NULL, kind TEXT NOT NULL, payload TEXT NOT NULL)",
            "CREATE INDEX IF NOT EXISTS chatrec_events_user ON chatrec_events (user_id, id)",
            "CREATE INDEX IF NOT EXISTS chatrec_events_ts ON chatrec_events (ts)",
        ),
    ),
    Migration(
        2, "row versions", ("ALTER TABLE chatrec_users ADD COLUMN IF NOT EXISTS version BIGINT NOT NULL DEFAULT 0",)
    ),
    Migration(
        3,
        "rate-limit buckets",
        (
            "CREATE TABLE IF NOT EXISTS chatrec_rate (key TEXT PRIMARY KEY, tokens DOUBLE PRECISION NOT NULL, "
            "at DOUBLE PRECISION NOT NULL, granted BOOLEAN NOT NULL)",
        ),
    ),
)


def without_password(url: str) -> str:
    """The URL as shown in logs and `location`: no password."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


class PostgresProfiles:
    """Profiles in a PostgreSQL database; thread-safe (a pool of connections), safe across processes and hosts."""

    def __init__(self, url: str, max_connections: int = 16, timeout_s: float = 5.0) -> None:
        """`max_connections`: a call's `hold` keeps one for its length and its saves take another, so room for
        the API's 4 chat threads, their feedback and the rate limit. `timeout_s`: how long a request waits for a
        connection (a server down answers 503 after that, not after a minute)."""
        from psycopg_pool import ConnectionPool

        self.url = url
        self._pool = ConnectionPool(
            url,
            min_size=1,
            max_size=max_connections,
            timeout=timeout_s,
            open=False,
            kwargs={"connect_timeout": max(1, int(timeout_s))},
            check=ConnectionPool.check_connection,
        )
        try:
            self._pool.open(wait=True, timeout=timeout_s)
            self._migrate()
        except Exception as exc:
            self._pool.close()
            raise _unavailable(url, exc) from exc

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        """A connection in one transaction: committed at the end, rolled back on any error; a server that cannot be
        reached raises `ProfilesUnavailableError`. (Also used by chatrec/backends/rate_limits.py.)"""
        import psycopg
        import psycopg_pool

        try:
            with self._pool.connection() as conn, conn.transaction():
                yield conn
        except (psycopg.OperationalError, psycopg_pool.PoolTimeout) as exc:
            raise _unavailable(self.url, exc) from exc

    def _migrate(self) -> None:
        with self.transaction() as conn:
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
            conn.execute(
                "CREATE TABLE IF NOT EXISTS chatrec_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
                "applied DOUBLE PRECISION NOT NULL)"
            )
            applied = {row[0] for row in conn.execute("SELECT version FROM chatrec_migrations")}
            for step in pending(MIGRATIONS, applied, self.location):
                for statement in step.statements:
                    conn.execute(statement)
                conn.execute(
                    "INSERT INTO chatrec_migrations (version, name, applied) VALUES (%s, %s, %s)",
                    (step.version, step.name, time.time()),
                )
                log.info("profile database %s: applied schema step %d (%s)", self.location, step.version, step.name)

    @property
    def location(self) -> str:
        return without_password(self.url)

    def load(self, user_id: str, dim: int) -> InterestState | None:
        with self.transaction() as conn:
            row = conn.execute("SELECT state FROM chatrec_users WHERE user_id = %s", (user_id,)).fetchone()
        return state_from_json(row[0], dim) if row else None

    def update(self, user_id: str, dim: int, change: Callable[[InterestState], tuple[list[Event], T]], now: float) -> T:
        """Apply `change` to the user's state and save it with its events in one transaction, over the row version
        it read (optimistic concurrency, as SQLite does): when another process saved the user in between, read
        again and apply `change` again. No lock is held while `change` runs."""
        return versioned.update(self._read, self._write, user_id, dim, change, now)

    def _read(self, user_id: str, dim: int) -> tuple[InterestState | None, int | None]:
        with self.transaction() as conn:
            row = conn.execute("SELECT state, version FROM chatrec_users WHERE user_id = %s", (user_id,)).fetchone()
        return (state_from_json(row[0], dim), int(row[1])) if row else (None, None)

    def _write(self, user_id: str, state: InterestState, version: int | None, now: float, events: list[Event]) -> bool:
        """Save over `version` (None: there was no row), with the events, in one transaction; False when the row
        is no longer at that version."""
        with self.transaction() as conn:
            if version is None:
                done = conn.execute(
                    "INSERT INTO chatrec_users (user_id, state, updated, version) VALUES (%s, %s, %s, 1) "
                    "ON CONFLICT (user_id) DO NOTHING",
                    (user_id, state_to_json(state), now),
                ).rowcount
            else:
                done = conn.execute(
                    "UPDATE chatrec_users SET state = %s, updated = %s, version = version + 1 "
                    "WHERE user_id = %s AND version = %s",
                    (state_to_json(state), now, user_id, version),
                ).rowcount
            if done and events:
                with conn.cursor() as cur:
                    cur.executemany(
                        "INSERT INTO chatrec_events (user_id, ts, kind, payload) VALUES (%s, %s, %s, %s)",
                        [(user_id, now, kind, json.dumps(payload, ensure_ascii=False)) for kind, payload in events],
                    )
        return bool(done)

    @contextmanager
    def hold(self, user_id: str, wait_s: float = HOLD_WAIT_S) -> Iterator[None]:
        """One call of the user at a time in every process on this database: a session advisory lock on the
        user's key, taken on a connection of the pool for the length of the call and given back at the end (or by
        the server, when the holding process dies). Waits up to `wait_s` for another call, then `ProfileBusyError`."""
        import psycopg
        import psycopg_pool

        key = "SELECT hashtextextended(%s, 0)"
        try:
            with self._pool.connection() as conn:
                conn.autocommit = True
                lock = int(conn.execute(key, (user_id,)).fetchone()[0])  # type: ignore[index]
                deadline = time.monotonic() + wait_s
                while not conn.execute("SELECT pg_try_advisory_lock(%s)", (lock,)).fetchone()[0]:  # type: ignore[index]
                    if time.monotonic() > deadline:
                        raise ProfileBusyError(f"another call of {user_id!r} held the profile for {wait_s:.0f} s")
                    time.sleep(HOLD_POLL_S)
                try:
                    yield
                finally:
                    if not conn.closed:
                        conn.execute("SELECT pg_advisory_unlock(%s)", (lock,))
                        conn.autocommit = False  # as the pool gave it
        except (psycopg.OperationalError, psycopg_pool.PoolTimeout) as exc:
            raise _unavailable(self.url, exc) from exc

    def events(self, user_id: str) -> list[StoredEvent]:
        with self.transaction() as conn:
            rows = conn.execute(
                "SELECT ts, kind, payload FROM chatrec_events WHERE user_id = %s ORDER BY id", (user_id,)
            ).fetchall()
        return [(float(ts), kind, json.loads(payload)) for ts, kind, payload in rows]

    def forget(self, user_id: str) -> None:
        """Delete the user's row and every event of theirs in one transaction (PostgreSQL's autovacuum then
        reclaims the space; docs/deploy.md says what that means for copies in backups)."""
        with self.transaction() as conn:
            conn.execute("DELETE FROM chatrec_events WHERE user_id = %s", (user_id,))
            conn.execute("DELETE FROM chatrec_users WHERE user_id = %s", (user_id,))

    def prune_events(self, before: float) -> int:
        with self.transaction() as conn:
            return int(conn.execute("DELETE FROM chatrec_events WHERE ts < %s", (before,)).rowcount)

    def close(self) -> None:
        self._pool.close()


def _unavailable(url: str, exc: BaseException) -> ProfilesUnavailableError:
    return ProfilesUnavailableError(
        f"The profile database {without_password(url)} cannot be used right now ({type(exc).__name__}: "
        f"{str(exc).strip().splitlines()[0] if str(exc).strip() else 'no answer'})."
    )
