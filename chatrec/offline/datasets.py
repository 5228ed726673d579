"""Readers for the public evaluation data in ../shared/datasets: recommendation turns, dialogues, interactions.

Their catalogs (`id2info.json`) are read by chatrec/catalog/redial.py."""

from __future__ import annotations

import csv
import hashlib
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class RecTurn:
    """One recommendation turn: the dialogue so far (seeker first, alternating) and the gold item names."""

    dialog_id: str
    turn_id: int
    context: tuple[str, ...]
    rec: tuple[str, ...]
    entity: tuple[str, ...] = ()  # annotated mentions of the context (used only to remove mentioned items)


def load_turns(path: Path) -> list[RecTurn]:
    """Read a *_turns.jsonl file of the iEvaLM-CRS schema."""
    turns = []
    with Path(path).open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                row = json.loads(line)
                turns.append(
                    RecTurn(
                        str(row["dialog_id"]),
                        int(row["turn_id"]),
                        tuple(row["context"]),
                        tuple(row["rec"]),
                        tuple(row.get("entity") or ()),
                    )
                )
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


def raw_dialogues(path: Path, keep: Iterable[str]) -> Iterator[dict[str, Any]]:
    """The raw ReDial dialogues (valid_dialogues.jsonl rows) whose `conversationId` is in `keep`."""
    keep = {str(k) for k in keep}
    with Path(path).open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                row = json.loads(line)
                if str(row.get("conversationId")) in keep:
                    yield row


def redial_dialogue_interactions(
    path: Path, keep: Iterable[str], known: set[str]
) -> Iterator[tuple[str, str, float, int]]:
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
