"""The conversation so far, as the ranker reads it: the text to embed, the items each side named, what was asked for.

A conversation is a list of utterances, each from the seeker (the user) or the recommender (chatrec's own turns in
chat, the other person's lines in a dialogue given to `Engine.rank`). Reading it is a pure function of the
utterances' `Understanding`s, so chat and `rank` read the same conversation the same way.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from chatrec.ranking.signals import mention_weights
from chatrec.reading.lexicon import GENRE_WORDS, canonical_genre
from chatrec.reading.understanding import Understanding

TOPIC_SEEDS = 3  # the titles named last that say what the conversation is about when no genre was named
CONTEXT_WINDOW = 4  # utterances read together as the conversation's text (measured on ReDial: 2-6 all close)


@dataclass(frozen=True)
class Utterance:
    """One line of the conversation."""

    side: str  # "seeker" or "recommender"
    u: Understanding
    shown: tuple[str, ...] = ()  # chatrec's recommendations in that turn


@dataclass
class View:
    """What the ranker needs from the conversation."""

    text: str = ""  # the recent utterances' positive text, joined
    mentioned: list[str] = field(default_factory=list)  # every named item, first mention first (either side)
    seeker: dict[str, float] = field(default_factory=dict)  # item -> recency weight of the seeker's latest mention
    known: dict[str, float] = field(default_factory=dict)  # seeker mentions not asked about (the user knows them)
    recommender: dict[str, float] = field(default_factory=dict)
    shown: dict[str, float] = field(default_factory=dict)  # chatrec's own earlier recommendations, by recency
    genres: list[str] = field(default_factory=list)  # asked for (the latest message that names any leads)
    people: list[str] = field(default_factory=list)
    decades: list[int] = field(default_factory=list)
    critiques: tuple[str, ...] = ()  # of the latest seeker message only

    @property
    def seeds(self) -> dict[str, float]:
        """Every item either side named -> its largest recency weight (collaborative and people neighbours)."""
        seeds = dict(self.recommender)
        for item, w in self.seeker.items():
            seeds[item] = max(seeds.get(item, 0.0), w)
        return seeds


def same_senses(said: Sequence[Understanding]) -> list[Understanding]:
    """Each utterance with a title named again in the sense named before: "I loved Heat (1995)", then "like Heat
    but newer" means that Heat, not another film of the title (`Understanding.senses` holds every sense)."""
    out: list[Understanding] = []
    before: set[str] = set()
    for u in said:
        if u.mentioned and len(u.senses) > len(u.mentioned):
            earlier = [i for i in u.senses if i in before]
            again = [m if m in before or not earlier else earlier[0] for m in u.mentioned]
            if len(earlier) == 1 and again != list(u.mentioned):
                u = replace(u, mentioned=tuple(dict.fromkeys(again)))
        before.update(u.mentioned)
        out.append(u)
    return out


def leads(latest: Understanding, earlier: Sequence[Understanding]) -> bool:
    """The latest message changes the subject: it asks for another kind or other genres than before, or turns away
    from something. The conversation's text then starts at it (older names still count, by recency). A critique
    ("funnier", "newer") refines the topic: it keeps it."""
    kind = next((u.kind for u in reversed(earlier) if u.kind), None)
    genres = next((set(u.liked_genres) for u in reversed(earlier) if u.liked_genres), set())
    return bool(
        (latest.kind and latest.kind != kind)
        or (latest.liked_genres and set(latest.liked_genres) != genres)
        or latest.soft_avoided_genres
        or latest.family
    )


def read(utterances: Sequence[Utterance], decay: float, restart: bool = True) -> View:
    """Read a conversation whose last utterance is the seeker's latest."""
    view = View()
    spoken = [(i, x) for i, x in enumerate(utterances) if x.u.positive_text.strip() or x.u.mentioned or x.shown]
    last = len(utterances) - 1
    texts = [x.u.positive_text for _, x in spoken if x.u.positive_text.strip()]
    window = texts[-CONTEXT_WINDOW:]
    seekers = [x for x in utterances if x.side == "seeker"]
    if (
        restart
        and len(seekers) > 1
        and seekers[-1].u.positive_text.strip()
        and leads(seekers[-1].u, [x.u for x in seekers[:-1]])
    ):
        window = [seekers[-1].u.positive_text]
    view.text = " ".join(window).strip()
    view.mentioned = list(dict.fromkeys(m for _, x in spoken for m in x.u.mentioned))
    for index, x in spoken:
        weight = float(mention_weights([last - index], decay)[0])
        for item in x.u.mentioned:
            side = view.seeker if x.side == "seeker" else view.recommender
            side[item] = max(side.get(item, 0.0), weight)
            if x.side == "seeker" and item not in x.u.asked:
                view.known[item] = max(view.known.get(item, 0.0), weight)
            elif x.side == "seeker":
                view.known.pop(item, None)
        for item in x.shown:
            view.shown[item] = max(view.shown.get(item, 0.0), weight)
    said = [x.u for x in seekers]
    view.genres = next((list(u.liked_genres) for u in reversed(said) if u.liked_genres), [])
    view.decades = next((list(u.decades) for u in reversed(said) if u.decades), [])
    view.people = list(dict.fromkeys(p for u in said for p in u.liked_people))
    view.critiques = said[-1].critiques if said else ()
    return view


