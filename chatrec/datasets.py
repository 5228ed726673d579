"""Readers for the public evaluation data in ../shared/datasets (ReDial-style catalogs and recommendation turns)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from .catalog import Item

_TITLE_YEAR = re.compile(r"^(?P<title>.*?)\s*\((?P<year>\d{4})\)\s*$")
_GENRE_NAMES = {"sci-fi": "science fiction", "film-noir": "noir", "musical": "musical"}


def split_title_year(name: str) -> tuple[str, int | None]:
    """'Super Troopers (2001)' -> ('Super Troopers', 2001); names without a year keep it None."""
    match = _TITLE_YEAR.match(name.strip())
    if not match or not match.group("title"):
        return name.strip(), None
    return match.group("title"), int(match.group("year"))


def redial_item(redial_id: str, info: dict) -> Item:
    """One iEvaLM-CRS id2info entry as a catalog item (people: director and writer as creators, stars as cast)."""
    title, year = split_title_year(str(info.get("name", "")))
    creators = list(dict.fromkeys([*info.get("director", []), *info.get("writer", [])]))
    return Item(
        id=str(redial_id),
        title=title,
        year=year,
        kind="movie",
        genres=tuple(_GENRE_NAMES.get(g.lower(), g.lower()) for g in info.get("genre", [])),
        description=str(info.get("plot") or title),
        creators=tuple(creators),
        cast=tuple(info.get("star", [])),
    )


def redial_rows(path: Path) -> Iterator[tuple[str, int, object]]:
    """(file, entry number, Item or ValueError) for every entry of an id2info.json file."""
    with Path(path).open(encoding="utf-8") as handle:
        data = json.load(handle)
    for number, (redial_id, info) in enumerate(data.items(), start=1):
        try:
            yield str(path), number, redial_item(redial_id, info)
        except (TypeError, AttributeError) as exc:
            yield str(path), number, ValueError(f"unusable entry {redial_id!r}: {exc}")


@dataclass(frozen=True)
class RecTurn:
    """One recommendation turn: the dialogue so far (seeker first, alternating) and the gold item names."""

    dialog_id: str
    turn_id: int
    context: tuple[str, ...]
    rec: tuple[str, ...]


def load_turns(path: Path) -> list[RecTurn]:
    """Read a *_turns.jsonl file of the iEvaLM-CRS schema."""
    turns = []
    with Path(path).open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                row = json.loads(line)
                turns.append(RecTurn(str(row["dialog_id"]), int(row["turn_id"]), tuple(row["context"]), tuple(row["rec"])))
    return turns


def name_to_id(path: Path) -> dict[str, str]:
    """Gold names as written in the turns -> catalog id (a name under two ids takes the first)."""
    with Path(path).open(encoding="utf-8") as handle:
        data = json.load(handle)
    mapping: dict[str, str] = {}
    for redial_id, info in data.items():
        mapping.setdefault(str(info.get("name", "")), str(redial_id))
    return mapping
