"""Opening the configured store parts: the vector store (embedded Chroma, or a Chroma server) and the profile store
named by `profiles_url` (SQLite by default, PostgreSQL, or in memory). A new backend is one class and one line here."""

from __future__ import annotations

from pathlib import Path

from chatrec.backends.chroma import ChromaStore
from chatrec.backends.memory import MemoryProfiles
from chatrec.backends.rate_limits import MemoryRateLimit, PostgresRateLimit
from chatrec.backends.sqlite_profiles import SQLiteProfiles
from chatrec.config import Settings
from chatrec.errors import ConfigError
from chatrec.ports import Embedder, ProfileStore, RateLimiter, VectorStore


def open_store(settings: Settings, embedder: Embedder) -> VectorStore:
    """The vector store for this embedder: Chroma in the data folder, or the server at `chroma_url`."""
    return ChromaStore(settings, embedder.id, embedder.dim)


def open_profiles(settings: Settings) -> ProfileStore:
    """The profile store `settings.profiles_location` names."""
    url = settings.profiles_location
    if url.startswith("sqlite:///"):
        return SQLiteProfiles(Path(url.removeprefix("sqlite:///")))
    if url.startswith("memory:"):
        return MemoryProfiles()
    if url.startswith("postgresql://"):
        from chatrec.backends.postgres_profiles import PostgresProfiles

        return PostgresProfiles(url)
    raise ConfigError(
        f"profiles_url {url.split('://')[0]}://… is not supported by this version of chatrec; "
        "use sqlite:///PATH (the default), postgresql://… or memory:"
    )


def open_rate_limit(settings: Settings, profiles: ProfileStore) -> RateLimiter:
    """The chat rate limit: in the profile database when that is PostgreSQL (every process shares the buckets),
    else in this process."""
    from chatrec.backends.postgres_profiles import PostgresProfiles

    if isinstance(profiles, PostgresProfiles):
        return PostgresRateLimit(profiles, settings.chat_per_minute)
    return MemoryRateLimit(settings.chat_per_minute)
