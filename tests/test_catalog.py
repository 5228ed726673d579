"""Catalog loading: the contract's schema, bad rows reported with file, line and reason, nothing half-loaded."""

from pathlib import Path

import pytest
from conftest import write_jsonl

from chatrec.catalog.files import load_catalog
from chatrec.catalog.items import content_hash, item_text
from chatrec.catalog.redial import redial_item, split_title_year
from chatrec.catalog.resources import knowledge_dir
from chatrec.errors import CatalogError


def test_bundled_catalog_meets_the_brief() -> None:
    items = list(load_catalog(knowledge_dir()))
    movies = [i for i in items if i.kind == "movie"]
    books = [i for i in items if i.kind == "book"]
    series = [i for i in items if i.kind == "series"]
    chinese = [i for i in items if i.language == "zh"]
    assert len(items) >= 500 and len(movies) >= 300 and len(books) >= 150 and len(series) >= 50
    assert len(chinese) >= len(items) / 4
    assert all(any("\u4e00" <= c <= "\u9fff" for c in i.description) for i in chinese)  # Chinese descriptions
    assert len({i.year // 10 for i in items if i.year}) >= 8  # many decades
    assert len({i.language for i in items}) >= 8  # many countries and languages
    assert len({g for i in items for g in i.genres}) >= 25  # many genres
    assert all(i.popularity is None for i in items)  # no prior we could not state honestly


def test_jsonl_and_csv_load_the_same_fields(tmp_path: Path) -> None:
    (tmp_path / "c.csv").write_text(
        "id,title,year,kind,genres,description,creators,popularity\n"
        "x1,Some Film,1999,movie,drama|comedy,A film.,Jane Doe,12.5\n",
        encoding="utf-8",
    )
    item = load_catalog(tmp_path / "c.csv").get("x1")
    assert item.genres == ("drama", "comedy") and item.year == 1999 and item.popularity == 12.5
    assert item.creators == ("Jane Doe",)


@pytest.mark.parametrize(
    "line, reason",
    [
        ('{"id": "b", "title": "T"', "invalid JSON"),
        ('{"id": "b", "title": "T"}', "missing or empty required field 'description'"),
        ('{"id": "b", "title": "T", "description": "d", "year": "soon"}', "'year' must be a whole number"),
        ('{"id": "b", "title": "T", "description": "d", "genres": "drama"}', "'genres' must be a list"),
        ('{"id": "b", "title": "T", "description": "d", "popularity": -1}', "non-negative"),
        ('{"id": "a", "title": "T", "description": "d"}', "duplicate id 'a'"),
        ('["not", "an", "object"]', "expected an object"),
    ],
)
def test_bad_row_is_reported_with_file_line_and_reason(tmp_path: Path, line: str, reason: str) -> None:
    path = tmp_path / "cat.jsonl"
    path.write_text('{"id": "a", "title": "Good", "description": "fine"}\n\n' + line + "\n", encoding="utf-8")
    with pytest.raises(CatalogError) as err:
        load_catalog(path)
    (row,) = err.value.rows
    assert row.path == str(path) and row.line == 3 and reason in row.reason
    assert "cat.jsonl:3: " in str(err.value) and "Nothing was changed" in str(err.value)
    kept = load_catalog(path, skip_bad=True)  # asked for: the good rows load
    assert list(kept.items) == ["a"] and len(kept.bad_rows) == 1


def test_item_text_and_hash() -> None:
    item = write_free_item()
    text = item_text(item)
    for part in ("Orbit (2001)", "science fiction", "astronauts", "Ann Lee", "space"):
        assert part in text
    assert content_hash(item, "m1") != content_hash(item, "m2")


def write_free_item():  # type: ignore[no-untyped-def]
    from chatrec.catalog.items import Item

    return Item(
        id="o",
        title="Orbit",
        year=2001,
        kind="movie",
        genres=("science fiction",),
        description="Two astronauts repair a station.",
        creators=("Ann Lee",),
        tags=("space",),
    )


def test_redial_names_and_entries() -> None:
    assert split_title_year("Super Troopers (2001)") == ("Super Troopers", 2001)
    assert split_title_year("Back to the Future") == ("Back to the Future", None)
    item = redial_item(
        "7",
        {
            "name": "Alien (1979)",
            "genre": ["Sci-Fi", "horror"],
            "plot": "A crew...",
            "director": ["Ridley Scott"],
            "writer": ["Dan O'Bannon"],
            "star": ["Sigourney Weaver"],
        },
    )
    assert item.title == "Alien" and item.year == 1979 and item.genres == ("science fiction", "horror")
    assert item.creators == ("Ridley Scott", "Dan O'Bannon") and item.cast == ("Sigourney Weaver",)


def test_empty_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(CatalogError):
        load_catalog(tmp_path)
    write_jsonl(tmp_path / "x.jsonl", [{"id": "1", "title": "t", "description": "d"}])
    assert len(load_catalog(tmp_path)) == 1
