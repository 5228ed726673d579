"""The catalog on disk (issue 25): one SQLite file with every item by id, the words and Chinese strings of the
catalog's texts, written once by ingest and read per turn, so nothing in an app process grows with the catalog.

What reads it instead of the in-memory structures, and why, is in docs/scale.md ("Where the next limits are").
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from chatrec.catalog.facets import FacetValue
from chatrec.catalog.items import LIST_FIELDS, Item

SCHEMA = 2  # 2: the title and people keys (reading/title_file.py)
FILE_NAME = "catalog.sqlite"  # in the data folder
CACHE_ITEMS = 4096  # items kept decoded, least recently used first out
CHUNK = 500  # ids per query (SQLite's parameter limit is far above)
HAN_RUN = re.compile(r"[\u3400-\u9fff]+")

TABLES = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE items (id TEXT PRIMARY KEY, pos INTEGER NOT NULL, row TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE words (word TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE TABLE han2 (pair TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE VIRTUAL TABLE han USING fts5(run, tokenize = 'trigram');
"""


def item_row(item: Item) -> str:
    """An item as one JSON text (tuples as lists, facets as [name, value] pairs)."""
    row: dict[str, Any] = {"id": item.id, "title": item.title, "description": item.description}
    for name in ("year", "kind", "language", "popularity"):
        if getattr(item, name) not in (None, ""):
            row[name] = getattr(item, name)
    for name in LIST_FIELDS:
        if getattr(item, name):
            row[name] = list(getattr(item, name))
    if item.facets:
        row["facets"] = [[name, list(value) if isinstance(value, tuple) else value] for name, value in item.facets]
    return json.dumps(row, ensure_ascii=False, separators=(",", ":"))


def row_item(text: str) -> Item:
    """The item `item_row` wrote."""
    row = json.loads(text)
    for name in LIST_FIELDS:
        if name in row:
            row[name] = tuple(row[name])
    if "facets" in row:
        row["facets"] = tuple((name, _facet(value)) for name, value in row["facets"])
    return Item(**row)


def catalog_path(data_dir: Path) -> Path:
    """Where a data folder keeps its catalog file."""
    return Path(data_dir) / FILE_NAME


def _facet(value: Any) -> FacetValue:
    return tuple(value) if isinstance(value, list) else value


class CatalogDB:
    """Read side: items by id (a bounded cache in front), and whether a word or a Chinese string occurs anywhere in
    the catalog's texts. Opened read-only; safe to share between threads."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._db = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False)
        self._lock = threading.Lock()
        self._cache: OrderedDict[str, Item] = OrderedDict()
        self.meta: dict[str, str] = dict(self.query("SELECT key, value FROM meta"))
        if int(self.meta.get("schema", 0)) != SCHEMA:
            raise ValueError(f"{self.path} has catalog schema {self.meta.get('schema')}, not {SCHEMA}: ingest again")
        self.signature = self.meta.get("signature", "")
        self._count = int(self.meta["count"])

    def query(self, sql: str, args: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        """The rows of one read-only statement (the tables other modules write through `write_catalog_db`'s
        `extra`, such as reading/title_file.py's)."""
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    def __len__(self) -> int:
        return self._count

    def __contains__(self, item_id: object) -> bool:
        return isinstance(item_id, str) and bool(self.query("SELECT 1 FROM items WHERE id = ?", (item_id,)))

    def get(self, item_id: str) -> Item | None:
        return self.get_many([item_id]).get(item_id)

    def get_many(self, item_ids: Iterable[str]) -> dict[str, Item]:
        """The items of these ids that the catalog has, in the order asked."""
        wanted = list(dict.fromkeys(item_ids))
        found: dict[str, Item] = {}
        with self._lock:
            missing = [i for i in wanted if i not in self._cache]
            for i in wanted:
                if i in self._cache:
                    self._cache.move_to_end(i)
                    found[i] = self._cache[i]
        for start in range(0, len(missing), CHUNK):
            chunk = missing[start : start + CHUNK]
            marks = ",".join("?" * len(chunk))
            for item_id, text in self.query(f"SELECT id, row FROM items WHERE id IN ({marks})", chunk):
                found[item_id] = row_item(text)
        with self._lock:
            for i in missing:
                if i in found:
                    self._cache[i] = found[i]
            while len(self._cache) > CACHE_ITEMS:
                self._cache.popitem(last=False)
        return {i: found[i] for i in wanted if i in found}

    def ids(self) -> Iterator[str]:
        """Every id, in the catalog file's order (read in pages, not held)."""
        last = -1
        while True:
            page = self.query("SELECT pos, id FROM items WHERE pos > ? ORDER BY pos LIMIT 1000", (last,))
            if not page:
                return
            yield from (item_id for _, item_id in page)
            last = page[-1][0]

    def has_word(self, word: str) -> bool:
        return bool(self.query("SELECT 1 FROM words WHERE word = ?", (word,)))

    def has_han(self, text: str) -> bool:
        """Whether this string of two or more Chinese characters occurs in one of the catalog's texts."""
        if len(text) < 2:
            return False
        if len(text) == 2:
            return bool(self.query("SELECT 1 FROM han2 WHERE pair = ?", (text,)))
        quoted = '"' + text.replace('"', '""') + '"'
        return bool(self.query("SELECT 1 FROM han WHERE han MATCH ? LIMIT 1", (quoted,)))

    def close(self) -> None:
        with self._lock:
            self._db.close()


def write_catalog_db(
    path: Path,
    items: Iterable[Item],
    vocabulary_text: Callable[[Item], str],
    signature: str = "",
    extra: Callable[[sqlite3.Connection], Mapping[str, str]] | None = None,
) -> int:
    """Build the file for these items next to `path` and move it into place: a reader sees the old file or the whole
    new one, and a failure leaves the old one. `vocabulary_text(item)`: the folded text whose words and Chinese runs
    count as the catalog's (the reply checks' own); `extra(db)` writes more tables and returns more meta entries.
    Returns the number of items."""
    path = Path(path)
    partial = path.with_name(path.name + ".partial")
    partial.unlink(missing_ok=True)
    db = sqlite3.connect(partial)
    try:
        db.executescript("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;" + TABLES)
        for pos, item in enumerate(items):
            db.execute("INSERT OR REPLACE INTO items VALUES (?, ?, ?)", (item.id, pos, item_row(item)))
            text = vocabulary_text(item)
            db.executemany("INSERT OR IGNORE INTO words VALUES (?)", ((w,) for w in set(text.split())))
            runs = set(HAN_RUN.findall(text))
            pairs = {run[i : i + 2] for run in runs for i in range(len(run) - 1)}
            db.executemany("INSERT OR IGNORE INTO han2 VALUES (?)", ((p,) for p in pairs))
            db.executemany("INSERT INTO han VALUES (?)", ((run,) for run in runs if len(run) >= 3))
        count = int(db.execute("SELECT count(*) FROM items").fetchone()[0])
        meta = {"schema": SCHEMA, "count": count, "signature": signature, **(extra(db) if extra else {})}
        db.executemany("INSERT INTO meta VALUES (?, ?)", [(k, str(v)) for k, v in meta.items()])
        db.commit()
    except BaseException:
        db.close()
        partial.unlink(missing_ok=True)
        raise
    db.close()
    os.replace(partial, path)
    return count
