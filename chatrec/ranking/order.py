"""Ordering a turn's candidates: the weighted sum of their terms, exclusions, then pure order (`rank`) or MMR (chat)."""

from __future__ import annotations

from collections.abc import Container, Mapping
from dataclasses import dataclass, field

import numpy as np

from chatrec.ranking.scoring import cap_per_group, mmr
from chatrec.ranking.signals import combine_terms

MMR_POOL = 40  # chat diversifies among this many of the best candidates (at least 4 k)


@dataclass
class Scored:
    """One chosen item with its final score and vector."""

    item_id: str
    score: float
    vector: np.ndarray


@dataclass
class RankInput:
    """One turn's candidates and the value of every term for each of them (same order)."""

    candidates: list[str]
    terms: dict[str, np.ndarray]
    mentioned: list[str] = field(default_factory=list)  # items the conversation names (either side)
    excluded: Container[str] = field(default_factory=set)  # rejected or hard-avoided (candidates.Excluded)
    vectors: np.ndarray | None = None  # the candidates' item vectors (same order)
    query: np.ndarray | None = None
    creators: list[tuple[str, ...]] | None = None  # each candidate's creators the cap counts (asked-for ones left out)
    per_creator: int = 0  # chat's cap on items by one creator (0: none)
    relaxed: tuple[str, ...] = ()  # constraints let go for there to be candidates ("kind", facet names, "years")

    def scores(self, weights: Mapping[str, float]) -> np.ndarray:
        return combine_terms(self.terms, weights)

    def ranked(self, weights: Mapping[str, float], k: int, drop: set[str] | frozenset[str] = frozenset()) -> list[str]:
        """The best `k` candidates by the weighted terms, leaving out exclusions and `drop`."""
        return [self.candidates[i] for i in self.order(weights, k, drop)]

    def order(self, weights: Mapping[str, float], k: int, drop: set[str] | frozenset[str] = frozenset()) -> list[int]:
        scores = self.scores(weights)
        out = []
        for i in np.argsort(-scores, kind="stable"):
            item = self.candidates[i]
            if item in self.excluded or item in drop:
                continue
            out.append(int(i))
            if len(out) == k:
                break
        return out

    def diverse(
        self, weights: Mapping[str, float], k: int, lam: float, drop: set[str] | frozenset[str] = frozenset()
    ) -> list[Scored]:
        """Chat's order: MMR over the best candidates, so one franchise does not fill the list."""
        pool = self.order(weights, max(MMR_POOL, 4 * k), drop)
        if not pool:
            return []
        scores = self.scores(weights)[pool]
        vectors = self.vectors[pool] if self.vectors is not None else np.zeros((len(pool), 1), np.float32)
        chosen = mmr(scores, vectors, len(pool), lam)
        if self.creators is not None and self.per_creator > 0:
            chosen = cap_per_group(chosen, [self.creators[pool[i]] for i in range(len(pool))], k, self.per_creator)
        chosen = chosen[:k]
        return [Scored(self.candidates[pool[i]], float(scores[i]), vectors[i]) for i in chosen]
