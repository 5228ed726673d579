"""Finding titles and people in a message: catalog titles (exact, Chinese, small typos), names, unknown titles."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

import numpy as np
from rapidfuzz import fuzz, process

from chatrec.catalog.items import Item
from chatrec.reading.language import CJK
from chatrec.reading.lexicon import EN_STOPWORDS, GENRE_WORDS, KIND_WORDS, PEOPLE_NAMES

WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)?", re.UNICODE)

LATIN_WORD = re.compile(r"[^\W_\u3400-\u9fff\uf900-\ufaff]+(?:['’][^\W_\u3400-\u9fff\uf900-\ufaff]+)?")

YEAR_AFTER = re.compile(r"^\s*\(?\s*((?:19|20)\d{2})\s*\)?")

LISTED_BEFORE = re.compile(
    r"\b(?:like|love|loved|liked|enjoyed|played|seen|watched|read|tried|binged|and|or|than|as)\s+$|(?:比|和|跟|与|像|、)\s*$",
    re.I,
)
SENTENCE_START = re.compile(r"(?:^|[.!?。！？]\s*)[\"'“‘(]*$")  # nothing but the start of a sentence before
# what may follow a lower-case one-word title: the end of a clause or of a list item ("seen stalker and solaris too")
LISTED_AFTER = re.compile(r"\s*(?:$|[,.;:!?，。；：！？、)]|(?:and|or|too|also|as well)\b|和|也|都|跟|与|老|新)", re.I)


def norm(text: str) -> str:
    """Lower case, accents and punctuation folded, spaces collapsed: the form titles are matched in."""
    text = unicodedata.normalize("NFKC", text).lower().replace("&", " and ")
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return " ".join(WORD.findall(text.replace("'", "").replace("’", "")))


@dataclass
class Span:
    start: int
    end: int
    item_id: str


class KeysIn:
    """Which of many keys occur in a text: the keys are scanned when they are few, else the text's substrings of
    the keys' lengths are looked up, so that the cost grows with the text rather than with the catalog."""

    SCAN_AT_MOST = 2_000  # keys: scanning them (each a C-speed `in`) beats slicing the text below this

    def __init__(self, keys: Iterable[str]) -> None:
        self.keys = frozenset(k for k in keys if k)
        self.lengths = sorted({len(k) for k in self.keys})

    def __call__(self, text: str) -> set[str]:
        if len(self.keys) <= self.SCAN_AT_MOST:
            return {k for k in self.keys if k in text}
        found: set[str] = set()
        for n in self.lengths:
            found.update(piece for i in range(len(text) - n + 1) if (piece := text[i : i + n]) in self.keys)
        return found


class Typos:
    """The key a text of 8 or more characters is a small typo of (`fuzz.ratio` >= 88), exactly as
    `rapidfuzz.process.extractOne` over every key finds it; past `SCAN_AT_MOST` keys only keys of a fitting length
    that share one of the text's rarer trigrams are compared, so that a turn's cost stays small on a large catalog.

    Why that loses nothing: within the ratio's bound, I insertions and D deletions turn the text into the key, and
    an insertion breaks at most 2 of the text's trigrams, a deletion 3 (`_most_broken`); a key that close keeps
    `need` of the text's distinct trigrams, so it holds one of any len(trigrams) - need + 1 of them: the rarest."""

    CUTOFF = 88
    SCAN_AT_MOST = 5_000

    def __init__(self, keys: list[str]) -> None:
        self.keys = keys
        self.lengths = np.array([len(k) for k in keys], dtype=np.int32)
        self._key_array = np.array(keys, dtype=object)
        self.postings = trigram_postings(keys) if len(keys) > self.SCAN_AT_MOST else {}

    def best(self, text: str) -> str | None:
        """The closest key at or above the cutoff (the first of equals in key order), or None."""
        keys: Sequence[str] = self.keys
        if self.postings:
            keys = self._key_array[self._candidates(text)].tolist()
        found = process.extractOne(text, keys, scorer=fuzz.ratio, score_cutoff=self.CUTOFF)
        return found[0] if found else None

    def _candidates(self, text: str) -> np.ndarray:
        """Rows of the keys that may reach the cutoff, in key order."""
        grams, shortest, longest = rarest_grams(text, lambda g: len(self.postings.get(g, ())))
        fits = (self.lengths >= shortest) & (self.lengths <= longest)
        if grams is not None:  # else too short to say: every key of a fitting length
            shares = np.zeros(len(self.keys), dtype=bool)
            for gram in grams:
                if gram in self.postings:
                    shares[self.postings[gram]] = True
            fits &= shares
        return np.flatnonzero(fits)


