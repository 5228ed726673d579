"""The item catalog: load JSON Lines or CSV files, validate every row, and build the text that gets embedded."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from chatrec.catalog.facets import FacetSpec, FacetValue, parse_facets
from chatrec.errors import BadRow

LIST_FIELDS = ("genres", "creators", "cast", "tags", "aliases", "genres_zh")
TEXT_FIELDS = ("kind", "language")
REQUIRED = ("id", "title", "description")
MAX_FIELD_CHARS = 20_000
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
    genres_zh: tuple[str, ...] = ()  # the genres in Chinese, in the same order, where the catalog gives them
    facets: tuple[tuple[str, FacetValue], ...] = ()  # (name, value), sorted: see catalog/facets.py

    def facet(self, name: str) -> FacetValue | None:
        return next((value for key, value in self.facets if key == name), None)

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
    if item.facets:
        parts.append(" ".join(f"{name}: {facet_text(value)}." for name, value in item.facets))
    return " ".join(parts)


def facet_text(value: FacetValue) -> str:
    """A facet value in words: '2-4', '45', 'dice, drafting'."""
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, str):
        return value
    if len(value) == 2 and all(isinstance(v, float) for v in value):
        return "-".join(f"{v:g}" for v in value)
    return ", ".join(str(v) for v in value)


def content_hash(item: Item, embedder_id: str) -> str:
    """Changes exactly when the embedded text or the embedding model changes."""
    return hashlib.sha256(f"{embedder_id}\n{item_text(item)}".encode()).hexdigest()[:32]


@dataclass
class Catalog:
    """The loaded items by id, in file order, plus the rows that were rejected."""

    items: dict[str, Item] = field(default_factory=dict)
    bad_rows: list[BadRow] = field(default_factory=list)
    facets: dict[str, FacetSpec] = field(default_factory=dict)  # the sidecar's facet specs (or read from the values)

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


def not_utf8(text: str) -> int | None:
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
    fields["facets"] = parse_facets(raw.get("facets"))
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
