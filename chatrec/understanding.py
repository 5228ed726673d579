"""Understanding a message without a language model: mentioned titles, negations, kinds, genres and interest words."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Iterable

from rapidfuzz import fuzz, process

from .catalog import Item
from .language import CJK, detect_language
from .lexicon import EN_STOPWORDS, GENRE_WORDS, GENRE_ZH, KIND_WORDS, ZH_FILLERS, canonical_genre

WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)?", re.UNICODE)
YEAR_AFTER = re.compile(r"^\s*\(?\s*((?:19|20)\d{2})\s*\)?")
CLAUSE_END = r"(?=[,.;:!?，。；：！？、]|\s+(?:and|but|or|please|though)\b|和|但|也|$)"
EN_NEGATION = re.compile(
    r"\b(?:not(?!\s+(?:yet|seen|heard|watched|read|sure|been|had|have|done|able|really|quite|much|many|that|very|so|too|only|just|bad)\b)|"
    r"no(?:\s+more)?|nothing(?:\s+(?:with|by|from|starring|featuring|about|like))?|without|except|"
    r"anything\s+but|none\s+of|avoid|skip|hate|dislike|(?:do\s+not|don't|dont)\s+(?:want|like|need|show\s+me))\s+"
    r"(?P<what>.+?)" + CLAUSE_END,
    re.IGNORECASE,
)
ZH_NEGATION = re.compile(r"(?:不要|不想要|不想看|不看|别再?给我|别推荐|别再|不喜欢|讨厌|除了|不需要)(?P<what>.+?)(?=[,.;!?，。；！？、]|和|但|也|$)")
FILLER_EN = re.compile(
    r"\b(?:any|anything|more|some|the|a|an|movies?|films?|books?|novels?|shows?|series|stuff|things?|ones?|"
    r"with|by|from|about|starring|featuring|too|please|again|at all|really|very|so)\b",
    re.IGNORECASE,
)


def norm(text: str) -> str:
    """Lower case, accents and punctuation folded, spaces collapsed: the form titles are matched in."""
    text = unicodedata.normalize("NFKC", text).lower().replace("&", " and ")
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return " ".join(WORD.findall(text.replace("'", "").replace("’", "")))


@dataclass(frozen=True)
class Understanding:
    """What one message says, as data the tracker and recommender can use."""

    language: str
    positive_text: str                      # the message with negated clauses cut out (what to embed)
    mentioned: tuple[str, ...] = ()          # item ids named positively
    avoided_items: tuple[str, ...] = ()      # item ids named in a negation
    liked_genres: tuple[str, ...] = ()
    avoided_genres: tuple[str, ...] = ()
    avoided_people: tuple[str, ...] = ()
    negative_phrases: tuple[str, ...] = ()   # negated words that matched nothing in the catalog
    kind: str | None = None
    terms: tuple[str, ...] = ()              # interest words, for explanations and the profile
    liked_people: tuple[str, ...] = ()       # full names of creators or cast asked for
    decades: tuple[int, ...] = ()            # decades asked for ('80s' -> 1980)


@dataclass
class _Span:
    start: int
    end: int
    item_id: str


class TitleIndex:
    """Finds catalog titles in text: exact (case-insensitive, optional year), CJK substrings, and small typos."""

    def __init__(self, items: Iterable[Item]) -> None:
        self.all_items = list(items)
        self.by_title: dict[str, list[Item]] = {}
        for item in self.all_items:
            for title in (item.title, *item.aliases):
                key = norm(title)
                if key:
                    self.by_title.setdefault(key, []).append(item)
        self.max_words = max((len(k.split()) for k in self.by_title), default=1)
        self.cjk_titles = sorted((k for k in self.by_title if CJK.search(k)), key=len, reverse=True)
        # Short Chinese titles that are also everyday words (家, 宇宙, 功夫) count only inside 《》 or quotes: one
        # character, a genre word, or two characters that other items' descriptions use as a plain word.
        genre_words = {w for words in GENRE_WORDS.values() for w in words}
        self.bracket_only = {k for k in self.cjk_titles if len(k) == 1 or k in genre_words
                             or (len(k) == 2 and self._used_as_word(k) >= 2)}
        self.fuzzy_keys = [k for k in self.by_title if len(k) >= 8 and not CJK.search(k)]

    def _used_as_word(self, key: str) -> int:
        """How many descriptions of items not titled with `key` contain it."""
        return sum(key in unicodedata.normalize("NFKC", it.description) for it in self.all_items
                   if not any(key in norm(t) for t in (it.title, *it.aliases)))

    def find(self, text: str, fuzzy: bool = True) -> list[str]:
        """Item ids mentioned in `text`, in order of appearance, each once."""
        return list(dict.fromkeys(s.item_id for s in self.spans(text, fuzzy)))

    def spans(self, text: str, fuzzy: bool = True) -> list[_Span]:
        """Where titles stand in `text`, in order."""
        spans = self._exact(text)
        spans += self._cjk(text, spans)
        if fuzzy:
            spans += self._fuzzy(text, spans)
        return sorted(spans, key=lambda s: s.start)

    def _pick(self, key: str, year: int | None) -> Item | None:
        items = self.by_title.get(key, [])
        if year is not None:
            same = [it for it in items if it.year == year]
            return same[0] if same else None
        if not items:
            return None
        return max(items, key=lambda it: it.popularity or 0.0)

    def _words(self, text: str) -> list[re.Match[str]]:
        return [m for m in WORD.finditer(text) if not CJK.search(m.group())]

    def _exact(self, text: str) -> list[_Span]:
        words = self._words(text)
        spans: list[_Span] = []
        i = 0
        while i < len(words):
            for n in range(min(self.max_words, len(words) - i), 0, -1):
                start, end = words[i].start(), words[i + n - 1].end()
                key = norm(text[start:end])
                year_match = YEAR_AFTER.match(text[end:])
                year = int(year_match.group(1)) if year_match else None
                if key not in self.by_title or not self._plausible(text[start:end], n, year):
                    continue
                item = self._pick(key, year) or (self._pick(key, None) if year else None)
                if item:
                    spans.append(_Span(start, end, item.id))
                    i += n - 1
                    break
            i += 1
        return spans

    @staticmethod
    def _plausible(span: str, n_words: int, year: int | None) -> bool:
        """A one-word title counts only when capitalised or dated, so 'it' or 'up' in a sentence are not films."""
        if n_words > 1 or year is not None:
            return True
        return span[:1].isupper() and len(span) >= 3 and span.lower() not in EN_STOPWORDS

    def _cjk(self, text: str, taken: list[_Span]) -> list[_Span]:
        spans: list[_Span] = []
        lowered = unicodedata.normalize("NFKC", text).lower()
        for key in self.cjk_titles:
            at = lowered.find(key)
            if key in self.bracket_only:
                at = next((m.start() + 1 for m in re.finditer(rf"[《“「『\"]{re.escape(key)}[》”」』\"]", lowered)), -1)
            if at < 0 or any(s.start <= at < s.end for s in [*taken, *spans]):
                continue
            year_match = YEAR_AFTER.match(lowered[at + len(key):])
            item = self._pick(key, int(year_match.group(1)) if year_match else None) or self._pick(key, None)
            if item:
                spans.append(_Span(at, at + len(key), item.id))
        return spans

    def _fuzzy(self, text: str, taken: list[_Span]) -> list[_Span]:
        words = self._words(text)
        free = [w for w in words if not any(s.start <= w.start() < s.end for s in taken)]
        spans: list[_Span] = []
        for n in range(min(self.max_words, 6), 0, -1):
            for i in range(len(free) - n + 1):
                chunk = free[i : i + n]
                if chunk[-1].start() - chunk[0].end() > 40 * n:
                    continue
                start, end = chunk[0].start(), chunk[-1].end()
                if any(s.start < end and start < s.end for s in spans):
                    continue
                key = norm(text[start:end])
                if len(key) < 8:
                    continue
                found = process.extractOne(key, self.fuzzy_keys, scorer=fuzz.ratio, score_cutoff=88)
                if found:
                    item = self._pick(found[0], None)
                    if item:
                        spans.append(_Span(start, end, item.id))
        return spans


class PeopleIndex:
    """Creators and cast by full name and, when unambiguous enough, by surname ('Nolan')."""

    def __init__(self, items: Iterable[Item]) -> None:
        self.names: dict[str, str] = {}
        self.cjk: dict[str, str] = {}
        for item in items:
            for person in (*item.creators, *item.cast):
                full = norm(person)
                if not full:
                    continue
                if CJK.search(full):
                    self.cjk.setdefault(full, person)
                    continue
                self.names.setdefault(full, person)
                parts = full.split()
                if len(parts) > 1 and len(parts[-1]) >= 4 and parts[-1] not in EN_STOPWORDS:
                    self.names.setdefault(parts[-1], person)

    def find(self, text: str, full_names_only: bool = False) -> list[str]:
        """People named in `text` (their catalog spelling), looked up by word n-grams, longest first."""
        key = norm(text)
        words = key.split()
        found: list[str] = []
        used = [False] * len(words)
        for n in (4, 3, 2) if full_names_only else (4, 3, 2, 1):
            for i in range(len(words) - n + 1):
                if any(used[i : i + n]):
                    continue
                person = self.names.get(" ".join(words[i : i + n]))
                if person is not None:
                    found.append(person)
                    used[i : i + n] = [True] * n
        found += [person for name, person in self.cjk.items() if name in key]
        return list(dict.fromkeys(found))


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


def _contains_words(text: str, phrase: str) -> bool:
    if CJK.search(phrase):
        return phrase in text
    return f" {phrase} " in f" {text} "


def find_genres(text: str, known: set[str]) -> list[str]:
    """Catalog genres named in `text` through their English or Chinese words."""
    key = f" {norm(text)} "
    found = []
    for genre, words in GENRE_WORDS.items():
        if genre in known and any((w in key) if CJK.search(w) else (f" {w} " in key) for w in words):
            found.append(genre)
    return found


def find_kind(text: str, known: set[str]) -> str | None:
    """The one kind of item asked for ('movie', 'book', ...), if the message names exactly one."""
    key = f" {norm(text)} "
    kinds = {kind for kind, words in KIND_WORDS.items() if kind in known and any(
        (w in key) if CJK.search(w) else (f" {w} " in key) for w in words)}
    return kinds.pop() if len(kinds) == 1 else None


def split_negations(message: str) -> tuple[str, list[str]]:
    """(the message without its negated clauses, the negated phrases)."""
    phrases: list[str] = []

    def cut(match: re.Match[str]) -> str:
        phrases.append(match.group("what").strip())
        return " "

    positive = ZH_NEGATION.sub(cut, EN_NEGATION.sub(cut, message))
    return " ".join(positive.split()), [p for p in phrases if p]


def core_words(phrase: str) -> str:
    """A phrase without filler words: 'no more superhero movies' -> 'superhero'."""
    text = FILLER_EN.sub(" ", phrase)
    for filler in ZH_FILLERS:
        text = text.replace(filler, " ")
    return " ".join(text.split())


def interest_terms(rest: str, titles: list[str], genres: list[str], language: str = "en") -> list[str]:
    """Words that say what the user cares about: genres, named titles, and the content words left in `rest`."""
    genre_words = {w for g in genres for w in GENRE_WORDS.get(g, ())}
    words = [w for w in WORD.findall(core_words(rest))
             if w.lower() not in EN_STOPWORDS and not w.isdigit() and w.lower() not in genre_words]
    phrase = " ".join(words)
    for filler in (*ZH_FILLERS, *(w for w in genre_words if CJK.search(w))):
        phrase = phrase.replace(filler, "")
    phrase = " ".join(phrase.split())
    genres = [GENRE_ZH.get(g, g) for g in genres] if language == "zh" else genres
    terms = [*genres, *titles]
    if phrase and phrase.lower() not in {g.lower() for g in genres} and len(phrase) <= 60:
        terms.append(phrase.lower() if not CJK.search(phrase) else phrase)
    return list(dict.fromkeys(terms))


def _gaps(spans: list[_Span], length: int) -> list[tuple[int, int]]:
    """The stretches of text between title spans."""
    gaps, at = [], 0
    for span in spans:
        if span.start > at:
            gaps.append((at, span.start))
        at = max(at, span.end)
    return [*gaps, (at, length)]


class Understander:
    """Reads messages against one catalog; deterministic and fast (no generative model)."""

    def __init__(self, items: list[Item]) -> None:
        self.items = {it.id: it for it in items}
        self.titles = TitleIndex(items)
        self.people = PeopleIndex(items)
        self.genres = {canonical_genre(g) for it in items for g in it.genres}   # what find_genres can name
        self.kinds = {it.kind for it in items if it.kind}

    def read(self, message: str, fuzzy: bool = True) -> Understanding:
        positive, negated = split_negations(message)
        spans = self.titles.spans(positive, fuzzy=fuzzy)
        mentioned = list(dict.fromkeys(s.item_id for s in spans))
        rest = "".join(positive[a:b] for a, b in _gaps(spans, len(positive)))
        avoided_items: list[str] = []
        avoided_genres: list[str] = []
        avoided_people: list[str] = []
        leftovers: list[str] = []
        for phrase in negated:
            core = core_words(phrase) or phrase
            hits_g = find_genres(core, self.genres)
            hits_p = self.people.find(core)
            hits_i = self.titles.find(phrase, fuzzy=fuzzy)
            avoided_genres += hits_g
            avoided_people += hits_p
            avoided_items += hits_i
            if not (hits_g or hits_p or hits_i) and len(core) >= 3:
                leftovers.append(core)
        liked_genres = [g for g in find_genres(positive, self.genres) if g not in avoided_genres]
        titles = [self.items[i].title for i in mentioned]
        language = detect_language(message)
        return Understanding(
            language=language,
            positive_text=positive,
            mentioned=tuple(mentioned),
            avoided_items=tuple(dict.fromkeys(avoided_items)),
            liked_genres=tuple(liked_genres),
            avoided_genres=tuple(dict.fromkeys(avoided_genres)),
            avoided_people=tuple(dict.fromkeys(avoided_people)),
            negative_phrases=tuple(leftovers),
            kind=find_kind(positive, self.kinds),
            terms=tuple(interest_terms(rest, titles, liked_genres, language)),
            liked_people=tuple(p for p in self.people.find(rest, full_names_only=True) if p not in avoided_people),
            decades=tuple(find_decades(rest)),
        )
