"""Bad catalog input (bytes, nesting, types, formats, ReDial files) is a CatalogError naming `file:line: reason`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import write_jsonl

from chatrec import CatalogError, Engine, Settings
from chatrec.catalog.files import load_catalog
from chatrec.catalog.items import Catalog
from chatrec.cli import main

GOOD = b'{"id": "a", "title": "Good", "description": "A fine film about sailing."}\n'
GOOD_CSV = b"id,title,description\na,Good,A fine film about sailing.\n"


def bad_load(path: Path, line: int, reason: str, fmt: str = "auto") -> CatalogError:
    """Assert that loading `path` fails with `path:line: ...reason`; return the error."""
    with pytest.raises(CatalogError) as err:
        load_catalog(path, fmt=fmt)
    assert f"{path}:{line}: " in str(err.value) and reason in str(err.value), str(err.value)
    return err.value


def only_good(path: Path, fmt: str = "auto") -> Catalog:
    """With skip_bad the good row 'a' loads and every other row is reported."""
    kept = load_catalog(path, skip_bad=True, fmt=fmt)
    assert list(kept.items) == ["a"] and kept.bad_rows
    return kept


@pytest.mark.parametrize(
    "name, data, line, reason",
    [
        (
            "c.jsonl",
            GOOD + b'{"id": "b", "title": "Caf\xe9", "description": "x"}\n',
            2,
            "not valid UTF-8: byte 0xe9 at column 26",
        ),
        ("c.csv", GOOD_CSV + b"b,Caf\xe9,x\n", 3, "not valid UTF-8: byte 0xe9 in column 'title'"),
    ],
)
def test_a_byte_that_is_not_utf8_is_a_bad_row(tmp_path: Path, name: str, data: bytes, line: int, reason: str) -> None:
    # before: UnicodeDecodeError traceback
    path = tmp_path / name
    path.write_bytes(
        data + (b'{"id": "c", "title": 1.5, "description": "x"}\n' if name.endswith("jsonl") else b"c,,x\n")
    )
    err = bad_load(path, line, reason)
    assert len(err.rows) == 2  # the rows after it are still validated
    only_good(path)


def test_a_deeply_nested_line_is_a_bad_row(tmp_path: Path) -> None:
    # before: RecursionError traceback
    path = tmp_path / "c.jsonl"
    path.write_bytes(GOOD + ("[" * 200_000 + "]" * 200_000).encode() + b"\n")
    bad_load(path, 2, "nested too deeply")
    only_good(path)


@pytest.mark.parametrize(
    "data, line, reason",
    [
        (b'{"1": {"name": "A (1999)", "plot": "p"},\n "2": broken}\n', 2, "invalid JSON: Expecting value (column 7)"),
        (b"", 1, "invalid JSON: Expecting value"),
        (b"[" * 100_000 + b"]" * 100_000, 0, "invalid JSON: arrays or objects nested too deeply"),
        (b'{"1": {"name": "A (1999)"},\n "2": {"name": "Caf\xe9"}}', 2, "not valid UTF-8: byte 0xe9 at column 20"),
        (b'[{"name": "A (1999)"}]', 1, "expected a JSON object of entries keyed by id, got a list"),
        (b'"movies"', 1, "expected a JSON object of entries keyed by id, got a string"),
        (b'{"1": {"name": "A (1999)"}, "2": 5}', 2, "unusable entry '2': expected an object, got 5"),
        (b'{"1": {"name": "A (1999)"}, "2": ["B"]}', 2, "unusable entry '2': expected an object, got a list"),
        (b'{"1": {"name": "A (1999)"}, "2": {"name": "B", "genre": "Drama"}}', 2, "'genre' must be a list of strings"),
        (b'{"1": {"name": "A (1999)"}, "2": {"plot": "p"}}', 2, "missing or empty required field 'title'"),
        (b'{"1": {"name": "A (1999)"}, "2": {"name": "B\\ud800"}}', 2, "field 'title' holds a lone surrogate"),
    ],
)
def test_a_broken_id2info_file_is_reported_where_it_breaks(tmp_path: Path, data: bytes, line: int, reason: str) -> None:
    # before: JSONDecodeError / AttributeError tracebacks; a string genre was split into letters; no name was accepted
    path = tmp_path / "id2info.json"
    path.write_bytes(data)
    bad_load(path, line, reason)
    with pytest.raises(CatalogError) as err:  # a folder with --format redial reads its id2info.json
        load_catalog(tmp_path, fmt="redial")
    assert f"{path}:{line}: " in str(err.value) and reason in str(err.value)


def test_format_csv_reads_a_file_whatever_its_name(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # before: items.txt was read as JSON Lines, every line "invalid JSON"
    path = tmp_path / "items.txt"
    path.write_bytes(GOOD_CSV + b"b,Other,Another film.\n")
    assert list(load_catalog(path, fmt="csv").items) == ["a", "b"]
    bad_load(path, 1, "invalid JSON", fmt="auto")  # auto still goes by the suffix
    assert main(["ingest", str(path), "--format", "csv", "--data-dir", str(tmp_path / "d"), "--quiet"]) == 0
    assert f"2 items in {path}" in capsys.readouterr().out
    jsonl_named_csv = tmp_path / "rows.csv"
    jsonl_named_csv.write_bytes(GOOD)
    assert list(load_catalog(jsonl_named_csv, fmt="jsonl").items) == ["a"]


def test_format_in_a_folder_picks_the_files_of_that_format(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_bytes(GOOD_CSV)
    (tmp_path / "b.JSONL").write_bytes(b'{"id": "b", "title": "B", "description": "x"}\n')
    (tmp_path / ".hidden.csv").write_bytes(b"\xff\xfe")
    (tmp_path / "sub.csv").mkdir()
    assert list(load_catalog(tmp_path).items) == ["a", "b"]
    assert list(load_catalog(tmp_path, fmt="csv").items) == ["a"]
    assert list(load_catalog(tmp_path, fmt="jsonl").items) == ["b"]
    (tmp_path / "a.csv").unlink()
    bad_load(tmp_path, 0, "no .csv files in this folder", fmt="csv")


@pytest.mark.parametrize(
    "row, reason",
    [
        (
            {"id": True, "title": True, "description": "x"},
            "required field 'id' must be a string or a whole number, got true",
        ),
        (
            {"id": "b", "title": False, "description": "x"},
            "required field 'title' must be a string or a whole number, got false",
        ),
        (
            {"id": 1.5, "title": "T", "description": "x"},
            "required field 'id' must be a string or a whole number, got 1.5",
        ),
        (
            {"id": "b", "title": ["T"], "description": "x"},
            "required field 'title' must be a string or a whole number, got a list",
        ),
        (
            {"id": "b", "title": "T", "description": {"en": "x"}},
            "'description' must be a string or a whole number, got an object",
        ),
        ({"id": "b", "title": "T", "description": "x", "popularity": True}, "'popularity' must be a number, got True"),
        ({"id": "b", "title": "T", "description": "x", "popularity": 10**400}, "'popularity' must be a number"),
        ({"id": "b", "title": "T\u0000", "description": "x"}, "field 'title' holds a NUL character"),
        ({"id": "b", "title": "T\ud800", "description": "x"}, "field 'title' holds a lone surrogate '\\ud800'"),
        ({"id": "b", "title": "T", "description": "x", "genres": ["\udcff"]}, "field 'genres' holds a lone surrogate"),
    ],
)
def test_wrong_types_and_unstorable_text_are_bad_rows(tmp_path: Path, row: dict, reason: str) -> None:
    # before: booleans became "True", a huge popularity raised OverflowError, NUL and lone surrogates were accepted
    path = tmp_path / "c.jsonl"
    path.write_bytes(GOOD + json.dumps(row).encode() + b"\n")
    bad_load(path, 2, reason)
    only_good(path)


def test_integer_ids_and_titles_are_still_accepted(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "c.jsonl", [{"id": 7, "title": 1984, "description": "A novel."}])
    item = load_catalog(path).get("7")
    assert item.title == "1984"


@pytest.mark.parametrize(
    "line, reason",
    [
        ('"a string"', "expected an object, got a string"),
        ("42", "expected an object, got 42"),
        ("[1, 2]", "expected an object, got a list"),
        ("null", "expected an object, got null"),
        ('{"id": "b", "title": "A\x00B", "description": "x"}', "invalid JSON: Invalid control character"),
        ('{"id": 1' + "0" * 5000 + ', "title": "T", "description": "x"}', "invalid JSON: Exceeds the limit"),
    ],
)
def test_rows_that_are_not_objects_or_not_json_are_bad_rows(tmp_path: Path, line: str, reason: str) -> None:
    path = tmp_path / "c.jsonl"
    path.write_bytes(GOOD + line.encode() + b"\n")
    bad_load(path, 2, reason)


def test_nul_in_a_csv_cell_and_an_oversized_cell_are_bad_rows(tmp_path: Path) -> None:
    # before: the NUL was loaded; a cell over the csv module's limit raised _csv.Error
    path = tmp_path / "c.csv"
    path.write_bytes(GOOD_CSV + b"b,A\x00B,x\n\nc,T," + b"x" * 200_000 + b"\nd,,x\n")
    err = bad_load(path, 3, "field 'title' holds a NUL character")
    assert [str(r) for r in err.rows[1:]] == [
        f"{path}:5: unreadable CSV row: field larger than field limit (131072)",
        f"{path}:6: missing or empty required field 'title'",
    ]
    only_good(path)


@pytest.mark.parametrize("name", ["c.jsonl", "c.csv"])
def test_an_empty_file_is_an_error_that_names_it(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(b"")
    bad_load(path, 0, "no items")  # before: "catalog:0: no items"


def test_a_folder_without_catalog_files_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("no catalog here", encoding="utf-8")
    bad_load(tmp_path, 0, "no .jsonl or .csv files in this folder")


@pytest.mark.parametrize("name, data", [("c.csv", b"\xef\xbb\xbf" + GOOD_CSV), ("c.jsonl", b"\xef\xbb\xbf" + GOOD)])
def test_a_utf8_bom_is_skipped(tmp_path: Path, name: str, data: bytes) -> None:
    # before: the CSV's first column was "\ufeffid" (every row "missing 'id'");
    # the JSON Lines row "Unexpected UTF-8 BOM"
    path = tmp_path / name
    path.write_bytes(data)
    assert list(load_catalog(path).items) == ["a"]


def test_a_csv_without_a_required_column_is_one_header_error(tmp_path: Path) -> None:
    # before: every row was reported "missing or empty required field 'description'"
    path = tmp_path / "c.csv"
    path.write_bytes(b"id,title\na,Good\nb,Other\n")
    err = bad_load(path, 1, "the header has no 'description' column (it has 'id', 'title')")
    assert len(err.rows) == 1
    with pytest.raises(CatalogError):
        load_catalog(path, skip_bad=True)  # nothing to load even when asked to skip bad rows
    path.write_bytes(b"id,titl\xe9,description\na,Good,x\n")
    bad_load(path, 1, "not valid UTF-8: byte 0xe9 in the header")


def test_bad_input_changes_nothing_in_the_store_and_the_cli_reports_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = tmp_path / "good.jsonl"
    good.write_bytes(GOOD)
    settings = Settings(data_dir=tmp_path / "data", catalog=good)
    with Engine.load(settings) as engine:
        hashes = engine.store.stored_hashes()
    bad = {
        "utf8.jsonl": GOOD + b'{"id": "b", "title": "Caf\xe9", "description": "x"}\n',
        "deep.jsonl": GOOD + b"[" * 200_000 + b"]" * 200_000 + b"\n",
        "bool.jsonl": GOOD + b'{"id": true, "title": true, "description": "x"}\n',
        "header.csv": b"id,title\nb,Other\n",
    }
    for name, data in bad.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(CatalogError):
            Engine.load(settings.with_(catalog=tmp_path / name))
    (tmp_path / "id2info.json").write_bytes(b'{"a": {"name": "Good (1999)"},\n broken}')
    with pytest.raises(CatalogError, match="id2info.json:2: invalid JSON"):
        Engine.load(settings.with_(catalog=tmp_path / "id2info.json", catalog_format="redial"))
    assert main(["ingest", str(tmp_path / "utf8.jsonl"), "--data-dir", str(settings.data_dir), "--quiet"]) == 2
    assert f"{tmp_path / 'utf8.jsonl'}:2: not valid UTF-8" in capsys.readouterr().err
    with Engine.load(settings) as engine:
        assert engine.store.stored_hashes() == hashes  # the failed loads changed nothing
        assert engine.ingest_report.embedded == 0
