"""The chat rate limit (chatrec/backends/rate_limits.py): token buckets in one process, and in PostgreSQL where every
process (here: two pools on one database, as two workers would hold) spends from the same bucket."""

from __future__ import annotations

from pathlib import Path

import pytest

from chatrec import Settings
from chatrec.backends.factory import open_profiles, open_rate_limit
from chatrec.backends.rate_limits import MemoryRateLimit, PostgresRateLimit
from chatrec.errors import ConfigError


def test_the_memory_limit_refills_and_keeps_bounded_memory() -> None:
    now = [0.0]
    limit = MemoryRateLimit(per_minute=6, max_users=3, clock=lambda: now[0])
    assert [limit.take("a") for _ in range(6)] == [0.0] * 6
    assert limit.take("a") == pytest.approx(10.0)  # one token every 10 s
    now[0] = 10.0
    assert limit.take("a") == 0.0 and limit.take("a") > 0
    for user in ("b", "c", "d", "e"):
        limit.take(user)
    assert len(limit._buckets) == 3 and "a" not in limit._buckets
    with pytest.raises(ConfigError):
        MemoryRateLimit(per_minute=0)


def test_sqlite_profiles_keep_the_limit_in_the_process(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, chat_per_minute=7)
    profiles = open_profiles(settings)
    try:
        limit = open_rate_limit(settings, profiles)
        assert isinstance(limit, MemoryRateLimit) and limit.burst == 7
    finally:
        profiles.close()


def test_on_postgres_every_process_spends_from_one_bucket(postgres_url: str) -> None:
    from pg_server import fresh_database

    url = fresh_database(postgres_url)
    settings = Settings(profiles_url=url, chat_per_minute=3)
    one, two = open_profiles(settings), open_profiles(settings)
    try:
        a, b = open_rate_limit(settings, one), open_rate_limit(settings, two)
        assert isinstance(a, PostgresRateLimit) and isinstance(b, PostgresRateLimit)
        assert [a.take("u"), b.take("u"), a.take("u")] == [0.0, 0.0, 0.0]  # the burst, spent across both
        waits = [b.take("u"), a.take("u")]
        assert all(0.0 < w <= 20.0 for w in waits), waits  # one token every 20 s, whichever process asks
        assert a.take("someone else") == 0.0  # buckets are per user
    finally:
        one.close()
        two.close()
