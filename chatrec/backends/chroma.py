"""The vector store: a Chroma collection in inner-product space holding our own item vectors.

Embedded `PersistentClient` under the data folder by default, `HttpClient` when a server URL is set.
Chroma's own embedding function is never used (it would download a model): vectors are always passed in.
Only one process may write an embedded store, so opening one takes an exclusive lock on the folder.
A damaged index can segfault Chroma, so an embedded store is first read by a child process (backends/probe.py),
and Chroma's errors at run time become `StoreCorruptedError` with the rebuild hint. A full disk is never damage: it is
`DiskFullError` (Chroma undoes the write that failed; it works again once there is room, and a rebuild would not help).
"""

from __future__ import annotations

import fcntl
import os
import shutil
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np

from chatrec.backends.probe import has_data, problem
from chatrec.catalog.items import Item
from chatrec.config import Settings, offline_environment
from chatrec.errors import (
    DiskFullError,
    StoreCorruptedError,
    StoreError,
    StoreLockedError,
    StoreUnavailableError,
    is_disk_full,
    says_disk_full,
)
from chatrec.ports import Hit

SCHEMA = 1
LOCK_NAME = "chatrec-writer.lock"
READ_PAGE = 5_000  # stored items read at once
LOW_ROOM = 16 << 20  # bytes: a store failure with less free than this on its disk is reported as a full disk
REBUILD_HINT = "Rebuild it from the catalog with `chatrec ingest CATALOG --rebuild` (the old folder is kept aside)."


def is_store_failure(exc: BaseException) -> bool:
    """Whether an exception is Chroma failing on its own data (not a bad argument from our code).

    Chroma 1.5 raises `chromadb.errors.InternalError` when a segment or the HNSW index cannot be read, and its Rust
    core raises pyo3's `PanicException` (a BaseException) when it trips over damaged data. Argument errors
    (InvalidArgumentError, InvalidDimensionException, DuplicateIDError) and Python errors (TypeError, ...) are ours.
    """
    from chromadb.errors import InternalError

    # pyo3 makes PanicException at run time in a module it never registers ("pyo3_runtime"), so no import can name
    # it: its module and name are all there is to recognise it by.
    panic = type(exc).__module__ == "pyo3_runtime" and type(exc).__name__ == "PanicException"
    return isinstance(exc, InternalError) or panic


def check_readable(settings: Settings) -> None:
    """Read an embedded store in a child process; StoreCorruptedError if that crashed, failed or hung."""
    if settings.chroma_url or not has_data(settings.chroma_dir):
        return  # a server checks itself; a new folder has nothing to read
    found = problem(settings.chroma_dir, settings.collection, meanwhile=_import_chroma)
    if found and says_disk_full(found):  # Chroma writes to its database when it opens one: not damage
        raise disk_full(settings.chroma_dir, "opening it")
    if found:
        raise StoreCorruptedError(f"The vector store at {settings.chroma_dir} is damaged: {found}. {REBUILD_HINT}")


def disk_full(location: object, doing: str) -> DiskFullError:
    """The error for a full disk under the store at `location`."""
    return DiskFullError(
        f"The disk holding the vector store at {location} is full: {doing} failed and was not saved. "
        "Free some space there and try again (the store is not damaged; do not rebuild it)."
    )


def _import_chroma() -> None:
    """Import Chroma (about 1 s), which this process needs next anyway, while the child process reads the store."""
    import chromadb  # noqa: F401


def item_metadata(item: Item, content_hash: str) -> dict[str, Any]:
    """What Chroma keeps beside each vector: enough to filter on and to tell whether it is stale."""
    meta: dict[str, Any] = {"item_id": item.id, "hash": content_hash, "kind": item.kind or "unknown"}
    if item.language:
        meta["language"] = item.language
    if item.year is not None:
        meta["year"] = item.year
    return meta


