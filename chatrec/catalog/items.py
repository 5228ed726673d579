"""The item catalog: load JSON Lines or CSV files, validate every row, and build the text that gets embedded."""

from __future__ import annotations

import csv
import hashlib
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from chatrec.errors import BadRow, CatalogError

LIST_FIELDS = ("genres", "creators", "cast", "tags", "aliases")
TEXT_FIELDS = ("kind", "language")
REQUIRED = ("id", "title", "description")
MAX_FIELD_CHARS = 20_000
FORMAT_SUFFIXES = {"auto": (".jsonl", ".csv"), "jsonl": (".jsonl",), "csv": (".csv",)}
_ESCAPED_BYTE = re.compile("[\udc80-\udcff]")  # a byte that is not UTF-8, as errors="surrogateescape" keeps it


@dataclass(frozen=True)
class Item:
    """One catalog item, as in the catalog file schema of CONTRACT.md (plus optional `aliases`)."""

    id: str
    title: str
    description: str
    year: int | None = None
    kind: str = ""
    genres: tuple[str, ...] = ()
    creators: tuple[str, ...] = ()
    cast: tuple[str, ...] = ()
    language: str = ""
    tags: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    popularity: float | None = None

    @property
    def display_title(self) -> str:
        return f"{self.title} ({self.year})" if self.year else self.title


def item_text(item: Item) -> str:
    """The text embedded for an item: title, year, kind, genres, description, people and tags."""
    parts = [item.display_title + "."]
    if item.kind or item.genres:
        parts.append(" ".join(filter(None, [", ".join(item.genres), item.kind])) + ".")
    parts.append(item.description)
    if item.creators:
        parts.append("By " + ", ".join(item.creators) + ".")
    if item.cast:
        parts.append("With " + ", ".join(item.cast) + ".")
    if item.tags:
        parts.append("Keywords: " + ", ".join(item.tags) + ".")
    if item.aliases:
        parts.append("Also known as " + "; ".join(item.aliases) + ".")
    return " ".join(parts)


def content_hash(item: Item, embedder_id: str) -> str:
    """Changes exactly when the embedded text or the embedding model changes."""
    return hashlib.sha256(f"{embedder_id}\n{item_text(item)}".encode()).hexdigest()[:32]


@dataclass
class Catalog:
    """The loaded items by id, in file order, plus the rows that were rejected."""

    items: dict[str, Item] = field(default_factory=dict)
    bad_rows: list[BadRow] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[Item]:
        return iter(self.items.values())

    def __contains__(self, item_id: object) -> bool:
        return item_id in self.items

    def get(self, item_id: str) -> Item:
        return self.items[item_id]


class JSONProblem(ValueError):
    """Why a JSON text cannot be decoded, and the line of the text where the decoder stopped (0: unknown)."""

    def __init__(self, reason: str, line: int = 0) -> None:
        super().__init__(reason)
        self.line = line