def rarest_grams(text: str, size_of: Callable[[str], int]) -> tuple[list[str] | None, int, int]:
    """For `Typos`: the trigrams of `text` (rarest first by `size_of`, a posting's length) one of which every key
    within the cutoff holds, or None when any key may (a text too short to say); and the lengths such a key has."""
    broken, shortest, longest = _most_broken(len(text), Typos.CUTOFF)
    grams = sorted(trigrams(text), key=size_of)
    need = len(grams) - broken
    return (grams[: len(grams) - need + 1] if need >= 1 else None), shortest, longest


def shared_needed(text: str) -> tuple[int, int, int]:
    """For `Typos`: how many of the distinct trigrams of `text` every key within the cutoff holds (0 or less: no
    bound), and the shortest and longest such key."""
    broken, shortest, longest = _most_broken(len(text), Typos.CUTOFF)
    return len(trigrams(text)) - broken, shortest, longest


def trigrams(key: str) -> set[str]:
    """The distinct three-character pieces of a key (what `Typos` posts it under)."""
    return {key[i : i + 3] for i in range(len(key) - 2)}


def trigram_postings(keys: Sequence[str]) -> dict[str, np.ndarray]:
    """For each trigram, the rows of the keys that hold it, in order."""
    postings: dict[str, list[int]] = {}
    for row, key in enumerate(keys):
        for gram in trigrams(key):
            postings.setdefault(gram, []).append(row)
    return {gram: np.array(rows, dtype=np.int32) for gram, rows in postings.items()}


@lru_cache(maxsize=256)
def _most_broken(n: int, cutoff: int) -> tuple[int, int, int]:
    """For a text of `n` characters: the most of its trigrams that the insertions (2 each) and deletions (3 each)
    of a key within the ratio's cutoff can break, and the shortest and longest such key. The ratio is
    100 (1 - (I + D) / (n + m)) with m = n + I - D, so it holds while c I + (200 - c) D <= 2 (100 - c) n."""
    room = 2 * (100 - cutoff) * n
    pairs = [(i, d) for i in range(n + 1) for d in range(n + 1) if cutoff * i + (200 - cutoff) * d <= room]
    return max(2 * i + 3 * d for i, d in pairs), n - max(d for _, d in pairs), n + max(i for i, _ in pairs)


@dataclass(frozen=True)
class TitleEntry:
    """What one title key names: `best`, the item meant when no year is said (the most popular, the first of
    equals); `tail`: the key is a title's last word, said alone ("Totoro"); `bracket_only`: a short Chinese title
    that is also an everyday word (家, 宇宙), named only in 《》."""

    best: str
    tail: bool = False
    bracket_only: bool = False


class TitleKeys(Protocol):
    """The catalog's title keys: built in memory from the items (`MemoryTitleKeys`), or read from the catalog file
    that ingest wrote (reading/title_file.py); `TitleIndex` finds titles in a message through either, alike."""

    max_words: int  # the most words a key has

    def get_many(self, keys: Iterable[str]) -> dict[str, TitleEntry]: ...  # the keys that are titles

    def dated(self, key: str, year: int) -> str | None: ...  # the first item of this year the key names

    def ids_titled(self, keys: Iterable[str]) -> list[str]: ...  # every item the keys name, key by key, once each

    def cjk_in(self, text: str) -> list[str]: ...  # the keys with Chinese characters in `text`, longest first

    def typo_of(self, text: str) -> str | None: ...  # the key `text` (8+ characters) is a small typo of


