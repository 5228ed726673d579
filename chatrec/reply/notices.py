"""Short notices in the reply: titles the user named that the catalog does not have, and constraints that had to
give way for there to be anything to show."""

from __future__ import annotations

from collections.abc import Sequence

from chatrec.reply.facet_text import bound_text
from chatrec.reply.opening import language_text, years_text
from chatrec.reply.request import Request
from chatrec.reply.words import CatalogWords, joined

NOTHING = {
    "en": "I could not find anything that fits yet. Tell me about a title you enjoyed, or a topic, genre or person "
    "you like.",
    "zh": "暂时没有找到合适的推荐。可以告诉我你喜欢的作品、题材、类型或人物。",
}
INVITE = {
    "en": "What do you enjoy? Tell me a title you liked, or a genre or topic, and I will narrow these down.",
    "zh": "你平时喜欢什么？告诉我一部喜欢的作品，或者一种类型、题材，我再帮你缩小范围。",
}


SMALL_WORDS = frozenset("a an and at by for in of on or the to".split())


def _as_title(said: str) -> str:
    """A title typed all in lower case, written as a title ("the zone of interest" -> "The Zone of Interest")."""
    if said != said.lower() or not said.isascii():
        return said
    words = said.split()
    return " ".join(w if i and w in SMALL_WORDS else w[:1].upper() + w[1:] for i, w in enumerate(words))


def unknown_notice(titles: Sequence[str], language: str) -> str:
    """'Heat isn't in this catalog, so I went by the rest of what you said. ' (empty when there are none)."""
    if not titles:
        return ""
    titles = [_as_title(t) for t in titles]
    if language == "zh":
        named = "、".join(f"《{t}》" for t in titles)
        return f"目录里没有{named}，我按你说的其他内容来推荐。"
    named = " or ".join(", ".join(titles[:-1]).split(", ") + [titles[-1]]) if len(titles) > 1 else titles[0]
    verb = "aren't" if len(titles) > 1 else "isn't"
    return f"{named} {verb} in this catalog, so I went by the rest of what you said. "


def relaxed_notices(relaxed: Sequence[str], req: Request, words: CatalogWords, other_kinds: bool) -> list[str]:
    """What gave way, one sentence each, the last ending with a colon (the list follows): the constraints that
    together matched nothing ("Nothing in the catalog fits all of that, so I dropped "up to 30 minutes":"), and
    the kind when too few items of it fit and others are shown (`other_kinds`)."""
    zh = req.language == "zh"
    bounds = {b.name: b for b in req.facets}
    dropped = []
    for name in relaxed:
        if name in bounds:
            dropped.append(bound_text(bounds[name], words.facets, req.language))
        elif name == "years":
            dropped.append(years_text(req.year_min, req.year_max, req.language))
        elif name == "language":
            dropped.append(language_text(req.item_language, req.language))
        elif name == "family":
            dropped.append("适合全家" if zh else "for the whole family")
    quoted = [f"“{d}”" for d in dropped if d]
    out = []
    if quoted:
        out.append(
            f"目录里没有同时满足这些条件的，所以去掉了{joined(quoted, 'zh')}"
            if zh
            else f"Nothing in the catalog fits all of that, so I dropped {joined(quoted, 'en')}"
        )
    if "kind" in relaxed and other_kinds and req.kind:
        noun = words.kind_noun(req.kind, req.language, many=True)
        out.append(f"符合的{noun}不多，也推荐了其他类型" if zh else f"Few {noun} fit, so some picks are of other kinds")
    stop, colon = ("。", "：") if zh else (".", ":")
    return [s + (colon if n == len(out) - 1 else stop) for n, s in enumerate(out)]
