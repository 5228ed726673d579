"""Every scoring term for every candidate of a turn (see `signals` for what each term means), as numpy arrays."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from chatrec.catalog.items import Item
from chatrec.ranking.conversation import View
from chatrec.ranking.scoring import negative_penalty
from chatrec.ranking.signals import in_dialogue, stated_match
from chatrec.reading.critiques import ATTRIBUTES
from chatrec.reading.lexicon import canonical_genre
from chatrec.users.interests import InterestState


def compute(
    candidates: Sequence[str],
    items: Mapping[str, Item],
    view: View,
    state: InterestState,
    text: Mapping[str, float],
    vectors: np.ndarray,
    popularity: Mapping[str, float],
    collaborative: Mapping[str, float],
    people: np.ndarray,
    liked: np.ndarray,
) -> dict[str, np.ndarray]:
    """The terms of `candidates` (`vectors`: their item vectors, same order; `people`: the people term of each;
    `liked`: vectors of the items the user gave a thumbs up)."""
    its = [items[i] for i in candidates]
    genres = [[canonical_genre(g) for g in it.genres] for it in its]
    asked = {g for c in view.critiques if c in ATTRIBUTES for g in ATTRIBUTES[c].genres}
    soft = set(state.soft_avoid_genres) | {
        g for c in view.critiques if c in ATTRIBUTES for g in ATTRIBUTES[c].soft_avoid if g not in view.genres
    }
    return {
        "text": np.array([text.get(i, 0.0) for i in candidates], np.float32),
        "seeker": in_dialogue(candidates, view.seeker),
        "known": in_dialogue(candidates, view.known),
        "recommender": in_dialogue(candidates, view.recommender),
        "shown": in_dialogue(candidates, view.shown),
        "stated": stated_match(
            genres,
            [(*it.creators, *it.cast) for it in its],
            [it.year for it in its],
            view.genres,
            view.people,
            view.decades,
        ),
        "popularity": np.array([popularity.get(i, 0.0) for i in candidates], np.float32),
        "collaborative": np.array([collaborative.get(i, 0.0) for i in candidates], np.float32),
        "people": np.asarray(people, np.float32),
        "negative": negative_penalty(state.negative_matrix(), vectors) if len(vectors) else np.zeros(0, np.float32),
        "avoided": np.array([1.0 if soft.intersection(g) else 0.0 for g in genres], np.float32),
        "critique": np.array([1.0 if asked.intersection(g) else 0.0 for g in genres], np.float32),
        "feedback": (
            np.clip(vectors @ liked.T, 0.0, None).max(axis=1)
            if len(liked) and len(vectors)
            else np.zeros(len(candidates), np.float32)
        ).astype(np.float32),
    }