class CatalogTitles(Protocol):
    """The catalog's titles and aliases as written (folded), without the keys `TitleIndex` adds for messages (heads,
    last words): what the reply checks count as naming an item. In memory (`TitleSet`) or on the catalog file."""

    def __contains__(self, key: object) -> bool: ...

    def cjk_in(self, text: str) -> set[str]: ...  # those of 3+ characters with Chinese characters that `text` holds


class TitleSet:
    """Every title and alias of the items at hand, folded."""

    def __init__(self, items: Iterable[Item]) -> None:
        self.keys = {key for item in items for title in (item.title, *item.aliases) if (key := norm(title))}
        self._cjk_in = KeysIn(k for k in self.keys if CJK.search(k) and len(k) >= 3)

    def __contains__(self, key: object) -> bool:
        return key in self.keys

    def cjk_in(self, text: str) -> set[str]:
        return self._cjk_in(text)


def most_popular(items: Sequence[Item]) -> Item:
    """The item a title names when no year is said: the most popular, the first of equals."""
    return max(items, key=lambda it: it.popularity or 0.0)


class MemoryTitleKeys:
    """Title keys built from the items at hand: exact titles and aliases, a title's head before a colon, the last
    word of a title where people say it alone, and Chinese titles typed without their space."""

    def __init__(self, items: Iterable[Item]) -> None:
        self.all_items = list(items)
        self.by_title: dict[str, list[Item]] = {}
        self.short_titles: dict[str, list[Item]] = {}
        for item in self.all_items:
            for title in (item.title, *item.aliases):
                key = norm(title)
                if key:
                    self.by_title.setdefault(key, []).append(item)
        self.own = set(self.by_title)  # the titles and aliases as written; the keys below are added for messages
        for item in self.all_items:  # "Caverna" names "Caverna: The Cave Farmers" when no title is just that
            head = item.title.split(":")[0]
            if head != item.title and len(norm(head)) >= 4 and norm(head) not in self.by_title:
                self.short_titles.setdefault(norm(head), []).append(item)
        for key, named in self.short_titles.items():
            self.by_title.setdefault(key, named)
        self.tails = self._tails()
        for key, item in self.tails.items():
            self.by_title.setdefault(key, [item])
        for key in [k for k in self.by_title if " " in k and CJK.search(k)]:  # "七大奇迹：对决" typed "七大奇迹对决"
            self.by_title.setdefault(key.replace(" ", ""), self.by_title[key])
        self.max_words = max((len(k.split()) for k in self.by_title), default=1)
        self.cjk_titles = sorted((k for k in self.by_title if CJK.search(k)), key=len, reverse=True)
        self._cjk_in = KeysIn(self.cjk_titles)  # the Chinese titles a message holds, longest first
        self.cjk_rank = {k: i for i, k in enumerate(self.cjk_titles)}
        # Short Chinese titles that are also everyday words (家, 宇宙, 功夫) count only inside 《》 or quotes: one
        # character, a genre word, or two characters that other items' descriptions use as a plain word.
        genre_words = {w for words in GENRE_WORDS.values() for w in words}
        used = self._used_as_words({k for k in self.cjk_titles if len(k) == 2})
        self.bracket_only = {
            k for k in self.cjk_titles if len(k) == 1 or k in genre_words or (len(k) == 2 and used[k] >= 2)
        }
        self.fuzzy_keys = [k for k in self.by_title if len(k) >= 8 and not CJK.search(k)]
        self.typos = Typos(self.fuzzy_keys)

    def entry(self, key: str) -> TitleEntry | None:
        named = self.by_title.get(key)
        if not named:
            return None
        return TitleEntry(most_popular(named).id, key in self.tails, key in self.bracket_only)

    def get_many(self, keys: Iterable[str]) -> dict[str, TitleEntry]:
        return {key: entry for key in dict.fromkeys(keys) if (entry := self.entry(key)) is not None}

    def dated(self, key: str, year: int) -> str | None:
        return next((it.id for it in self.by_title.get(key, ()) if it.year == year), None)

    def ids_titled(self, keys: Iterable[str]) -> list[str]:
        return list(dict.fromkeys(it.id for key in dict.fromkeys(keys) for it in self.by_title.get(key, ())))

    def cjk_in(self, text: str) -> list[str]:
        return sorted(self._cjk_in(text), key=self.cjk_rank.__getitem__)

    def typo_of(self, text: str) -> str | None:
        return self.typos.best(text)

    def _tails(self) -> dict[str, Item]:
        """The last word of a title, where people say it alone ("Totoro" for My Neighbor Totoro, "Gump"): a
        capitalised name of 5 letters or more in no other title, no title itself, no common word and no person's
        name."""
        names = {p for it in self.all_items for p in (*it.creators, *it.cast)}  # each name once
        people = {w for p in names for w in norm(p).split()}
        ends: dict[str, list[Item]] = {}
        for item in self.all_items:
            words = re.sub(r"\s*\(\d{4}\)$", "", item.title).split()
            last = words[-1].strip(".,:;!?'’\"") if len(words) >= 2 else ""
            if len(last) >= 5 and last[:1].isupper() and last.isalpha() and not CJK.search(last):
                ends.setdefault(norm(last), []).append(item)
        in_titles: dict[str, int] = {}
        for title in {norm(it.title) for it in self.all_items}:
            for word in set(title.split()):
                in_titles[word] = in_titles.get(word, 0) + 1
        return {
            key: named[0]
            for key, named in ends.items()
            if len({it.title for it in named}) == 1
            and in_titles.get(key, 0) == 1  # a word of one title only: "Totoro", not "Horse" or "South"
            and key not in self.by_title
            and key not in EN_STOPWORDS
            and key not in people
            and key not in {norm(w) for words in GENRE_WORDS.values() for w in words}
        }

    def _used_as_words(self, keys: set[str]) -> Counter[str]:
        """For each two-character key, how many descriptions of items not titled with it contain it: one pass over
        the descriptions, whatever the number of keys."""
        counts: Counter[str] = Counter()
        if not keys:
            return counts
        for it in self.all_items:
            text = unicodedata.normalize("NFKC", it.description)
            present = {text[i : i + 2] for i in range(len(text) - 1)} & keys if CJK.search(text) else set()
            if present:
                titled = " ".join(norm(t) for t in (it.title, *it.aliases))
                counts.update(key for key in present if key not in titled)
        return counts


