"""The catalog's own words in the user's language: its kinds (what the prompts and replies call its items), and
its genres, tags and facet values in Chinese where the catalog or a small bundled glossary names them.

Built once per catalog (`CatalogWords.of`); everything after that is a lookup. A word with no Chinese name is
shown as the catalog writes it: never translated by guess.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from chatrec.catalog.facets import FacetSpec
from chatrec.catalog.items import Item
from chatrec.reading.language import CJK
from chatrec.reading.lexicon import GENRE_WORDS, GENRE_ZH, canonical_genre

KIND_ZH = {"movie": "电影", "book": "书", "series": "剧集", "board game": "桌游", "music": "音乐", "product": "商品"}
KIND_PLURAL = {"series": "series", "music": "music"}  # the rest take an s
MEASURE_ZH = {"movie": "部", "series": "部", "book": "本", "board game": "款", "music": "首"}  # else 个
MOST_KINDS = 3  # kinds named in "a recommender of ..."

# Chinese names of genres, tags and facet values that catalogs (the board-game example among them) use and the
# reading lexicon has no Chinese word for; a catalog's own `genres_zh` and its sidecar's `zh` come first.
GLOSSARY_ZH = {
    "cooperative": "合作",
    "party": "聚会",
    "strategy": "策略",
    "dice": "骰子",
    "card game": "卡牌",
    "deck building": "卡组构筑",
    "deck-building": "卡组构筑",
    "worker placement": "工人放置",
    "family": "家庭",
    "economic": "经济",
    "abstract": "抽象",
    "puzzle": "解谜",
    "deduction": "推理",
    "word": "文字",
    "dexterity": "敏捷",
    "trivia": "问答",
    "children": "儿童",
    "drafting": "轮抽",
    "tile placement": "板块放置",
    "area control": "区域控制",
    "hand management": "手牌管理",
    "set collection": "收集套组",
    "engine building": "引擎构筑",
    "push your luck": "见好就收",
    "bluffing": "吹牛",
    "hidden roles": "隐藏身份",
    "social deduction": "社交推理",
    "roll and write": "掷骰记录",
    "legacy": "传承",
    "campaign": "战役",
    "real-time": "即时",
    "negotiation": "谈判",
    "trading": "交易",
    "auction": "拍卖",
    "route building": "路线建设",
    "memory": "记忆",
    "storytelling": "讲故事",
    "space": "太空",
    "space exploration": "太空探索",
}


def plural(kind: str) -> str:
    """'movie' -> 'movies', 'board game' -> 'board games', 'series' -> 'series'."""
    if kind in KIND_PLURAL:
        return KIND_PLURAL[kind]
    return kind if kind.endswith("s") else kind + "s"


def joined(words: Iterable[str], language: str, last: str = "and") -> str:
    """'a', 'a and b', 'a, b and c'; in Chinese 'a、b和c' (`last` 'or' gives 或)."""
    words = [w for w in words if w]
    if language == "zh":
        word = "或" if last == "or" else "和"
        return "、".join(words[:-1]) + word + words[-1] if len(words) > 1 else "".join(words)
    return f"{', '.join(words[:-1])} {last} {words[-1]}" if len(words) > 1 else "".join(words)


@dataclass(frozen=True)
class CatalogWords:
    """What one catalog calls its things, in English and Chinese."""

    kinds: tuple[str, ...] = ()  # the catalog's kinds, the most common first
    genres_zh: Mapping[str, str] = field(default_factory=dict)  # canonical genre -> the catalog's Chinese name
    facets: Mapping[str, FacetSpec] = field(default_factory=dict)
    genres: frozenset[str] = frozenset()  # every genre the catalog uses, canonical

    @classmethod
    def of(cls, items: Iterable[Item], facets: Mapping[str, FacetSpec] | None = None) -> CatalogWords:
        counts: Counter[str] = Counter()
        zh: dict[str, Counter[str]] = {}
        genres: set[str] = set()
        for item in items:
            if item.kind:
                counts[item.kind] += 1
            genres.update(canonical_genre(g) for g in item.genres)
            for genre, name in zip(item.genres, item.genres_zh):
                zh.setdefault(canonical_genre(genre), Counter())[name] += 1
        return cls(
            tuple(k for k, _ in counts.most_common()),
            {g: names.most_common(1)[0][0] for g, names in zh.items()},
            dict(facets or {}),
            frozenset(genres),
        )

    def is_genre(self, term: str) -> bool:
        """The term names a genre: one the catalog uses or the reading lexicon knows."""
        canon = canonical_genre(term)
        return canon in self.genres or canon in GENRE_WORDS

    # -- kinds ---------------------------------------------------------------------------------------------
    def kind_noun(self, kind: str | None, language: str, many: bool = False) -> str:
        """The kind as a noun: 'movie'/'movies', 'board game'/'board games', '电影', '桌游'; '' for no kind."""
        if not kind:
            return ""
        if language == "zh":
            return KIND_ZH.get(kind, kind)
        return plural(kind) if many else kind

    def only_kind(self) -> str | None:
        """The catalog's one kind, when it has exactly one (a board-game catalog's board games)."""
        return self.kinds[0] if len(self.kinds) == 1 else None

    def what(self, language: str) -> str:
        """What the catalog holds, for the prompts and the page: 'movies, books and series', 'board games',
        '电影、书和剧集', '桌游'; 'titles of one catalog' / '目录里的作品' when the catalog names no kind."""
        kinds = self.kinds[:MOST_KINDS]
        if not kinds:
            return "目录里的作品" if language == "zh" else "titles of one catalog"
        return joined([self.kind_noun(k, language, many=True) for k in kinds], language)

    @staticmethod
    def measure(kind: str | None) -> str:
        """The Chinese measure word for one item of the kind (一部电影, 一本书, 一款桌游, else 个)."""
        return MEASURE_ZH.get(kind or "", "个")

    # -- genres, tags, facet values ------------------------------------------------------------------------
    def term(self, term: str, language: str, item: Item | None = None) -> str:
        """A genre, tag, interest or facet value as the user reads it. In Chinese: the item's own `genres_zh`,
        the catalog's, the reading lexicon's genre word, the sidecar's value names, the glossary; else as the
        catalog writes it. English: as written."""
        if language != "zh" or CJK.search(term):
            return term
        canon = canonical_genre(term)
        if item is not None:
            for genre, name in zip(item.genres, item.genres_zh):
                if canonical_genre(genre) == canon and name:
                    return name
        if canon in self.genres_zh:
            return self.genres_zh[canon]
        if canon in GENRE_ZH and CJK.search(GENRE_ZH[canon]):
            return GENRE_ZH[canon]
        for spec in self.facets.values():
            named = spec.value_zh(term.lower())
            if named != term.lower():
                return named.split("/")[0]
        return GLOSSARY_ZH.get(term.lower(), GLOSSARY_ZH.get(canon, term))
