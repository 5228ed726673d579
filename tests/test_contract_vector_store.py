"""The `VectorStore` contract (chatrec/ports.py), run on every implementation: the in-memory double, embedded
Chroma in a temporary folder, and a Chroma server (`chroma run`) that the tests start on loopback."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from chatrec import Settings
from chatrec.backends import chroma
from chatrec.backends.chroma import ChromaStore
from chatrec.backends.memory import MemoryStore
from chatrec.catalog.items import Item
from chatrec.ports import VectorStore

DIM = 8
IMPLEMENTATIONS = ["memory", "chroma", "chroma-server"]


def unit(*values: float) -> np.ndarray:
    v = np.zeros(DIM, np.float32)
    v[: len(values)] = values
    return v / np.linalg.norm(v)


ITEMS = [
    Item(id="x1", title="One", kind="movie", description="d"),
    Item(id="x2", title="Two", kind="book", description="d"),
    Item(id="x3", title="Three", kind="movie", description="d"),
    Item(id="x4", title="Four", description="d"),
]
VECTORS = np.vstack([unit(1), unit(1, 0.5), unit(0, 1), unit(-1)])


@pytest.fixture(params=IMPLEMENTATIONS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[VectorStore]:
    if request.param == "memory":
        made: VectorStore = MemoryStore("contract", DIM)
    elif request.param == "chroma":
        made = ChromaStore(Settings(data_dir=tmp_path), "contract", DIM)
    else:
        url = request.getfixturevalue("chroma_url")
        made = ChromaStore(
            Settings(data_dir=tmp_path, chroma_url=url, collection=f"c{uuid.uuid4().hex[:12]}"), "contract", DIM
        )
    try:
        yield made
    finally:
        made.close()


@pytest.fixture
def filled(store: VectorStore) -> VectorStore:
    store.upsert(ITEMS, VECTORS, ["h1", "h2", "h3", "h4"])
    return store


def test_it_keeps_what_it_is_given(filled: VectorStore) -> None:
    assert filled.count() == 4 and filled.dim == DIM and filled.embedder_id == "contract" and filled.location
    assert filled.stored_hashes() == {"x1": "h1", "x2": "h2", "x3": "h3", "x4": "h4"}
    got = filled.vectors(["x3", "x3", "nope", "x1"])  # repeated and unknown ids are fine; unknown ones left out
    assert set(got) == {"x1", "x3"} and got["x3"].dtype == np.float32
    assert np.allclose(got["x3"], VECTORS[2], atol=1e-6) and np.allclose(got["x1"], VECTORS[0], atol=1e-6)


def test_query_is_best_first_by_dot_product(filled: VectorStore) -> None:
    q = unit(1, 0.2)
    hits = filled.query(q, 10)
    assert [h.item_id for h in hits] == ["x1", "x2", "x3", "x4"]  # n beyond the count gives them all
    for hit in hits:
        assert hit.score == pytest.approx(float(VECTORS[int(hit.item_id[1]) - 1] @ q), abs=1e-4)
        assert hit.vector is not None and np.allclose(hit.vector, VECTORS[int(hit.item_id[1]) - 1], atol=1e-6)
    assert [h.item_id for h in filled.query(q, 2, with_vectors=False)] == ["x1", "x2"]
    assert all(h.vector is None for h in filled.query(q, 2, with_vectors=False))
    assert filled.query(q, 0) == []


def test_query_filters_by_kind_and_never_returns_an_excluded_item(filled: VectorStore) -> None:
    q = unit(1)
    assert [h.item_id for h in filled.query(q, 10, kind="movie")] == ["x1", "x3"]
    assert [h.item_id for h in filled.query(q, 10, kind="unknown")] == ["x4"]  # an item without a kind
    assert filled.query(q, 10, kind="game") == []
    assert [h.item_id for h in filled.query(q, 2, exclude=["x1"])] == ["x2", "x3"]
    assert [h.item_id for h in filled.query(q, 10, exclude=["x1", "x3"], kind="movie")] == []


def test_a_long_exclusion_list_is_honoured_whole(filled: VectorStore) -> None:
    """Excluded ids are dropped from the answer however many there are."""
    exclude = [f"a{i:05d}" for i in range(1_000)] + ["x1", "x2"]
    assert [h.item_id for h in filled.query(unit(1), 2, exclude=exclude)] == ["x3", "x4"]
    assert [h.item_id for h in filled.query(unit(1), 10, exclude=exclude)] == ["x3", "x4"]


def test_a_kind_rare_among_the_nearest_is_still_found(filled: VectorStore) -> None:
    """The nearest items are of other kinds: the store still answers with the nearest of the kind asked (Chroma
    filters by kind only then: chatrec/backends/chroma.py)."""
    assert [h.item_id for h in filled.query(unit(1), 1, kind="unknown")] == ["x4"]
    assert [h.item_id for h in filled.query(unit(1), 1, kind="movie", exclude=["x1"])] == ["x3"]


def test_every_stored_hash_is_read_in_pages(filled: VectorStore, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(chroma, "READ_PAGE", 3)  # four items: two pages (a large store: many)
    assert filled.stored_hashes() == {"x1": "h1", "x2": "h2", "x3": "h3", "x4": "h4"}


def test_upsert_replaces_and_delete_and_clear_remove(filled: VectorStore) -> None:
    filled.upsert([ITEMS[0]], np.vstack([unit(0, 0, 1)]), ["h1-new"])
    assert filled.count() == 4 and filled.stored_hashes()["x1"] == "h1-new"
    assert np.allclose(filled.vectors(["x1"])["x1"], unit(0, 0, 1), atol=1e-6)
    assert filled.query(unit(0, 0, 1), 1)[0].item_id == "x1"
    filled.delete([])
    filled.delete(["x2", "nope"])
    assert set(filled.stored_hashes()) == {"x1", "x3", "x4"} and "x2" not in filled.vectors(["x2"])
    filled.clear()
    assert filled.count() == 0 and filled.query(unit(1), 5) == []
    filled.upsert([ITEMS[1]], np.vstack([unit(1)]), ["h2"])  # usable after a clear
    assert [h.item_id for h in filled.query(unit(1), 5)] == ["x2"]
