"""Understanding a message without a language model: mentioned titles, negations, kinds, genres and interest words."""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace

from chatrec.catalog.database import CatalogDB
from chatrec.catalog.facets import Bound, FacetSpec
from chatrec.catalog.items import Item
from chatrec.reading.critiques import ATTRIBUTES, find_critiques, find_item_language, find_years, wants_family
from chatrec.reading.facet_words import compared_with, read_facets, tighter
from chatrec.reading.language import CJK, detect_language
from chatrec.reading.lexicon import (
    EN_STOPWORDS,
    GENRE_WORDS,
    KIND_PATTERNS,
    KIND_WORDS,
    ZH_FILLERS,
    canonical_genre,
)
from chatrec.reading.title_file import FilePeopleKeys, FileTitleKeys
from chatrec.reading.titles import NOT_TITLES, PeopleIndex, Span, TitleIndex, norm, unknown_titles

RECENT_YEARS = 20  # "something newer", with no title to compare with, means from the last 20 years
CLAUSE_END = r"(?=[,.;:!?，。；：！？、]|\s+(?:and|but|or|please|though)\b|和|但|也|$)"
EN_NEGATION = re.compile(
    r"\b(?:not(?!\s+(?:yet|seen|heard|watched|read|sure|been|had|have|done|able|really|quite|much|many|that|very|so|too|only|just|bad)\b)|"
    r"no(?:\s+more)?|nothing(?:\s+(?:with|by|from|starring|featuring|about|like))?|without|except|"
    r"anything\s+but|none\s+of|avoid|skip|hate|dislike|(?:do\s+not|don't|dont)\s+(?:want|like|need|show\s+me)|"
    r"not\s+(?:a\s+(?:big\s+)?fan\s+of|into|big\s+on|keen\s+on)|can'?t\s+stand|cannot\s+stand|"
    r"(?:can'?t|cannot|won'?t|doesn'?t|don'?t|dont)\s+(?:really\s+)?(?:do|handle|stomach|deal\s+with))\s+"
    r"(?P<what>.+?(?:\s+n?or\s+[^,.;:!?，。；：！？]+?)?)" + CLAUSE_END,  # "no horror or thrillers": both
    re.IGNORECASE,
)
ZH_NEGATION = re.compile(
    r"(?:不要|不想要|不想看|不看|别再?给我|别推荐|别再|不喜欢|讨厌|除了|不需要)(?P<what>.+?)(?=[,.;!?，。；！？、]|和|但|也|$)"
    r"|(?P<object>(?![我你他她咱])[\u4e00-\u9fffA-Za-z\d][\u4e00-\u9fffA-Za-z\d ·.'-]{0,30}?)(?:的)?"
    r"(?:也|都|就)?(?:先|暂时)?(?:不要了?|不想看|不看|免了|算了|(?:别|不用)推(?:荐)?了?|不用了|不考虑了?|无感|不感兴趣|不太感冒)"
    r"(?=[,.;!?，。；！？]|$)"
)
# an English object before its refusal: "jim carrey too, not a fan", "horror? hard pass"
EN_POST_NEGATION = re.compile(
    r"(?:^|(?<=[.!?;]\s))(?P<object>[\w][\w .'’-]{1,40}?)\s*(?:too|as well|either)?\s*[,:;?!-]+\s*"
    r"(?:(?:i'?m\s+)?not a (?:big )?fan|no thanks|hard pass|pass|not for me|can'?t stand (?:him|her|them|it))\b"
    r"(?!\s+(?:of|on|for)\b)"
    r"|(?:^|(?<=[.!?;,]\s)|\b(?:also|and|but|plus)\s+)(?P<said>[\w][\w .'’-]{1,40}?)\s+(?:is|are)(?:n'?t|\s+not)?\s+"
    r"(?:(?:so|way|totally|really|kinda|a bit)\s+)?(?:overrated|(?:really\s+)?(?:my|our)\s+(?:thing|cup of tea|jam))\b",
    re.IGNORECASE,
)
# a person the user has read or seen all of ("seen every Miyazaki film", "张艺谋的片子基本都看遍了"): not theirs
EN_SEEN_ALL = re.compile(
    r"\b(?:seen|watched|read|played)\s+(?:every(?:thing)?|all)(?:\s+single)?(?:\s+of)?\s+(?:the\s+)?"
    r"(?P<who>[\w .'-]+?)(?:['’]s)?\s+(?:films?|movies?|books?|novels?|stuff|games?|work|shows?)\b"
    r"|\b(?:seen|watched|read|played|own|have)\s+(?:(?:pretty much|basically|almost|nearly)\s+)?"
    r"(?:all|everything)\s+(?:by|from)\s+(?P<by>[\w .'-]+?)(?:\s+already)?" + CLAUSE_END,
    re.IGNORECASE,
)
ZH_SEEN_ALL = re.compile(
    r"(?P<who>(?![我你他她咱])[\u4e00-\u9fffA-Za-z][\u4e00-\u9fffA-Za-z ·.]{0,20}?)的"
    r"(?:片子|电影|书|小说|作品|游戏|剧)?(?:我们?)?(?:基本上?|几乎|差不多)?(?:都|全)?(?:看遍了|看过了|读过了|玩过了|看完了|读完了|玩遍了)"
)
# turning away for now ("tired of", "enough", "看腻了"): interest moves away and the genre is avoided softly
EN_TURN_AWAY = re.compile(
    r"\b(?:tired of|sick of|bored (?:of|with)|fed up with|done with|had enough of|enough of|enough with)"
    r"\s+(?P<what>.+?)"
    + CLAUSE_END
    + r"|(?:^|(?<=[.!?,;] ))enough\s+(?P<enough>.+?)"
    + CLAUSE_END
    + r"|\bno more\s+(?P<later>.+?)\s+for (?:now|a while|tonight)",
    re.IGNORECASE,
)
ZH_TURN_AWAY = re.compile(
    r"(?:不想再看|不想再要|不想再读|厌倦了|受够了|看腻了|看够了|读腻了|看烦了|腻了)(?P<what>.+?)"
    r"(?=[,.;!?，。；！？、]|和|但|也|$)"
    r"|(?P<before>(?![我你他她咱])[\u4e00-\u9fff]{1,8}?)(?:看腻了|看够了|读腻了|看烦了|腻了|受够了)"
    r"|(?:没那么|不那么|少一点|少点|别太|不要太)(?P<less>吓人|恐怖|黑暗|暴力|血腥|压抑|沉重|悲伤|虐)"
    r"|(?:今晚|今天|这次|暂时|先)?不想(?:被)?(?P<scared>吓到|吓着|被吓|害怕|做噩梦)"  # "今晚不想被吓到": for now
)
# "a lot less scary": turned away from for now, like "tired of"
EN_LESS = re.compile(
    r"\b(?:(?:a\s+)?(?:lot|bit|little|tad)\s+)?less\s+(?P<what>scary|dark|violent|gory|grim|sad|depressing|creepy|"
    r"intense|bleak|disturbing|spooky)\b|\bnot\s+as\s+(?P<as>scary|dark|violent|gory|sad|creepy|intense)\b",
    re.IGNORECASE,
)
QUESTION_LEAD = re.compile(
    r"\b(?:have|has|did|do)\s+you\s+(?:ever\s+)?(?:seen|watched|read|heard of|tried)\b|\bwhat about\b|\bhow about\b|"
    r"\b(?:haven'?t|have not|never|not)\s+(?:yet\s+)?(?:seen|watched|read|heard of)\b|\bis it (?:any )?good\b|"
    r"\bheard (?:good things )?(?:of|about)\b|\b(?:want|wanted|meaning|plan|planning|going) to (?:see|watch|read)\b|"
    r"\bon my (?:list|watchlist)\b|\b(?:have|has)\s+yet\s+to\b|\bstill (?:need|have) to (?:see|watch|read)\b|"
    r"\bheard\b|\b(?:sounds|looks)\s+(?:really\s+|so\s+)?(?:good|great|interesting|fun|cool|awesome|amazing)\b|"
    r"\b(?:will|i'?ll|gonna|going to)\s+(?:check|look|watch|see)\b|\bcheck (?:it|that|them) out\b|"
    r"没看过|没读过|看过吗|读过吗|怎么样|想看|打算看|听说|听起来",
    re.IGNORECASE,
)
INSTEAD = re.compile(
    r"\b(?:instead|rather|single|just (?:a|one)|only (?:a|one)|no time for|don'?t have time)\b|"
    r"改看|换成|就好|没时间|不想追",
    re.I,
)
REFERENCE = re.compile(r"\b(?:the|that|this)\s+(?:book|novel|movie|film|series|show)\b|那部电影|那本书", re.I)
WANTS_NEW = re.compile(
    r"\b(?:more|other|others|another|else|different|new ones?|anything new|instead)\b|"
    r"另外|别的|其他|换一批|换几|换个|更多|还有什么|还有吗|再来|再推荐",
    re.I,
)
MORE_LIKE = re.compile(r"\b(?:like (?:it|that|this|those|these|them)|similar)\b|类似|相似|差不多的|这样的|那样的", re.I)
SENTENCE = re.compile(r"[^.!?。！？]+[.!?。！？]*")
FILLER_EN = re.compile(
    r"\b(?:any|anything|more|some|the|a|an|movies?|films?|books?|novels?|shows?|series|stuff|things?|ones?|"
    r"with|by|from|about|starring|featuring|too|please|again|at all|really|very|so)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Understanding:
    """What one message says, as data the tracker and recommender can use."""

    language: str
    positive_text: str  # the message with negated clauses cut out (what to embed)
    mentioned: tuple[str, ...] = ()  # item ids named positively
    avoided_items: tuple[str, ...] = ()  # item ids named in a negation
    liked_genres: tuple[str, ...] = ()
    avoided_genres: tuple[str, ...] = ()
    avoided_people: tuple[str, ...] = ()
    negative_phrases: tuple[str, ...] = ()  # negated words that matched nothing in the catalog
    kind: str | None = None
    terms: tuple[str, ...] = ()  # interest words, for explanations and the profile
    liked_people: tuple[str, ...] = ()  # full names of creators or cast asked for
    decades: tuple[int, ...] = ()  # decades asked for ('80s' -> 1980)
    asked: tuple[str, ...] = ()  # named items asked about ("have you seen X?"): not known to the user
    soft_avoided_genres: tuple[str, ...] = ()  # turned away from for now ("tired of scary stuff")
    critiques: tuple[str, ...] = ()  # "funnier", "lighter", "older", ... (see `critiques`)
    year_min: int | None = None  # constraints stated in this message
    year_max: int | None = None
    item_language: str | None = None
    family: bool = False  # for the whole family / for kids
    wants_new: bool = False  # asks for more or other items than those shown ("any others?")
    facet_bounds: tuple[Bound, ...] = ()  # "two player", "under 30 minutes", "not too heavy" (catalog/facets.py)
    senses: tuple[str, ...] = ()  # every item titled like one named positively (the book and the film of a title)
    unknown: tuple[str, ...] = ()  # titles the message names that the catalog does not have ("like Heat")
    other_creators: bool = False  # asks for other directors, authors, designers than those so far
    reset: bool = False  # "forget that, start over": the conversation so far no longer counts
    named_genres: tuple[str, ...] = ()  # genres the message names itself (`liked_genres` less what critiques imply)
    either: bool = False  # names genres as alternatives ("horror or comedy"), not together ("a funny horror")
    more_like: bool = False  # asks for more like what was named or shown ("more like it", "类似的"): refines
    shifts: bool = False  # says it moves on ("now", "instead", "现在", "换成"): what it names replaces the topic


DECADE = re.compile(r"(?<![\w'’])(?:19([5-9])0|20([01])0|['’]?([5-9])0)['’]?s\b", re.IGNORECASE)


def find_decades(text: str) -> list[int]:
    """Decades named like '80s', "'90s", '1990s' or '2000s' (1950-2010), as their first year."""
    out = []
    for m in DECADE.finditer(text):
        if m.group(1):
            out.append(1900 + 10 * int(m.group(1)))
        elif m.group(2):
            out.append(2000 + 10 * int(m.group(2)))
        else:
            out.append(1900 + 10 * int(m.group(3)))
    return list(dict.fromkeys(out))


def find_genres(text: str, known: set[str], words_of: dict[str, tuple[str, ...]] | None = None) -> list[str]:
    """Catalog genres named in `text` through their English or Chinese words (`words_of`: the catalog's own words
    for its genres beside the bundled lists, `catalog_genre_words`)."""
    key = f" {norm(text)} "
    found = []
    for genre, words in (words_of or GENRE_WORDS).items():
        if genre in known and any((w in key) if CJK.search(w) else (f" {w} " in key) for w in words):
            found.append(genre)
    return found


def catalog_genre_words(items: Iterable[Item]) -> dict[str, tuple[str, ...]]:
    """The words for every genre the catalog uses: the bundled lists', and the catalog's own name for a genre they
    do not know ("party", "card game") with its plural and the rows' Chinese names (`genres_zh`)."""
    out = {g: tuple(words) for g, words in GENRE_WORDS.items()}
    for item in items:
        for index, genre in enumerate(item.genres):
            canon = canonical_genre(genre)
            if canon in GENRE_WORDS and index >= len(item.genres_zh):
                continue
            own = [norm(canon), norm(canon) + "s"] if canon not in GENRE_WORDS else []
            zh = [norm(item.genres_zh[index])] if index < len(item.genres_zh) else []
            out[canon] = tuple(dict.fromkeys([*out.get(canon, ()), *own, *zh]))
    return out


def find_kind(text: str, known: set[str]) -> str | None:
    """The one kind of item asked for ('movie', 'book', ...), if the message names exactly one ("the book Dune"
    names a title, not what is asked for)."""
    text = REFERENCE.sub(" ", text)
    key = f" {norm(text)} "
    kinds = {
        kind
        for kind, words in KIND_WORDS.items()
        if kind in known and any((w in key) if CJK.search(w) else (f" {w} " in key) for w in words)
    }
    kinds |= {kind for kind, pattern in KIND_PATTERNS.items() if kind in known and pattern.search(text)}
    said_only = {m.group(1) or m.group(2) for m in ONLY_KIND.finditer(key)}
    only = {k for k in kinds if said_only & set(KIND_WORDS.get(k, ()))}
    if len(only) == 1:  # "movies only btw, we don't have time to start a series"
        return only.pop()
    if ANY_KIND.search(text):  # "documentaries; series are fine too"
        return None
    if len(kinds) > 1 and INSTEAD.search(text):  # "no time for a whole series: a single film" asks for the last
        return max(kinds, key=lambda kind: _last_at(key, kind))
    return kinds.pop() if len(kinds) == 1 else None


# a word said as the only kind wanted, in normalised text ("movies only", "only books", "just films")
ONLY_KIND = re.compile(r"(?<= )(?:(\w+) only|(?:only|just) (\w+))(?= )")


ANY_KIND = re.compile(
    r"\b(?:movies?|films?|books?|novels?|series|shows?|tv)\s+(?:is|are)\s+(?:fine|ok|okay|good)\s+too\b|"
    r"\b(?:a|either)\s+(?:movie|film|book|show|series)\s+or\s+(?:a\s+)?(?:movie|film|book|show|series)\b|"
    r"\beither (?:is|works)\b|电影(?:或|和|还是)剧都(?:行|可以)|(?:剧|电影|书)也(?:行|可以)",
    re.I,
)


COMPARED = {
    "older": re.compile(r"\b(?:older|earlier)\s+than\b|比.{1,30}?(?:老|早|旧)", re.I),
    "newer": re.compile(r"\b(?:newer|more recent|later)\s+than\b|比.{1,30}?(?:新|晚)", re.I),
}


def _anchored(critiques: tuple[str, ...], text: str) -> tuple[str, ...]:
    """Critiques, less "newer" when the message asks for older than something (and the reverse): "older than
    Jurassic World, the newer ones feel too CGI" asks for older ones only."""
    said = {c for c, pattern in COMPARED.items() if pattern.search(text)}
    if len(said) != 1:
        return critiques
    other = "newer" if said == {"older"} else "older"
    return tuple(c for c in critiques if c != other)


def _last_at(key: str, kind: str) -> int:
    """Where a word for `kind` last stands in the normalised text (-1: nowhere)."""
    return max(((key.rfind(w) if CJK.search(w) else key.rfind(f" {w} ")) for w in KIND_WORDS.get(kind, ())), default=-1)


# said of a title the user knows, even in a question that asks for more ("I loved X, anything similar?")
KNOWN_MARK = re.compile(
    r"\b(?:loved|love|liked|enjoyed|adored|seen|watched|read|finished|favou?rites?|is the best|was great|is great|"
    r"binged|binge-?watched|rewatched|already|tried|played|own)\b|"
    r"看过|读过|玩过|喜欢|爱看|看完|读完|最好看|最爱|神作|太好看|刷过|追过|玩腻",
    re.I,
)
REPLY_LANGUAGE = re.compile(
    r"\b(?:answer|reply|respond|write|talk|speak|chat|switch)\w*\s+(?:to me\s+|back\s+)?in\s+\w+|"
    r"\bin\s+(?:english|chinese),?\s*please\b|"
    r"(?:用|换成|改用|说)(?:中文|英文|英语|汉语)(?:回答|回复|说|聊|吧)?|(?:中文|英文)回答",
    re.I,
)
EITHER = re.compile(r"\b(?:or|either)\b|或者|或是|还是|要么", re.I)
SHIFT = re.compile(
    r"\b(?:now|instead|switch|change of|rather|actually|tonight i'?d)\b|现在|换成|改看|换个|换点|算了|不如|睡了", re.I
)
RESET = re.compile(
    r"\b(?:forget (?:all (?:of )?)?(?:that|everything|what i said)|let'?s start (?:over|again|afresh)|start over|"
    r"start from scratch|scratch that|let'?s reset|clean slate)\b|"
    r"重新开始|从头开始|从头来|重来|忘了(?:刚才|之前|前面|我说的)|忘掉(?:刚才|之前|前面)|刚才(?:说的)?都不算|之前的都不算",
    re.I,
)
OTHER_CREATORS = re.compile(
    r"\b(?:other|different|another|new)\s+(?:directors?|authors?|writers?|creators?|designers?|filmmakers?)\b|"
    r"\bby (?:someone|somebody|anyone) else\b|\bnot by (?:him|her|them|the same)\b|"
    r"(?:别的|其他|其它|换个|换别的|不同的)(?:导演|作者|作家|设计师)|(?:其他|其它|别)人的",
    re.I,
)


COMPARED_WITH = re.compile(r"(?:\bthan|比)\s*$", re.I)  # "older than Titanic": the measure, not asked about


def asked_about(text: str, spans: list[Span]) -> list[str]:
    """Items named in a question or as not yet seen ("Have you seen X?", "I haven't read X"): the user does not know
    them, so they may be recommended."""
    asked: list[str] = []
    for sentence in SENTENCE.finditer(text):
        inside = [
            s.item_id
            for s in spans
            if sentence.start() <= s.start < sentence.end() and not COMPARED_WITH.search(text[: s.start])
        ]
        said = sentence.group()
        question = said.rstrip().endswith(("?", "？")) and not KNOWN_MARK.search(said)
        if inside and (question or QUESTION_LEAD.search(said)):
            asked += inside
    return list(dict.fromkeys(asked))


def split_turns(message: str) -> tuple[str, list[str], list[str]]:
    """(the message without its negated and turned-away clauses, the negated phrases, the turned-away phrases)."""
    hard: list[str] = []
    soft: list[str] = []

    def cut_into(found: list[str]):  # type: ignore[no-untyped-def]
        def cut(match: re.Match[str]) -> str:
            what = next((g for g in match.groups() if g), "")
            found.append(what.strip())
            return " "

        return cut

    text = ZH_TURN_AWAY.sub(cut_into(soft), EN_TURN_AWAY.sub(cut_into(soft), EN_LESS.sub(cut_into(soft), message)))
    text = EN_POST_NEGATION.sub(cut_into(hard), text)
    positive = ZH_NEGATION.sub(cut_into(hard), EN_NEGATION.sub(cut_into(hard), text))
    return " ".join(positive.split()), [p for p in hard if p], [p for p in soft if p]


def core_words(phrase: str) -> str:
    """A phrase without filler words: 'no more superhero movies' -> 'superhero'."""
    text = FILLER_EN.sub(" ", phrase)
    for filler in ZH_FILLERS:
        text = text.replace(filler, " ")
    return " ".join(text.split())


class Vocabulary:
    """The catalog's own words for interests: genres (canonical names), tags and people. Interest terms are only
    ever these, so the profile panel and the reasons never show a title, a filler word or a typo back."""

    def __init__(self, items: Iterable[Item], genres: set[str]) -> None:
        items = list(items)
        self.genres = genres
        self.people = {norm(p) for p in {p for it in items for p in (*it.creators, *it.cast)}}  # each name once
        self.tags: dict[str, str] = {}
        self.cjk_tags: list[str] = []
        for tag in dict.fromkeys(t for item in items for t in item.tags):  # each tag once, in catalog order
            key = norm(tag)
            if not key or canonical_genre(tag) in genres or key in KIND_TERMS:
                continue
            if CJK.search(key):
                if len(key) >= 2:
                    self.cjk_tags.append(key)
                    self.tags.setdefault(key, tag)
            elif len(key) >= 3 and key not in EN_STOPWORDS:
                self.tags.setdefault(key, tag)
        self.cjk_tags = sorted(set(self.cjk_tags), key=len, reverse=True)
        self.max_words = max((len(k.split()) for k in self.tags if not CJK.search(k)), default=1)

    def tags_in(self, text: str) -> list[str]:
        """Catalog tags the text names, longest first where they overlap."""
        words = norm(text).split()
        found: list[str] = []
        used = [False] * len(words)
        for n in range(min(self.max_words, 4), 0, -1):
            for i in range(len(words) - n + 1):
                key = " ".join(words[i : i + n])
                if not any(used[i : i + n]) and key in self.tags and not CJK.search(key):
                    found.append(self.tags[key])
                    used[i : i + n] = [True] * n
        lowered = norm(text)
        for key in self.cjk_tags:
            if key in lowered:
                found.append(self.tags[key])
                lowered = lowered.replace(key, " ")
        return list(dict.fromkeys(found))

    def __contains__(self, term: str) -> bool:
        return term in self.genres or norm(term) in self.tags or norm(term) in self.people


KIND_TERMS = frozenset(norm(w) for words in KIND_WORDS.values() for w in words)


def interest_terms(rest: str, genres: list[str], people: list[str], vocabulary: Vocabulary) -> list[str]:
    """What the user cares about, in the catalog's words: the genres asked for (canonical names), the catalog tags
    the message names and the people it names."""
    return list(dict.fromkeys([*genres, *vocabulary.tags_in(rest), *people]))


def _cut(text: str, spans: Iterable[tuple[int, int]]) -> str:
    """`text` with the spans blanked out."""
    out = text
    for start, end in sorted(spans, reverse=True):
        out = out[:start] + " " + out[end:]
    return out


def _with_values(specs: dict[str, FacetSpec], items: list[Item]) -> dict[str, FacetSpec]:
    """List and string facets know every value the catalog's rows use (beside the sidecar's Chinese names)."""
    out = dict(specs)
    for name, spec in specs.items():
        if spec.type not in ("list", "string"):
            continue
        values: set[str] = set()
        for it in items:
            v = it.facet(name)
            if isinstance(v, str):
                values.add(v)
            elif isinstance(v, tuple):
                values.update(x for x in v if isinstance(x, str))
        zh = dict(spec.zh)
        out[name] = replace(spec, zh=tuple(sorted({**{v: "" for v in values}, **zh}.items())))
    return out


def _gaps(spans: list[Span], length: int) -> list[tuple[int, int]]:
    """The stretches of text between title spans."""
    gaps, at = [], 0
    for span in spans:
        if span.start > at:
            gaps.append((at, span.start))
        at = max(at, span.end)
    return [*gaps, (at, length)]


class Understander:
    """Reads messages against one catalog; deterministic and fast (no generative model)."""

    def __init__(
        self, items: list[Item], facets: dict[str, FacetSpec] | None = None, catalog_db: CatalogDB | None = None
    ) -> None:
        self.items = {it.id: it for it in items}
        self.facets = _with_values(facets or {}, items)
        if catalog_db is not None:  # the keys ingest wrote into the data folder's catalog file, looked up per message
            self.titles = TitleIndex(keys=FileTitleKeys(catalog_db))
            self.people = PeopleIndex(keys=FilePeopleKeys(catalog_db))
        else:
            self.titles, self.people = TitleIndex(items), PeopleIndex(items)
        self.genres = {canonical_genre(g) for it in items for g in it.genres}  # what find_genres can name
        self.genre_words = catalog_genre_words(items)
        self.kinds = {it.kind for it in items if it.kind}
        self.languages = {it.language for it in items if it.language}
        self.vocabulary = Vocabulary(items, self.genres)

    def read(self, message: str, fuzzy: bool = True) -> Understanding:
        scalar = {n: f for n, f in self.facets.items() if f.type not in ("list", "string")}
        stated = read_facets(message, scalar)
        message_read = _cut(message, stated.spans)  # "not too heavy" is a bound, never an interest or a negation
        done_with, spans_done = self._seen_all_of(message_read)
        message_read = _cut(message_read, spans_done)
        positive, negated, turned = split_turns(message_read)
        listed = read_facets(positive, {n: f for n, f in self.facets.items() if n not in scalar})
        bounds = [*stated.bounds, *listed.bounds]
        spans = self.titles.spans(positive, fuzzy=fuzzy)
        mentioned = self._in_context(list(dict.fromkeys(s.item_id for s in spans)), positive)
        rest = "".join(positive[a:b] for a, b in _gaps(spans, len(positive)))
        avoided_items: list[str] = []
        avoided_genres: list[str] = []
        avoided_people: list[str] = list(done_with)
        leftovers: list[str] = []
        for phrase in negated:
            core = core_words(phrase) or phrase
            hits_g = find_genres(core, self.genres, self.genre_words)
            hits_p = self.people.find(core)
            hits_i = self.titles.find(phrase, fuzzy=fuzzy)
            avoided_genres += hits_g
            avoided_people += hits_p
            avoided_items += hits_i
            if not (hits_g or hits_p or hits_i) and len(core) >= 3 and norm(core) not in NOT_TITLES:
                leftovers.append(core)
        soft_genres: list[str] = []
        for phrase in turned:
            core = core_words(phrase) or phrase
            found = find_genres(core, self.genres, self.genre_words)
            soft_genres += found
            if not found and len(core) >= 2:
                leftovers.append(core)
        critiques = _anchored(find_critiques(positive), positive)
        liked_genres = [
            g
            for g in find_genres(positive, self.genres, self.genre_words)
            if g not in avoided_genres and g not in soft_genres
        ]
        named_genres = list(liked_genres)
        for name in critiques:  # what a critique implies counts for this message only (`terms`): not remembered
            if name in ATTRIBUTES:
                liked_genres += [g for g in ATTRIBUTES[name].genres if g in self.genres and g not in liked_genres]
        family = wants_family(positive)
        if family and "family" in self.genres and "family" not in liked_genres:
            liked_genres.append("family")
        if family and "family" in self.genres and "family" not in named_genres:
            named_genres.append("family")
        year_min, year_max = find_years(positive)
        for phrase in negated:  # "nothing older than 1990", "不要1990年以前的": the other side of that year
            low, high = find_years(phrase)
            if high is not None and low is None and year_min is None:
                year_min = high + 1
            elif low is not None and high is None and year_max is None:
                year_max = low - 1
        anchor = next((self.items[i].year for i in mentioned if self.items[i].year), None)
        if mentioned:  # "lighter than Gloomhaven": the named item's facets are the measure
            compared = compared_with(positive, scalar, dict(self.items[mentioned[0]].facets))
            bounds = [tighter(b, next((c for c in compared if c.name == b.name), None)) for b in bounds]
            bounds += [c for c in compared if c.name not in {b.name for b in bounds}]
        if anchor and "older" in critiques:
            year_max = min(year_max or anchor - 1, anchor - 1)
        if anchor and "newer" in critiques:
            year_min = max(year_min or anchor + 1, anchor + 1)
        elif "newer" in critiques and year_min is None:  # newer than nothing named: from the last RECENT_YEARS
            year_min = datetime.date.today().year - RECENT_YEARS
        language = detect_language(message)
        people = [p for p in self.people.find(rest, full_names_only=True) if p not in avoided_people]
        if OTHER_CREATORS.search(positive):  # "like Spielberg's, but from other directors": not theirs
            avoided_people, people = [*avoided_people, *self.people.find(rest)], []
        kind = find_kind(positive, self.kinds)
        if (
            kind is None and not core_words(positive).strip(" ,.;!?，。！？") and negated
        ):  # "不要恐怖片": films, not horror
            kind = find_kind(" ".join(negated), self.kinds)
        named_kinds = {self.items[i].kind for i in mentioned if self.items[i].kind}
        if kind is None and len(named_kinds) == 1:  # "like Inception" asks for films
            kind = named_kinds.pop()
        return Understanding(
            language=language,
            positive_text=positive,
            mentioned=tuple(mentioned),
            avoided_items=tuple(dict.fromkeys(avoided_items)),
            liked_genres=tuple(liked_genres),
            named_genres=tuple(named_genres),
            shifts=bool(SHIFT.search(message)) and not (OTHER_CREATORS.search(positive) and not named_genres),
            more_like=bool(MORE_LIKE.search(positive)),
            either=bool(EITHER.search(positive)),
            avoided_genres=tuple(dict.fromkeys(avoided_genres)),
            avoided_people=tuple(dict.fromkeys(avoided_people)),
            negative_phrases=tuple(leftovers),
            kind=kind,
            terms=tuple(interest_terms(rest, liked_genres, people, self.vocabulary)),
            liked_people=tuple(people),
            decades=tuple(find_decades(rest)),
            asked=tuple(asked_about(positive, spans)),
            soft_avoided_genres=tuple(dict.fromkeys(g for g in soft_genres if g not in avoided_genres)),
            critiques=critiques,
            year_min=year_min,
            year_max=year_max,
            item_language=self._item_language(positive),
            family=family,
            wants_new=bool(WANTS_NEW.search(message)),
            facet_bounds=tuple(bounds),
            senses=tuple(self.senses(mentioned)),
            unknown=tuple(unknown_titles(positive, spans, self._known_word)),
            other_creators=bool(OTHER_CREATORS.search(positive)),
            reset=bool(RESET.search(message)),
        )

    def _seen_all_of(self, text: str) -> tuple[list[str], list[tuple[int, int]]]:
        """People the user has seen or read all of ("seen every Miyazaki film"), and where the message says so."""
        people: list[str] = []
        spans: list[tuple[int, int]] = []
        for match in [*EN_SEEN_ALL.finditer(text), *ZH_SEEN_ALL.finditer(text)]:
            found = self.people.find(next((g for g in match.groups() if g), ""))
            if found:
                people += found
                spans.append(match.span())
        return people, spans

    def _item_language(self, text: str) -> str | None:
        """The language of the items asked for, when the catalog has items in it ("用中文回答" asks for replies in
        Chinese, not for Chinese items)."""
        code = find_item_language(REPLY_LANGUAGE.sub(" ", text))
        return code if code in self.languages else None

    def _known_word(self, phrase: str) -> bool:
        """A genre, a kind, a catalog tag or a person: not a title."""
        key = norm(phrase)
        words = key.split()
        return bool(
            find_genres(phrase, self.genres, self.genre_words)
            or self.people.find(phrase)
            or key in KIND_TERMS
            or key in self.vocabulary.tags
            or (words and all(w in EN_STOPWORDS or w in KIND_TERMS for w in words))
        )

    def _in_context(self, mentioned: list[str], text: str) -> list[str]:
        """Each named title in the sense its context gives: the kind the message asks for, else the kind of the
        other titles it names ("Interstellar and The Martian": the film)."""
        out = []
        for item_id in mentioned:
            same = self.senses([item_id])
            if len(same) > 1:
                others = {self.items[i].kind for i in mentioned if i not in same and self.items[i].kind}
                kind = find_kind(text, self.kinds) or self._referenced_kind(text)
                kind = kind or (others.pop() if len(others) == 1 else None)
                if kind is not None and self.items[item_id].kind != kind:  # a year or a kind already chose
                    item_id = next((i for i in same if self.items[i].kind == kind), item_id)
                elif kind is None and len(mentioned) == 1 and not self._chosen(item_id, text):
                    out += same  # "I loved Dune": the book and the film, until the user says which
                    continue
            out.append(item_id)
        return list(dict.fromkeys(out))

    def _chosen(self, item_id: str, text: str) -> bool:
        """Whether the message says which sense of a title it means: its only one, a kind word, or its year."""
        kinds = {self.items[i].kind for i in self.senses([item_id])}
        year = self.items[item_id].year
        said_kind = find_kind(text, self.kinds) or self._referenced_kind(text)
        return len(kinds) <= 1 or said_kind is not None or bool(year and str(year) in text)

    def _referenced_kind(self, text: str) -> str | None:
        """The kind a reference names ("the book The Martian", "那部电影"): which sense, not what is asked for."""
        found = set()
        for match in REFERENCE.finditer(text):
            word = match.group(0).split()[-1] if " " in match.group(0) else match.group(0)[-2:]  # "book", "电影"
            found.add(find_kind(word, self.kinds))
        found.discard(None)
        return found.pop() if len(found) == 1 else None

    def senses(self, ids: Iterable[str]) -> list[str]:
        """Every item that shares a title (or alias) with one of `ids`: naming The Martian names the book and the
        film, so that neither is recommended back."""
        out: list[str] = []
        for item_id in ids:
            item = self.items.get(item_id)
            if item is None:
                continue
            out += self.titles.ids_titled((item.title, *item.aliases))
        return list(dict.fromkeys(out))
