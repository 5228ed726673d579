"""Ranking the catalog for one whole dialogue (`Engine.rank`): read the context, gather candidates, score the terms.

Candidates are the store's nearest items to the dialogue vector, joined with the items the dialogue names, their
collaborative neighbours, the items sharing the most people with them and the most popular items; every candidate
then gets every term of `signals`, and the weighted sum orders them. Offline evaluation and its ablations go
through `DialogueRanker.terms`, so they score exactly what `Engine.rank` scores.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Callable, Mapping, Sequence

import numpy as np

from .adapter import Adapter
from .catalog import Item
from .collaborative import Collaborative
from .config import Settings
from .interests import InterestState, blend
from .lexicon import canonical_genre
from .signals import combine_terms, in_dialogue, log_counts, mention_weights, people_index, shared_people, stated_match
from .store import ChromaStore
from .tracker import Tracker
from .understanding import Understanding

POPULAR_CANDIDATES = 100
VECTOR_CACHE = 20_000
NEIGHBOUR_CANDIDATES = 100


@dataclass
class RankInput:
    """One dialogue's candidates and the value of every term for each of them (same order)."""

    candidates: list[str]
    terms: dict[str, np.ndarray]
    mentioned: list[str] = field(default_factory=list)   # items the context names (any side)
    excluded: set[str] = field(default_factory=set)      # items the seeker rejected or whose genre/person they avoid

    def ranked(self, weights: Mapping[str, float], k: int, drop: set[str] | frozenset[str] = frozenset()) -> list[str]:
        """The best `k` candidates by the weighted terms, leaving out exclusions and `drop`."""
        scores = combine_terms(self.terms, weights)
        order = np.argsort(-scores, kind="stable")
        out = []
        for i in order:
            item = self.candidates[i]
            if item in self.excluded or item in drop:
                continue
            out.append(item)
            if len(out) == k:
                break
        return out


