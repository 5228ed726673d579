"""Scoring terms for ranking a dialogue, as pure functions on numpy arrays, and their weighted sum.

Each term gives one score per candidate item; `combine_terms` adds them with the weights in `Settings`
(a weight of 0 switches a term off). The terms:

- `text`: dot product of the (adapted) dialogue vector with each item vector;
- `seeker` / `recommender`: the item was already named in the dialogue by that side, recent mentions counting more;
- `stated`: the item carries genres or people the seeker asked for, or comes from a decade they named;
- `popularity`: log-scaled interaction count (from an interactions file, else the catalog's `popularity` field);
- `collaborative`: item-item similarity from interactions to the items named in the dialogue;
- `people`: the item shares directors, writers or cast with the items named in the dialogue (rare names count more);
- `known`: the seeker named it without asking about it; `shown`: chatrec already recommended it (chat only);
- `negative`: closeness to a rejected item or negated phrase (`scoring.negative_penalty`; weighed negatively);
- `avoided`: the item has a genre the user turned away from for now, or one the latest critique steers from
  ("lighter": horror, thriller, crime, war); `feedback`: closeness to a liked item;
- `critique`: the item has the genre the latest message's critique implies ("like X but funnier": comedy).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

import numpy as np

TERMS = (
    "text",
    "seeker",
    "known",
    "recommender",
    "shown",
    "stated",
    "popularity",
    "collaborative",
    "people",
    "negative",
    "avoided",
    "feedback",
    "critique",
)


def mention_weights(positions: Sequence[int], decay: float) -> np.ndarray:
    """Recency weight of each mention from how many utterances ago it was made: `decay ** ago` (1 for the last)."""
    return np.power(float(decay), np.asarray(positions, dtype=np.float64)).astype(np.float32)


def in_dialogue(candidates: Sequence[str], mentions: Mapping[str, float]) -> np.ndarray:
    """For each candidate, its recency weight if it was named in the dialogue (the largest if named twice), else 0."""
    return np.array([mentions.get(c, 0.0) for c in candidates], dtype=np.float32)


def stated_match(
    item_genres: Sequence[Sequence[str]],
    item_people: Sequence[Sequence[str]],
    item_years: Sequence[int | None],
    genres: Sequence[str],
    people: Sequence[str],
    decades: Sequence[int],
) -> np.ndarray:
    """Share of what the seeker asked for (genres, people, decades) that each item has; 0 when nothing was asked."""
    wanted = len(genres) + len(people) + len(decades)
    if wanted == 0:
        return np.zeros(len(item_genres), np.float32)
    g, p, d = set(genres), set(people), set(decades)
    out = [
        (len(g.intersection(ig)) + len(p.intersection(ip)) + (1 if y is not None and (y // 10) * 10 in d else 0))
        / wanted
        for ig, ip, y in zip(item_genres, item_people, item_years)
    ]
    return np.asarray(out, dtype=np.float32)


class PeopleIndex(NamedTuple):
    """Each item's people as one flat array: item `r` has `people[starts[r]:starts[r + 1]]`; `idf` per person."""

    starts: np.ndarray  # int64, one more than there are items
    people: np.ndarray  # int64 person numbers
    idf: np.ndarray  # float32, log(items / items with that person)
    owners: np.ndarray  # int64, the item row of each entry of `people`


def people_index(item_people: Sequence[Sequence[str]]) -> PeopleIndex:
    """Number the people of every item (names compared case-folded; an item's duplicates count once)."""
    vocab: dict[str, int] = {}
    starts: list[int] = [0]
    flat: list[int] = []
    for names in item_people:
        flat.extend(dict.fromkeys(vocab.setdefault(n.strip().casefold(), len(vocab)) for n in names if n and n.strip()))
        starts.append(len(flat))
    people = np.asarray(flat, np.int64)
    df = np.bincount(people, minlength=len(vocab))
    idf = np.log(max(len(item_people), 1) / np.maximum(df, 1)).astype(np.float32)
    starts_arr = np.asarray(starts, np.int64)
    owners = np.repeat(np.arange(len(item_people), dtype=np.int64), np.diff(starts_arr))
    return PeopleIndex(starts_arr, people, idf, owners)


def shared_people(index: PeopleIndex, seeds: Mapping[int, float]) -> np.ndarray:
    """For every item, the people it shares with the seed items (item row -> weight), each person counted by the
    seeds' weights times their IDF, over sqrt(1 + the item's number of people); scaled so that the best item scores 1.
    The seeds themselves score 0."""
    n = len(index.starts) - 1
    if not seeds or len(index.people) == 0:
        return np.zeros(n, np.float32)
    profile = np.zeros(len(index.idf), np.float64)
    for row, weight in seeds.items():
        profile[index.people[index.starts[row] : index.starts[row + 1]]] += weight
    profile *= index.idf
    scores = np.bincount(index.owners, weights=profile[index.people], minlength=n).astype(np.float64)
    scores /= np.sqrt(1.0 + np.diff(index.starts))
    scores[list(seeds)] = 0.0
    top = scores.max()
    return (scores / top).astype(np.float32) if top > 0 else np.zeros(n, np.float32)


def log_counts(counts: np.ndarray) -> np.ndarray:
    """Counts scaled to [0, 1] by log1p over the largest (all zeros stay zeros)."""
    counts = np.nan_to_num(np.asarray(counts, dtype=np.float64), nan=0.0).clip(min=0.0)
    top = np.log1p(counts.max()) if len(counts) else 0.0
    return (np.log1p(counts) / top).astype(np.float32) if top > 0 else np.zeros(len(counts), np.float32)


def combine_terms(terms: Mapping[str, np.ndarray], weights: Mapping[str, float]) -> np.ndarray:
    """The final score: the weighted sum of the terms (missing terms and zero weights add nothing)."""
    total: np.ndarray | None = None
    for name, values in terms.items():
        w = float(weights.get(name, 0.0))
        if w == 0.0:
            continue
        part = w * np.asarray(values, dtype=np.float32)
        total = part if total is None else total + part
    if total is None:
        size = len(next(iter(terms.values()))) if terms else 0
        return np.zeros(size, np.float32)
    return total.astype(np.float32)
