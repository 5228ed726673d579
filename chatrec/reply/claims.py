"""The unsupported-claim check: a sentence about an item may only assert what that item's own row supports.

A generated sentence is about the items it names, or, when it names none ("It follows a crew..."), about the item
named last. Its claims are read with word lists, not a model: names and places (capitalised words, and planets and
places in either language), genres, kinds, years, decades and other numbers. Each must be found in the item's own
title, description, genres, tags and people; the user's own interest words may be repeated ("for your love of
horror"). The worked example in the system prompt is a known source of borrowed plots ("about a missing person in
a small town"): its titles, names and themes (`example_facts`), and the pieces of them a sentence borrows alone
(any four Chinese characters in a row, "寻找失踪"; two adjacent content words, "missing brother"), may appear only
where the item's row has them too.
`ClaimCheck.check` returns the first unsupported claim, or OK.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from chatrec.catalog.items import Item
from chatrec.reading.language import CJK
from chatrec.reading.lexicon import EN_STOPWORDS, GENRE_WORDS, KIND_WORDS, canonical_genre
from chatrec.reading.titles import norm
from chatrec.reply.grounding import GENERIC, OK, Verdict

# places and planets a small model likes to add; each entry: its spellings in both languages
PLACES: tuple[tuple[str, ...], ...] = (
    ("mars", "martian", "火星"),
    ("venus", "金星"),
    ("jupiter", "木星"),
    ("saturn", "土星"),
    ("mercury", "水星"),
    ("neptune", "海王星"),
    ("uranus", "天王星"),
    ("pluto", "冥王星"),
    ("moon", "lunar", "月球", "月亮"),
    ("america", "american", "united states", "usa", "美国"),
    ("china", "chinese", "中国"),
    ("japan", "japanese", "日本"),
    ("korea", "korean", "韩国"),
    ("india", "indian", "印度"),
    ("france", "french", "paris", "法国", "巴黎"),
    ("britain", "british", "england", "english", "london", "英国", "伦敦"),
    ("germany", "german", "berlin", "德国"),
    ("italy", "italian", "rome", "意大利", "罗马"),
    ("russia", "russian", "moscow", "俄罗斯"),
    ("new york", "纽约"),
    ("los angeles", "hollywood", "洛杉矶", "好莱坞"),
    ("tokyo", "东京"),
    ("beijing", "北京"),
    ("shanghai", "上海"),
    ("hong kong", "香港"),
    ("taiwan", "台湾"),
    ("africa", "african", "非洲"),
    ("europe", "european", "欧洲"),
    ("mexico", "mexican", "墨西哥"),
    ("egypt", "egyptian", "埃及"),
    ("vietnam", "越南"),
    ("antarctica", "南极"),
    ("arctic", "北极"),
)
# genres close enough that naming one for the other is no false claim; "drama" and "story" fit almost anything
NEAR = {
    "thriller": {"crime", "mystery", "horror", "action", "war"},
    "mystery": {"crime", "thriller"},
    "crime": {"thriller", "mystery"},
    "adventure": {"action", "fantasy", "science fiction", "animation"},
    "action": {"adventure", "thriller", "war"},
    "fantasy": {"adventure", "animation"},
    "family": {"animation"},
    "animation": {"family"},
}
LOOSE = {"drama"}
NOUNS = {"adventures", "mysteries", "romances", "comedies", "horrors", "children", "kids", "families"}  # "their
# adventures", "a family of children": nouns, not genres
DECADE = re.compile(r"(?<!\d)(?:(1[89]|20)(\d)0s|['’](\d)0s|(\d)0年代)")
NUMBER = re.compile(r"(?<![\d.])\d+(?:\.\d+)?(?:st|nd|rd|th)?(?![\d\w])")  # "her 25th anniversary": "25th"
CAPITAL = re.compile(r"(?<![\w'’])[A-Z][A-Za-z0-9À-ÖØ-öø-ɏḀ-ỿ'’\-]*")  # Latin only: "Cuarón的电影" is "Cuarón"
ZH_PREDICATE = re.compile(
    r"(?:的|是|一部|一本)([\u3400-\u9fff]{2,10}?)(?:电影|影片|小说|剧集|电视剧|作品|动画片|动画|书)"
    r"(?=[^\u3400-\u9fff]|$)"
)  # "是冯小刚的喜剧爱情电影": the genres it is called
_GENRE_FORMS = [(canonical, form) for canonical, forms in GENRE_WORDS.items() for form in forms]
_KIND_FORMS = [(kind, form) for kind, forms in KIND_WORDS.items() for form in forms]


@dataclass(frozen=True)
class Facts:
    """One item as the check reads it."""

    titles: tuple[str, ...]  # normalised title and aliases
    words: frozenset[str]  # every normalised word of its row
    text: str  # its row, normalised, with spaces around (for phrase look-ups)
    packed: str  # the same without spaces (for Chinese look-ups)
    genres: frozenset[str]  # canonical genres
    kind: str
    year: int | None
    raw_titles: tuple[str, ...] = ()  # title and aliases as written ("Shinichirō"), blanked before the checks


def facts_of(item: Item) -> Facts:
    text = norm(
        " ".join(
            [
                item.title,
                *item.aliases,
                item.description,
                *item.genres,
                *item.tags,
                *item.creators,
                *item.cast,
                item.kind,
                str(item.year or ""),
            ]
        )
    )
    return Facts(
        tuple(t for t in (norm(x) for x in (item.title, *item.aliases)) if t),
        frozenset(text.split()),
        f" {text} ",
        text.replace(" ", ""),
        frozenset(canonical_genre(g) for g in item.genres),
        item.kind,
        item.year,
        tuple(t for t in (item.title, *item.aliases) if t.strip()),
    )


@functools.lru_cache(maxsize=8)  # one system prompt per language: parsed once, not on every turn
def example_facts(system_prompt: str) -> tuple[str, ...]:
    """Titles, names and themes of the worked example's items in a system prompt ("- Title (year), kind: facts")."""
    body = re.split(r"Example input:|示例输入：", system_prompt, maxsplit=1)
    if len(body) < 2:
        return ()
    phrases: dict[str, None] = {}
    genre_forms = {norm(form) for _, form in _GENRE_FORMS} | {norm(form) for _, form in _KIND_FORMS}
    for line in re.findall(r"^- (.+)$", body[1], flags=re.MULTILINE):
        title = re.split(r"[（(]", line, maxsplit=1)[0]
        facts = re.findall(r"[\"“]([^\"”]+)[\"”]", line)
        for fact in [title, *facts]:
            fact = re.sub(r"^(?:by|about|story:|类型：|主创：|主题：|剧情：)\s*", "", fact.strip())
            for part in re.split(r"[,，、]", fact):
                key = norm(part)
                if key and not {key, key.rstrip("s")} & genre_forms and (CJK.search(key) or len(key) > 3):
                    phrases[key] = None
                    phrases.update(dict.fromkeys(pieces(key)))
    return tuple(phrases)