class TitleIndex:
    """Finds catalog titles in text: exact (case-insensitive, optional year), CJK substrings, and small typos, over
    the title keys of the items given or of the catalog file (`keys`)."""

    def __init__(self, items: Iterable[Item] = (), keys: TitleKeys | None = None) -> None:
        self.keys: TitleKeys = keys if keys is not None else MemoryTitleKeys(items)
        self.plain_words = {norm(w) for words in (*GENRE_WORDS.values(), *KIND_WORDS.values()) for w in words}

    def ids_titled(self, titles: Iterable[str]) -> list[str]:
        """Every item a title (or alias) of these names, once each: the book and the film of The Martian."""
        return self.keys.ids_titled(norm(t) for t in titles)

    @staticmethod
    def _tail_said(text: str, start: int, inside: bool) -> bool:
        """A title's last word stands for it only capitalised, in a list of titles ("seen Spirited Away, Totoro and
        Toy Story"), never at a sentence's start ("Mexico" in "set in Mexico" is no title)."""
        listed = inside or bool(re.search(r",\s*$", text[:start]))
        return text[start].isupper() and listed and not SENTENCE_START.search(text[:start])

    def find(self, text: str, fuzzy: bool = True) -> list[str]:
        """Item ids mentioned in `text`, in order of appearance, each once."""
        return list(dict.fromkeys(s.item_id for s in self.spans(text, fuzzy)))

    def spans(self, text: str, fuzzy: bool = True) -> list[Span]:
        """Where titles stand in `text`, in order."""
        spans = self._exact(text)
        spans += self._cjk(text, spans)
        if fuzzy:
            spans += self._fuzzy(text, spans)
        return sorted(spans, key=lambda s: s.start)

    def _pick(self, key: str, entry: TitleEntry | None, year: int | None) -> str | None:
        """The item a key names: the first of the year said with it, else (no year said) the most popular."""
        if entry is None:
            return None
        return entry.best if year is None else self.keys.dated(key, year)

    def _words(self, text: str) -> list[re.Match[str]]:
        """The words of `text` not in Chinese script ("我很喜欢Blade Runner" has "Blade" and "Runner")."""
        return list(LATIN_WORD.finditer(text))

    def _exact(self, text: str) -> list[Span]:
        words = self._words(text)
        longest = self.keys.max_words
        said = {  # every run of up to `longest` words, folded, looked up at once
            (i, n): norm(text[words[i].start() : words[i + n - 1].end()])
            for i in range(len(words))
            for n in range(1, min(longest, len(words) - i) + 1)
        }
        entries = self.keys.get_many(said.values())
        spans: list[Span] = []
        i = 0
        while i < len(words):
            for n in range(min(longest, len(words) - i), 0, -1):
                start, end = words[i].start(), words[i + n - 1].end()
                entry = entries.get(said[i, n])
                if entry is None:
                    continue
                year_match = YEAR_AFTER.match(text[end:])
                year = int(year_match.group(1)) if year_match else None
                inside = bool(LISTED_BEFORE.search(text[:start]))
                if inside and n == 1 and not LISTED_AFTER.match(text[end:]):
                    inside = False
                if not self._plausible(text[start:end], n, year, inside):
                    continue
                if entry.tail and not self._tail_said(text, start, inside):
                    continue
                item_id = self._pick(said[i, n], entry, year) or (entry.best if year else None)
                if item_id:
                    spans.append(Span(start, end, item_id))
                    i += n - 1
                    break
            i += 1
        return spans

    def _plausible(self, span: str, n_words: int, year: int | None, inside: bool = False) -> bool:
        """A one-word title counts only when capitalised or dated, so 'it' or 'up' in a sentence are not films; a
        two-letter one ('Go') only where a title is expected ("games like Go and Chess"), not in "Go see it"; a
        lower-case one ("seen stalker and solaris too") only where a list of titles stands, and never a genre's or a
        kind's word."""
        if n_words > 1 or year is not None:
            return True
        long_enough = len(span) >= 3 or (inside and len(span) == 2)
        if span.lower() in EN_STOPWORDS or not long_enough:
            return False
        if span[:1].isupper():
            return True
        return inside and len(span) >= 4 and norm(span) not in self.plain_words

    def _cjk(self, text: str, taken: list[Span]) -> list[Span]:
        spans: list[Span] = []
        lowered = unicodedata.normalize("NFKC", text).lower()
        if not CJK.search(lowered):
            return spans
        found = self.keys.cjk_in(lowered)
        entries = self.keys.get_many(found)
        for key in found:
            at = lowered.find(key)
            if entries[key].bracket_only:
                at = next((m.start() + 1 for m in re.finditer(rf"[《“「『\"]{re.escape(key)}[》”」』\"]", lowered)), -1)
            if at < 0 or any(s.start <= at < s.end for s in [*taken, *spans]):
                continue
            year_match = YEAR_AFTER.match(lowered[at + len(key) :])
            year = int(year_match.group(1)) if year_match else None
            item_id = self._pick(key, entries[key], year) or entries[key].best
            if item_id:
                spans.append(Span(at, at + len(key), item_id))
        return spans

    def _fuzzy(self, text: str, taken: list[Span]) -> list[Span]:
        words = self._words(text)
        free = [w for w in words if not any(s.start <= w.start() < s.end for s in taken)]
        spans: list[Span] = []
        for n in range(min(self.keys.max_words, 6), 0, -1):
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
                found = self.keys.typo_of(key)
                if found:
                    item_id = self._pick(found, self.keys.get_many([found]).get(found), None)
                    if item_id:
                        spans.append(Span(start, end, item_id))
        return spans


