"""The item catalog: load JSON Lines or CSV files, validate every row, and build the text that gets embedded."""

from __future__ import annotations

import csv
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator

from .errors import BadRow, CatalogError

LIST_FIELDS = ("genres", "creators", "cast", "tags", "aliases")
TEXT_FIELDS = ("kind", "language")
REQUIRED = ("id", "title", "description")
MAX_FIELD_CHARS = 20_000


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

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "title": self.title}
        for name in ("year", "kind", "genres", "description", "creators", "cast", "language", "tags", "aliases", "popularity"):
            value = getattr(self, name)
            if value not in (None, "", ()):
                out[name] = list(value) if isinstance(value, tuple) else value
        return out


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
    return hashlib.sha256(f"{embedder_id}\n{item_text(item)}".encode("utf-8")).hexdigest()[:32]


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


def parse_row(raw: Any) -> Item:
    """One validated item from a decoded row; raises ValueError with the reason."""
    if not isinstance(raw, dict):
        raise ValueError(f"expected an object, got {type(raw).__name__}")
    for name in REQUIRED:
        value = raw.get(name)
        if not isinstance(value, (str, int)) or not str(value).strip():
            raise ValueError(f"missing or empty required field {name!r}")
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
    for name, value in fields.items():
        if isinstance(value, str) and len(value) > MAX_FIELD_CHARS:
            raise ValueError(f"field {name!r} is longer than {MAX_FIELD_CHARS} characters")
    return Item(**fields)


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
        pop = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"'popularity' must be a number, got {value!r}") from None
    if not pop >= 0 or pop == float("inf"):
        raise ValueError(f"'popularity' must be a finite non-negative number, got {value!r}")
    return pop


def _read_jsonl(path: Path) -> Iterator[tuple[int, Any]]:
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                yield number, json.loads(line)
            except json.JSONDecodeError as exc:
                yield number, ValueError(f"invalid JSON: {exc.msg} (column {exc.colno})")


def _read_csv(path: Path) -> Iterator[tuple[int, Any]]:
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        for row in reader:
            if None in row:
                yield reader.line_num, ValueError("more cells than columns in the header")
            else:  # CSV cells hold lists as "a|b|c"
                yield reader.line_num, {k: (v.split("|") if k in LIST_FIELDS and v else v) for k, v in row.items()}


def catalog_files(path: Path) -> list[Path]:
    """The catalog files at `path`: the file itself, or every .jsonl/.csv file in a folder, sorted."""
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix in (".jsonl", ".csv"))
        if not files:
            raise CatalogError([BadRow(str(path), 0, "no .jsonl or .csv files in this folder")])
        return files
    if not path.exists():
        raise CatalogError([BadRow(str(path), 0, "no such file")])
    return [path]


def read_rows(path: Path) -> Iterable[tuple[int, Any]]:
    """(line number, decoded row or ValueError) for one JSON Lines or CSV file."""
    return _read_csv(path) if path.suffix == ".csv" else _read_jsonl(path)


def build_catalog(rows: Iterable[tuple[str, int, Any]], skip_bad: bool = False) -> Catalog:
    """Validate (file, line, row) triples; unless `skip_bad`, any bad row makes the whole catalog fail."""
    catalog = Catalog()
    for source, line, raw in rows:
        try:
            if isinstance(raw, ValueError):
                raise raw
            item = raw if isinstance(raw, Item) else parse_row(raw)
            if item.id in catalog.items:
                raise ValueError(f"duplicate id {item.id!r}")
        except ValueError as exc:
            catalog.bad_rows.append(BadRow(source, line, str(exc)))
            continue
        catalog.items[item.id] = item
    if catalog.bad_rows and not skip_bad:
        raise CatalogError(catalog.bad_rows, hint="Nothing was changed. Fix the rows, or pass --skip-bad to load the rest.")
    if not catalog.items:
        raise CatalogError(catalog.bad_rows or [BadRow("catalog", 0, "no items")], hint="Nothing was changed.")
    return catalog


def load_catalog(path: Path, skip_bad: bool = False, fmt: str = "auto") -> Catalog:
    """Load and validate a catalog file or folder (JSON Lines, CSV, or ReDial's id2info.json)."""
    path = Path(path)
    if fmt == "redial" or (fmt == "auto" and path.name == "id2info.json"):
        from .datasets import redial_rows

        return build_catalog(redial_rows(path), skip_bad)
    rows = ((str(f), line, raw) for f in catalog_files(path) for line, raw in read_rows(f))
    return build_catalog(rows, skip_bad)
