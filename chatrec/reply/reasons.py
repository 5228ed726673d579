"""Grounded reasons: for each recommendation, the item's facts that match what the user asks for now, in words.

A `Credit` names the facts a reason cites and on what basis: they match the request ("asked"), they are shared
with a title the user named ("named"), or, when nothing matches, the item's fact nearest to what the user said
("near", said as such). Every fact is read from the item's own row, so every reason is true; which facts may be
credited is the request's business (`request.Request.turned_away`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from chatrec.catalog.items import Item
from chatrec.reading.lexicon import canonical_genre
from chatrec.reply.facet_text import item_value_text, value_text
from chatrec.reply.untrusted import keywords, screen
from chatrec.reply.words import KIND_ZH, CatalogWords, joined

__all__ = ["KIND_ZH", "Credit", "Fact", "describe", "fragment", "item_facts", "sentence", "shared_fact"]
PLAIN = CatalogWords()


@dataclass(frozen=True)
class Fact:
    """One true statement about an item, as data: what kind of fact, and its value."""

    field: str  # "genre", "tag", "creator", "cast", "facet"
    value: str  # for a facet: the list value matched, or "" (the item's whole value)
    name: str = ""  # a facet's name


@dataclass(frozen=True)
class Credit:
    """The facts a reason cites, and why they are cited."""

    basis: str  # "asked", "named" or "near"
    facts: tuple[Fact, ...] = ()
    named_kind: str = ""  # for "named": the kind of the title the user named
    ago: int = 0  # for "named": how many of the user's messages ago


def item_facts(item: Item) -> list[Fact]:
    """The facts a reason may cite; every one is read straight from the catalog row, less any instruction-like or
    sentence-long text (catalog text is data: see `untrusted`)."""
    item = screen(item)[0]
    return [
        *(Fact("genre", g) for g in keywords(item.genres)),
        *(Fact("tag", t) for t in keywords(item.tags)),
        *(Fact("creator", c) for c in item.creators[:2]),
        *(Fact("cast", c) for c in item.cast[:2]),
    ]


def shared_fact(item: Item, liked: Item, keep: Callable[[Fact], bool] = lambda f: True) -> Fact | None:
    """A genre, tag or person the item has in common with one the user named (one that `keep` allows)."""
    item, liked = screen(item)[0], screen(liked)[0]
    for field, mine, theirs in (
        ("creator", item.creators, liked.creators),
        ("tag", item.tags, liked.tags),
        ("genre", item.genres, liked.genres),
        ("cast", item.cast, liked.cast),
    ):
        common = [Fact(field, v) for v in mine if v in theirs and keep(Fact(field, v))]
        if common:
            return common[0]
    return None


def describe(facts: tuple[Fact, ...], item: Item, words: CatalogWords, language: str) -> str:
    """The facts in words: 'a crime thriller movie by Christopher Nolan', 'a party board game, 2–8 players, with
    dice'; '犯罪、惊悚电影，出自…之手', '聚会桌游，2–8人，骰子'."""
    zh = language == "zh"
    by = {f: [x for x in facts if x.field == f] for f in ("genre", "tag", "creator", "cast", "facet")}
    parts: list[str] = []
    if by["genre"]:
        parts.append(_genre_phrase([f.value for f in by["genre"]], item, words, language))
    if by["tag"]:
        tags = [words.term(f.value, language) for f in by["tag"]]
        parts.append(f"关于{joined(tags, 'zh')}" if zh else f"about {joined(tags, 'en')}")
    if by["creator"]:
        names = joined([f.value for f in by["creator"]], language)
        parts.append(f"出自{names}之手" if zh else f"by {names}")
    if by["cast"]:
        names = joined([f.value for f in by["cast"]], language)
        parts.append(f"{names}出演" if zh else f"starring {names}")
    lead = ("，" if zh else " ").join(parts)
    facets = [_facet_phrase(f, item, words, language) for f in by["facet"]]
    return ("，" if zh else ", ").join(p for p in [lead, *facets] if p)


def _genre_phrase(genres: list[str], item: Item, words: CatalogWords, language: str) -> str:
    if language == "zh":
        names = "、".join(words.term(g, "zh", item) for g in genres)
        return names + (words.kind_noun(item.kind, "zh") or "类")
    shown = [canonical_genre(g) if canonical_genre(g) != g else g.lower() for g in genres]
    kind = item.kind or ""
    if kind and shown[-1].split()[-1] == kind.split()[-1]:  # "card game" of a board game: no "card game board game"
        kind = ""
    text = " ".join([*shown, kind]).strip()
    return f"{'an' if text[:1] in 'aeiou' else 'a'} {text}"


def _facet_phrase(fact: Fact, item: Item, words: CatalogWords, language: str) -> str:
    spec = words.facets.get(fact.name)
    if fact.value:
        value = value_text(fact.value, spec, language)
        return value if language == "zh" else f"with {value}"
    own = item.facet(fact.name)
    return item_value_text(fact.name, own, spec, language) if own is not None else ""


def _when(ago: int, language: str) -> str:
    if language == "zh":
        return "刚" if ago == 0 else ("上一条消息里" if ago == 1 else f"{ago}条消息前")
    return (
        "just mentioned" if ago == 0 else ("mentioned a message ago" if ago == 1 else f"mentioned {ago} messages ago")
    )


def _named(credit: Credit, words: CatalogWords, language: str) -> str:
    """'like the movie you just mentioned', '和你刚提到的那部电影相近'."""
    kind = credit.named_kind
    if language == "zh":
        noun = words.kind_noun(kind, "zh") or "作品"
        return f"和你{_when(credit.ago, 'zh')}提到的那{words.measure(kind)}{noun}相近"
    return f"like the {kind or 'title'} you {_when(credit.ago, 'en')}"


def fragment(credit: Credit, item: Item, words: CatalogWords, language: str) -> str:
    """The reason as a short phrase after the title in the reply's list."""
    said = describe(credit.facts, item, words, language)
    sep = "，" if language == "zh" else ", "
    if credit.basis == "named":
        return sep.join(filter(None, [said, _named(credit, words, language)]))
    if credit.basis == "near":
        return sep.join(filter(None, [said, "与你的描述相近" if language == "zh" else "close to what you described"]))
    return said


def sentence(credit: Credit, item: Item, words: CatalogWords, language: str) -> str:
    """The reason as one sentence (a recommendation's `why`). A reason never names another title: the reply may
    name only the recommended items."""
    said = describe(credit.facts, item, words, language)
    if language == "zh":
        if credit.basis == "asked":
            return f"{said}，符合你的要求。"
        lead = _named(credit, words, "zh") if credit.basis == "named" else "与你描述的内容相近"
        return f"{lead}：{said}。" if said else f"{lead}。"
    if credit.basis == "asked":
        text = f"{said}, as you asked."
    elif credit.basis == "named":
        text = f"{said}, {_named(credit, words, 'en')}." if said else f"{_named(credit, words, 'en')}."
    else:
        text = f"Close to what you described: {said}." if said else "Close to what you described."
    return text[:1].upper() + text[1:]