class DialogueRanker:
    """Stateless ranking of a dialogue context (seeker first, turns alternating)."""

    def __init__(self, settings: Settings, store: ChromaStore, items: dict[str, Item], tracker: Tracker,
                 read: Callable[[str], Understanding], excluded_by: Callable[[Sequence[str], Sequence[str]], set[str]],
                 collaborative: Collaborative | None = None, adapter: Adapter | None = None) -> None:
        self.settings = settings
        self.store = store
        self.items = items
        self.tracker = tracker
        self.read = read
        self.excluded_by = excluded_by
        self.collaborative = collaborative
        self.adapter = adapter
        ids = list(items)
        self._ids = ids
        self._row = {item: row for row, item in enumerate(ids)}
        self._people = people_index([(*items[i].creators, *items[i].cast) for i in ids])
        self._catalog_pop = dict(zip(ids, log_counts(np.array([items[i].popularity or 0.0 for i in ids]))))
        self._collab_pop: dict[str, float] = {}
        self._popular_order: list[str] | None = None
        self._vector_cache: OrderedDict[str, np.ndarray] = OrderedDict()
        if collaborative is not None:
            self._collab_pop = dict(zip(collaborative.ids, log_counts(collaborative.counts)))

    def query(self, utterances: Sequence[Understanding], use_adapter: bool = True) -> tuple[np.ndarray, InterestState]:
        """The dialogue vector: its last utterances and the items it names (recent ones weigh more), adapted."""
        state = InterestState(dim=self.store.dim)
        self.tracker.apply_dialogue(state, utterances)
        q = blend(state.short, state.long, self.settings.long_weight)
        if use_adapter and self.adapter is not None:
            q = self.adapter(q)
        return q, state

    def terms(self, context: Sequence[str]) -> RankInput:
        """Read the context (and nothing else), gather the candidates, and compute every term for each of them."""
        s = self.settings
        read = [(i, self.read(u[: s.max_message_chars])) for i, u in enumerate(context) if u and u.strip()]
        utterances = [u for _, u in read]
        q, state = self.query(utterances)
        last = len(context) - 1
        seeker, recommender = _mentions(read, last, s.mention_recency)
        mentioned = list(dict.fromkeys([*seeker, *recommender]))
        excluded = set(state.rejected) | self.excluded_by(state.avoid_genres, state.avoid_people)
        kind = state.kind   # "a book like ...": only that kind, as in chat
        hits = [] if state.is_cold else self.store.query(q, s.rank_candidates, exclude=sorted(excluded), kind=kind,
                                                         with_vectors=False)
        seeds = _seeds(seeker, recommender)
        neighbours = self._neighbours(seeds)
        shared, sharing = self._shared_people(seeds)
        text = {h.item_id: h.score for h in hits if h.item_id in self.items}
        extra = [i for i in dict.fromkeys([*mentioned, *list(neighbours)[:NEIGHBOUR_CANDIDATES],
                                           *sharing, *self._popular()])
                 if i not in text and i in self.items and (kind is None or self.items[i].kind == kind)]
        if extra:
            vectors = self._vectors(extra)
            text.update({i: float(vectors[i] @ q) if np.any(q) else 0.0 for i in extra if i in vectors})
        candidates = list(text)
        if not candidates:
            return RankInput([], {}, mentioned, excluded)
        seeker_side = [u for i, u in read if (last - i) % 2 == 0]
        genres = list(dict.fromkeys(g for u in seeker_side for g in u.liked_genres))
        people = list(dict.fromkeys(p for u in seeker_side for p in u.liked_people))
        decades = list(dict.fromkeys(d for u in seeker_side for d in u.decades))
        its = [self.items[i] for i in candidates]
        pop = self._collab_pop if self.collaborative is not None else self._catalog_pop
        terms = {
            "text": np.array([text[i] for i in candidates], np.float32),
            "seeker": in_dialogue(candidates, seeker),
            "recommender": in_dialogue(candidates, recommender),
            "stated": stated_match([[canonical_genre(g) for g in it.genres] for it in its],
                                   [(*it.creators, *it.cast) for it in its],
                                   [it.year for it in its], genres, people, decades),
            "popularity": np.array([pop.get(i, 0.0) for i in candidates], np.float32),
            "collaborative": np.array([neighbours.get(i, 0.0) for i in candidates], np.float32),
            "people": shared[[self._row[i] for i in candidates]],
        }
        return RankInput(candidates, terms, mentioned, excluded)

    def rank(self, context: Sequence[str], k: int) -> list[str]:
        return self.top(self.terms(context), self.settings.term_weights, k)

    def top(self, given: RankInput, weights: Mapping[str, float], k: int) -> list[str]:
        """The best `k` items by `weights`; a dialogue that says too little to fill `k` is topped up with popular items."""
        ranked = given.ranked(weights, k)
        if len(ranked) < k:
            taken = set(ranked) | given.excluded
            ranked += [i for i in self.popular() if i not in taken][: k - len(ranked)]
        return ranked

    def popular(self) -> list[str]:
        """The whole catalog by popularity (interaction counts, else the catalog's field; ties in catalog order)."""
        if self._popular_order is None:
            pop = self._collab_pop if self.collaborative is not None else self._catalog_pop
            self._popular_order = sorted(self.items, key=lambda i: -pop.get(i, 0.0))
        return self._popular_order

    def _vectors(self, ids: list[str]) -> dict[str, np.ndarray]:
        """Stored vectors of items outside the store's answer, kept in a bounded cache (the same popular and
        neighbouring items come back turn after turn)."""
        missing = [i for i in ids if i not in self._vector_cache]
        if missing:
            self._vector_cache.update(self.store.vectors(missing))
            while len(self._vector_cache) > VECTOR_CACHE:
                self._vector_cache.popitem(last=False)
        return {i: self._vector_cache[i] for i in ids if i in self._vector_cache}

    def _neighbours(self, seeds: dict[str, float]) -> dict[str, float]:
        if self.collaborative is None:
            return {}
        found = self.collaborative.similar(seeds)
        return dict(sorted(found.items(), key=lambda kv: -kv[1]))

    def _shared_people(self, seeds: dict[str, float]) -> tuple[np.ndarray, list[str]]:
        """The `people` term for every catalog row, and the items scoring highest on it (best first, above 0)."""
        rows = {self._row[i]: w for i, w in seeds.items() if i in self._row}
        scores = shared_people(self._people, rows)
        found = np.flatnonzero(scores)
        if len(found) > NEIGHBOUR_CANDIDATES:
            found = found[np.argpartition(-scores[found], NEIGHBOUR_CANDIDATES - 1)[:NEIGHBOUR_CANDIDATES]]
        best = found[np.argsort(-scores[found], kind="stable")]
        return scores, [self._ids[r] for r in best]

    def _popular(self) -> list[str]:
        """The most popular items that have any popularity at all (candidates for every dialogue)."""
        pop = self._collab_pop if self.collaborative is not None else self._catalog_pop
        return [i for i in self.popular()[:POPULAR_CANDIDATES] if pop.get(i, 0.0) > 0]


def _seeds(seeker: dict[str, float], recommender: dict[str, float]) -> dict[str, float]:
    """Every item the dialogue names -> its largest recency weight on either side."""
    seeds = dict(recommender)
    for item, w in seeker.items():
        seeds[item] = max(seeds.get(item, 0.0), w)
    return seeds


def _mentions(read: Sequence[tuple[int, Understanding]], last: int, decay: float) -> tuple[dict[str, float], dict[str, float]]:
    """Items named by each side -> recency weight of their latest mention (the last utterance is the seeker's)."""
    seeker: dict[str, float] = {}
    recommender: dict[str, float] = {}
    for index, u in read:
        ago = last - index
        side = seeker if ago % 2 == 0 else recommender
        weight = float(mention_weights([ago], decay)[0])
        for item in u.mentioned:
            side[item] = max(side.get(item, 0.0), weight)
    return seeker, recommender
