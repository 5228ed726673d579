"""The one ranking pipeline behind `Engine.chat`, `Engine.chat_stream` and `Engine.rank`.

A user's state (interest vectors, feedback, avoidances, constraints and the conversation so far) becomes a query
vector; `candidates` gathers the items worth scoring, `terms` scores each of them on every signal, and `order`
weighs the terms, drops exclusions and orders the rest: MMR for chat, pure order for `rank`. `rank(context)` is the
same pipeline on a fresh state fed the context, so offline evaluation scores exactly what chat serves.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from chatrec.catalog.items import Item
from chatrec.config import Settings
from chatrec.ports import Hit, VectorStore
from chatrec.ranking import candidates as cand
from chatrec.ranking import conversation, terms
from chatrec.ranking.adapter import Adapter
from chatrec.ranking.collaborative import Collaborative
from chatrec.ranking.item_vectors import ItemVectors
from chatrec.ranking.order import RankInput, Scored
from chatrec.ranking.signals import log_counts, people_index
from chatrec.reading.critiques import ATTRIBUTES
from chatrec.reading.lexicon import canonical_genre
from chatrec.reading.understanding import Understanding
from chatrec.users.interests import InterestState, blend, normalise, recency_weights, weighted_signal
from chatrec.users.tracker import Tracker

Observer = Callable[[RankInput, set[str]], None]  # a chat turn's inputs and what chat left out


def chat_order(
    given: RankInput,
    weights: dict[str, float],
    k: int,
    lam: float,
    drop: set[str],
    first: set[str] | None = None,
    never: Collection[str] = (),
) -> list[Scored]:
    """Chat's order of the inputs: MMR-diversified, `first` (the items that match the whole topic) before the
    rest, without `drop` while other items remain (then shown again rather than nothing), never `never` (what the
    user named as seen or liked)."""
    chosen: list[Scored] = []
    if first:
        chosen = given.diverse(weights, k, lam, drop | (set(given.candidates) - first))
    if len(chosen) < k:
        taken = {c.item_id for c in chosen}
        chosen += [c for c in given.diverse(weights, k, lam, drop | taken) if c.item_id not in taken][: k - len(chosen)]
    if len(chosen) < k and drop:
        taken = {c.item_id for c in chosen}
        again = given.diverse(weights, k, lam, set(never))
        chosen += [c for c in again if c.item_id not in taken][: k - len(chosen)]
    return chosen


def genre_counts(items: Iterable[Item]) -> tuple[dict[str, int], bool]:
    """How many items carry each genre, and whether the catalog lists genres alphabetically (then their order
    says nothing of which one matters most)."""
    counts: dict[str, int] = {}
    several = 0
    ordered = 0
    for item in items:
        for g in {canonical_genre(x) for x in item.genres}:
            counts[g] = counts.get(g, 0) + 1
        if len(item.genres) > 1:
            several += 1
            ordered += list(item.genres) == sorted(item.genres)
    return counts, several > 0 and ordered >= 0.9 * several


def relax(
    state: InterestState,
    kind: str | None,
    k: int,
    gather: Callable[[InterestState, str | None], list[str]],
    latest: Collection[str] = (),
) -> tuple[InterestState, list[str], tuple[str, ...]]:
    """The candidates that fit the conversation's constraints, and what had to give way for there to be any: the
    kind when fewer than `k` items of it fit ("kind"); when nothing fits, one facet bound at a time, then all of
    them (their names); then the years ("years"), the language ("language") and the family filter ("family").
    Returns the state the candidates fit, the candidates, and what was let go, in that order.

    The bounds the latest message states (`latest`, facet names) give way after the older ones, and a bound on
    what an item is ("with worker placement") after a bound on how much ("under 15 minutes"): the newest words
    and what is asked for win."""
    relaxed: list[str] = []

    def found_in(within: InterestState) -> list[str]:
        found = gather(within, kind)
        if kind is not None and len(found) < k:  # too few of that kind: widen rather than come back empty
            wider = gather(within, None)
            if len(wider) > len(found):
                relaxed.append("kind")
            found = wider
        return found

    found = found_in(state)
    if not found and state.facets:  # nothing fits every facet bound: the facets give way, not the answer
        order = sorted(state.facets, key=lambda n: (n in latest, bool(state.facets[n].get("any"))))
        for name in [*order, ""]:  # one at a time; "" drops them all
            fewer = {n: b for n, b in state.facets.items() if name and n != name}
            found = found_in(replace(state, facets=fewer))
            if found:
                relaxed += [name] if name else list(state.facets)
                state = replace(state, facets=fewer)
                break
    for name, loose in (
        ("years", {"year_min": None, "year_max": None}),
        ("language", {"item_language": None}),
        ("family", {"family": False}),
    ):
        if not found and any(getattr(state, key) not in (None, False) for key in loose):
            state = replace(state, **loose)
            found = found_in(state)
            relaxed.append(name)
    return state, found, tuple(dict.fromkeys(relaxed))


class Ranker:
    """State and conversation in, ranked items out; one instance per engine (thread-safe: no per-call state)."""

    def __init__(
        self,
        settings: Settings,
        store: VectorStore,
        vectors: ItemVectors,
        items: dict[str, Item],
        tracker: Tracker,
        read: Callable[[str], Understanding],
        collaborative: Collaborative | None = None,
        adapter: Adapter | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.vectors = vectors
        self.items = items
        self.tracker = tracker
        self.read = read
        self.collaborative = collaborative
        self.adapter = adapter
        self.observe: Observer | None = None  # shown every chat turn's inputs (offline replay keeps them for --tune)
        self._ids = list(items)
        self._row = {item: row for row, item in enumerate(self._ids)}
        self._people = people_index([(*items[i].creators, *items[i].cast) for i in self._ids])
        self._pop = (
            dict(zip(collaborative.ids, log_counts(collaborative.counts)))
            if collaborative is not None
            else dict(zip(self._ids, log_counts(np.array([items[i].popularity or 0.0 for i in self._ids]))))
        )
        self._popular_order: list[str] | None = None
        self._columns_made: cand.Columns | None = None
        self._directions: dict[str, np.ndarray] = {}
        self._genre_counts, self._alphabetical = genre_counts(items.values())
        vectors.preload(self._ids)

    # -- the state a context gives (rank) ------------------------------------------------------------------
    def state_for(self, context: Sequence[str]) -> InterestState:
        """A fresh user fed the context, seeker first and turns alternating (the last line is the seeker's)."""
        state = InterestState(dim=self.store.dim)
        last = len(context) - 1
        for index, line in enumerate(context):
            text = line[: self.settings.max_message_chars] if line else ""
            if (last - index) % 2 == 0:
                self.tracker.hear(state, text, self.read(text), 0.0)
            else:
                self.tracker.answered(state, text, (), 0.0)
        return state

    def rank(self, context: Sequence[str], k: int) -> list[str]:
        return self.top(self.terms(context), self.settings.term_weights, k)

    def terms(self, context: Sequence[str]) -> RankInput:
        """Every term of every candidate for a context (what offline evaluation and its ablations re-weight)."""
        return self.inputs(self.state_for(context))

    # -- the pipeline ----------------------------------------------------------------------------------------
    def view(self, state: InterestState) -> conversation.View:
        read = conversation.same_senses([self.read_entry(e) for e in state.dialogue])
        utterances = [
            conversation.Utterance(e["side"], u, tuple(e.get("shown", ()))) for e, u in zip(state.dialogue, read)
        ]
        return conversation.read(utterances, self.settings.mention_recency, self.settings.topic_restart)

    def read_entry(self, entry: dict[str, Any]) -> Understanding:
        """One stored message as read, less the interest words taken away in the panel since it was said."""
        return conversation.without_terms(self.read(entry.get("text", "")), entry.get("unwanted", ()))

    def query(self, state: InterestState, view: conversation.View, use_adapter: bool = True) -> np.ndarray:
        """The query vector: the conversation's recent text and the items it names (recent ones weigh more) and
        the user's liked items, steadied by long-term taste from earlier sessions, adapted, then moved along the
        latest message's critiques."""
        s = self.settings
        named = [m for m in view.mentioned if m in self.items]
        liked = [i for i in state.liked if i in self.items and i not in named]
        vectors = self.vectors([*named, *liked])
        named = [m for m in named if m in vectors]
        parts = ([self.tracker.embed([view.text])[0]] if view.text else []) + [vectors[m] for m in named]
        weights = ([1.0] if view.text else []) + list(s.mention_weight * recency_weights(len(named), s.mention_recency))
        parts += [vectors[i] for i in liked if i in vectors]
        weights += [s.mention_weight / max(len(named), 1)] * (len(parts) - len(weights))
        q = weighted_signal(np.vstack(parts), np.array(weights)) if parts else np.zeros(self.store.dim, np.float32)
        q = blend(q, state.long, s.long_weight) if np.any(state.long) else q
        if use_adapter and self.adapter is not None:
            q = self.adapter(q)
        moves = [ATTRIBUTES[c].sign * self._direction(c) for c in view.critiques if c in ATTRIBUTES]
        if moves and np.any(q) and s.w_critique > 0:
            q = normalise(q + s.w_critique * np.sum(moves, axis=0))
        return q

    def inputs(self, state: InterestState) -> RankInput:
        """Candidates and every term for them, from the user's state and conversation."""
        s = self.settings
        view = self.view(state)
        q = self.query(state, view)
        hard = cand.Excluded(self.items, state.rejected, state.avoid_genres, state.avoid_people)
        kind = state.kind
        text = {h.item_id: h.score for h in self._nearest(q, hard, kind)}
        seeds = view.seeds
        neighbours = self._neighbours(seeds)
        people, sharing = cand.shared_with(self._people, self._ids, self._row, seeds)
        named = [*view.mentioned, *[i for i in state.liked if i in self.items]]

        def gather(within: InterestState, kind: str | None) -> list[str]:
            bounds = cand.bounds_of(within)
            return cand.gather(
                text,
                named,
                list(neighbours),
                sharing,
                self._popular(),
                lambda i: i in self.items and i not in hard and cand.fits(self.items[i], within, kind, bounds),
                cand.constrained(self.items, within, kind, self._columns()),
            )

        said = next((self.read(e.get("text", "")) for e in reversed(state.dialogue) if e["side"] == "seeker"), None)
        state, found, relaxed = relax(state, kind, s.k, gather, {b.name for b in said.facet_bounds} if said else ())
        if not found:
            return RankInput(
                [], {}, view.mentioned, hard, np.zeros((0, self.store.dim), np.float32), q, relaxed=relaxed
            )
        vectors = self.vectors.matrix(found)
        if np.any(q):
            text.update({i: float(v @ q) for i, v in zip(found, vectors) if i not in text})
        liked = self.vectors.matrix([i for i in state.liked if i in self.items])
        values = terms.compute(
            found,
            self.items,
            view,
            state,
            text,
            vectors,
            self._pop,
            neighbours,
            people[[self._row[i] for i in found]],
            liked,
        )
        asked = set(view.people)
        creators = [tuple(c for c in self.items[i].creators if c not in asked) for i in found]
        return RankInput(found, values, view.mentioned, hard, vectors, q, creators, s.per_creator, relaxed)

    def _nearest(self, q: np.ndarray, hard: cand.Excluded, kind: str | None) -> list[Hit]:
        """The store's `rank_candidates` nearest items to the query that are not excluded (and of the kind).

        The store skips the rejected ids. Items avoided for a genre or person, and items of other kinds, are dropped
        from its answer here, which asks for more to leave as many (half as many again for the avoided, twice as
        many for a kind): a filter on the answer, never a scan of the catalog, and no metadata filter in the store,
        which is slow on a large one (docs/scale.md). Only when the nearest items hold fewer than half as many of
        the kind is the store asked for that kind."""
        n = self.settings.rank_candidates
        if not np.any(q):
            return []
        wanted = (2 * n if kind else n) + (n // 2 if hard.by_facts else 0)
        rejected = sorted(hard.rejected)
        hits = self.store.query(q, wanted, exclude=rejected, with_vectors=False)
        kept = [h for h in hits if h.item_id in self.items and h.item_id not in hard]
        if kind:
            kept = [h for h in kept if self.items[h.item_id].kind == kind]
            if len(kept) < max(1, n // 2) and len(hits) == wanted:
                hits = self.store.query(q, n + (n // 2 if hard.by_facts else 0), rejected, kind, with_vectors=False)
                kept = [h for h in hits if h.item_id in self.items and h.item_id not in hard]
        return kept[:n]

    def top(self, given: RankInput, weights: dict[str, float], k: int) -> list[str]:
        """The best `k` items in pure order; a conversation that says too little to fill `k` is topped up with
        popular items."""
        ranked = given.ranked(weights, k)
        if len(ranked) < k:
            taken = set(ranked)
            ranked += [i for i in self.popular() if i not in taken and i not in given.excluded][: k - len(ranked)]
        return ranked

    def recommend(self, state: InterestState, k: int) -> tuple[list[Scored], RankInput]:
        """Chat's `k` items: the same inputs, MMR-diversified, less what `chat_drop` leaves out while others remain."""
        given = self.inputs(state)
        drop = self.chat_drop(state, given)
        off, first = self.keep_topic(state, given, drop)
        drop |= off
        if self.observe is not None:
            self.observe(given, drop)
        s = self.settings
        known = (set(state.seen) | set(state.liked)) - set(self._asked(state)) if s.exclude_known else set()
        chosen = chat_order(given, s.term_weights, k, s.mmr_lambda, drop, first, known)
        again = drop - (set(state.shown) - off - known)  # "more like those" when fewer new ones fit: earlier ones fill
        if len(chosen) < k and again != drop:
            have = {c.item_id for c in chosen}
            more = chat_order(given, s.term_weights, k, s.mmr_lambda, again, first, known)
            chosen += [c for c in more if c.item_id not in have][: k - len(chosen)]
        return chosen, given

    def _asked(self, state: InterestState) -> tuple[str, ...]:
        """The items the latest message asks about (they may be shown though the user named them)."""
        latest = next((self.read(e.get("text", "")) for e in reversed(state.dialogue) if e["side"] == "seeker"), None)
        return latest.asked if latest else ()

    def chat_drop(self, state: InterestState, given: RankInput) -> set[str]:
        """What chat leaves out beyond the exclusions (the policy measured in docs/evaluation.md, "Replay"): items
        the user named as known or liked (`exclude_known`), and items already shown when the latest message asks
        for more or others (`exclude_shown`); never an item the latest message asks about."""
        latest = next((self.read(e.get("text", "")) for e in reversed(state.dialogue) if e["side"] == "seeker"), None)
        drop: set[str] = set()
        if self.settings.exclude_known:
            drop |= set(state.seen) | set(state.liked)
        if self.settings.exclude_shown and latest is not None and latest.wants_new:
            drop |= set(state.shown)
        return drop - set(latest.asked if latest else ())

    def topic(self, state: InterestState) -> conversation.Topic:
        """What the conversation is about now (`conversation.topic`), less the genres the user turned from."""
        said = conversation.same_senses([self.read_entry(e) for e in state.dialogue if e["side"] == "seeker"])
        named = [i for u in said for i in u.mentioned if i not in u.asked and i in self.items]
        seeds = [self._by_rarity(self.items[i].genres) for i in named[-conversation.TOPIC_SEEDS :]]
        found = conversation.topic(said, seeds, like_refines=not self._alphabetical)
        avoided = {*state.avoid_genres, *state.soft_avoid_genres}
        groups = tuple(g - avoided for g in found.groups if g - avoided)
        return conversation.Topic(groups, found.fallback - avoided)

    def keep_topic(self, state: InterestState, given: RankInput, drop: set[str]) -> tuple[set[str], set[str]]:
        """(what chat leaves out as off the topic, what it shows first): items matching every group of the topic
        when there are `k` of them; else those matching its fallback, the ones matching all first."""
        found = self.topic(state) if self.settings.keep_topic else conversation.Topic()
        if not found.groups:
            return set(), set()
        k = self.settings.k
        shown = [i for i in given.candidates if i not in drop and i not in given.excluded]
        genres = {i: {canonical_genre(g) for g in self.items[i].genres} for i in shown}
        every = {i for i in shown if all(g & genres[i] for g in found.groups)}
        near = {i for i in shown if found.fallback & genres[i]}
        if len(every) >= k:
            return set(shown) - every, set()
        if len(near) >= k:
            return set(shown) - near, every
        return set(), every

    def popular(self) -> list[str]:
        """The whole catalog by popularity (interaction counts, else the catalog's field; ties in catalog order)."""
        if self._popular_order is None:
            self._popular_order = sorted(self.items, key=lambda i: -self._pop.get(i, 0.0))
        return self._popular_order

    def _columns(self) -> cand.Columns:
        """The catalog's kind, year, language and family columns in popular order (made at the first use)."""
        if self._columns_made is None:
            self._columns_made = cand.Columns(self.items, self.popular())
        return self._columns_made

    # -- helpers ---------------------------------------------------------------------------------------------
    def _by_rarity(self, genres: Sequence[str]) -> list[str]:
        """An item's genres, the one that says most first: the catalog's own order, unless the catalog lists genres
        alphabetically (ReDial: The Shining is "drama, horror"); then the rarest in the catalog first."""
        canon = list(dict.fromkeys(canonical_genre(g) for g in genres))
        if not self._alphabetical:
            return canon
        return sorted(canon, key=lambda g: (self._genre_counts.get(g, 0), g))

    def _popular(self) -> list[str]:
        """The most popular items (every conversation's candidates; the catalog's first items when it has no
        popularity at all, so that a constraint-only opening still has picks)."""
        return self.popular()[: cand.POPULAR_CANDIDATES]

    def _direction(self, critique: str) -> np.ndarray:
        if critique not in self._directions:
            self._directions[critique] = normalise(self.tracker.embed([ATTRIBUTES[critique].direction])[0])
        return self._directions[critique]

    def _neighbours(self, seeds: dict[str, float]) -> dict[str, float]:
        if self.collaborative is None:
            return {}
        found = self.collaborative.similar(seeds)
        return dict(sorted(found.items(), key=lambda kv: -kv[1]))
