"""The interest tracker: applies what a message or a thumbs up/down says to a user's `InterestState`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from chatrec.catalog.facets import Bound
from chatrec.config import Settings
from chatrec.reading.critiques import NOT_FOR_FAMILIES
from chatrec.reading.understanding import Understanding
from chatrec.users.interests import InterestState, add_terms, decay, normalise, pull, reject

DIALOGUE_LIMIT = 24  # utterances of the conversation kept (an older mention weighs under 0.7**24)
MAX_SHOWN = 500  # recommendations remembered as already shown
MAX_ITEMS = 1_000  # items kept as rejected, liked or named (the newest); Chroma's filter takes 1,000 at most anyway
MAX_AVOIDED = 100  # genres and people kept as avoided (the newest)

VectorsOf = Callable[[Sequence[str]], dict[str, np.ndarray]]
EmbedFn = Callable[[Sequence[str]], np.ndarray]


class Tracker:
    """Updates interest vectors from messages (their words and the items they name) and from feedback."""

    def __init__(
        self,
        embed: EmbedFn,
        vectors_of: VectorsOf,
        settings: Settings,
        creators_of: Callable[[str], Sequence[str]] = lambda _: (),
    ) -> None:
        self.embed = embed
        self.vectors_of = vectors_of
        self.settings = settings
        self.creators_of = creators_of  # an item's creators ("other directors" turns away from those named)

    def hear(self, state: InterestState, text: str, u: Understanding, now: float) -> None:
        """One seeker utterance (a chat message, or a line of a context given to `rank`): remember it as part of the
        conversation, and apply what it states: avoidances, constraints, the kind asked for, interest words."""
        s = self.settings
        if u.reset:
            self.start_over(state)
        _remember(state, {"side": "seeker", "text": text, "t": now})
        item_vectors = self.vectors_of(list(u.avoided_items))
        for item_id in u.avoided_items:
            if item_id in item_vectors:
                reject(state, item_vectors[item_id], s.negative_rate, s.max_negatives)
            state.rejected = _add(state.rejected, item_id)
        if u.negative_phrases:
            for vector in self.embed(list(u.negative_phrases)):
                reject(state, vector, s.negative_rate, s.max_negatives)
        liked = set(u.liked_genres)
        state.avoid_genres = [g for g in _merge(state.avoid_genres, u.avoided_genres, MAX_AVOIDED) if g not in liked]
        state.soft_avoid_genres = [
            g
            for g in _merge(state.soft_avoid_genres, u.soft_avoided_genres, MAX_AVOIDED)
            if g not in liked and g not in state.avoid_genres
        ]
        named_people: list[str] = []
        if u.other_creators:  # "other directors": not those of the titles named so far, nor the people asked for
            named_people = [p for i in [*state.seen, *state.liked] for p in self.creators_of(i)]
            named_people += [t for t in state.terms if any(t in self.creators_of(i) for i in state.seen)]
        state.avoid_people = _merge(state.avoid_people, [*u.avoided_people, *named_people], MAX_AVOIDED)
        known = [m for m in u.mentioned if m not in u.asked]
        senses = [i for i in u.senses if i not in u.asked]
        state.seen = _merge(state.seen, [*known, *senses], MAX_ITEMS)
        turned = {*u.avoided_genres, *u.soft_avoided_genres}
        state.terms = {t: w for t, w in add_terms(state.terms, list(u.terms)).items() if t not in turned}
        state.language = u.language
        if u.kind and state.kind and u.kind != state.kind:  # years asked of novels do not bind the series asked next
            state.year_min = state.year_max = None
        state.kind = u.kind or state.kind  # the latest message's kind leads; else the last one asked for
        state.year_min, state.year_max = narrowed_years(state.year_min, state.year_max, u.year_min, u.year_max)
        state.item_language = u.item_language or state.item_language
        for bound in u.facet_bounds:  # a newer bound on a facet refines the older one
            older = Bound.from_dict(state.facets[bound.name]) if bound.name in state.facets else None
            state.facets = {**state.facets, bound.name: (older.merged(bound) if older else bound).as_dict()}
        if u.family:
            state.family = True
        elif liked.intersection(NOT_FOR_FAMILIES):
            state.family = False

    def start_over(self, state: InterestState) -> None:
        """ "Forget that, start over": the conversation, its interests, avoidances and constraints no longer count.
        Items the user named, liked or rejected stay known (never recommended back); long-term taste stays."""
        state.dialogue, state.terms, state.kind = [], {}, None
        state.avoid_genres, state.soft_avoid_genres, state.avoid_people = [], [], []
        state.year_min = state.year_max = state.item_language = None
        state.family, state.facets = False, {}
        state.short = np.zeros_like(state.short)

    def answered(self, state: InterestState, text: str, shown: Sequence[str], now: float) -> None:
        """The recommender's side of the conversation: chatrec's own recommendations in chat, or a recommender
        utterance of a context given to `rank`."""
        _remember(state, {"side": "recommender", "text": text, "shown": list(shown), "t": now})
        if shown:
            state.shown = list(dict.fromkeys([*state.shown, *shown]))[-MAX_SHOWN:]

    def settle(self, state: InterestState, query: np.ndarray, now: float) -> None:
        """After a turn: the session's interest is the query it ranked with (long-term taste takes it in when
        the conversation ends, `new_session`)."""
        if np.any(query):
            state.short = normalise(query)
            state.short_t = now

    def new_session(self, state: InterestState, now: float) -> bool:
        """A user back after a long pause starts a new conversation: what they said before stays in their
        long-term taste, but no longer in the conversation. True when that happened."""
        last = max((float(e.get("t", 0.0)) for e in state.dialogue), default=None)
        if last is None or now - last <= self.settings.session_gap_s:
            return False
        s = self.settings
        if np.any(state.short):  # the conversation that ended joins long-term taste
            state.long = pull(state.long, state.short, s.long_rate, decay(now - state.long_t, s.half_life_long_s))
            state.long_t = now
        state.dialogue, state.kind, state.soft_avoid_genres = [], None, []
        state.year_min = state.year_max = state.item_language = None
        state.family, state.facets = False, {}
        return True

    def apply_feedback(self, state: InterestState, item_id: str, liked: bool, now: float) -> None:
        """A thumbs up draws recommendations toward the item; a thumbs down pushes away and never shows it again."""
        s = self.settings
        vector = self.vectors_of([item_id]).get(item_id)
        if liked:  # the query and the `feedback` term draw on liked items (ranking.Ranker.query)
            state.liked = _add(state.liked, item_id)
            state.rejected = [i for i in state.rejected if i != item_id]
        else:
            state.rejected = _add(state.rejected, item_id)
            state.liked = [i for i in state.liked if i != item_id]
            if vector is not None:
                reject(state, vector, s.negative_rate, s.max_negatives)


def narrowed_years(
    low: int | None, high: int | None, new_low: int | None, new_high: int | None
) -> tuple[int | None, int | None]:
    """The years a conversation allows after a message: a newer bound replaces the old one on its side, the other
    side stays ("newer than The Big Sleep", then "older than Gone Girl"); when the two no longer meet, the newer
    message's bounds alone."""
    low2 = new_low if new_low is not None else low
    high2 = new_high if new_high is not None else high
    if low2 is not None and high2 is not None and low2 > high2:
        return new_low, new_high
    return low2, high2


def _remember(state: InterestState, entry: dict[str, Any]) -> None:
    state.dialogue = [*state.dialogue, entry][-DIALOGUE_LIMIT:]


def _add(values: list[str], value: str, most: int = MAX_ITEMS) -> list[str]:
    """`values` with `value` at the end (if new), the oldest dropped beyond `most`."""
    return values if value in values else [*values, value][-most:]


def _merge(values: list[str], more: Sequence[str], most: int) -> list[str]:
    """`values` then the new ones of `more`, once each, the oldest dropped beyond `most`."""
    return list(dict.fromkeys([*values, *more]))[-most:]
