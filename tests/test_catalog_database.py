"""The catalog on disk (catalog/database.py): every item comes back as it went in, and its vocabulary answers
exactly as the reply checks' in-memory sets do (reply/vocabulary.py), on the bundled catalog and the board games."""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from chatrec.catalog import database
from chatrec.catalog.database import CatalogDB, write_catalog_db
from chatrec.catalog.files import load_catalog
from chatrec.catalog.items import Catalog, Item
from chatrec.reply.vocabulary import WordSets, vocabulary_text

ROOT = Path(__file__).resolve().parents[1]
CATALOGS = {"bundled": ROOT / "knowledge", "board games": ROOT / "examples" / "catalogs" / "boardgames.jsonl"}


@pytest.fixture(scope="module", params=list(CATALOGS))
def built(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[Catalog, CatalogDB]:
    catalog = load_catalog(CATALOGS[request.param])
    path = tmp_path_factory.mktemp("catalog-db") / "catalog.sqlite"
    assert write_catalog_db(path, catalog, vocabulary_text, signature="sig-1") == len(catalog)
    return catalog, CatalogDB(path)


def test_every_item_comes_back_as_it_went_in(built: tuple[Catalog, CatalogDB]) -> None:
    catalog, db = built
    assert len(db) == len(catalog) and db.signature == "sig-1"
    assert list(db.ids()) == list(catalog.items), "ids in the file's order"
    assert db.get_many(catalog.items) == catalog.items


def test_every_field_survives(tmp_path: Path) -> None:
    item = Item(
        id="g1",
        title="Caverna: The Cave Farmers",
        description="Dig, farm and furnish a cave. 挖洞种田。",
        year=2013,
        kind="board game",
        genres=("strategy", "worker placement"),
        creators=("Uwe Rosenberg",),
        cast=("nobody",),
        language="en",
        tags=("farming",),
        aliases=("Caverna",),
        popularity=0.75,
        genres_zh=("策略", "工人放置"),
        facets=(
            ("mechanics", ("dice", "drafting")),
            ("players", (1.0, 7.0)),
            ("publisher", "Lookout"),
            ("weight", 3.8),
        ),
    )
    write_catalog_db(tmp_path / "c.sqlite", [item, Item(id="b", title="Bare", description="")], vocabulary_text)
    db = CatalogDB(tmp_path / "c.sqlite")
    assert db.get_many(["g1", "b"]) == {"g1": item, "b": Item(id="b", title="Bare", description="")}


def test_ids_it_lacks_are_left_out_and_the_order_asked_is_kept(built: tuple[Catalog, CatalogDB]) -> None:
    catalog, db = built
    first, second = list(catalog.items)[:2]
    assert list(db.get_many([second, "no-such-id", first])) == [second, first]
    assert db.get("no-such-id") is None and "no-such-id" not in db and first in db and 7 not in db


def test_the_vocabulary_answers_as_the_reply_checks_sets_do(built: tuple[Catalog, CatalogDB]) -> None:
    catalog, db = built
    sets = WordSets(catalog)
    words = sets.words
    assert words and all(db.has_word(w) for w in words)
    assert not any(db.has_word(w) or sets.has_word(w) for w in ["zorblax", "qwertyuiop", ""])
    ngrams = sets.ngrams
    rng = random.Random(5)
    for gram in rng.sample(sorted(ngrams), min(400, len(ngrams))):
        assert db.has_han(gram), gram
    han = sorted({c for gram in ngrams for c in gram})
    if not han:
        return  # a catalog without Chinese
    strangers = {"".join(rng.choice(han) for _ in range(rng.randint(2, 6))) for _ in range(400)}
    for gram in strangers:
        assert db.has_han(gram) == sets.has_han(gram), gram


def test_the_decoded_items_kept_are_bounded(built: tuple[Catalog, CatalogDB], monkeypatch: pytest.MonkeyPatch) -> None:
    catalog, db = built
    monkeypatch.setattr(database, "CACHE_ITEMS", 10)
    db.get_many(catalog.items)
    assert len(db._cache) == 10


def test_a_failed_build_leaves_the_old_file_whole(tmp_path: Path) -> None:
    catalog = load_catalog(CATALOGS["bundled"])
    path = tmp_path / "catalog.sqlite"
    write_catalog_db(path, catalog, vocabulary_text, signature="old")

    def broken() -> Iterator[Item]:
        yield from list(catalog)[:5]
        raise OSError("disk gone")

    with pytest.raises(OSError):
        write_catalog_db(path, broken(), vocabulary_text, signature="new")
    db = CatalogDB(path)
    assert db.signature == "old" and len(db) == len(catalog)
    assert [p.name for p in tmp_path.iterdir()] == ["catalog.sqlite"]
    with pytest.raises(sqlite3.OperationalError):
        db._db.execute("DELETE FROM items")  # opened read-only