@dataclass(frozen=True)
class Topic:
    """What the conversation is about now: genre groups an item should each match (`groups`), and the genres that
    do when too few match them all (`fallback`)."""

    groups: tuple[frozenset[str], ...] = ()
    fallback: frozenset[str] = frozenset()


def topic(said: Sequence[Understanding], seed_genres: Sequence[Sequence[str]], like_refines: bool = True) -> Topic:
    """The topic after the latest message (`said[-1]`). Its genres, each a group ("a funny horror": both) unless
    given as alternatives ("horror or comedy"); joined to the earlier topic when the message only refines ("sci-fi
    from the 80s", then "only ones with a lot of action", or "funnier"), alone when it moves on ("now", "instead",
    another kind, turning away). Without genres of its own, the earlier topic stays, across another kind too;
    after turning away or a reset there is none. The earlier topic is what the last message naming genres named,
    else, for a message that refines ("funnier", "newer", "under an hour", "more like it"), the first genre of the
    titles named last (`seed_genres`, each item's rarest first), when at least half share it. Titles alone set no
    topic: "I loved Heat" asks for what is like Heat, which the ranking finds (ReDial's replay lost 0.02 of recall
    when they did, docs/evaluation.md). "More like it" refines only where `like_refines` (a catalog that lists each
    item's genres most telling first; ReDial lists them alphabetically, and its replay lost recall when it did)."""
    if not said:
        return Topic()
    latest, earlier = said[-1], said[:-1]
    new = frozenset(latest.liked_genres)
    if not new and (latest.reset or latest.soft_avoided_genres):
        return Topic()
    kind_before = next((u.kind for u in reversed(earlier) if u.kind), None)
    another_kind = bool(latest.kind and kind_before and latest.kind != kind_before)
    moves_on = latest.shifts or latest.reset or bool(latest.soft_avoided_genres) or another_kind
    own = (new,) if latest.either or len(new) < 2 else tuple(frozenset({g}) for g in sorted(new))
    if new and moves_on:
        return Topic(own, new)
    named = next((u.named_genres for u in reversed(earlier) if u.named_genres), ())
    refines = bool(
        latest.critiques
        or latest.facet_bounds
        or latest.year_min
        or latest.year_max
        or latest.avoided_genres
        or latest.avoided_people
        or (latest.more_like and like_refines)
    )  # "older than Inception", "and no superhero stuff", "类似的书": the same topic, narrowed
    old = frozenset(named) or (_shared(seed_genres) if refines else frozenset())
    if not new:
        return Topic((old,), old) if old else Topic()
    if old and not new <= old:
        return Topic((old, *own), new)
    return Topic(own, new)


def without_terms(said: Understanding, unwanted: Sequence[str]) -> Understanding:
    """A message as read, less interest words the user took away in the panel after saying it: out of its genres
    and terms, and their words (a genre's every spelling) cut from the text that is embedded."""
    if not unwanted:
        return said
    gone = {canonical_genre(t) for t in unwanted} | set(unwanted)
    words = sorted({w for t in gone for w in (t, *GENRE_WORDS.get(t, ()))}, key=len, reverse=True)
    pattern = re.compile(
        "|".join(rf"(?<!\w){re.escape(w)}(?!\w)" if w.isascii() else re.escape(w) for w in words), re.I
    )
    return replace(
        said,
        positive_text=" ".join(pattern.sub(" ", said.positive_text).split()),
        liked_genres=tuple(g for g in said.liked_genres if g not in gone),
        named_genres=tuple(g for g in said.named_genres if g not in gone),
        terms=tuple(t for t in said.terms if t not in gone),
    )


def _shared(seed_genres: Sequence[Sequence[str]]) -> frozenset[str]:
    """The first genre (the caller orders them: the rarest first) of the titles named last, when at least half of
    them share it."""
    counts: dict[str, int] = {}
    for genres in seed_genres:
        if genres:
            counts[genres[0]] = counts.get(genres[0], 0) + 1
    most = max(counts.values(), default=0)
    return frozenset(g for g, n in counts.items() if n == most and 2 * n >= len(seed_genres))
