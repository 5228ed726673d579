"""Expectations of a scripted dialogue: pure checks of what one chat turn showed (see chatrec/scripts/run.py)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING, Any, Protocol

from chatrec.reading.language import CJK
from chatrec.reading.lexicon import GENRE_WORDS, GENRE_ZH, canonical_genre

if TYPE_CHECKING:
    from chatrec.catalog.items import Item
    from chatrec.engine import Engine
    from chatrec.results import Turn

LIST_KEYS = (
    "kinds",
    "genres_any",
    "genres_none",
    "creators_none",
    "titles_any",
    "titles_none",
    "reply_contains_any",
    "reply_contains_none",
    "profile_less_of_any",
    "profile_interests_none",
    "says_unknown",
)
INT_KEYS = ("count_at_least", "at_least", "distinct_creators_at_least", "year_at_least", "year_at_most")
FLAG_KEYS = ("why_true", "panel_no_titles", "rejected_absent")  # beyond the contract; see chatrec/scripts/run.py
SOURCES = ("generator", "template")
EXPECT_KEYS = (*INT_KEYS, *LIST_KEYS, "facets", "language", "source", "max_seconds", *FLAG_KEYS)
# the item facts a check reads beyond the contract's recommendation fields (an older server may not send them)
NEEDS: dict[str, tuple[str, ...]] = {
    "genres_any": ("genres",),
    "genres_none": ("genres",),
    "creators_none": ("creators", "cast"),
    "titles_any": ("aliases",),
    "titles_none": ("aliases",),
    "why_true": ("genres", "tags", "creators", "cast"),
    "distinct_creators_at_least": ("creators",),
    "facets": ("facets",),
}
FACT_FIELDS = ("genres", "creators", "cast", "tags", "aliases", "facets")


class Facts(Protocol):
    """What the checks that look beyond the items shown know: the catalog's genre names and titles, and the
    user's interest terms now. `partial` says how they fall short of the whole catalog ("" when they do not)."""

    partial: str

    def genre_names(self) -> dict[str, str]: ...

    def titles(self) -> set[str]: ...

    def terms(self) -> list[str]: ...

    def less_of(self) -> list[str]: ...


@dataclass
class Shown:
    """What one `say` turn showed, and what the checks need to judge it."""

    turn: Turn
    items: list[Item]
    seconds: float  # from the call until the recommendations came
    rejected: set[str]  # item ids rejected with feedback earlier in the file
    expect: dict[str, Any]
    facts: Facts
    missing: frozenset[str] = field(default_factory=frozenset)  # FACT_FIELDS the recommendations came without


def check(shown: Shown) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(key, message) for every expectation of the turn that does not hold (the message lists what was shown), and
    for every one that cannot be checked here (the message says why)."""
    failed, unchecked = [], []
    for key, value in shown.expect.items():
        if key == "at_least" or value is False:
            continue
        lacking = [f for f in NEEDS.get(key, ()) if f in shown.missing]
        if lacking:
            unchecked.append((key, f"not checkable: the recommendations came without {', '.join(lacking)}"))
            continue
        problem = CHECKS[key](shown, value)
        if problem:
            failed.append((key, f"{problem}; shown: {listing(shown.items)}"))
    return failed, unchecked


def listing(items: Iterable[Item]) -> str:
    """'1. Dune (2021) [movie: science fiction, adventure]; 2. ...', or 'nothing'."""
    rows = [
        f"{n}. {it.title}{f' ({it.year})' if it.year else ''} [{it.kind or '?'}: {', '.join(it.genres) or '-'}]"
        for n, it in enumerate(items, 1)
    ]
    return "; ".join(rows) or "nothing"


def _genre(name: str) -> str:
    return canonical_genre(name.strip()).casefold()


def _count(s: Shown, n: int) -> str:
    return "" if len(s.items) >= n else f"expected at least {n} recommendations, got {len(s.items)}"


def _kinds(s: Shown, kinds: list[str]) -> str:
    wanted = {k.casefold() for k in kinds}
    bad = [it.title for it in s.items if it.kind.casefold() not in wanted]
    return f"expected only {', '.join(kinds)}; not: {', '.join(bad)}" if bad else ""


def _genres_any(s: Shown, genres: list[str]) -> str:
    wanted = {_genre(g) for g in genres}
    need = s.expect.get("at_least", len(s.items))
    hits = sum(1 for it in s.items if wanted & {_genre(g) for g in it.genres})
    return "" if hits >= need else f"expected at least {need} with one of {', '.join(genres)}, got {hits}"


def _genres_none(s: Shown, genres: list[str]) -> str:
    banned = {_genre(g) for g in genres}
    bad = [it.title for it in s.items if banned & {_genre(g) for g in it.genres}]
    return f"expected none with {', '.join(genres)}; found: {', '.join(bad)}" if bad else ""


def _creators_none(s: Shown, people: list[str]) -> str:
    banned = {p.strip().casefold() for p in people}
    bad = [it.title for it in s.items if banned & {p.casefold() for p in (*it.creators, *it.cast)}]
    return f"expected nothing by or starring {', '.join(people)}; found: {', '.join(bad)}" if bad else ""


def titles_of(it: Item) -> set[str]:
    """The item's title and aliases, casefolded."""
    return {t.strip().casefold() for t in (it.title, *it.aliases)}