class PeopleKeys(Protocol):
    """The catalog's people by name key: built in memory (`MemoryPeopleKeys`) or read from the catalog file."""

    def get_many(self, keys: Iterable[str]) -> dict[str, str]: ...  # name key -> the person, as the catalog spells

    def cjk_in(self, text: str) -> list[str]: ...  # the people whose Chinese names `text` holds, in catalog order


class MemoryPeopleKeys:
    """Every creator and cast member by full name and, when unambiguous enough, by surname; Chinese names apart."""

    def __init__(self, items: Iterable[Item]) -> None:
        self.names: dict[str, str] = {}
        self.cjk: dict[str, str] = {}
        for person in dict.fromkeys(p for item in items for p in (*item.creators, *item.cast)):  # once, in order
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
        for zh, en in PEOPLE_NAMES:  # the other language's name for a person the catalog has
            if norm(en) in self.names:
                self.cjk.setdefault(norm(zh), self.names[norm(en)])
            elif norm(zh) in self.cjk:
                self.names.setdefault(norm(en), self.cjk[norm(zh)])
        self._cjk_in = KeysIn(self.cjk)
        self.cjk_rank = {name: i for i, name in enumerate(self.cjk)}

    def get_many(self, keys: Iterable[str]) -> dict[str, str]:
        return {key: self.names[key] for key in dict.fromkeys(keys) if key in self.names}

    def cjk_in(self, text: str) -> list[str]:
        return [self.cjk[name] for name in sorted(self._cjk_in(text), key=self.cjk_rank.__getitem__)]


