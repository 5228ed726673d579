"""The Chroma store: idempotent ingestion, updates and deletes, one writer, damage detected and rebuilt."""

from pathlib import Path

import pytest
from conftest import write_jsonl

from chatrec import Engine, Settings, StoreCorruptedError, StoreLockedError
from chatrec.catalog.items import item_text
from chatrec.cli import main as cli

ROWS = [
    {
        "id": "p1",
        "title": "Deep Field",
        "kind": "movie",
        "genres": ["documentary"],
        "description": "Telescopes look back in time.",
    },
    {
        "id": "p2",
        "title": "Salt Road",
        "kind": "book",
        "genres": ["history"],
        "description": "Caravans cross the desert.",
    },
    {"id": "p3", "title": "Night Shift", "kind": "movie", "genres": ["horror"], "description": "A hospital at 3 a.m."},
]


def test_ingest_is_idempotent_and_tracks_changes(tmp_path: Path) -> None:
    catalog = write_jsonl(tmp_path / "c.jsonl", ROWS)
    settings = Settings(data_dir=tmp_path / "data", catalog=catalog, generator="none")
    with Engine.load(settings) as engine:
        assert (engine.ingest_report.added, engine.ingest_report.embedded) == (3, 3)
    with Engine.load(settings) as engine:
        assert engine.ingest_report.embedded == 0 and engine.ingest_report.unchanged == 3
    changed = [dict(ROWS[0], description="Telescopes and a changed text."), ROWS[1]]  # p1 edited, p3 removed
    write_jsonl(catalog, changed)
    with Engine.load(settings) as engine:
        report = engine.ingest_report
        assert (report.added, report.updated, report.deleted, report.unchanged) == (0, 1, 1, 1)
        assert engine.store.count() == 2 and set(engine.store.stored_hashes()) == {"p1", "p2"}


def test_vectors_are_ours_in_inner_product_space(tmp_path: Path) -> None:
    catalog = write_jsonl(tmp_path / "c.jsonl", ROWS)
    with Engine.load(Settings(data_dir=tmp_path / "data", catalog=catalog)) as engine:
        stored = engine.store.vectors(["p1", "p1"])["p1"]  # repeated ids are fine
        fresh = engine.embedder.embed([item_text(engine.items["p1"])])[0]
        assert abs(float(stored @ fresh) - 1.0) < 1e-4
        hit = engine.store.query(fresh, 1)[0]
        assert hit.item_id == "p1" and abs(hit.score - 1.0) < 1e-4  # score = 1 - ip distance = dot product
        assert engine.store._collection.configuration["hnsw"]["space"] == "ip"


def test_a_second_writer_is_refused(tmp_path: Path) -> None:
    catalog = write_jsonl(tmp_path / "c.jsonl", ROWS)
    settings = Settings(data_dir=tmp_path / "data", catalog=catalog)
    with Engine.load(settings):
        with pytest.raises(StoreLockedError, match="in use by another chatrec process"):
            Engine.load(settings)
    with Engine.load(settings):  # released on close
        pass


def test_a_corrupted_store_is_reported_and_rebuilt_without_losing_profiles(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    catalog = write_jsonl(tmp_path / "c.jsonl", ROWS)
    settings = Settings(data_dir=tmp_path / "data", catalog=catalog)
    with Engine.load(settings) as engine:
        engine.chat("u", "documentaries about telescopes")
        before = engine.profile("u")
    sqlite_file = settings.chroma_dir / "chroma.sqlite3"
    sqlite_file.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreCorruptedError, match="--rebuild"):
        Engine.load(settings)
    assert cli(["ingest", str(catalog), "--data-dir", str(settings.data_dir), "--quiet"]) == 3
    assert "--rebuild" in capsys.readouterr().err
    assert cli(["ingest", str(catalog), "--data-dir", str(settings.data_dir), "--rebuild", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "moved to" in out and "3 added" in out
    kept = list(settings.data_dir.glob("chroma.broken-*"))
    assert len(kept) == 1 and (kept[0] / "chroma.sqlite3").read_bytes().startswith(b"this is not")  # nothing deleted
    with Engine.load(settings) as engine:
        assert engine.ingest_report.embedded == 0 and engine.profile("u") == before


def test_a_store_built_by_another_embedder_is_refused(tmp_path: Path) -> None:
    catalog = write_jsonl(tmp_path / "c.jsonl", ROWS)
    with Engine.load(Settings(data_dir=tmp_path / "data", catalog=catalog, embedder="use")):
        pass
    with pytest.raises(StoreCorruptedError, match="built with embedder 'use-multilingual-v3'"):
        Engine.load(Settings(data_dir=tmp_path / "data", catalog=catalog))