def _titles_any(s: Shown, titles: list[str]) -> str:
    wanted = {t.strip().casefold() for t in titles}
    return "" if any(wanted & titles_of(it) for it in s.items) else f"expected one of {', '.join(titles)}"


def _titles_none(s: Shown, titles: list[str]) -> str:
    banned = {t.strip().casefold() for t in titles}
    bad = [it.title for it in s.items if banned & titles_of(it)]
    return f"expected none of {', '.join(titles)}; found: {', '.join(bad)}" if bad else ""


def _language(s: Shown, language: str) -> str:
    got = s.turn.language
    return "" if got.casefold() == language.strip().casefold() else f"expected a reply in {language}, got {got}"


def _source(s: Shown, source: str) -> str:
    """The reply came from the generator (checked generated text) or from the template."""
    return "" if s.turn.source == source else f"expected a {source} reply, got a {s.turn.source or 'missing'} one"


def _reply_contains(s: Shown, words: list[str]) -> str:
    reply = s.turn.reply.casefold()
    if any(w.casefold() in reply for w in words):
        return ""
    return f"expected the reply to contain one of {', '.join(words)}; reply: {s.turn.reply[:300]!r}"


def _max_seconds(s: Shown, limit: float) -> str:
    return "" if s.seconds <= limit else f"recommendations took {s.seconds:.2f} s, more than {limit} s"


def _rejected_absent(s: Shown, _: bool) -> str:
    bad = [it.title for it in s.items if it.id in s.rejected]
    return f"items rejected earlier came back: {', '.join(bad)}" if bad else ""


def _panel_no_titles(s: Shown, _: bool) -> str:
    titles, terms = s.facts.titles(), s.facts.terms()
    bad = [t for t in terms if t.strip().casefold() in titles]
    return f"interest terms that are catalog titles: {', '.join(bad)} (terms: {', '.join(terms)})" if bad else ""


def _why_true(s: Shown, _: bool) -> str:
    names = s.facts.genre_names()
    bad = [
        f"{r.title}: {problem} (why: {r.why!r})"
        for r, it in zip(s.turn.recommendations, s.items)
        if (problem := why_problem(it, r.why, names))
    ]
    return "; ".join(bad)


class EngineFacts:
    """The facts of an Engine in this process: its whole catalog, and the profile of the dialogue's user."""

    partial = ""

    def __init__(self, engine: Engine, user: str) -> None:
        self.engine, self.user = engine, user

    @cached_property
    def _genre_names(self) -> dict[str, str]:
        return catalog_genre_names(self.engine.items.values())

    @cached_property
    def _titles(self) -> set[str]:
        return set().union(*(titles_of(it) for it in self.engine.items.values()))

    def genre_names(self) -> dict[str, str]:
        return self._genre_names

    def titles(self) -> set[str]:
        return self._titles

    def terms(self) -> list[str]:
        return profile_terms(self.engine.profile(self.user))

    def less_of(self) -> list[str]:
        return profile_less_of(self.engine.profile(self.user))


