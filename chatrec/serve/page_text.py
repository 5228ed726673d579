"""Every string the web UI shows, in English and Chinese: `t(key, lang)`, and the UI language of a request or turn.

Kept free of heavy imports (no gradio, no torch): the table is plain data, tested without a browser.
"""

from __future__ import annotations

from collections.abc import Sequence

LANGS = ("en", "zh")

TEXT: dict[str, dict[str, str]] = {
    "title": {"en": "chatrec", "zh": "chatrec"},
    "intro": {
        "en": "Tell me what you like: I recommend {kinds}, and say why.",
        "zh": "告诉我你喜欢什么，我来推荐{kinds}，并说明理由。",
    },
    "intro_any": {
        "en": "Tell me what you like: I recommend from this catalog, and say why.",
        "zh": "告诉我你喜欢什么，我从这个目录里推荐，并说明理由。",
    },
    "placeholder": {"en": "Tell me what you like…", "zh": "告诉我你喜欢什么…"},
    "message_label": {"en": "Your message", "zh": "你的消息"},
    "language_label": {"en": "Language", "zh": "语言"},
    "send": {"en": "Send", "zh": "发送"},
    "examples": {"en": "Try", "zh": "试试"},
    "interests_heading": {"en": "Your interests", "zh": "你的兴趣"},
    "state_now": {"en": "Now", "zh": "现在"},
    "state_less_of": {"en": "Less of, for now", "zh": "暂时少推荐"},
    "state_never": {"en": "Never", "zh": "不要"},
    "state_named": {"en": "What you named", "zh": "你提到的"},
    "said_liked": {"en": "liked", "zh": "喜欢"},
    "remove": {"en": "Remove “{what}”", "zh": "移除“{what}”"},
    "empty_panel": {"en": "Nothing yet: tell me what you like.", "zh": "还没有记录：告诉我你喜欢什么。"},
    "more_like_this": {"en": "More like this", "zh": "多来点这样的"},
    "not_for_me": {"en": "Not for me", "zh": "不适合我"},
    "liked_note": {"en": "Noted: more like this.", "zh": "已记下：多推荐类似的。"},
    "rejected_note": {"en": "Noted: it will not be recommended again.", "zh": "已记下：不会再推荐。"},
    "ready": {"en": "Ready", "zh": "就绪"},
    "writing": {"en": "Writing…", "zh": "正在回复…"},
    "busy": {"en": "Busy right now: here are quick picks", "zh": "现在有点忙，先给你几个推荐"},
    "queued": {
        "en": "Queued: I will answer this right after the current reply.",
        "zh": "排队中：写完上一条回复就回答这条。",
    },
    "forget": {"en": "Forget me", "zh": "删除我的记录"},
    "forget_confirm": {
        "en": "Delete everything chatrec remembers about you?",
        "zh": "要删除我们记住的关于你的一切吗？",
    },
    "forget_yes": {"en": "Yes, forget me", "zh": "确定删除"},
    "forget_cancel": {"en": "Cancel", "zh": "取消"},
    "forgotten": {"en": "Done: everything about you is deleted.", "zh": "已删除：关于你的记录都清空了。"},
    "sorry": {
        "en": "Sorry, something went wrong on our side. Please try again.",
        "zh": "抱歉，我们这边出了点问题，请再试一次。",
    },
    "no_session": {"en": "Your session has expired: reload the page.", "zh": "会话已过期：请刷新页面。"},
    "store_down": {
        "en": "The catalog index is unavailable right now; the operator has been told. Please try again later.",
        "zh": "目录索引暂时不可用，已通知管理员，请稍后再试。",
    },
    "too_long": {
        "en": "The message is too long (the limit is {limit} characters). Nothing was changed.",
        "zh": "消息太长了（上限 {limit} 个字符），没有做任何改动。",
    },
    "bad_message": {
        "en": "I could not read that message: please write it another way.",
        "zh": "这条消息无法处理：请换个说法再试。",
    },
}

EXAMPLES: dict[str, tuple[str, ...]] = {
    "en": ("I love space exploration films", "A funny TV series, but no horror", "Some detective novels, please"),
    "zh": ("我喜欢太空探索的电影", "推荐几本武侠小说", "来部搞笑的剧集，不要恐怖的"),
}


def lang_or_default(lang: str | None) -> str:
    """`lang` when it is a UI language, else English."""
    return lang if lang in LANGS else "en"


def t(key: str, lang: str | None, **values: str) -> str:
    """The UI string `key` in `lang` ("en" or "zh"; anything else reads as English); a missing key raises KeyError."""
    text = TEXT[key][lang_or_default(lang)]
    return text.format(**values) if values else text


MEDIA = {"movie", "book", "series", "tv", "tv series", "film", "novel"}  # the kinds the bundled examples speak of


def examples(lang: str | None, kinds: Sequence[str] = (), genres: Sequence[tuple[str, str]] = ()) -> tuple[str, ...]:
    """The example messages: the bundled ones for a catalog of films, books and series; for another catalog, three
    made of its own most common kind and `genres` ((English, Chinese) names, most common first), or of the kind alone
    when fewer than three genres have names in both languages."""
    lang = lang_or_default(lang)
    if not kinds or set(kinds) <= MEDIA:
        return EXAMPLES[lang]
    from chatrec.catalog.kinds import kind_name

    kind, one, many = kind_name(kinds[0], "zh"), kind_name(kinds[0], "en"), kind_name(kinds[0], "en", plural=True)
    if len(genres) < 3:
        if lang == "zh":
            return (f"推荐一些{kind}", f"来个热门的{kind}", "有什么新鲜的推荐？")
        return (f"Recommend some {many}", f"A popular {one}, please", "Something new to try")
    (g1, z1), (g2, z2), (g3, z3) = genres[:3]
    if lang == "zh":
        return (f"推荐一些{z1}{kind}", f"有没有{z2}类的{kind}？", f"我喜欢{z3}{kind}")
    return (f"Some {g1} {many}, please", f"A {g2} {one}", f"I like {g3} {many}")


def lang_of_header(accept_language: str | None) -> str:
    """The UI language for a browser's Accept-Language header: Chinese when its first language is zh*, else English."""
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip().lower()
        if tag and tag != "*":
            return "zh" if tag.startswith("zh") else "en"
    return "en"


def kind_name(kind: str, lang: str | None) -> str:
    """An item kind ("movie", "board game") as the user reads it (chatrec/catalog/kinds.py's glossary)."""
    from chatrec.catalog.kinds import kind_name as named

    return named(kind, lang_or_default(lang))


def intro(kinds: Sequence[str], lang: str | None) -> str:
    """The header's line: what this catalog recommends, in its own kinds, most common first."""
    from chatrec.catalog.kinds import kinds_phrase

    phrase = kinds_phrase(kinds, lang_or_default(lang))
    return t("intro", lang, kinds=phrase) if phrase else t("intro_any", lang)


def genre_name(genre: str, lang: str | None) -> str:
    """A genre as the user reads it: Chinese sessions get the Chinese genre word where one is known."""
    if lang_or_default(lang) == "zh":
        from chatrec.reading.lexicon import GENRE_ZH, canonical_genre

        return GENRE_ZH.get(canonical_genre(genre), genre)
    return genre