def decode_json(text: str) -> Any:
    """The value of a JSON text; raises JSONProblem instead of any decoding error."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise JSONProblem(f"invalid JSON: {exc.msg} (column {exc.colno})", exc.lineno) from None
    except RecursionError:
        raise JSONProblem("invalid JSON: arrays or objects nested too deeply") from None
    except ValueError as exc:  # e.g. an integer of more than 4,300 digits
        raise JSONProblem(f"invalid JSON: {exc}") from None


def json_kind(value: Any) -> str:
    """How a decoded JSON value is named in messages: 'true', '1.5', 'a list', 'an object'."""
    if isinstance(value, (bool, int, float)) or value is None:
        return json.dumps(value)
    names: dict[type, str] = {str: "a string", list: "a list", dict: "an object"}
    return names.get(type(value), type(value).__name__)


def utf8_reason(byte: int, where: str) -> str:
    """The reason given for a byte that is not UTF-8."""
    return f"not valid UTF-8: byte 0x{byte:02x} {where}; save the file as UTF-8"


def _not_utf8(text: str) -> int | None:
    """The index of the first byte in `text` (read with surrogateescape) that was not UTF-8, if any."""
    found = _ESCAPED_BYTE.search(text)
    return None if found is None else found.start()


def check_item(item: Item) -> Item:
    """The item, if its required fields are set and every string in it can be stored and shown; else ValueError."""
    for name in REQUIRED:
        if not getattr(item, name):
            raise ValueError(f"missing or empty required field {name!r}")
    for name in ("id", "title", "description", *TEXT_FIELDS, *LIST_FIELDS):
        value = getattr(item, name)
        for text in value if isinstance(value, tuple) else (value,):
            _check_text(name, text)
    return item


def text_problem(text: str) -> str | None:
    """What makes `text` impossible to store or show ("a NUL character", a lone surrogate), or None."""
    if "\x00" in text:
        return "a NUL character"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return f"a lone surrogate {text[exc.start]!r}, which is not valid Unicode text"
    return None


def _check_text(name: str, text: str) -> None:
    """Raise ValueError if `text` is too long, holds a NUL or a lone surrogate (which UTF-8 cannot store)."""
    if len(text) > MAX_FIELD_CHARS:
        raise ValueError(f"field {name!r} is longer than {MAX_FIELD_CHARS} characters")
    problem = text_problem(text)
    if problem:
        raise ValueError(f"field {name!r} holds {problem}")


def parse_row(raw: Any) -> Item:
    """One validated item from a decoded row; raises ValueError with the reason."""
    if not isinstance(raw, dict):
        raise ValueError(f"expected an object, got {json_kind(raw)}")
    for name in REQUIRED:
        value = raw.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            raise ValueError(f"missing or empty required field {name!r}")
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise ValueError(f"required field {name!r} must be a string or a whole number, got {json_kind(value)}")
    fields: dict[str, Any] = {name: str(raw[name]).strip() for name in REQUIRED}
    for name in TEXT_FIELDS:
        if raw.get(name) not in (None, ""):
            if not isinstance(raw[name], str):
                raise ValueError(f"{name!r} must be a string")
            fields[name] = raw[name].strip().lower()
    for name in LIST_FIELDS:
        fields[name] = _as_list(name, raw.get(name))
    fields["genres"] = tuple(g.lower() for g in fields["genres"])
    fields["year"] = _as_year(raw.get("year"))
    fields["popularity"] = _as_popularity(raw.get("popularity"))
    return check_item(Item(**fields))


def _as_list(name: str, value: Any) -> tuple[str, ...]:
    if value in (None, ""):
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{name!r} must be a list of strings")
    return tuple(v.strip() for v in value if v.strip())


def _as_year(value: Any) -> int | None:
    if value in (None, ""):
        return None
    try:
        year = int(str(value).strip())
    except ValueError:
        raise ValueError(f"'year' must be a whole number, got {value!r}") from None
    if isinstance(value, float) or not -3000 <= year <= 3000:
        raise ValueError(f"'year' out of range: {value!r}")
    return year


def _as_popularity(value: Any) -> float | None:
    if value in (None, ""):
        return None
    try:
        if isinstance(value, bool):
            raise TypeError
        pop = float(value)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"'popularity' must be a number, got {value!r}") from None
    if not pop >= 0 or pop == float("inf"):
        raise ValueError(f"'popularity' must be a finite non-negative number, got {value!r}")
    return pop


def _open_text(path: Path, newline: str | None = None) -> TextIO:
    """The file as UTF-8 text (a BOM is skipped); bytes that are not UTF-8 stay as escapes for `_not_utf8`."""
    return path.open(encoding="utf-8-sig", errors="surrogateescape", newline=newline)


def _read_jsonl(path: Path) -> Iterator[tuple[int, Any]]:
    with _open_text(path) as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                yield number, _json_row(line)


def _json_row(line: str) -> Any:
    """One decoded JSON Lines row, or the ValueError that says why it cannot be read."""
    at = _not_utf8(line)
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
        at = _not_utf8(name)
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
        at = None if value is None else _not_utf8(value)
        if at is not None:
            return ValueError(utf8_reason(ord(value[at]) - 0xDC00, f"in column {name!r}"))
    return {k: (v.split("|") if k in LIST_FIELDS and v else v) for k, v in row.items()}


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
        from chatrec.catalog.redial import redial_rows

        file = path / "id2info.json" if path.is_dir() else path
        return build_catalog(redial_rows(file), skip_bad, source=str(file))
    rows = ((str(f), line, raw) for f in catalog_files(path, fmt) for line, raw in read_rows(f, fmt))
    return build_catalog(rows, skip_bad, source=str(path))
