"""Grounded reasons: for each recommendation, the user's interest and the item fact that matched it best."""

from __future__ import annotations

from dataclasses import dataclass

from chatrec.catalog.items import Item
from chatrec.reading.lexicon import GENRE_ZH, canonical_genre
from chatrec.reply.untrusted import keywords, screen

KIND_ZH = {"movie": "电影", "book": "书", "series": "剧集"}


@dataclass(frozen=True)
class Fact:
    """One true statement about an item, as data: what kind of fact, and its value."""

    field: str  # "genre", "tag", "creator", "cast"
    value: str


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


def shared_fact(item: Item, liked: Item) -> Fact | None:
    """A genre, tag or person the item has in common with one the user named."""
    item, liked = screen(item)[0], screen(liked)[0]
    for field, mine, theirs in (
        ("creator", item.creators, liked.creators),
        ("tag", item.tags, liked.tags),
        ("genre", item.genres, liked.genres),
        ("cast", item.cast, liked.cast),
    ):
        common = [v for v in mine if v in theirs]
        if common:
            return Fact(field, common[0])
    return None


def phrase(fact: Fact, item: Item, language: str) -> str:
    """The fact in words, in the user's language."""
    kind = item.kind or "item"
    if language == "zh":
        value = GENRE_ZH.get(canonical_genre(fact.value), fact.value) if fact.field == "genre" else fact.value
        return {
            "genre": f"它是一部{value}{KIND_ZH.get(kind, '作品')}",
            "tag": f"它的主题包括“{value}”",
            "creator": f"它出自{value}之手",
            "cast": f"由{value}出演",
        }[fact.field]
    return {
        "genre": f"it is {'an' if fact.value[:1] in 'aeiou' else 'a'} {fact.value} {kind}",
        "tag": f"it is about {fact.value}",
        "creator": f"it is by {fact.value}",
        "cast": f"it stars {fact.value}",
    }[fact.field]


def reason(
    interest: str, fact: Fact | None, item: Item, language: str, liked_kind: str | None = None, ago: int = 0
) -> str:
    """One short sentence naming the interest (or which mention: the kind of item the user named and how many of
    their messages ago) and the matching fact. A reason never names another title: the reply may name only the
    recommended items."""
    if language == "zh":
        kind = KIND_ZH.get(liked_kind or "", "作品")
        when = "刚" if ago == 0 else ("上一条消息里" if ago == 1 else f"{ago}条消息前")
        lead = f"和你{when}提到的那部{kind}相近" if liked_kind is not None else f"你对“{interest}”感兴趣"
        return f"{lead}：{phrase(fact, item, 'zh')}。" if fact else f"{lead}。"
    kind = liked_kind or "title"
    when = (
        "just mentioned" if ago == 0 else ("mentioned a message ago" if ago == 1 else f"mentioned {ago} messages ago")
    )
    lead = f"Like the {kind} you {when}" if liked_kind is not None else f"You are interested in {interest}"
    return f"{lead}: {phrase(fact, item, 'en')}." if fact else f"{lead}."
