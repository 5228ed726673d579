"""The data folder's catalog file (reply/vocabulary.py): written by every sync, read by the engine's reply checks in
place of sets built over the whole catalog, written again when the catalog changes, and never trusted when it is
not the folder's catalog's. The checks answer alike on the file and on the sets."""

from __future__ import annotations

import json
import logging
import sqlite3
from pathlib import Path

import pytest
from conftest import write_jsonl

from chatrec.backends import ingest
from chatrec.backends.chroma import ChromaStore
from chatrec.catalog.database import CatalogDB
from chatrec.config import Settings
from chatrec.engine import Engine
from chatrec.errors import ConfigError
from chatrec.reply.grounding import Grounding
from chatrec.reply.vocabulary import CATALOG_FILE, WordSets, open_catalog_file

TERMS = [
    "space",
    "space exploration",
    "heist",
    "zorblax",
    "time travel",
    "太空",
    "太空探索",
    "科幻",
    "爱情",
    "喜剧片",
    "猫咪魔法",
    "romantic comedy",
    "dinosaurs",
    "qwertyuiop saga",
]


def test_the_engine_reads_the_catalog_file_that_its_sync_wrote(engine: Engine) -> None:
    path = engine.settings.data_dir / CATALOG_FILE
    assert path.is_file() and isinstance(engine.catalog_db, CatalogDB)
    assert engine.grounding.vocabulary is engine.catalog_db, "the reply checks read the file, not sets in memory"
    assert len(engine.catalog_db) == len(engine.catalog)


def test_the_file_and_the_sets_show_back_the_same_terms(engine: Engine) -> None:
    in_memory = Grounding(engine.catalog, engine.understander.titles)
    assert isinstance(in_memory.vocabulary, WordSets)
    answers = {term: engine.grounding.is_plain(term) for term in TERMS}
    assert answers == {term: in_memory.is_plain(term) for term in TERMS}
    assert answers["space exploration"] and answers["太空"] and not answers["zorblax"], answers
    for item in list(engine.catalog)[:200]:
        for term in (*item.genres, *item.tags):
            assert engine.grounding.is_plain(term) == in_memory.is_plain(term), term


def test_a_changed_catalog_writes_the_file_again_and_an_unchanged_one_does_not(
    tmp_path: Path, small_catalog: Path
) -> None:
    settings = Settings(data_dir=tmp_path / "data", catalog=small_catalog, generator="none")
    path = settings.data_dir / CATALOG_FILE
    with Engine.load(settings) as engine:
        assert engine.catalog_db is not None and len(engine.catalog_db) == 3
        assert engine.grounding.is_plain("gardening") and not engine.grounding.is_plain("chess")
    written = path.stat().st_mtime_ns
    with Engine.load(settings) as engine:
        assert engine.catalog_db is not None
    assert path.stat().st_mtime_ns == written, "a current file is read, not written again"

    rows = [
        {"id": "a1", "title": "Orbit Dreams", "description": "Astronauts on a long voyage to Jupiter."},
        {"id": "b9", "title": "Knight Moves", "description": "A chess prodigy plays a tournament in Prague."},
    ]
    write_jsonl(small_catalog, rows)
    with Engine.load(settings) as engine:
        assert engine.catalog_db is not None and len(engine.catalog_db) == 2
        assert engine.grounding.is_plain("chess") and not engine.grounding.is_plain("gardening")


def test_a_worker_never_trusts_a_file_written_for_another_catalog(
    tmp_path: Path, small_catalog: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(data_dir=tmp_path / "data", catalog=small_catalog, generator="none")
    with Engine.load(settings) as first:
        worker_id = first.embedder.id
    path = settings.data_dir / CATALOG_FILE
    with sqlite3.connect(path) as db:  # as if written for another catalog
        db.execute("UPDATE meta SET value = 'another' WHERE key = 'signature'")
    db.close()
    with caplog.at_level(logging.WARNING, "chatrec.vocabulary"):
        assert open_catalog_file(settings.data_dir, 3, worker_id) is None
    assert "not for this catalog" in caplog.text
    with Engine.load(settings.with_(ingest_on_start=False)) as worker:  # a worker reads, never writes
        assert worker.catalog_db is None and isinstance(worker.grounding.vocabulary, WordSets)
        assert worker.grounding.is_plain("gardening")
    path.write_bytes(b"not a database")
    assert open_catalog_file(settings.data_dir, 3, worker_id) is None
    with Engine.load(settings) as engine:  # the one writer writes it again
        assert engine.catalog_db is not None and engine.grounding.is_plain("gardening")


def test_a_worker_trusts_a_completed_sync_and_an_interrupted_one_leaves_no_file(
    tmp_path: Path, small_catalog: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A current catalog file says the last sync completed: a worker then takes a store of the catalog's size as
    it left it, without reading every stored hash. A sync that changes the store removes the file first, so an
    interrupted one leaves none, and the worker checks the store item by item (and refuses it, here)."""
    settings = Settings(data_dir=tmp_path / "data", catalog=small_catalog, generator="none")
    with Engine.load(settings):
        pass
    reads: list[int] = []
    real = ChromaStore.stored_hashes
    monkeypatch.setattr(ChromaStore, "stored_hashes", lambda self: reads.append(1) or real(self))
    worker = settings.with_(ingest_on_start=False)
    with Engine.load(worker) as engine:
        assert engine.catalog_db is not None and engine.ingest_report.unchanged == 3
    assert reads == [], "a completed sync is trusted"

    rows = [*map(json.loads, small_catalog.read_text(encoding="utf-8").splitlines())]
    write_jsonl(small_catalog, [*rows, {"id": "a4", "title": "Late Bloom", "description": "A tulip farmer's year."}])

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(ingest, "_embed_and_store", interrupted)
    with pytest.raises(KeyboardInterrupt):
        Engine.load(settings)
    assert not (settings.data_dir / CATALOG_FILE).exists(), "removed before the store was changed"
    with pytest.raises(ConfigError, match="not up to date"):
        Engine.load(worker)
    assert reads, "without a current file the worker reads the stored hashes"
