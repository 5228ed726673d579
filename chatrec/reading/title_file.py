"""Title and people keys on the catalog file (issue 25): written by ingest from `MemoryTitleKeys` and
`MemoryPeopleKeys`, read per message, so that an app's start does not build them over the whole catalog.

`FileTitleKeys` and `FilePeopleKeys` answer exactly as the in-memory keys do (tests/test_title_file.py): the same
entries, the same Chinese keys in the same order, and the same typo match (the trigram postings are stored, and the
candidates are every key holding as many of the text's trigrams as a key within the cutoff must).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence

import numpy as np
from rapidfuzz import fuzz, process

from chatrec.catalog.database import CatalogDB
from chatrec.catalog.items import Item
from chatrec.reading.language import CJK
from chatrec.reading.titles import (
    MemoryPeopleKeys,
    MemoryTitleKeys,
    TitleEntry,
    Typos,
    most_popular,
    shared_needed,
    trigram_postings,
    trigrams,
)

TABLES = """
CREATE TABLE title_keys (key TEXT PRIMARY KEY, best TEXT NOT NULL, tail INTEGER NOT NULL, bracket INTEGER NOT NULL,
    cjk_rank INTEGER, own INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE title_items (key TEXT NOT NULL, pos INTEGER NOT NULL, item_id TEXT NOT NULL, year INTEGER,
    PRIMARY KEY (key, pos)) WITHOUT ROWID;
CREATE TABLE typo_keys (row INTEGER PRIMARY KEY, key TEXT NOT NULL);
CREATE TABLE typo_lengths (lengths BLOB NOT NULL);
CREATE TABLE typo_grams (gram TEXT PRIMARY KEY, rows BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE people_keys (key TEXT PRIMARY KEY, person TEXT NOT NULL, cjk_rank INTEGER) WITHOUT ROWID;
"""
CHUNK = 500  # keys per query
ROWS = 5000  # typo keys per query, by row
CACHED = 4096  # keys whose items `FileTitleKeys` keeps


def write_name_tables(db: sqlite3.Connection, items: Sequence[Item]) -> dict[str, str]:
    """Build the title and people keys of `items` in memory and write them into the catalog file being built;
    returns what goes into its meta table."""
    titles, people = MemoryTitleKeys(items), MemoryPeopleKeys(items)
    db.executescript(TABLES)
    db.executemany(
        "INSERT INTO title_keys VALUES (?, ?, ?, ?, ?, ?)",
        (
            (
                key,
                most_popular(named).id,
                int(key in titles.tails),
                int(key in titles.bracket_only),
                titles.cjk_rank.get(key),
                int(key in titles.own),
            )
            for key, named in titles.by_title.items()
        ),
    )
    db.executemany(
        "INSERT INTO title_items VALUES (?, ?, ?, ?)",
        ((key, pos, it.id, it.year) for key, named in titles.by_title.items() for pos, it in enumerate(named)),
    )
    keys = titles.fuzzy_keys
    db.executemany("INSERT INTO typo_keys VALUES (?, ?)", enumerate(keys))
    lengths = np.array([min(len(key), 65535) for key in keys], dtype="<u2")  # read whole: 2 bytes a key
    db.execute("INSERT INTO typo_lengths VALUES (?)", (lengths.tobytes(),))
    postings = titles.typos.postings or trigram_postings(keys)  # built already past `Typos.SCAN_AT_MOST` keys
    db.executemany(
        "INSERT INTO typo_grams VALUES (?, ?)",
        ((gram, rows.astype("<i4").tobytes()) for gram, rows in postings.items()),
    )
    db.executemany("INSERT INTO people_keys VALUES (?, ?, NULL)", people.names.items())
    db.executemany(
        "INSERT INTO people_keys VALUES (?, ?, ?)", ((k, p, people.cjk_rank[k]) for k, p in people.cjk.items())
    )
    return {
        "title_max_words": str(titles.max_words),
        "title_cjk_lengths": json.dumps(sorted({len(k) for k in titles.cjk_titles})),
        "people_cjk_lengths": json.dumps(sorted({len(k) for k in people.cjk})),
        "own_cjk_lengths": json.dumps(sorted({len(k) for k in titles.own if CJK.search(k) and len(k) >= 3})),
    }


def _pieces(text: str, lengths: Iterable[int]) -> list[str]:
    """Every substring of `text` of these lengths, once."""
    return list(dict.fromkeys(text[i : i + n] for n in lengths for i in range(len(text) - n + 1)))


def _chunks(values: Sequence[str]) -> Iterable[tuple[Sequence[str], str]]:
    for start in range(0, len(values), CHUNK):
        chunk = values[start : start + CHUNK]
        yield chunk, ",".join("?" * len(chunk))


def _ranked(db: CatalogDB, select: str, text: str, lengths: list[int]) -> list[str]:
    """What `select` (rank, value) gives for the Chinese keys held in `text` (substrings of the keys' lengths),
    by rank."""
    if not CJK.search(text):
        return []
    ranked: list[tuple[int, str]] = []
    for chunk, marks in _chunks(_pieces(text, lengths)):
        ranked += db.query(f"{select} WHERE key IN ({marks}) AND cjk_rank IS NOT NULL", chunk)
    return [value for _, value in sorted(ranked)]


class FileTitleKeys:
    """The title keys of the catalog file."""

    def __init__(self, db: CatalogDB) -> None:
        self.db = db
        self.max_words = int(db.meta["title_max_words"])
        self._cjk_lengths: list[int] = json.loads(db.meta["title_cjk_lengths"])
        self._ids: OrderedDict[str, tuple[str, ...]] = OrderedDict()
        self._lock = threading.Lock()
        self._key_lengths: np.ndarray | None = None  # of the typo keys by row, read at the first typo looked up

    def _lengths(self) -> np.ndarray:
        if self._key_lengths is None:
            (blob,) = self.db.query("SELECT lengths FROM typo_lengths")[0]
            self._key_lengths = np.frombuffer(blob, dtype="<u2")
        return self._key_lengths

    def get_many(self, keys: Iterable[str]) -> dict[str, TitleEntry]:
        wanted = list(dict.fromkeys(keys))
        found: dict[str, TitleEntry] = {}
        for chunk, marks in _chunks(wanted):
            sql = f"SELECT key, best, tail, bracket FROM title_keys WHERE key IN ({marks})"
            for key, best, tail, bracket in self.db.query(sql, chunk):
                found[key] = TitleEntry(best, bool(tail), bool(bracket))
        return {key: found[key] for key in wanted if key in found}

    def dated(self, key: str, year: int) -> str | None:
        sql = "SELECT item_id FROM title_items WHERE key = ? AND year = ? ORDER BY pos LIMIT 1"
        rows = self.db.query(sql, (key, year))
        return str(rows[0][0]) if rows else None

    def ids_titled(self, keys: Iterable[str]) -> list[str]:
        return list(dict.fromkeys(i for key in dict.fromkeys(keys) for i in self._ids_of(key)))

    def _ids_of(self, key: str) -> tuple[str, ...]:
        """The items one key names, in catalog order (the last `CACHED` keys asked are kept: a message's titles
        are asked for again for each of their senses)."""
        with self._lock:
            if key in self._ids:
                self._ids.move_to_end(key)
                return self._ids[key]
        sql = "SELECT item_id FROM title_items WHERE key = ? ORDER BY pos"
        ids = tuple(str(i) for (i,) in self.db.query(sql, (key,)))
        with self._lock:
            self._ids[key] = ids
            while len(self._ids) > CACHED:
                self._ids.popitem(last=False)
        return ids

    def cjk_in(self, text: str) -> list[str]:
        return _ranked(self.db, "SELECT cjk_rank, key FROM title_keys", text, self._cjk_lengths)

    def typo_of(self, text: str) -> str | None:
        """As `Typos.best`, with candidates that hold as many of the text's trigrams as a key within the cutoff
        must (`shared_needed`, counted over the stored postings), so that few keys are read."""
        grams = sorted(trigrams(text))
        need, shortest, longest = shared_needed(text)
        lengths = self._lengths()
        fits = (lengths >= shortest) & (lengths <= longest)
        if need >= 1:  # else too short to say: every key of a fitting length
            postings = [np.zeros(0, "<i4")]
            for chunk, marks in _chunks(grams):
                sql = f"SELECT rows FROM typo_grams WHERE gram IN ({marks})"
                postings += [np.frombuffer(rows, dtype="<i4") for (rows,) in self.db.query(sql, chunk)]
            fits &= np.bincount(np.concatenate(postings), minlength=len(lengths)) >= need
        rows = np.flatnonzero(fits)
        keys: list[str] = []
        for start in range(0, len(rows), ROWS):
            part = [int(r) for r in rows[start : start + ROWS]]
            sql = f"SELECT key FROM typo_keys WHERE row IN ({','.join('?' * len(part))}) ORDER BY row"
            keys += [key for (key,) in self.db.query(sql, part)]
        found = process.extractOne(text, keys, scorer=fuzz.ratio, score_cutoff=Typos.CUTOFF)
        return found[0] if found else None


class FilePeopleKeys:
    """The people keys of the catalog file."""

    def __init__(self, db: CatalogDB) -> None:
        self.db = db
        self._cjk_lengths: list[int] = json.loads(db.meta["people_cjk_lengths"])

    def get_many(self, keys: Iterable[str]) -> dict[str, str]:
        wanted = list(dict.fromkeys(keys))
        found: dict[str, str] = {}
        for chunk, marks in _chunks(wanted):
            sql = f"SELECT key, person FROM people_keys WHERE key IN ({marks}) AND cjk_rank IS NULL"
            found.update(self.db.query(sql, chunk))
        return {key: found[key] for key in wanted if key in found}

    def cjk_in(self, text: str) -> list[str]:
        return _ranked(self.db, "SELECT cjk_rank, person FROM people_keys", text, self._cjk_lengths)


class FileTitleSet:
    """The catalog's titles and aliases as written, on the catalog file (`CatalogTitles`)."""

    def __init__(self, db: CatalogDB) -> None:
        self.db = db
        self._cjk_lengths: list[int] = json.loads(db.meta["own_cjk_lengths"])

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and bool(self.db.query("SELECT 1 FROM title_keys WHERE key = ? AND own", (key,)))

    def cjk_in(self, text: str) -> set[str]:
        if not CJK.search(text):
            return set()
        found: set[str] = set()
        for chunk, marks in _chunks(_pieces(text, self._cjk_lengths)):
            sql = f"SELECT key FROM title_keys WHERE key IN ({marks}) AND own"
            found.update(key for (key,) in self.db.query(sql, chunk) if CJK.search(key))
        return found
