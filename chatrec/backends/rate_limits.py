"""Chat rate limits per user: token buckets in this process (`MemoryRateLimit`), or in the PostgreSQL profile
database (`PostgresRateLimit`) so that every app process on every host spends from the same bucket.

PostgreSQL rather than Redis (through `limits`): deployments with several processes already run the profile
database, one UPSERT per chat message is well within what it serves, and one engine fewer is one part fewer to
start, watch and lose. The bucket is the same in both: `per_minute` tokens a minute, in bursts of up to as many.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING

from chatrec.errors import ConfigError

if TYPE_CHECKING:
    from chatrec.backends.postgres_profiles import PostgresProfiles

__all__ = ["MAX_RATE_USERS", "MemoryRateLimit", "PostgresRateLimit", "tokens_per_second"]
MAX_RATE_USERS = 50_000  # token buckets kept in memory (about 150 bytes each); the least recently used go first
PRUNE_EVERY = 1_000  # takes between two deletions of idle buckets in PostgreSQL


def tokens_per_second(per_minute: int) -> float:
    """Tokens a second for `per_minute` a minute (a setting below 1 is a configuration error)."""
    if per_minute < 1:
        raise ConfigError(f"the rate limit must be at least 1 a minute, got {per_minute}")
    return per_minute / 60.0


class MemoryRateLimit:
    """Token buckets per user in this process; at most `max_users` are kept (a bucket left idle for a minute is
    full again, so forgetting the oldest loses nothing)."""

    def __init__(
        self, per_minute: int, max_users: int = MAX_RATE_USERS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = tokens_per_second(per_minute)
        self.burst, self.max_users, self.clock = float(per_minute), max_users, clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # user -> (tokens, when), oldest first
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """Spend one token of `key`'s: 0.0 when the request may go ahead, else the seconds until it may."""
        now = self.clock()
        with self._lock:
            tokens, then = self._buckets.pop(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - then) * self.rate)
            wait = 0.0 if tokens >= 1.0 else (1.0 - tokens) / self.rate
            self._buckets[key] = (tokens - 1.0 if wait == 0.0 else tokens, now)
            while len(self._buckets) > self.max_users:
                self._buckets.popitem(last=False)
        return wait


# One statement per take, on the database's clock (hosts' clocks may differ): refill the bucket for the time since
# its last take, spend a token if there is one, and say whether it did.
TAKE = """
WITH now AS (SELECT extract(epoch FROM clock_timestamp())::double precision AS t)
INSERT INTO chatrec_rate AS r (key, tokens, at, granted)
SELECT %(key)s, %(burst)s - 1, now.t, TRUE FROM now
ON CONFLICT (key) DO UPDATE SET
    tokens = CASE WHEN least(%(burst)s, r.tokens + (excluded.at - r.at) * %(rate)s) >= 1
                  THEN least(%(burst)s, r.tokens + (excluded.at - r.at) * %(rate)s) - 1
                  ELSE least(%(burst)s, r.tokens + (excluded.at - r.at) * %(rate)s) END,
    granted = least(%(burst)s, r.tokens + (excluded.at - r.at) * %(rate)s) >= 1,
    at = excluded.at
RETURNING tokens, granted
"""
PRUNE = "DELETE FROM chatrec_rate WHERE at < extract(epoch FROM clock_timestamp()) - %s"


class PostgresRateLimit:
    """Token buckets per user in the profile database's `chatrec_rate` table, shared by every process that uses
    it; buckets idle long enough to be full again are deleted now and then, so the table stays the size of the
    users active in the last minutes. The database down: `ProfilesUnavailableError` (the API's 503)."""

    def __init__(self, profiles: PostgresProfiles, per_minute: int) -> None:
        self.rate = tokens_per_second(per_minute)
        self.burst, self.profiles = float(per_minute), profiles
        self._takes = 0
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """Spend one token of `key`'s: 0.0 when the request may go ahead, else the seconds until it may."""
        with self.profiles.transaction() as conn:
            tokens, granted = conn.execute(TAKE, {"key": key, "burst": self.burst, "rate": self.rate}).fetchone()
        self._maybe_prune()
        return 0.0 if granted else (1.0 - float(tokens)) / self.rate

    def _maybe_prune(self) -> None:
        with self._lock:
            self._takes += 1
            due = self._takes % PRUNE_EVERY == 0
        if due:
            with self.profiles.transaction() as conn:
                conn.execute(PRUNE, (self.burst / self.rate + 60.0,))