def pieces(phrase: str, width: int = 4) -> list[str]:
    """The parts of a normalised phrase that are borrowed alone: each run of `width` Chinese characters, or each
    pair of adjacent English content words ("a teacher searches a small town" gives "teacher searches", "small
    town"); none for a phrase that is itself that short."""
    if CJK.search(phrase):
        packed = "".join(CJK.findall(phrase))
        return [packed[i : i + width] for i in range(len(packed) - width + 1)] if len(packed) > width else []
    words = phrase.split()
    pairs = [f"{a} {b}" for a, b in zip(words, words[1:]) if a not in EN_STOPWORDS and b not in EN_STOPWORDS]
    return pairs if len(words) > 2 else []


class ClaimCheck:
    """Checks the sentences of one reply, in order, against the items it may talk about."""

    def __init__(self, items: Sequence[Item], interests: Iterable[str] = (), example: Iterable[str] = ()) -> None:
        self.facts = [facts_of(item) for item in items]
        self.allowed_words = {w for term in interests for w in norm(term).split()}
        self.interest_genres = {canonical_genre(term) for term in interests}
        self.example = tuple(example)
        self.last: list[Facts] = []

    def check(self, sentence: str) -> Verdict:
        """The verdict on the next sentence of the reply (it also moves "the item talked about" along)."""
        folded = f" {norm(sentence)} "
        named = [f for f in self.facts if any(_has(folded, t) for t in f.titles)]
        subject = named or self.last or self.facts
        if named:
            self.last = named
        rest = _strip_titles(sentence, [t for f in subject for t in (*f.raw_titles, *f.titles)])
        for check in (self._borrowed, self._names, self._places, self._genres, self._kinds, self._eras, self._numbers):
            verdict = check(rest, subject)
            if not verdict.ok:
                return verdict
        return OK

    # -- one claim kind each ------------------------------------------------------------------------------
    def _supported(self, phrase: str, subject: list[Facts]) -> bool:
        folded = norm(phrase)
        if not folded:
            return True
        if CJK.search(folded):
            return any(folded.replace(" ", "") in f.packed for f in subject)
        return any(_has(f.text, folded) or all(_word_in(w, f.words) for w in folded.split()) for f in subject)

    def _borrowed(self, text: str, subject: list[Facts]) -> Verdict:
        folded, packed = f" {norm(text)} ", norm(text).replace(" ", "")
        for phrase in self.example:
            said = (phrase.replace(" ", "") in packed) if CJK.search(phrase) else _has(folded, phrase)
            if said and not self._supported(phrase, subject):
                return Verdict(False, f"borrows {phrase!r} from the worked example")
        return OK

    def _names(self, text: str, subject: list[Facts]) -> Verdict:
        """Capitalised words inside a sentence (names, places, organisations) must come from the item's row."""
        for match in CAPITAL.finditer(text):
            word = match.group(0)
            before = text[: match.start()]
            if not before.strip() or re.search(r"[.!?:;]\s*$", before):  # the sentence's own first word
                continue
            key = norm(word)
            if not key or key in GENERIC or key in EN_STOPWORDS or key in self.allowed_words:
                continue
            if not self._supported(word, subject):
                return Verdict(False, f"says {word!r}, which the item's facts do not give")
        return OK

    def _places(self, text: str, subject: list[Facts]) -> Verdict:
        folded, packed = f" {norm(text)} ", norm(text).replace(" ", "")
        for forms in PLACES:
            said = next((f for f in forms if (f in packed if CJK.search(f) else _has(folded, f))), None)
            if said and said not in self.allowed_words and not any(self._supported(f, subject) for f in forms):
                return Verdict(False, f"places it in {said!r}, which the item's facts do not give")
        return OK

    def _genres(self, text: str, subject: list[Facts]) -> Verdict:
        """Genre words: in English anywhere; in Chinese where they name the kind ("喜剧爱情电影"), since 家庭, 历史 or
        战争 in "讲述家庭的历史故事" are topics, not genres."""
        folded = f" {norm(text)} "
        packed = " ".join(ZH_PREDICATE.findall(text))
        for canonical, form in _GENRE_FORMS:
            if canonical in LOOSE or canonical in self.interest_genres or form in self.allowed_words or form in NOUNS:
                continue
            if not (form in packed if CJK.search(form) else _has(folded, norm(form))):
                continue
            genres = set().union(*(f.genres for f in subject))
            close = genres | {g for near in genres for g in NEAR.get(near, ())}
            if canonical not in close and not self._supported(form, subject):
                return Verdict(False, f"calls it {form!r}, a genre the item does not have")
        return OK

    def _kinds(self, text: str, subject: list[Facts]) -> Verdict:
        if len({f.kind for f in subject}) != 1 or not subject[0].kind:
            return OK
        kind = subject[0].kind
        folded, packed = f" {norm(text)} ", norm(text).replace(" ", "")
        for other, form in _KIND_FORMS:
            if other == kind or len(form) < 2:
                continue
            if (form in packed if CJK.search(form) else _has(folded, form)) and not self._supported(form, subject):
                return Verdict(False, f"calls a {kind} a {form}")
        return OK

    def _eras(self, text: str, subject: list[Facts]) -> Verdict:
        years = [f.year for f in subject if f.year]
        for match in re.finditer(r"(?<!\d)(1[89]\d\d|20\d\d)(?!\d)", text):
            if match.group(0).endswith("0") and text[match.end() : match.end() + 1] in ("s", "'"):
                continue  # a decade: below
            in_row = any(re.search(rf"(?<!\d){match.group(1)}(?!\d)", f.packed) for f in subject)  # "1937年淞沪"
            if int(match.group(1)) not in years and not in_row:
                return Verdict(False, f"gives the year {match.group(1)}, which is not the item's")
        for match in DECADE.finditer(text):
            century, digit, short, zh = match.groups()
            tens = int(digit or short or zh)
            if not years or any(_in_decade(y, century, tens) for y in years):
                continue
            if not self._supported(match.group(0), subject):
                return Verdict(False, f"dates it to the {match.group(0)}, which the item's year does not")
        return OK

    def _numbers(self, text: str, subject: list[Facts]) -> Verdict:
        plain = DECADE.sub(" ", re.sub(r"(?<!\d)(1[89]\d\d|20\d\d)(?!\d)", " ", text))
        for match in NUMBER.finditer(plain):
            number = match.group(0)
            if number in ("1", "2", "3") or self._supported(number, subject):  # "one of the 3 picks"
                continue
            return Verdict(False, f"gives the number {number}, which the item's facts do not")
        return OK


def _has(folded: str, phrase: str) -> bool:
    return f" {phrase} " in folded


def _word_in(word: str, words: frozenset[str]) -> bool:
    return word in words or (word.endswith("s") and word[:-1] in words) or f"{word}s" in words


def _in_decade(year: int, century: str | None, tens: int) -> bool:
    if century:
        return year // 10 == int(century) * 10 + tens
    return (year // 10) % 10 == tens


def _strip_titles(sentence: str, titles: Iterable[str]) -> str:
    """The sentence with the subject's titles blanked (the words of "Apollo 13" are no claims)."""
    out = sentence
    for title in sorted(set(titles), key=len, reverse=True):
        words = title.split()
        if not words:
            continue
        if CJK.search(title):
            pattern = r"\W*".join(map(re.escape, title.replace(" ", "")))
        else:
            pattern = r"\b" + r"\W+".join(map(re.escape, words)) + r"\b"
        out = re.sub(pattern, " ", out, flags=re.IGNORECASE)
    return out