class PeopleIndex:
    """Creators and cast by full name and, when unambiguous enough, by surname ('Nolan'), over the people of the
    items given or of the catalog file (`keys`)."""

    def __init__(self, items: Iterable[Item] = (), keys: PeopleKeys | None = None) -> None:
        self.keys: PeopleKeys = keys if keys is not None else MemoryPeopleKeys(items)

    def find(self, text: str, full_names_only: bool = False) -> list[str]:
        """People named in `text` (their catalog spelling), looked up by word n-grams, longest first."""
        text = re.sub(r"(?<=[A-Za-z])(?=[\u4e00-\u9fff])|(?<=[\u4e00-\u9fff])(?=[A-Za-z])", " ", text)  # "Cathala的"
        key = norm(re.sub(r"['’]s\b", "", text))  # "Spielberg's films"
        words = key.split()
        sizes = (4, 3, 2) if full_names_only else (4, 3, 2, 1)
        names = self.keys.get_many(" ".join(words[i : i + n]) for n in sizes for i in range(len(words) - n + 1))
        found: list[str] = []
        used = [False] * len(words)
        for n in sizes:
            for i in range(len(words) - n + 1):
                if any(used[i : i + n]):
                    continue
                person = names.get(" ".join(words[i : i + n]))
                if person is not None:
                    found.append(person)
                    used[i : i + n] = [True] * n
        found += self.keys.cjk_in(key)
        return list(dict.fromkeys(found))


