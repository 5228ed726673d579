"""Item kinds in words: a catalog's own kinds, most common first, and their names in English and Chinese."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

from chatrec.catalog.items import Item

# kind as catalogs write it -> (English, English plural, Chinese); a kind not listed is shown as written
KIND_NAMES: dict[str, tuple[str, str, str]] = {
    "movie": ("movie", "movies", "电影"),
    "film": ("film", "films", "电影"),
    "book": ("book", "books", "书"),
    "novel": ("novel", "novels", "小说"),
    "series": ("TV series", "TV series", "剧集"),
    "tv": ("TV series", "TV series", "剧集"),
    "tv series": ("TV series", "TV series", "剧集"),
    "show": ("show", "shows", "节目"),
    "documentary": ("documentary", "documentaries", "纪录片"),
    "anime": ("anime", "anime", "动画"),
    "music": ("music", "music", "音乐"),
    "album": ("album", "albums", "专辑"),
    "podcast": ("podcast", "podcasts", "播客"),
    "board game": ("board game", "board games", "桌游"),
    "boardgame": ("board game", "board games", "桌游"),
    "card game": ("card game", "card games", "卡牌游戏"),
    "game": ("game", "games", "游戏"),
    "video game": ("video game", "video games", "电子游戏"),
    "product": ("product", "products", "商品"),
    "course": ("course", "courses", "课程"),
    "recipe": ("recipe", "recipes", "菜谱"),
    "place": ("place", "places", "地方"),
}
MAX_NAMED = 4  # kinds a sentence names at most ("movies, books, TV series and podcasts")


def catalog_kinds(items: Iterable[Item]) -> list[str]:
    """The kinds of a catalog's items, most common first (ties: in file order); items without one are left out."""
    counts = Counter(item.kind.strip().lower() for item in items if item.kind.strip())
    return [kind for kind, _ in counts.most_common()]


def kind_name(kind: str, lang: str, plural: bool = False) -> str:
    """A kind as the user reads it: "board games" or "桌游"; a kind with no name known is shown as written."""
    names = KIND_NAMES.get(kind.strip().lower())
    if names is None:
        return kind
    return names[2] if lang == "zh" else names[1] if plural else names[0]


def kinds_phrase(kinds: Sequence[str], lang: str) -> str:
    """The kinds a catalog holds, as a phrase: "movies, books and TV series", "电影、书和剧集"; "" for none."""
    names = list(dict.fromkeys(kind_name(k, lang, plural=True) for k in kinds[:MAX_NAMED]))
    if len(names) <= 1:
        return names[0] if names else ""
    if lang == "zh":
        return "、".join(names[:-1]) + "和" + names[-1]
    return ", ".join(names[:-1]) + " and " + names[-1]
