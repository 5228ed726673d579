"""Bring the vector store in line with a catalog: embed only new or changed items, delete removed ones."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

from chatrec.backends.chroma import ChromaStore, set_aside
from chatrec.catalog.database import catalog_path
from chatrec.catalog.items import Catalog, Item, content_hash, item_text
from chatrec.catalog.remembered import Choice, check_unrecorded, remember
from chatrec.config import Settings
from chatrec.errors import ConfigError, StoreCorruptedError
from chatrec.ports import Embedder, VectorStore

BATCH = 256


@dataclass(frozen=True)
class IngestReport:
    """What one ingestion did; `embedded` is the number of items that went through the model."""

    added: int
    updated: int
    deleted: int
    unchanged: int
    replaced: str = ""  # the catalog whose items this sync replaced ('' when it updated the folder's own)

    @property
    def embedded(self) -> int:
        return self.added + self.updated

    def __str__(self) -> str:
        done = (
            f"{self.added} added, {self.updated} updated, {self.deleted} deleted, "
            f"{self.unchanged} unchanged ({self.embedded} embedded)"
        )
        return f"{done}; it replaced {self.replaced}" if self.replaced else done


def plan(catalog: Catalog, stored: dict[str, str], embedder_id: str) -> tuple[list[Item], list[Item], list[str], int]:
    """(new items, changed items, ids to delete, unchanged count) from the stored content hashes."""
    new: list[Item] = []
    changed: list[Item] = []
    for item in catalog:
        old = stored.get(item.id)
        if old is None:
            new.append(item)
        elif old != content_hash(item, embedder_id):
            changed.append(item)
    gone = [item_id for item_id in stored if item_id not in catalog]
    return new, changed, gone, len(catalog) - len(new) - len(changed)


def sync(
    store: VectorStore,
    catalog: Catalog,
    embedder: Embedder,
    progress: bool = True,
    check: Callable[[dict[str, str]], None] | None = None,
    changing: Callable[[], None] | None = None,
) -> IngestReport:
    """Idempotent: a second call with the same catalog embeds nothing. `check` sees the stored hashes before any
    change and may refuse by raising; `changing` runs once before the store is changed, if it is."""
    stored = store.stored_hashes()
    if check is not None:
        check(stored)
    new, changed, gone, unchanged = plan(catalog, stored, embedder.id)
    if (new or changed or gone) and changing is not None:
        changing()
    _embed_and_store(store, [*new, *changed], embedder, progress)
    store.delete(gone)
    return IngestReport(len(new), len(changed), len(gone), unchanged)


def sync_catalog(
    store: VectorStore, catalog: Catalog, embedder: Embedder, settings: Settings, choice: Choice, progress: bool = True
) -> IngestReport:
    """`sync` to the chosen catalog (catalog/remembered.py's `choose`, then `confirm`), then record it as the data
    folder's catalog. A folder without a record whose store shares no item with the catalog is refused first. The
    folder's catalog file goes before the store is changed (the caller writes it again after): a current file says
    that the last sync completed, which an interrupted one never leaves."""
    report = sync(
        store,
        catalog,
        embedder,
        progress,
        check=lambda stored: check_unrecorded(settings, choice, stored, catalog.items),
        changing=lambda: catalog_path(settings.data_dir).unlink(missing_ok=True),
    )
    remember(settings.data_dir, choice, len(catalog))
    return replace(report, replaced=choice.replacing)


def check_current(store: VectorStore, catalog: Catalog, embedder: Embedder, synced: bool = False) -> IngestReport:
    """For an app process that never writes the store (`ingest_on_start` off: one of several workers): the store
    must already hold the catalog as `chatrec ingest` left it; `ConfigError` says what is missing otherwise.

    `synced`: the data folder's catalog file is current for this catalog and embedder, which only a completed sync
    leaves (`sync_catalog`); then a store of the catalog's size is taken as that sync left it, without reading every
    stored hash and hashing every item (seconds on a large catalog)."""
    if synced and store.count() == len(catalog):
        return IngestReport(0, 0, 0, len(catalog))
    new, changed, gone, unchanged = plan(catalog, store.stored_hashes(), embedder.id)
    if new or changed or gone:
        raise ConfigError(
            f"The store is not up to date with the catalog ({len(new)} items missing, {len(changed)} changed, "
            f"{len(gone)} no longer in it), and this process does not write it (ingest_on_start is off). Run "
            "`chatrec ingest` with the same catalog and store first: it is the one writer."
        )
    return IngestReport(0, 0, 0, unchanged)


def _embed_and_store(store: VectorStore, items: Sequence[Item], embedder: Embedder, progress: bool) -> None:
    if not items:
        return
    from tqdm.auto import tqdm

    # a batch is written while the next one is embedded (one write in flight, its errors raised at the next batch):
    # the embedding processes never wait for the store
    with (
        tqdm(total=len(items), desc="Embedding items", unit="item", disable=not progress) as bar,
        ThreadPoolExecutor(1, thread_name_prefix="chatrec-ingest-write") as writer,
    ):
        written: Future[None] | None = None
        for start in range(0, len(items), BATCH):
            batch = items[start : start + BATCH]
            vectors = embedder.embed([item_text(it) for it in batch], items=True)
            if written is not None:
                written.result()
                bar.update(BATCH)
            written = writer.submit(store.upsert, batch, vectors, [content_hash(it, embedder.id) for it in batch])
        if written is not None:
            written.result()
            bar.update(len(items) - bar.n)


def open_for_rebuild(settings: Settings, embedder: Embedder) -> tuple[ChromaStore, Path | None]:
    """An empty store to fill again: a healthy one is cleared; a damaged one is moved aside (kept) first.

    Opening the store reads it in a child process first (store.check_readable), so a damaged index that would
    crash Chroma is moved aside without ever being opened in this process."""
    try:
        store = ChromaStore(settings, embedder.id, embedder.dim)
    except StoreCorruptedError:
        return _fresh(settings, embedder)
    try:
        store.clear()
    except StoreCorruptedError:
        store.close()
        return _fresh(settings, embedder)
    return store, None


def _fresh(settings: Settings, embedder: Embedder) -> tuple[ChromaStore, Path | None]:
    """Move the damaged store aside (kept, never deleted) and open a new, empty one in its place."""
    moved = set_aside(settings)
    return ChromaStore(settings, embedder.id, embedder.dim), moved