def profile_less_of(profile: dict[str, Any]) -> list[str]:
    """What a profile lists as turned away from: genres and people avoided, for now or always."""
    return [str(t) for key in ("avoid_genres", "avoid_for_now", "avoid_people") for t in profile.get(key, ())]


def profile_terms(profile: dict[str, Any]) -> list[str]:
    """The interest terms of a profile (`Engine.profile`, `GET /api/v1/profile`)."""
    return [t["term"] if isinstance(t, dict) else str(t) for t in profile.get("terms", ())]


def catalog_genre_names(items: Iterable[Item]) -> dict[str, str]:
    """Every way a why may name a catalog genre (the catalog's spelling, the canonical name, the Chinese word),
    casefolded -> the canonical genre."""
    names: dict[str, str] = {}
    for g in {g for it in items for g in it.genres}:
        canon = _genre(g)
        for name in (g, canon, GENRE_ZH.get(canon, canon)):
            names[name.strip().casefold()] = canon
    return names


def lexicon_genre_names() -> dict[str, str]:
    """The genres chatrec's word lists know (reading/lexicon.py), named as `catalog_genre_names` names them: what a
    check knows of a catalog it cannot read (over --url)."""
    return {name.casefold(): canon for canon in GENRE_WORDS for name in (canon, GENRE_ZH.get(canon, canon))}


def why_problem(item: Item, why: str, genre_names: dict[str, str]) -> str:
    """What in `why` is not true of `item` (empty when nothing): it must name one of the item's own facts (a genre,
    in the catalog's Chinese too, a tag, a person, or a facet value: "with dice", "2–4 players") and no catalog
    genre the item lacks."""
    own = {_genre(g) for g in item.genres}
    wrong = sorted(mentioned_genres(why, genre_names) - own)
    if wrong:
        return f"names genres the item lacks: {', '.join(wrong)}"
    facts = [
        *(w for g in own for w in (g, GENRE_ZH.get(g, g), *GENRE_WORDS.get(g, ()))),
        *item.genres,
        *item.genres_zh,
        *item.tags,
        *item.creators,
        *item.cast,
        *(v for _, value in item.facets for v in facet_words(value)),
    ]
    return "" if any(occurs(why, f) for f in facts if f.strip()) else "names none of the item's genres, tags or people"


def facet_words(value: object) -> list[str]:
    """A facet value as the words a reason may cite it by: each string, each number ('2', '2.5')."""
    values = value if isinstance(value, tuple) else (value,)
    return [f"{v:g}" if isinstance(v, float) else str(v) for v in values]


def mentioned_genres(text: str, genre_names: dict[str, str]) -> set[str]:
    """The canonical genres `text` names, longest name first, so 'science fiction' does not also count as
    'science' and '历史小说' not as '历史'."""
    taken = [False] * len(text)
    found = set()
    for name in sorted(genre_names, key=len, reverse=True):
        for m in _pattern(name).finditer(text):
            if not any(taken[m.start() : m.end()]):
                taken[m.start() : m.end()] = [True] * (m.end() - m.start())
                found.add(genre_names[name])
    return found


def occurs(text: str, phrase: str) -> bool:
    """Whether `phrase` is in `text` as whole words (any substring for Chinese), case-insensitively."""
    return _pattern(phrase.strip()).search(text) is not None


_LETTER = r"[^\W\u3400-\u9fff\uf900-\ufaff]"  # a word character that is not Chinese: 一部nonfiction书 names nonfiction


@lru_cache(maxsize=4096)
def _pattern(phrase: str) -> re.Pattern[str]:
    body = re.escape(phrase)
    return re.compile(body if CJK.search(phrase) else rf"(?<!{_LETTER}){body}(?!{_LETTER})", re.IGNORECASE)


