"""Readers for the public evaluation data in ../shared/datasets (ReDial-style catalogs and recommendation turns)."""

from __future__ import annotations

import csv
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

from .catalog import Item, JSONProblem, decode_json, json_kind, utf8_reason

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


def _names(info: dict, key: str) -> list[str]:
    """The list of names under `key` of an entry (none if absent); ValueError unless it is a list of strings."""
    value = info.get(key) or []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{key!r} must be a list of strings, got {json_kind(value)}")
    return value


def opendialkg_item(item_id: str, info: dict) -> Item:
    """One OpenDialKG entry (no plot): the description is built from its facts, in the same words for every item."""
    title = str(info.get("name", "")).strip()
    year = int(info["year"]) if str(info.get("year", "")).strip().isdigit() else None
    genres = tuple(dict.fromkeys(g.lower().removesuffix(" film") for g in _names(info, "genre") if g))
    directors = list(dict.fromkeys(_names(info, "director")))
    actors = list(dict.fromkeys(_names(info, "actor")))
    writers = list(dict.fromkeys(_names(info, "writer")))
    parts = [f"{title}" + (f" ({year})" if year else "") + (f", a film: {', '.join(genres[:4])}." if genres else ", a film.")]
    if directors:
        parts.append(f"Directed by {', '.join(directors[:3])}.")
    if actors:
        parts.append(f"Starring {', '.join(actors[:5])}.")
    if writers:
        parts.append(f"Written by {', '.join(writers[:3])}.")
    return Item(id=str(item_id), title=title, year=year, kind="movie", genres=genres, description=" ".join(parts),
                creators=tuple(dict.fromkeys([*directors, *writers])), cast=tuple(actors))


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
            yield str(path), number, ValueError(f"unusable entry {item_id!r}: expected an object, got {json_kind(info)}")
            continue
        try:
            make = redial_item if "plot" in info or re.search(r"\(\d{4}\)\s*$", str(info.get("name", ""))) else opendialkg_item
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
        where = f"at column {len(raw[line_start:exc.start].decode('utf-8')) + 1}"
        raise JSONProblem(utf8_reason(raw[exc.start], where), raw.count(b"\n", 0, exc.start) + 1) from None
    return decode_json(text)


@dataclass(frozen=True)
class RecTurn:
    """One recommendation turn: the dialogue so far (seeker first, alternating) and the gold item names."""

    dialog_id: str
    turn_id: int
    context: tuple[str, ...]
    rec: tuple[str, ...]
    entity: tuple[str, ...] = ()   # annotated mentions of the context (used only to remove mentioned items)


def load_turns(path: Path) -> list[RecTurn]:
    """Read a *_turns.jsonl file of the iEvaLM-CRS schema."""
    turns = []
    with Path(path).open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                row = json.loads(line)
                turns.append(RecTurn(str(row["dialog_id"]), int(row["turn_id"]), tuple(row["context"]), tuple(row["rec"]),
                                     tuple(row.get("entity") or ())))
    return turns


def name_to_id(path: Path) -> dict[str, str]:
    """Gold names as written in the turns -> catalog id (a name under two ids takes the first)."""
    with Path(path).open(encoding="utf-8") as handle:
        data = json.load(handle)
    mapping: dict[str, str] = {}
    for redial_id, info in data.items():
        mapping.setdefault(str(info.get("name", "")), str(redial_id))
    return mapping


def tuning_part(dialog_id: str, share: float = 0.3, seed: int = 0) -> bool:
    """Whether a dialogue belongs to the tuning part of a split by dialogue id (stable across runs and machines)."""
    digest = hashlib.sha256(f"{seed}:{dialog_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < share


def raw_dialogues(path: Path, keep: Iterable[str]) -> Iterator[dict]:
    """The raw ReDial dialogues (valid_dialogues.jsonl rows) whose `conversationId` is in `keep`."""
    keep = {str(k) for k in keep}
    with Path(path).open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                row = json.loads(line)
                if str(row.get("conversationId")) in keep:
                    yield row


def redial_dialogue_interactions(path: Path, keep: Iterable[str], known: set[str]) -> Iterator[tuple[str, str, float, int]]:
    """(user, item, rating, timestamp) rows from raw ReDial dialogues: each dialogue is one user who talked about
    the movies it mentions (only dialogues whose id is in `keep`; only items in the catalog)."""
    for row in raw_dialogues(path, keep):
        for item in row.get("movieMentions") or {}:
            if str(item) in known:
                yield f"dialog-{row['conversationId']}", str(item), 1.0, 0


def movielens_interactions(ratings: Path, links: Path, known: set[str]) -> Iterator[tuple[str, str, float, int]]:
    """(user, item, rating, timestamp) rows from MovieLens ratings mapped to catalog ids through a links file with
    the columns redial_id, movielens_id (non-commercial data: use in evaluation, never ship)."""
    to_catalog: dict[str, list[str]] = {}
    with Path(links).open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            if row.get("movielens_id") and row.get("redial_id") in known:
                to_catalog.setdefault(row["movielens_id"], []).append(row["redial_id"])
    with Path(ratings).open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            for item in to_catalog.get(row["movieId"], []):
                yield f"ml-{row['userId']}", item, float(row["rating"]), int(row["timestamp"])


_MOVIE_TOKEN = re.compile(r"@(\d+)")


def redial_dialogue_pairs(path: Path, keep: Iterable[str], id2name: dict[str, str]) -> Iterator[tuple[list[str], str]]:
    """(context, item id) training pairs from raw ReDial dialogues: every movie named in an utterance, by either
    side, with the utterances before it as context (same-speaker messages merged, '@id' written as 'Title (Year)',
    seeker first as in the turns files). Only dialogues whose id is in `keep`."""
    for row in raw_dialogues(path, keep):
        seeker = row.get("initiatorWorkerId")
        utterances: list[tuple[bool, str, list[str]]] = []
        for message in row.get("messages") or []:
            is_seeker = message.get("senderWorkerId") == seeker
            text = str(message.get("text") or "")
            found = [m for m in _MOVIE_TOKEN.findall(text) if m in id2name]
            text = _MOVIE_TOKEN.sub(lambda m: id2name.get(m.group(1), m.group(0)), text)
            if utterances and utterances[-1][0] == is_seeker:
                prev = utterances[-1]
                utterances[-1] = (is_seeker, f"{prev[1]} {text}", prev[2] + found)
            else:
                utterances.append((is_seeker, text, found))
        context = [""] if utterances and not utterances[0][0] else []
        for _, text, found in utterances:
            if context:
                for item in dict.fromkeys(found):
                    yield list(context), item
            context.append(text)
