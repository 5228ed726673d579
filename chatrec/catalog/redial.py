"""Catalog readers for the datasets' `id2info.json` files (ReDial and OpenDialKG, as iEvaLM-CRS processed them)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from chatrec.catalog.items import Item, JSONProblem, decode_json, json_kind, utf8_reason

_TITLE_YEAR = re.compile(r"^(?P<title>.*?)\s*\((?P<year>\d{4})\)\s*$")
_GENRE_NAMES = {"sci-fi": "science fiction", "film-noir": "noir", "musical": "musical"}


def split_title_year(name: str) -> tuple[str, int | None]:
    """'Super Troopers (2001)' -> ('Super Troopers', 2001); names without a year keep it None."""
    match = _TITLE_YEAR.match(name.strip())
    if not match or not match.group("title"):
        return name.strip(), None
    return match.group("title"), int(match.group("year"))


def redial_item(redial_id: str, info: dict[str, Any]) -> Item:
    """One iEvaLM-CRS id2info entry as a catalog item (people: director and writer as creators, stars as cast)."""
    title, year = split_title_year(str(info.get("name", "")))
    creators = list(dict.fromkeys([*_names(info, "director"), *_names(info, "writer")]))
    return Item(
        id=str(redial_id),
        title=title,
        year=year,
        kind="movie",
        genres=tuple(_GENRE_NAMES.get(g.lower(), g.lower()) for g in _names(info, "genre")),
        description=str(info.get("plot") or title),
        creators=tuple(creators),
        cast=tuple(_names(info, "star")),
    )


def _names(info: dict[str, Any], key: str) -> list[str]:
    """The list of names under `key` of an entry (none if absent); ValueError unless it is a list of strings."""
    value = info.get(key) or []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{key!r} must be a list of strings, got {json_kind(value)}")
    return value


def opendialkg_item(item_id: str, info: dict[str, Any]) -> Item:
    """One OpenDialKG entry (no plot): the description is built from its facts, in the same words for every item."""
    title = str(info.get("name", "")).strip()
    year = int(info["year"]) if str(info.get("year", "")).strip().isdigit() else None
    genres = tuple(dict.fromkeys(g.lower().removesuffix(" film") for g in _names(info, "genre") if g))
    directors = list(dict.fromkeys(_names(info, "director")))
    actors = list(dict.fromkeys(_names(info, "actor")))
    writers = list(dict.fromkeys(_names(info, "writer")))
    parts = [
        f"{title}" + (f" ({year})" if year else "") + (f", a film: {', '.join(genres[:4])}." if genres else ", a film.")
    ]
    if directors:
        parts.append(f"Directed by {', '.join(directors[:3])}.")
    if actors:
        parts.append(f"Starring {', '.join(actors[:5])}.")
    if writers:
        parts.append(f"Written by {', '.join(writers[:3])}.")
    return Item(
        id=str(item_id),
        title=title,
        year=year,
        kind="movie",
        genres=genres,
        description=" ".join(parts),
        creators=tuple(dict.fromkeys([*directors, *writers])),
        cast=tuple(actors),
    )


def redial_rows(path: Path) -> Iterator[tuple[str, int, object]]:
    """(file, entry number, Item or ValueError) for every entry of an id2info.json file (ReDial or OpenDialKG);
    a file that is not a JSON object is one ValueError, at the line where decoding stopped (0 if unknown)."""
    try:
        data = _read_json(Path(path))
    except JSONProblem as exc:
        yield str(path), exc.line, exc
        return
    if not isinstance(data, dict):
        yield str(path), 1, ValueError(f"expected a JSON object of entries keyed by id, got {json_kind(data)}")
        return
    for number, (item_id, info) in enumerate(data.items(), start=1):
        if not isinstance(info, dict):
            yield (
                str(path),
                number,
                ValueError(f"unusable entry {item_id!r}: expected an object, got {json_kind(info)}"),
            )
            continue
        try:
            make = (
                redial_item
                if "plot" in info or re.search(r"\(\d{4}\)\s*$", str(info.get("name", "")))
                else opendialkg_item
            )
            yield str(path), number, make(item_id, info)
        except (TypeError, AttributeError, ValueError) as exc:
            yield str(path), number, ValueError(f"unusable entry {item_id!r}: {exc}")


def _read_json(path: Path) -> object:
    """The value of a UTF-8 JSON file (a BOM is skipped); raises JSONProblem where it cannot be read or decoded."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise JSONProblem(f"cannot read the file: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line_start = raw.rfind(b"\n", 0, exc.start) + 1
        where = f"at column {len(raw[line_start : exc.start].decode('utf-8')) + 1}"
        raise JSONProblem(utf8_reason(raw[exc.start], where), raw.count(b"\n", 0, exc.start) + 1) from None
    return decode_json(text)
