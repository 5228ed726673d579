"""The request as understood, for the reply: what the user asks for now, what they turned away from, and the
constraints, read from the dialogue state after this message and the conversation's readings.

`understood` is a pure function. Its `Request` is what the reply's opening line says back and the only thing a
reason may credit: a term the user turned away from, avoided, or said under a negation or as a constraint ("not
too heavy") is never a want.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from chatrec.catalog.facets import Bound
from chatrec.reading.lexicon import GENRE_WORDS, canonical_genre
from chatrec.reading.titles import norm
from chatrec.reading.understanding import Understanding
from chatrec.reply.words import CatalogWords
from chatrec.users.interests import InterestState

MOST_GENRES = 3  # genres the opening line names


@dataclass(frozen=True)
class Said:
    """One seeker message: its text and what the reader made of it."""

    text: str
    u: Understanding


@dataclass(frozen=True)
class Request:
    """What the user asks for now, as the reply says it back and credits it."""

    language: str = "en"
    kind: str | None = None
    genres: tuple[str, ...] = ()  # canonical genres asked for now (the conversation's topic), none turned away
    topics: tuple[str, ...] = ()  # other interest terms: themes, tags
    people: tuple[str, ...] = ()  # people asked for
    critiques: tuple[str, ...] = ()  # the latest message's "funnier", "lighter", ...
    named: int = 0  # titles the latest message names as ones the user knows (what to be like)
    for_now: tuple[str, ...] = ()  # genres turned away from for now
    never: tuple[str, ...] = ()  # genres avoided until the user says otherwise
    never_people: tuple[str, ...] = ()  # people avoided
    year_min: int | None = None
    year_max: int | None = None
    item_language: str | None = None
    family: bool = False
    facets: tuple[Bound, ...] = ()
    cut: tuple[tuple[str, str], ...] = ()  # (text, its positive part) of each message: what was said negated

    @property
    def wants(self) -> tuple[str, ...]:
        """Everything a reason may credit: genres, topics and people asked for now."""
        return (*self.genres, *self.topics, *self.people)

    @property
    def empty(self) -> bool:
        """Nothing asked for: no want, kind, title, constraint or critique (avoidances alone leave it empty)."""
        return not (
            self.wants
            or self.kind
            or self.named
            or self.critiques
            or self.facets
            or self.year_min
            or self.year_max
            or self.item_language
            or self.family
        )

    def turned_away(self, term: str) -> bool:
        """The user avoids the term, turned away from it, or said it only negated or as a constraint."""
        canon = canonical_genre(term)
        if canon in self.for_now or canon in self.never or term in self.never_people:
            return True
        return self.negated(term)

    def negated(self, term: str) -> bool:
        """The term was cut from what a message asks for ("not too heavy": heavy) and no later message asks for it
        plainly."""
        key = norm(term)
        if not key:
            return False
        verdict = False
        for text, positive in self.cut:
            if _has(norm(positive), key):
                verdict = False
            elif _has(norm(text), key):
                verdict = True
        return verdict


def _has(text: str, key: str) -> bool:
    if not key.isascii():
        return key in text
    return f" {key} " in f" {text} "


def moves_on(latest: Understanding, earlier: Sequence[Understanding]) -> bool:
    """The latest message leaves the earlier topic: a shift, a reset, turning away, or another kind."""
    kind_before = next((u.kind for u in reversed(earlier) if u.kind), None)
    return bool(
        latest.shifts
        or latest.reset
        or latest.soft_avoided_genres
        or (latest.kind and kind_before and latest.kind != kind_before)
    )


def understood(
    state: InterestState,
    said: Sequence[Said],
    words: CatalogWords,
    topic: Sequence[str] | None = None,
    shown: Callable[[str], bool] = lambda t: True,
) -> Request:
    """The request after this message. `said` is the conversation's seeker messages, the latest last; `topic` the
    genres the ranker keeps to now (None: read from the interest terms); `shown` says which interest terms may be
    said back (the catalog's own words)."""
    latest = said[-1].u if said else None
    earlier = [s.u for s in said[:-1]]
    leaves = latest is not None and moves_on(latest, earlier)
    people_said = [p for s in (said[-1:] if leaves else said) for p in s.u.liked_people]
    people = tuple(p for p in dict.fromkeys(people_said) if p not in state.avoid_people)
    base = Request(
        language=state.language,
        kind=state.kind,
        people=people,
        critiques=tuple(c for c in (latest.critiques if latest else ()) if c not in _years_said(state)),
        named=len([m for m in latest.mentioned if m not in latest.asked]) if latest else 0,
        for_now=tuple(state.soft_avoid_genres),
        never=tuple(state.avoid_genres),
        never_people=tuple(state.avoid_people),
        year_min=state.year_min,
        year_max=state.year_max,
        item_language=state.item_language,
        family=state.family,
        facets=tuple(Bound.from_dict({"name": n, **b}) for n, b in state.facets.items()),
        cut=tuple((s.text, s.u.positive_text) for s in said),
    )
    terms = [t for t in (latest.terms if leaves and latest else state.terms) if shown(t)]
    terms = [t for t in terms if not base.turned_away(t) and t not in people]
    genres = [canonical_genre(g) for g in topic] if topic else [canonical_genre(t) for t in terms if words.is_genre(t)]
    genres = [g for g in dict.fromkeys(genres) if not base.turned_away(g)]
    genres = sorted(genres, key=_said_order(said[-1].text if said else "", [canonical_genre(t) for t in terms]))
    facet_words = {norm(w) for spec in words.facets.values() for w in spec.words}  # heavy, player: constraints
    topics = [t for t in terms if not words.is_genre(t) and norm(t) not in facet_words]
    return replace(base, genres=tuple(genres[:MOST_GENRES]), topics=tuple(topics))


def _said_order(text: str, terms: Sequence[str]) -> Callable[[str], tuple[int, int, str]]:
    """Genres in the order the latest message says them ("crime thriller": crime first), then the order of the
    interest terms (strongest first)."""
    key = f" {norm(text)} "

    def at(genre: str) -> int:
        places = [key.find(w if not w.isascii() else f" {w} ") for w in (genre, *GENRE_WORDS.get(genre, ()))]
        return min((p for p in places if p >= 0), default=len(key))

    return lambda g: (at(g), terms.index(g) if g in terms else len(terms), g)


def _years_said(state: InterestState) -> tuple[str, ...]:
    """'older' and 'newer' are said as years when the state holds years."""
    return ("older", "newer") if state.year_min or state.year_max else ()
