"""Catalog text is data: spot instruction-like text, links and over-long keywords before they reach a prompt."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import replace
from functools import lru_cache
from typing import Any

from chatrec.catalog.items import Item

KEYWORD_WORDS = 6  # a tag or genre is a keyword: "what it means to be human" is the longest we keep
KEYWORD_CHARS = 48
KEYWORD_CJK_CHARS = 12  # the bundled catalog's longest Chinese tag has 5
_IMPERATIVE = r"(?:visit|click|tap|sign\s+up|log\s+in|subscribe|download|contact\s+us|email\s+us)\b"
ORDERS = re.compile(
    "|".join(
        [
            # orders aimed at the model ("ignore your instructions", "you are now", "system prompt")
            r"\b(?:ignore|disregard|forget|override|bypass)\b[^.!?\n]{0,40}?\b(?:instructions?|rules?|prompts?|guidelines?"
            r"|directions?|orders?|commands?|previous|prior)\b",
            r"\byou\s+(?:must|are\s+now|will\s+now|shall|are\s+required\s+to)\b",
            r"\b(?:system|developer|hidden)\s+(?:prompt|message|instructions?)\b",
            r"\b(?:new|real|actual|updated)\s+instructions?\b|\binstructions?\s*:",
            r"(?:^|[.!?;:,\n]\s*|\b(?:please|now|just|always|and|then|must|should)\s+)(?:say|claim|reply|respond|answer)"
            r"\s+(?:that|only|with)\b|\brepeat\s+after\s+me\b",
            # orders passed on to the user ("tell the user to", "visit", "click here")
            r"\b(?:tell|inform|remind|urge|instruct)\s+(?:the\s+|your\s+|all\s+)?(?:users?|readers?|viewers?|customers?)\b",
            rf"(?:^|[.!?;:,\n]\s*|\b(?:please|now|just|must|should)\s+){_IMPERATIVE}",
            rf"\b(?:{_IMPERATIVE}|go\s+to|head\s+to)[^.!?\n]{{0,30}}\b(?:links?|site|website|web\s+page|url|here|below)\b",
            r"\bclick(?:ing)?\s+(?:here|on|the|this|below)\b",
            # the same in Chinese
            r"(?:忽略|无视|忘记|忘掉|不要理会|不必理会|跳过|绕过)[^。！？\n]{0,12}?(?:指令|指示|提示|规则|要求|命令|设定)",
            r"(?:告诉|转告|通知)用户|对用户说",
            r"(?:系统|开发者)(?:提示|指令|消息)|提示词",
            r"你(?:必须|应该|需要|现在是)",
            r"(?:请|去|立即|马上|务必)(?:访问|点击|登录)|(?:访问|点击|登录)[^。！？\n]{0,12}?(?:网站|网址|链接|主页|页面)|点击这里",
        ]
    ),
    re.IGNORECASE,
)
URL = re.compile(r"\b(?:https?|ftp)://\S+|\bwww\.[a-z0-9-]+\S*", re.IGNORECASE)
# top-level domains, in lower case as links write them: "the film.To start" is no domain
TLDS = (
    "com|net|org|info|biz|io|co|ai|app|dev|tv|xyz|top|site|online|link|club|shop|store|live|cn|uk|de|jp|ru|fr"
    "|eu|ly|gg|example|test|invalid|local|onion"
)
DOMAIN = re.compile(
    rf"(?<![A-Za-z0-9.@-])(?:[A-Za-z0-9](?:[A-Za-z0-9-]{{0,61}}[A-Za-z0-9])?\.)+(?:{TLDS})"
    r"(?![A-Za-z0-9-])"
)
EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
SENTENCE = re.compile(r"[^.!?。！？\n]+[.!?。！？]*\s*|[.!?。！？\n]+\s*")
CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


def links(text: str) -> list[str]:
    """Every URL, domain ("evil.example", "foo.com") and e-mail address in `text`."""
    folded = _fold(text)
    found = [m.group(0) for pattern in (URL, EMAIL) for m in pattern.finditer(folded)]
    rest = EMAIL.sub(" ", URL.sub(" ", folded))
    return found + [m.group(0) for m in DOMAIN.finditer(rest)]


def instruction_like(text: str) -> bool:
    """True when `text` gives orders to the model or the user, or carries a link: text that is no catalog fact."""
    folded = _fold(text)
    return bool(ORDERS.search(folded)) or bool(links(folded))


def too_long_keyword(text: str) -> bool:
    """True when a tag or genre is a sentence rather than a keyword."""
    folded = " ".join(_fold(text).split())
    latin = CJK.sub(" ", folded).split()
    return (
        len(latin) > KEYWORD_WORDS
        or len(folded) > KEYWORD_CHARS
        or len(CJK.findall(folded)) > KEYWORD_CJK_CHARS
        or bool(re.search(r"[。！？；，]", text))
    )


def keywords(values: Iterable[str]) -> tuple[str, ...]:
    """The tags or genres that are keywords, not sentences: what a prompt may show (after `screen`)."""
    return tuple(v for v in values if not too_long_keyword(v))


def sentences(text: str) -> list[str]:
    """`text` cut into sentences, each keeping its end mark and trailing space (joined, they give `text` back)."""
    return [s for s in SENTENCE.findall(text) if s]


def _without_titles(text: str, item: Item) -> str:
    """`text` with the item's own title and aliases blanked: a film called "Click" may open its description."""
    for title in sorted({item.title, *item.aliases}, key=len, reverse=True):
        if title.strip():
            text = re.sub(re.escape(title), "“…”", text, flags=re.IGNORECASE)
    return text


@lru_cache(maxsize=8192)
def screen(item: Item) -> tuple[Item, tuple[str, ...]]:
    """The item without its instruction-like genres, tags, names and description sentences, and the texts removed.

    Titles and aliases are kept: they are what a reply must name, and grounding checks them on its own. Over-long
    tags and genres stay here (they are no orders); `keywords` keeps them out of the prompt.
    """
    if not instruction_like("\n".join([item.description, *item.genres, *item.creators, *item.cast, *item.tags])):
        return item, ()  # one pass over all of it (blanking titles only ever removes matches): the usual case

    def bad(text: str) -> bool:
        return instruction_like(_without_titles(text, item))

    fields: dict[str, Any] = {
        name: tuple(v for v in getattr(item, name) if not bad(v)) for name in ("genres", "creators", "cast", "tags")
    }
    parts = [(s, bad(s)) for s in sentences(item.description)]
    dropped = [v for name, kept in fields.items() for v in getattr(item, name) if v not in kept]
    dropped += [s.strip() for s, no in parts if no]
    if not dropped:
        return item, ()
    description = "".join(s for s, no in parts if not no).strip()
    return replace(item, description=description, **fields), tuple(dropped)
