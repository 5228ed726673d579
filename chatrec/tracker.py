"""The interest tracker: applies what a message or a thumbs up/down says to a user's `InterestState`."""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from .config import Settings
from .interests import InterestState, add_terms, observe, recency_weights, reject, weighted_signal
from .understanding import Understanding, core_words

CONTEXT_WINDOW = 4      # utterances of a dialogue read together as its text (measured on ReDial: 2-6 all close)

VectorsOf = Callable[[Sequence[str]], dict[str, np.ndarray]]
EmbedFn = Callable[[Sequence[str]], np.ndarray]


class Tracker:
    """Updates interest vectors from messages (their words and the items they name) and from feedback."""

    def __init__(self, embed: EmbedFn, vectors_of: VectorsOf, settings: Settings) -> None:
        self.embed = embed
        self.vectors_of = vectors_of
        self.settings = settings

    def apply_message(self, state: InterestState, u: Understanding, now: float, text_weight: float = 1.0) -> None:
        """Pull interests toward the message and the items it names; record avoidances and interest words."""
        s = self.settings
        item_vectors = self.vectors_of(list(u.mentioned) + list(u.avoided_items))
        parts, weights = [], []
        if core_words(u.positive_text).strip(" ,.;!?，。") and text_weight > 0:
            parts.append(self.embed([u.positive_text])[0])
            weights.append(text_weight)
        for item_id in u.mentioned:
            if item_id in item_vectors:
                parts.append(item_vectors[item_id])
                weights.append(s.mention_weight)
        if parts:
            observe(state, weighted_signal(np.vstack(parts), np.array(weights)), now, s.short_rate, s.long_rate,
                    s.half_life_short_s, s.half_life_long_s)
        for item_id in u.avoided_items:
            if item_id in item_vectors:
                reject(state, item_vectors[item_id], s.negative_rate, s.max_negatives)
            state.rejected = _add(state.rejected, item_id)
        if u.negative_phrases:
            for vector in self.embed(list(u.negative_phrases)):
                reject(state, vector, s.negative_rate, s.max_negatives)
        state.avoid_genres = [g for g in _merge(state.avoid_genres, u.avoided_genres) if g not in u.liked_genres]
        state.avoid_people = _merge(state.avoid_people, u.avoided_people)
        state.seen = _merge(state.seen, u.mentioned)
        state.terms = add_terms(state.terms, list(u.terms))
        state.language = u.language
        state.kind = u.kind or state.kind

    def apply_dialogue(self, state: InterestState, utterances: Sequence[Understanding]) -> None:
        """A whole dialogue at once (stateless ranking): its last few utterances as one text, plus every item
        it names, recent ones weighing more. Short replies ("yes, I have") carry little alone; together they
        say what the conversation is about."""
        s = self.settings
        text = " ".join(u.positive_text for u in utterances[-CONTEXT_WINDOW:]).strip()
        mentioned = list(dict.fromkeys(m for u in utterances for m in u.mentioned))
        item_vectors = self.vectors_of(mentioned)
        mentioned = [m for m in mentioned if m in item_vectors]
        parts = ([self.embed([text])[0]] if text else []) + [item_vectors[m] for m in mentioned]
        weights = ([1.0] if text else []) + list(s.mention_weight * recency_weights(len(mentioned), s.mention_recency))
        if parts:
            observe(state, weighted_signal(np.vstack(parts), np.array(weights)), 0.0, 1.0, 1.0,
                    s.half_life_short_s, s.half_life_long_s)
        for u in utterances:
            state.rejected = _merge(state.rejected, u.avoided_items)
            state.avoid_genres = [g for g in _merge(state.avoid_genres, u.avoided_genres) if g not in u.liked_genres]
            state.avoid_people = _merge(state.avoid_people, u.avoided_people)
            state.kind = u.kind or state.kind

    def apply_feedback(self, state: InterestState, item_id: str, liked: bool, now: float) -> None:
        """A thumbs up pulls interests toward the item; a thumbs down pushes away and never shows it again."""
        s = self.settings
        vector = self.vectors_of([item_id]).get(item_id)
        if liked:
            state.liked = _add(state.liked, item_id)
            state.rejected = [i for i in state.rejected if i != item_id]
            if vector is not None:
                observe(state, vector, now, s.short_rate, s.long_rate, s.half_life_short_s, s.half_life_long_s)
        else:
            state.rejected = _add(state.rejected, item_id)
            state.liked = [i for i in state.liked if i != item_id]
            if vector is not None:
                reject(state, vector, s.negative_rate, s.max_negatives)


def _add(values: list[str], value: str) -> list[str]:
    return values if value in values else [*values, value]


def _merge(values: list[str], more: Sequence[str]) -> list[str]:
    return list(dict.fromkeys([*values, *more]))
