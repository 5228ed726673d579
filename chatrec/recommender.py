"""Candidates from the store, scored by dot products and penalties, diversified with MMR."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import numpy as np

from .catalog import Item
from .config import Settings
from .lexicon import canonical_genre
from .scoring import combine, mmr, negative_penalty, popularity_prior, relevance
from .store import ChromaStore


@dataclass(frozen=True)
class Scored:
    """A chosen item with its final score and its vector (kept for explanations)."""

    item_id: str
    score: float
    vector: np.ndarray


class Recommender:
    """Turns a query vector, negative vectors and exclusions into the top-k items."""

    def __init__(self, store: ChromaStore, items: dict[str, Item], settings: Settings) -> None:
        self.store = store
        self.items = items
        self.settings = settings
        ids = list(items)
        priors = popularity_prior(np.array([items[i].popularity if items[i].popularity is not None else np.nan for i in ids]))
        self.prior = dict(zip(ids, priors.tolist()))

    def excluded_by(self, genres: Iterable[str], people: Iterable[str]) -> set[str]:
        """Items carrying an avoided genre (in any of its catalog spellings) or person: the conversation's hard
        constraints."""
        genres, people = set(genres), set(people)
        if not genres and not people:
            return set()
        return {
            it.id for it in self.items.values()
            if genres.intersection(map(canonical_genre, it.genres)) or people.intersection(it.creators)
            or people.intersection(it.cast)
        }

    def recommend(self, query: np.ndarray, negatives: np.ndarray, exclude: set[str], k: int,
                  kind: str | None = None, diversity: bool = True) -> list[Scored]:
        """The best `k` items for `query`, none of them in `exclude`; MMR-diversified unless `diversity` is off."""
        n = max(self.settings.candidates, 2 * k)
        hits = self.store.query(query, n, exclude=sorted(exclude), kind=kind)
        if len(hits) < k and kind:
            hits = self.store.query(query, n, exclude=sorted(exclude))  # too few of that kind: widen
        hits = [h for h in hits if h.item_id not in exclude]
        if not hits:
            return []
        vectors = np.vstack([h.vector for h in hits])
        scores = combine(
            relevance(query, vectors),
            negative_penalty(negatives, vectors),
            np.array([self.prior.get(h.item_id, 0.0) for h in hits], dtype=np.float32),
            self.settings.beta_negative,
            self.settings.delta_popularity,
        )
        order = mmr(scores, vectors, k, self.settings.mmr_lambda if diversity else 1.0)
        return [Scored(hits[i].item_id, float(scores[i]), hits[i].vector) for i in order]