_LATIN = r"(?:[^\W\u3400-\u9fff]|['’:.-])"  # a character of a Latin-script title
TITLE_LEAD = re.compile(
    r"(?:\b(?i:like|love|loved|liked|enjoyed|adore|adored|seen|watched|read|played|similar to|as good as|fan of|"
    r"than|such as|reminds? me of|in the vein of)\s+|(?:像|类似|喜欢|比)\s*)"
    r"(?P<title>(?:the\s+)?[A-Z0-9]" + _LATIN + r"*(?:\s+(?:of|the|and|a|an|in|on|to|for|&|[A-Z0-9]" + _LATIN + r"*))*)"
)
# a 《title》 said as one the user knows or compares with; not one they order up ("只推荐《X》" is not said back)
ZH_QUOTED_TITLE = re.compile(
    r"(?:像|类似|喜欢|爱看|看过|读过|玩过|比|和|还有|以及|跟|与|、)\s*《(?P<title>[^》]{1,40})》"
)
# the next name of a list that began with a title ("Zodiac and Prisoners (the 2013 one), and Mindhunter too")
LIST_NEXT = re.compile(
    r"\s*(?:\([^)]{0,60}\))?\s*(?:,\s*(?:and\s+)?|\s+and\s+)"
    r"(?P<title>(?:the\s+)?[A-Z0-9]" + _LATIN + r"*(?:\s+(?:of|the|and|a|an|in|on|to|for|&|[A-Z0-9]" + _LATIN + r"*))*)"
)
# a lower-case name listed beside a found title ("interstellar 和 tenet 也都看过了", "heat and tenet too")
LIST_NEXT_LOWER = re.compile(
    r"\s*(?:和|跟|与|、|,\s*(?:and\s+)?|\s+and\s+)\s*(?P<title>[a-z0-9][\w'’:.-]*(?:\s+[a-z0-9][\w'’:.-]*){0,3}?)"
    r"(?=\s*(?:$|[,.;:!?，。；：！？、]|(?:too|also|as well)\b|也|都))"
)
# a lower-case title said as known ("i already tried ex machina", "oh and perfect blue too")
KNOWN_LOWER = re.compile(
    r"\balready\s+(?:tried|seen|watched|read|played|finished|binged)\s+"
    r"(?P<title>[a-z0-9][\w'’:.-]*(?:\s+[a-z0-9][\w'’:.-]*){0,4}?)(?=\s*(?:$|[,.;!?]|\s+(?:too|also|and|but)\b))"
    r"|\b(?:and|also)\s+(?P<too>[a-z0-9][\w'’:.-]*(?:\s+[a-z0-9][\w'’:.-]*){0,3}?)\s+too\b"
)
# a title asked for by name ("do you have the zone of interest?"), in any case
ASKED_FOR = re.compile(
    r"\b(?:do you (?:have|carry|know)|have you got|you got|is there|got)\s+"
    r"(?P<title>(?!(?:any|some|anything|something|more|other|others|a|an|one|ones|stuff|time|it|that|this|them)\b)[\w'’:.-]+(?:\s+[\w'’:.-]+){0,5}?)\s*[?？]",
    re.I,
)
NOT_TITLES = frozenset(
    """i i'm im it its this that these those them he she they we you my me the a an something anything everything
    more some any one ones english chinese japanese french korean""".split()
)


def unknown_titles(text: str, spans: list[Span], known_word: Callable[[str], bool]) -> list[str]:
    """Titles the text names that are not in the catalog: a capitalised name after "like", "loved", "than" ... that
    no title span covers, or a 《title》; `known_word` says whether a phrase is a genre, a kind or a person."""
    found: list[str] = []
    listed = [m for s in spans if (m := LIST_NEXT.match(text, s.end) or LIST_NEXT_LOWER.match(text, s.end))]
    lower = [m for m in KNOWN_LOWER.finditer(text) if not set(norm(m.group(m.lastgroup or "")).split()) & EN_STOPWORDS]
    for m in [*TITLE_LEAD.finditer(text), *ZH_QUOTED_TITLE.finditer(text), *listed, *ASKED_FOR.finditer(text), *lower]:
        group = m.lastgroup if m.re is KNOWN_LOWER and m.lastgroup else "title"
        start, end = m.span(group)
        title = m.group(group).strip(" .,:;!?'’")
        title = re.sub(r"\s+(?:and|or|but|for|to|in|on|of|the|a|an|&)$", "", title)
        inside = [s for s in spans if s.start < end and start < s.end]
        longer = inside and re.search(r"\s[A-Z0-9]", text[max(s.end for s in inside) : start + len(title)])
        if (inside and not longer) or not title:  # "Monopoly Deal" holds the title Monopoly, and is more
            continue
        first, _, second = title.partition(" and ")
        if second[:1].isupper() and len(first.split()) >= 2 and not inside:  # "Past Lives and Aftersun": two
            found += [t for t in (first, second) if not known_word(t)]
            continue
        if norm(title) in NOT_TITLES or known_word(title) or len(norm(title)) < 2:
            continue
        found.append(title)
    return list(dict.fromkeys(found))
