"""The seams to the parts backed by models or services: the vector store, the profile store, the embedder and the
generator, as protocols.

Each has real implementations (chatrec/backends/, chatrec/generators/) and an in-memory double for logic tests
(`MemoryStore`, `MemoryProfiles`, `HashingEmbedder`, `ScriptedGenerator`), and one contract suite in
tests/contracts/ that every implementation passes. What a part may or may not do is declared here as an attribute
or a method every implementation has (`Embedder.languages`, `Generator.warm`), never probed with `getattr`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from collections.abc import Generator as PieceStream
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import numpy as np

if TYPE_CHECKING:
    from chatrec.catalog.items import Item
    from chatrec.users.interests import InterestState

T = TypeVar("T")
Event = tuple[str, dict[str, Any]]  # (kind, payload) of one thing that happened in a turn
StoredEvent = tuple[float, str, dict[str, Any]]  # (timestamp, kind, payload) as kept
Message = dict[str, str]  # one chat message: {"role": ..., "content": ...}
Stream = PieceStream[str, None, None]  # text pieces as they are written; the caller may `close()` it early


@dataclass(frozen=True)
class Hit:
    """One retrieved item: its id, the dot product with the query, and its stored vector (None if not asked for)."""

    item_id: str
    score: float
    vector: np.ndarray | None


@dataclass(frozen=True)
class Limits:
    """How much one reply may cost: a token cap, a wall-clock budget, and how long to wait for a busy model."""

    max_new_tokens: int = 80
    budget_s: float = 8.0
    wait_s: float = 2.0


class Embedder(Protocol):
    """Turns texts into L2-normalised float32 rows; `id` names the model so stored vectors can be checked."""

    @property
    def id(self) -> str: ...

    @property
    def dim(self) -> int: ...

    @property
    def languages(self) -> frozenset[str] | None:
        """The languages it reads (None: any); a concatenation zeroes its part for texts in others."""
        ...

    def embed(self, texts: Sequence[str], items: bool = False) -> np.ndarray:
        """`items`: the texts describe catalog items (ingest), and a model may read less of each (MiniLM reads the
        first `ITEM_TOKENS` word pieces, backends/embedders.py); queries are read whole."""
        ...


class VectorStore(Protocol):
    """Item vectors with a little metadata (kind, language, year, content hash), searched by inner product.

    `query` returns the `n` items with the largest dot product, best first, never one in `exclude` nor (with `kind`)
    one of another kind, however long `exclude` is; `vectors` skips unknown ids; writes are idempotent."""

    @property
    def embedder_id(self) -> str: ...

    @property
    def dim(self) -> int: ...

    @property
    def location(self) -> str: ...

    def count(self) -> int: ...

    def stored_hashes(self) -> dict[str, str]: ...

    def vectors(self, ids: Sequence[str]) -> dict[str, np.ndarray]: ...

    def query(
        self,
        vector: np.ndarray,
        n: int,
        exclude: Sequence[str] = (),
        kind: str | None = None,
        with_vectors: bool = True,
    ) -> list[Hit]: ...

    def upsert(self, items: Sequence[Item], vectors: np.ndarray, hashes: Sequence[str]) -> None: ...

    def delete(self, ids: Sequence[str]) -> None: ...

    def clear(self) -> None: ...

    def close(self) -> None: ...


class ProfileStore(Protocol):
    """Each user's interest state and the timestamped events of their turns.

    `update` reads the state, applies `change` and saves the state with the change's events as one atomic step,
    also across processes (applying `change` again when another writer got there first). `hold` keeps other
    processes' calls for the user waiting while a call of this one runs, where the store is shared by processes on
    several hosts (PostgreSQL: an advisory lock; elsewhere nothing beyond the row versions). `forget` deletes every
    row of the user; `prune_events` deletes events older than a time (the retention setting)."""

    @property
    def location(self) -> str: ...

    def load(self, user_id: str, dim: int) -> InterestState | None: ...

    def update(
        self, user_id: str, dim: int, change: Callable[[InterestState], tuple[list[Event], T]], now: float
    ) -> T: ...

    def hold(self, user_id: str) -> AbstractContextManager[None]: ...

    def events(self, user_id: str) -> list[StoredEvent]: ...

    def forget(self, user_id: str) -> None: ...

    def prune_events(self, before: float) -> int: ...

    def close(self) -> None: ...


class RateLimiter(Protocol):
    """Token buckets per key (a user): `take` spends one token and says 0.0 when the request may go ahead, else
    the seconds until it may. Held in this process, or in the profile database that every process shares."""

    def take(self, key: str) -> float: ...


class Generator(Protocol):
    """Anything that turns chat messages into streamed text, bounded by `Limits`.

    `stream` yields `prefix` first (the reply's opening, given: the model continues it), never writes the words in
    `avoid`, stops at the limits or when `stop` is set, and raises `GeneratorBusy` before any text when it cannot
    start within `limits.wait_s`. `warm` reads a system prompt ahead of the first user (a no-op where there is
    nothing to gain); `languages` are the reply languages it writes well."""

    @property
    def id(self) -> str: ...

    @property
    def languages(self) -> frozenset[str]: ...

    @property
    def device(self) -> str: ...

    def warm(self, messages: list[Message]) -> None: ...

    def stream(
        self,
        messages: list[Message],
        limits: Limits,
        stop: threading.Event | None = None,
        prefix: str = "",
        avoid: Sequence[str] = (),
    ) -> Stream: ...
