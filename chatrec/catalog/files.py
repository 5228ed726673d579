"""Reading catalog files: JSON Lines and CSV files or folders of them, and ReDial's id2info.json, checked row by row
into a `Catalog` (bad rows reported with file, line and reason)."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO

from chatrec.catalog.facets import FacetSpec, infer_specs, load_sidecar, sidecar_path
from chatrec.catalog.items import (
    LIST_FIELDS,
    REQUIRED,
    Catalog,
    Item,
    JSONProblem,
    check_item,
    decode_json,
    not_utf8,
    parse_row,
    utf8_reason,
)
from chatrec.catalog.redial import redial_rows
from chatrec.errors import BadRow, CatalogError

FORMAT_SUFFIXES = {"auto": (".jsonl", ".csv"), "jsonl": (".jsonl",), "csv": (".csv",)}


def _open_text(path: Path, newline: str | None = None) -> TextIO:
    """The file as UTF-8 text (a BOM is skipped); bytes that are not UTF-8 stay as escapes for `not_utf8`."""
    return path.open(encoding="utf-8-sig", errors="surrogateescape", newline=newline)


def _read_jsonl(path: Path) -> Iterator[tuple[int, Any]]:
    with _open_text(path) as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                yield number, _json_row(line)


def _json_row(line: str) -> Any:
    """One decoded JSON Lines row, or the ValueError that says why it cannot be read."""
    at = not_utf8(line)
    if at is not None:
        return ValueError(utf8_reason(ord(line[at]) - 0xDC00, f"at column {at + 1}"))
    try:
        return decode_json(line)
    except JSONProblem as exc:
        return exc


def _read_csv(path: Path) -> Iterator[tuple[int, Any]]:
    with _open_text(path, newline="") as handle:
        reader = csv.DictReader(handle)
        try:
            header = reader.fieldnames
        except csv.Error as exc:
            yield reader.reader.line_num, ValueError(f"unreadable CSV header: {exc}")
            return
        problem = _csv_header_problem(header)
        if problem:
            yield reader.reader.line_num, ValueError(problem)
            return
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:  # e.g. a cell over the csv module's size limit
                yield reader.reader.line_num, ValueError(f"unreadable CSV row: {exc}")
                continue
            yield reader.reader.line_num, _csv_row(row)


def _csv_header_problem(header: Sequence[str] | None) -> str:
    """Why a CSV header cannot be used ('' if it can, or if the file is empty)."""
    if header is None:
        return ""
    for name in header:
        at = not_utf8(name)
        if at is not None:
            return utf8_reason(ord(name[at]) - 0xDC00, "in the header")
    missing = [name for name in REQUIRED if name not in header]
    if missing:
        return (
            f"the header has no {', '.join(map(repr, missing))} column "
            f"(it has {', '.join(map(repr, header))}); no row was read"
        )
    return ""


def _csv_row(row: dict[str | None, Any]) -> Any:
    """One CSV row as a raw item (list cells are written "a|b|c"), or the ValueError that says why it cannot be."""
    if None in row:
        return ValueError("more cells than columns in the header")
    for name, value in row.items():
        at = None if value is None else not_utf8(value)
        if at is not None:
            return ValueError(utf8_reason(ord(value[at]) - 0xDC00, f"in column {name!r}"))
    out = {k: (v.split("|") if k in LIST_FIELDS and v else v) for k, v in row.items()}
    if out.get("facets"):  # a JSON object in its cell
        try:
            out["facets"] = decode_json(out["facets"])
        except JSONProblem as exc:
            return ValueError(f"column 'facets': {exc}")
    return out


def catalog_files(path: Path, fmt: str = "auto") -> list[Path]:
    """The catalog files at `path`: the file itself, or the visible files of a folder whose name ends in the
    suffix of `fmt` (.jsonl or .csv for "auto", .jsonl for "jsonl", .csv for "csv"; any case), sorted."""
    suffixes = FORMAT_SUFFIXES[fmt]
    if path.is_dir():
        files = sorted(
            p for p in path.iterdir() if p.suffix.lower() in suffixes and p.is_file() and not p.name.startswith(".")
        )
        if not files:
            raise CatalogError([BadRow(str(path), 0, f"no {' or '.join(suffixes)} files in this folder")])
        return files
    if not path.exists():
        raise CatalogError([BadRow(str(path), 0, "no such file")])
    return [path]


def read_rows(path: Path, fmt: str = "auto") -> Iterator[tuple[int, Any]]:
    """(line number, decoded row or ValueError) for one file: CSV if `fmt` is "csv" or it is "auto" and the name
    ends in .csv, else JSON Lines. A file that cannot be opened is one ValueError at line 0."""
    is_csv = fmt == "csv" or (fmt == "auto" and path.suffix.lower() == ".csv")
    try:
        yield from _read_csv(path) if is_csv else _read_jsonl(path)
    except OSError as exc:
        yield 0, ValueError(f"cannot read the file: {exc.strerror or exc}")


def build_catalog(rows: Iterable[tuple[str, int, Any]], skip_bad: bool = False, source: str = "catalog") -> Catalog:
    """Validate (file, line, row) triples; unless `skip_bad`, any bad row makes the whole catalog fail.
    `source` names the catalog in the error for one without items."""
    catalog = Catalog()
    for where, line, raw in rows:
        try:
            if isinstance(raw, ValueError):
                raise raw
            item = check_item(raw) if isinstance(raw, Item) else parse_row(raw)
            if item.id in catalog.items:
                raise ValueError(f"duplicate id {item.id!r}")
        except ValueError as exc:
            catalog.bad_rows.append(BadRow(where, line, str(exc)))
            continue
        catalog.items[item.id] = item
    if catalog.bad_rows and not skip_bad:
        raise CatalogError(
            catalog.bad_rows, hint="Nothing was changed. Fix the rows, or pass --skip-bad to load the rest."
        )
    if not catalog.items:
        raise CatalogError(catalog.bad_rows or [BadRow(source, 0, "no items")], hint="Nothing was changed.")
    return catalog


def load_catalog(path: Path, skip_bad: bool = False, fmt: str = "auto") -> Catalog:
    """Load and validate a catalog file or folder (JSON Lines, CSV, or ReDial's id2info.json).

    `fmt` "jsonl" or "csv" reads a file in that format whatever its name, and a folder's files of that suffix only;
    "auto" goes by the suffix (.csv is CSV, id2info.json is ReDial, anything else JSON Lines); "redial" reads
    the file, or a folder's id2info.json."""
    path = Path(path)
    if fmt not in (*FORMAT_SUFFIXES, "redial"):
        raise ValueError(f"unknown catalog format {fmt!r}")
    if fmt == "redial" or (fmt == "auto" and path.name == "id2info.json"):
        file = path / "id2info.json" if path.is_dir() else path
        return build_catalog(redial_rows(file), skip_bad, source=str(file))
    rows = ((str(f), line, raw) for f in catalog_files(path, fmt) for line, raw in read_rows(f, fmt))
    catalog = build_catalog(rows, skip_bad, source=str(path))
    catalog.facets = facet_specs(path, catalog)
    return catalog


def facet_specs(path: Path, catalog: Catalog) -> dict[str, FacetSpec]:
    """The catalog's facet specs: its sidecar's (`NAME.facets.yaml`), else read from the rows' values."""
    sidecar = sidecar_path(path)
    if sidecar is not None:
        try:
            return load_sidecar(sidecar)
        except (OSError, ValueError) as exc:
            raise CatalogError([BadRow(str(sidecar), 0, str(exc))], hint="Nothing was changed.") from None
    return infer_specs(dict(it.facets) for it in catalog)