class _FolderLock:
    """An exclusive, non-blocking flock on a file; released on close or process exit."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._handle = path.open("a+")
        try:
            fcntl.flock(self._handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._handle.close()
            raise StoreLockedError(
                f"{path.parent} is in use by another chatrec process; only one process may write a store "
                "(two writers corrupt it). Stop the other one, use another CHATREC_DATA_DIR, or run a Chroma "
                "server (CHATREC_CHROMA_URL)."
            ) from None

    def release(self) -> None:
        if not self._handle.closed:
            fcntl.flock(self._handle, fcntl.LOCK_UN)
            self._handle.close()


class ChromaStore:
    """Item vectors in one Chroma collection, tagged with the embedder that made them."""

    def __init__(self, settings: Settings, embedder_id: str, dim: int) -> None:
        offline_environment()
        self.settings = settings
        self.embedder_id = embedder_id
        self.dim = dim
        self._lock: _FolderLock | None = None
        self._client: Any = None
        if settings.chroma_url is None:
            self._lock = _FolderLock(settings.chroma_dir / LOCK_NAME)
        try:
            check_readable(settings)  # before this process opens it: a crash there kills only the child
            self._client = self._connect()
            self._collection = self._open_collection()
        except StoreError:
            self.close()
            raise
        except Exception as exc:  # Chroma raises many kinds of errors on a damaged folder
            self.close()
            if is_disk_full(exc):
                raise disk_full(self.location, "opening it") from exc
            raise StoreCorruptedError(
                f"The vector store at {self.location} cannot be opened ({exc}). {REBUILD_HINT}"
            ) from exc

    @property
    def location(self) -> str:
        return self.settings.chroma_url or str(self.settings.chroma_dir)

    def _connect(self) -> Any:
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        chroma_settings = ChromaSettings(anonymized_telemetry=False)
        if self.settings.chroma_url:
            url = urlparse(self.settings.chroma_url)
            return chromadb.HttpClient(
                host=url.hostname or "localhost",
                port=url.port or 8000,
                ssl=url.scheme == "https",
                settings=chroma_settings,
            )
        return chromadb.PersistentClient(path=str(self.settings.chroma_dir), settings=chroma_settings)

    def _open_collection(self) -> Any:
        collection = self._client.get_or_create_collection(
            self.settings.collection,
            embedding_function=None,
            configuration={"hnsw": {"space": "ip"}},
            metadata={"embedder": self.embedder_id, "dim": self.dim, "schema": SCHEMA},
        )
        meta = collection.metadata or {}
        if meta.get("embedder") != self.embedder_id or meta.get("schema") != SCHEMA:
            raise StoreCorruptedError(
                f"The vector store at {self.location} was built with embedder {meta.get('embedder')!r} "
                f"(schema {meta.get('schema')}), not {self.embedder_id!r}. {REBUILD_HINT}"
            )
        collection.count()  # touches the segments: fails here, not mid-chat, on a damaged folder
        return collection

    def close(self) -> None:
        """Release Chroma's client (the last one of a folder stops its system and lets go of its files) and the
        folder's writer lock; closing twice is harmless."""
        if self._client is not None:  # None when opening failed before the client was made
            self._client.close()
            self._client = None
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def _nearly_full(self) -> bool:
        """Whether the disk under an embedded store has less than LOW_ROOM bytes free."""
        if self.settings.chroma_url:
            return False
        try:
            return shutil.disk_usage(self.settings.chroma_dir).free < LOW_ROOM
        except OSError:
            return False

    @contextmanager
    def _reporting(self, doing: str) -> Iterator[None]:
        """Turn Chroma failing on its data into StoreCorruptedError with the rebuild hint, a Chroma server that
        cannot be reached into StoreUnavailableError (the API's 503 with Retry-After), and a full disk into
        DiskFullError (before either: it is neither); anything else passes."""
        import httpx

        try:
            yield
        except httpx.TransportError as exc:  # the HTTP client's: connection refused, reset, timed out
            raise StoreUnavailableError(
                f"The Chroma server at {self.location} cannot be reached right now while {doing} "
                f"({type(exc).__name__}); try again shortly."
            ) from exc
        except BaseException as exc:
            # a Rust panic too ("No space left on device (os error 28)"); and a failure that does not say why, on a
            # disk with almost no room left ("Failed to apply logs to the metadata segment", seen on a full tmpfs)
            if is_disk_full(exc) or (is_store_failure(exc) and self._nearly_full()):
                raise disk_full(self.location, doing) from exc
            if not is_store_failure(exc):
                raise
            detail = " ".join(str(exc).split())[:300]
            raise StoreCorruptedError(
                f"The vector store at {self.location} failed while {doing} ({type(exc).__name__}: {detail}). "
                f"{REBUILD_HINT}"
            ) from exc

    # -- reading -------------------------------------------------------------------------------------------
    def count(self) -> int:
        with self._reporting("counting items"):
            return int(self._collection.count())

    def stored_hashes(self) -> dict[str, str]:
        """item id -> content hash of every stored item, read a page at a time: Chroma reads one page with one SQL
        statement, and a whole store past 32,766 items is more variables than SQLite takes (seen at 106,583)."""
        hashes: dict[str, str] = {}
        while True:
            with self._reporting("reading stored items"):
                got = self._collection.get(include=["metadatas"], limit=READ_PAGE, offset=len(hashes))
            hashes.update((i, str((m or {}).get("hash", ""))) for i, m in zip(got["ids"], got["metadatas"]))
            if len(got["ids"]) < READ_PAGE:
                return hashes

    def vectors(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        ids = list(dict.fromkeys(ids))  # Chroma refuses duplicate ids
        if not ids:
            return {}
        with self._reporting("reading stored vectors"):
            got = self._collection.get(ids=ids, include=["embeddings"])
        return {i: np.asarray(v, dtype=np.float32) for i, v in zip(got["ids"], got["embeddings"])}

    def query(
        self,
        vector: np.ndarray,
        n: int,
        exclude: Sequence[str] = (),
        kind: str | None = None,
        with_vectors: bool = True,
    ) -> list[Hit]:
        """The `n` items with the largest dot product with `vector`, skipping `exclude` (and other kinds).

        The excluded ids are asked for as extra answers and dropped here: Chroma's metadata filters are slow on a
        large store (106,583 items: 13 ms for the 800 nearest, 150 ms with a `kind` filter, 280 ms with a `$nin` of
        three ids; docs/scale.md), so the ranker asks for a kind only when the nearest items hold too few of it.
        Without `with_vectors` only ids and scores come back, which is much faster for large `n`."""
        if n <= 0:
            return []
        skip = set(exclude)
        include = ["distances", "embeddings"] if with_vectors else ["distances"]
        with self._reporting("searching the index"):
            result = self._collection.query(
                query_embeddings=[np.asarray(vector, dtype=np.float32)],
                n_results=n + len(skip),
                where={"kind": kind} if kind else None,
                include=include,
            )
        ids, dists = result["ids"][0], result["distances"][0]
        vecs = result["embeddings"][0] if with_vectors else [None] * len(ids)
        hits = [
            Hit(i, 1.0 - float(d), None if v is None else np.asarray(v, dtype=np.float32))
            for i, d, v in zip(ids, dists, vecs)
            if i not in skip
        ]
        return hits[:n]

    # -- writing -------------------------------------------------------------------------------------------
    def upsert(self, items: Sequence[Item], vectors: np.ndarray, hashes: Sequence[str]) -> None:
        # no documents: nothing reads them, and Chroma would index each one for its full-text search (a fifth of
        # the write's cost, docs/scale.md); the item's facts are in the catalog file
        metadatas = [item_metadata(it, h) for it, h in zip(items, hashes)]
        with self._reporting("writing items"):
            self._collection.upsert(
                ids=[it.id for it in items],
                embeddings=np.asarray(vectors, dtype=np.float32),
                metadatas=metadatas,
            )

    def delete(self, ids: Sequence[str]) -> None:
        if ids:
            with self._reporting("deleting items"):
                self._collection.delete(ids=list(ids))

    def clear(self) -> None:
        """Drop every stored vector (the collection is made anew, empty)."""
        with self._reporting("clearing the store"):
            self._client.delete_collection(self.settings.collection)
            self._collection = self._open_collection()


def set_aside(settings: Settings) -> Path | None:
    """Move a damaged embedded store out of the way (never deleted) and return where it went.

    It never opens the store; a store of this process on the folder has been closed first (`ChromaStore.close`
    closes its Chroma client), so no Chroma system keeps using the moved files."""
    if settings.chroma_url or not settings.chroma_dir.exists():
        return None
    lock = _FolderLock(settings.chroma_dir / LOCK_NAME)  # never move a folder another process is writing
    try:
        target = settings.data_dir / f"chroma.broken-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
        shutil.move(str(settings.chroma_dir), str(target))
    finally:
        lock.release()
    return target
