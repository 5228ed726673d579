"""The reply's opening line: the request as understood, said back in the user's language from the dialogue state
("Crime and thriller movies, nothing science fiction for now:", "推荐2人、30分钟以内、不太重的桌游："). Deterministic:
no model writes it, so it is true of the state by construction.
"""

from __future__ import annotations

from chatrec.catalog.facets import Bound
from chatrec.reading.critiques import ATTRIBUTES
from chatrec.reply.facet_text import bound_text, reading_order
from chatrec.reply.request import Request
from chatrec.reply.words import CatalogWords, joined, plural

MOST_TOPICS = 2  # themes the opening line names (a reason may credit any)
CRITIQUE_ZH = {
    "funnier": "更搞笑",
    "lighter": "更轻松",
    "darker": "更黑暗",
    "scarier": "更吓人",
    "less violent": "少些暴力",
    "more romantic": "更浪漫",
    "shorter": "更短",
    "older": "更早",
    "newer": "更新",
}
LANGUAGE_NAMES = {
    "zh": ("Chinese", "中文"),
    "en": ("English", "英语"),
    "ja": ("Japanese", "日语"),
    "ko": ("Korean", "韩语"),
    "fr": ("French", "法语"),
    "de": ("German", "德语"),
    "es": ("Spanish", "西班牙语"),
    "it": ("Italian", "意大利语"),
    "ru": ("Russian", "俄语"),
}


def opening_line(req: Request, words: CatalogWords, end: str = ":") -> str:
    """The request in one line, ending with `end` (":" before the list; "." when a notice follows)."""
    if req.language == "zh":
        return _zh(req, words) + {":": "：", ".": "。"}.get(end, end)
    line = _en(req, words) + end
    return line[:1].upper() + line[1:]


def years_text(low: int | None, high: int | None, language: str) -> str:
    """'from the 1990s', 'from 2006 on', 'up to 1999', 'from 1990 to 2005'; 1990年代, 2006年以后 in Chinese."""
    zh = language == "zh"
    if low is not None and high is not None:
        if low % 10 == 0 and high == low + 9:
            return f"{low}年代" if zh else f"from the {low}s"
        return f"{low}–{high}年" if zh else f"from {low} to {high}"
    if low is not None:
        return f"{low}年以后" if zh else f"from {low} on"
    if high is not None:
        return f"{high}年以前" if zh else f"up to {high}"
    return ""


def language_text(code: str | None, language: str) -> str:
    if not code:
        return ""
    en, zh = LANGUAGE_NAMES.get(code, (code, code))
    return zh if language == "zh" else f"in {en}"


def _ordered(bounds: tuple[Bound, ...], words: CatalogWords) -> list[Bound]:
    return sorted(bounds, key=lambda b: reading_order(b.name, words.facets))


def _genres(req: Request) -> list[str]:
    """The genres to name: those asked for, less what this message's critiques imply ("funnier": comedy)."""
    implied = {g for c in req.critiques if c in ATTRIBUTES for g in ATTRIBUTES[c].genres}
    return [g for g in req.genres if g not in implied]


def _noun(req: Request, words: CatalogWords, language: str) -> str:
    kind = req.kind or words.only_kind()
    if language == "zh":
        return words.kind_noun(kind, "zh") or "作品"
    return words.kind_noun(kind, "en", many=True) or "picks"


def _en(req: Request, words: CatalogWords) -> str:
    noun = _noun(req, words, "en")
    genres = _genres(req)
    if len(genres) == 1 and genres[0].split()[-1] == noun.split()[-1].removesuffix("s"):  # "card game": card games
        noun, genres = plural(genres[0]), []
    if req.empty:
        head = f"some popular {noun} to start with"
    else:
        head = " ".join(filter(None, [" ".join(req.critiques), joined(genres, "en"), noun]))
    if req.topics:
        head += " about " + joined(req.topics[:MOST_TOPICS], "en")
    if req.people:
        head += " by " + joined(req.people, "en")
    if req.named and not (genres or req.topics or req.people):
        head += " like the one you named" if req.named == 1 else " like the ones you named"
    extra = [years_text(req.year_min, req.year_max, "en"), language_text(req.item_language, "en")]
    extra += ["for the whole family" if req.family else ""]
    extra += [bound_text(b, words.facets, "en") for b in _ordered(req.facets, words)]
    extra = [e for e in extra if e]
    if extra:
        first = extra[0]
        head += (" " if first.startswith(("for ", "with ", "from ", "in ", "up to ")) else ", ") + ", ".join(extra)
    return head + _avoided_en(req)


def _avoided_en(req: Request) -> str:
    out = ""
    if req.for_now:
        out += f", nothing {joined(req.for_now, 'en', 'or')} for now"
    if req.never:
        out += f", no {joined(req.never, 'en', 'or')}"
    if req.never_people:
        out += f", nothing by {joined(req.never_people, 'en', 'or')}"
    return out


def _zh(req: Request, words: CatalogWords) -> str:
    noun = _noun(req, words, "zh")
    genres = "、".join(words.term(g, "zh") for g in _genres(req))
    mods = [bound_text(b, words.facets, "zh") for b in _ordered(req.facets, words)]
    mods += [years_text(req.year_min, req.year_max, "zh"), language_text(req.item_language, "zh")]
    mods += ["适合全家" if req.family else ""]
    mods += [f"关于{joined([words.term(t, 'zh') for t in req.topics[:MOST_TOPICS]], 'zh')}" if req.topics else ""]
    mods += [f"出自{joined(req.people, 'zh')}之手" if req.people else ""]
    mods += [CRITIQUE_ZH.get(c, c) for c in req.critiques]
    if req.named and not (genres or req.topics or req.people):
        mods.append("和你提到的作品相近")
    mods = [m for m in mods if m]
    body = "推荐" + ("、".join(mods) + "的" if mods else "") + genres + noun
    if req.empty:
        body = f"先推荐一些热门{noun}"
    if req.for_now:
        body += "，暂时不要" + joined([words.term(g, "zh") for g in req.for_now], "zh", "or")
    if req.never:
        body += "，不要" + joined([words.term(g, "zh") for g in req.never], "zh", "or")
    if req.never_people:
        body += "，不要" + joined(req.never_people, "zh", "or") + "的作品"
    return body