def _distinct_creators(s: Shown, n: int) -> str:
    """Items without creators count as distinct."""
    groups = [frozenset(c.casefold() for c in it.creators) or frozenset({f"#{it.id}"}) for it in s.items]
    distinct: set[str] = set()
    for group in groups:
        if not distinct.intersection(group):
            distinct.add(sorted(group)[0])
    if len(distinct) >= n:
        return ""
    return f"expected at least {n} distinct creators, got {len(distinct)}: " + "; ".join(
        f"{it.title} ({', '.join(it.creators) or '-'})" for it in s.items
    )


def _year_at_least(s: Shown, year: int) -> str:
    bad = [f"{it.title} ({it.year})" for it in s.items if it.year is not None and it.year < year]
    return f"expected nothing from before {year}; found: {', '.join(bad)}" if bad else ""


def _year_at_most(s: Shown, year: int) -> str:
    bad = [f"{it.title} ({it.year})" for it in s.items if it.year is not None and it.year > year]
    return f"expected nothing from after {year}; found: {', '.join(bad)}" if bad else ""


def _facets(s: Shown, wanted: dict[str, dict[str, Any]]) -> str:
    from chatrec.catalog.facets import Bound, satisfies

    bad = []
    for name, raw in wanted.items():
        bound = Bound.from_dict({"name": name, **raw})
        bad += [f"{it.title} ({name}: {it.facet(name)})" for it in s.items if not satisfies(it.facet(name), bound)]
    return f"expected every item within {wanted}; not: {', '.join(bad)}" if bad else ""


def _reply_contains_none(s: Shown, words: list[str]) -> str:
    reply = s.turn.reply.casefold()
    found = [w for w in words if w.casefold() in reply]
    return f"expected the reply to contain none of {', '.join(found)}; reply: {s.turn.reply[:300]!r}" if found else ""


def _same_term(a: str, b: str) -> bool:
    """Two profile terms are the same genre (in any spelling or language) or the same words."""
    return _genre(a) == _genre(b) or a.strip().casefold() == b.strip().casefold()


def _profile_less_of_any(s: Shown, terms: list[str]) -> str:
    listed = s.facts.less_of()
    if any(_same_term(t, x) for t in terms for x in listed):
        return ""
    return f"expected the profile to list one of {', '.join(terms)} as less of; it lists: {', '.join(listed) or '-'}"


def _profile_interests_none(s: Shown, terms: list[str]) -> str:
    listed = s.facts.terms()
    bad = [x for x in listed if any(_same_term(t, x) for t in terms)]
    return f"expected none of {', '.join(terms)} among the interests; found: {', '.join(bad)}" if bad else ""


def _says_unknown(s: Shown, titles: list[str]) -> str:
    reported = {t.strip().casefold() for t in s.turn.unknown}
    missing = [t for t in titles if t.strip().casefold() not in reported]
    unnamed = [t for t in titles if t.strip().casefold() not in s.turn.reply.casefold()]
    if missing:
        return f"expected {', '.join(missing)} reported as not in the catalog; reported: {list(s.turn.unknown)}"
    return f"expected the reply to name {', '.join(unnamed)}; reply: {s.turn.reply[:300]!r}" if unnamed else ""


CHECKS: dict[str, Callable[[Shown, Any], str]] = {
    "count_at_least": _count,
    "kinds": _kinds,
    "genres_any": _genres_any,
    "genres_none": _genres_none,
    "creators_none": _creators_none,
    "titles_any": _titles_any,
    "titles_none": _titles_none,
    "language": _language,
    "source": _source,
    "reply_contains_any": _reply_contains,
    "max_seconds": _max_seconds,
    "why_true": _why_true,
    "panel_no_titles": _panel_no_titles,
    "rejected_absent": _rejected_absent,
    "distinct_creators_at_least": _distinct_creators,
    "year_at_least": _year_at_least,
    "year_at_most": _year_at_most,
    "facets": _facets,
    "reply_contains_none": _reply_contains_none,
    "profile_less_of_any": _profile_less_of_any,
    "profile_interests_none": _profile_interests_none,
    "says_unknown": _says_unknown,
}
