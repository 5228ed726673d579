"""Explanations: a grounded `why` for each recommendation, and the template reply (used whenever generation is not).

Only interest terms that pass `plain` (words the catalog itself uses) are ever shown back to the user.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from .catalog import Item
from .interests import InterestState
from .prompts import render, reply_template
from .reasons import Fact, best_pair, item_facts, reason, shared_fact
from .recommender import Scored
from .results import Recommendation

EmbedFn = Callable[[Sequence[str]], np.ndarray]
CACHE_SIZE = 20_000   # short texts kept with their vectors
UNNAMED = {"en": "what you described", "zh": "你描述的内容"}


class Explainer:
    """Builds `Recommendation`s with reasons, and the reply that presents them."""

    def __init__(self, embed: EmbedFn, items: dict[str, Item], plain: Callable[[str], bool] = lambda t: True) -> None:
        self.embed = embed
        self.items = items
        self.plain = plain
        self._cache: dict[str, np.ndarray] = {}

    def vectors(self, texts: Sequence[str]) -> np.ndarray:
        """Embeddings of short texts (interest words, facts), cached: the same few recur all the time."""
        cache = self._cache   # a local reference: `clear` may swap in a new dict meanwhile
        missing = [t for t in dict.fromkeys(texts) if t not in cache]
        if missing:
            if len(cache) + len(missing) > CACHE_SIZE:   # bounded: start afresh rather than grow
                cache = self._cache = {}
                missing = list(dict.fromkeys(texts))
            cache.update(zip(missing, self.embed(missing)))
        return np.vstack([cache[t] for t in texts]) if texts else np.zeros((0, 1), np.float32)

    def clear(self) -> None:
        """Forget every cached text (some are users' interest words)."""
        self._cache = {}

    def why(self, item: Item, vector: np.ndarray, state: InterestState, interest_hint: str,
            cited: set[str] | None = None) -> str:
        """The user's interest that fits this item best, and the item fact closest to that interest.

        `cited` holds the fact values earlier items of this turn cited; a fresh fact is preferred, and used is added.
        """
        cited = set() if cited is None else cited
        lang = state.language
        for liked_id in reversed([*state.seen, *state.liked]):
            liked = self.items.get(liked_id)
            if liked and liked.title in state.terms:
                fact = shared_fact(item, liked)
                if fact:
                    return reason(liked.title, fact, item, lang, liked_kind=liked.kind)
        terms = self.interests(state, limit=None)
        labels = terms or [UNNAMED.get(lang, UNNAMED["en"])]
        terms = terms or [interest_hint]
        facts = item_facts(item)
        term_i, fact_i = best_pair(
            self.vectors(terms), np.array([state.terms.get(t, 1.0) for t in terms]), vector,
            self.vectors([f.value for f in facts]) if facts else np.zeros((0, len(vector)), np.float32),
            used=np.array([f.value in cited for f in facts], dtype=bool),
        )
        fact: Fact | None = facts[fact_i] if fact_i >= 0 else None
        if fact:
            cited.add(fact.value)
        return reason(labels[term_i], fact, item, lang)

    def recommendations(self, chosen: list[Scored], state: InterestState, interest_hint: str) -> list[Recommendation]:
        out, cited = [], set()
        # one embedding call for every fact and interest of the turn (cached), instead of one per item
        self.vectors([*self.interests(state, limit=None), interest_hint,
                      *(f.value for s in chosen for f in item_facts(self.items[s.item_id]))])
        for scored in chosen:
            item = self.items[scored.item_id]
            out.append(Recommendation(
                item_id=item.id, title=item.title, score=round(scored.score, 4),
                why=self.why(item, scored.vector, state, interest_hint, cited),
                year=item.year, kind=item.kind, description=item.description,
            ))
        return out

    def interests(self, state: InterestState, limit: int | None = 3) -> list[str]:
        """The user's interest terms that may be shown back, strongest first."""
        return [t for t in state.terms if self.plain(t)][:limit]

    def reply(self, recs: list[Recommendation], state: InterestState, avoided: list[str]) -> str:
        return render(reply_template(state.language), recommendations=recs, interests=self.interests(state),
                      avoided=[a for a in avoided if self.plain(a)])
