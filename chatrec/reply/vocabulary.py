"""The catalog's own words for the reply checks: sets built in memory, or the catalog file written by ingest.

A reply may show back an interest term only when its words occur somewhere in the catalog (`Grounding.is_plain`).
For a catalog of a few thousand items the words and Chinese strings are gathered in memory (`WordSets`); an app over
the data folder of `chatrec ingest` reads them from the catalog file instead (catalog/database.py), so that a start
does not grow with the catalog. Both answer alike (tests/test_catalog_database.py). The same file holds the title
and people keys the message reader looks up (reading/title_file.py), written here with it.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Protocol

from chatrec.catalog.database import FILE_NAME, HAN_RUN, SCHEMA, CatalogDB, catalog_path, write_catalog_db
from chatrec.catalog.items import Catalog, Item
from chatrec.catalog.remembered import Record, read_record
from chatrec.errors import DiskFullError, is_disk_full
from chatrec.reading.title_file import write_name_tables
from chatrec.reading.titles import norm
from chatrec.reply.untrusted import screen

CATALOG_FILE = FILE_NAME
VERSION = 1  # of `vocabulary_text`: a change to what counts as the catalog's words writes the file again
log = logging.getLogger("chatrec.vocabulary")


class Vocabulary(Protocol):
    """Whether a folded word, or a string of two or more Chinese characters, occurs in the catalog's texts."""

    def has_word(self, word: str) -> bool: ...

    def has_han(self, text: str) -> bool: ...


class WordSets:
    """The vocabulary held in memory: every word, and every Chinese string of 2 to 6 characters."""

    MAX_HAN = 6  # `Grounding` asks for Chinese strings of at most this length

    def __init__(self, items: Iterable[Item]) -> None:
        self.words: set[str] = set()
        self.ngrams: set[str] = set()
        for text in map(vocabulary_text, items):
            self.words.update(text.split())
            for run in HAN_RUN.findall(text):
                self.ngrams.update(run[i : i + n] for n in range(2, self.MAX_HAN + 1) for i in range(len(run) - n + 1))

    def has_word(self, word: str) -> bool:
        return word in self.words

    def has_han(self, text: str) -> bool:
        return text in self.ngrams


def vocabulary_text(item: Item) -> str:
    """The folded text whose words and Chinese strings are the catalog's own for the reply checks (screened first)."""
    item = screen(item)[0]
    fields = [item.title, *item.aliases, item.description, *item.genres, *item.tags, *item.creators, *item.cast]
    return norm(" ".join(fields))


def signature(record: Record, embedder_id: str) -> str:
    """Names the catalog a file was written for: its bytes and how they were read, the embedder whose store the
    sync before it completed, and both formats' versions."""
    return f"{SCHEMA}.{VERSION}:{record.sha256}:{record.fmt}:{int(record.skip_bad)}:{record.items}:{embedder_id}"


def write_catalog_file(data_dir: Path, catalog: Catalog, embedder_id: str, progress: bool = False) -> bool:
    """Write the data folder's catalog file for the catalog its record names, unless it is current already. Call it
    after a sync recorded the catalog (backends/ingest.py): a sync that changes the store removes the file first,
    so a current file also says the store holds this catalog as that sync left it. True when it was written."""
    record = read_record(data_dir)
    if record is None:
        return False
    wanted = signature(record, embedder_id)
    current = _current(catalog_path(data_dir), wanted, len(catalog))
    if current is not None:
        current.close()
        return False
    from tqdm.auto import tqdm

    items = tqdm(catalog, total=len(catalog), desc="Writing the catalog file", unit="item", disable=not progress)
    try:
        every = list(catalog)

        def names(db: sqlite3.Connection) -> dict[str, str]:  # the title and people keys, looked up per message
            if progress:  # about a tenth of the file's time, after its bar
                tqdm.write(f"Writing the title and people keys of {len(every)} items")
            return write_name_tables(db, every)

        write_catalog_db(catalog_path(data_dir), items, vocabulary_text, signature=wanted, extra=names)
    except (OSError, sqlite3.Error) as exc:
        if not is_disk_full(exc):
            raise
        raise DiskFullError(
            f"The disk holding the data folder {data_dir} is full: the catalog file was not written (the store is "
            "as the sync left it; app processes gather the catalog's words in memory until the file is there). Free "
            "some space and run it again."
        ) from exc
    return True


def open_catalog_file(data_dir: Path, items: int, embedder_id: str) -> CatalogDB | None:
    """The data folder's catalog file, if it was written for the catalog the folder records (of `items` items) after
    a sync with this embedder."""
    record = read_record(data_dir)
    if record is None:
        return None
    found = _current(catalog_path(data_dir), signature(record, embedder_id), items)
    if found is None and catalog_path(data_dir).exists():
        log.warning("%s is not for this catalog: `chatrec ingest` writes it again", catalog_path(data_dir))
    return found


def _current(path: Path, wanted: str, items: int) -> CatalogDB | None:
    if not path.is_file():
        return None
    try:
        db = CatalogDB(path)
    except (ValueError, KeyError, OSError, sqlite3.Error):
        return None  # another schema, or not a catalog file: written again
    if db.signature == wanted and len(db) == items:
        return db
    db.close()
    return None
