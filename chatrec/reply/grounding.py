"""Grounding checks for generated replies: only recommended titles, no leaked prompt, the user's language.

`Grounding.check` looks at every title-like span of a reply (quoted or 《bracketed》 text, runs of capitalised words,
Chinese catalog titles) and accepts it only when it belongs to a recommended item or is plain vocabulary from those
items' own facts. Catalog text is data: the words of an instruction-like catalog field (`untrusted.screen`) are
never allowed, and a reply that repeats a run of them, or carries a link, fails. `StreamGuard` runs the same check
on the text a stream has safely completed so far, so a bad span stops generation at once and the template reply is
shown instead.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from rapidfuzz import fuzz
from rapidfuzz.distance import Levenshtein

from chatrec.catalog.items import Item
from chatrec.reading.language import CJK, detect_language
from chatrec.reading.lexicon import EN_STOPWORDS, GENRE_WORDS, KIND_WORDS
from chatrec.reading.titles import CatalogTitles, TitleIndex, TitleSet, norm
from chatrec.reply.untrusted import links, screen
from chatrec.reply.vocabulary import Vocabulary, WordSets

CONNECTORS = frozenset("of the a an and in on to for with at from de la le du des del von van y or vs".split())
LATIN = "A-Za-z0-9À-ÖØ-öø-ÿ\u0100-\u024f\u1e00-\u1eff'’\\-"  # "Shinichirō", "Nguyễn"
TITLE_WORD = rf"(?:[A-Z0-9][{LATIN}]*[:!?]?)"
CAPITALISED_RUN = re.compile(rf"{TITLE_WORD}(?:[ ](?:(?:{'|'.join(sorted(CONNECTORS))})[ ])*{TITLE_WORD})*")
QUOTED = re.compile(r"[\"“«]([^\"”»\n]{1,80})[\"”»]|\*\*?([^*\n]{1,80})\*\*?|_([^_\n]{1,80})_")
BOOK_MARKS = re.compile(r"[《〈「『]([^》〉」』\n]{1,40})[》〉」』]")
SENTENCE_START = re.compile(r"(?:^|[.!?:;。！？\n\-–—•]\s*|\d+[.)]\s+)$")
CJK_PUNCT = "，。！？；：、\n"
GENERIC = frozenset(
    """i i'm i've i'd you we it this that these those if also both each here there they he she his her its their
    my your our chatrec english chinese american british french japanese korean indian italian german spanish
    mexican russian swedish danish polish brazilian iranian nigerian taiwanese hong kong mainland china japan korea
    india france italy germany spain britain america europe asia africa earth world sci-fi tv one two three first
    second third enjoy try check consider watch read start dive explore discover perfect great classic modern
    based whether whatever however plus finally lastly next then while though so thanks happy let's hope""".split()
)
CONTRACTIONS = frozenset(
    "ill im ive id youll youre youve youd theyre theyll weve well were lets its dont wont cant "
    "isnt arent doesnt didnt thats theres heres whats whos shes hes".split()
)  # "I'll", normalised
NUMBER = re.compile(r"^\d+(?:st|nd|rd|th|s)?$")
YEAR = re.compile(r"(?<!\d)(1[89]\d\d|20\d\d)(?!\d|['’]?s(?![a-z])|年代)")  # "1950s" is a decade, not a year


@dataclass(frozen=True)
class Verdict:
    """The outcome of a grounding check; `problem` says what failed, for logs and benchmarks."""

    ok: bool
    problem: str = ""


OK = Verdict(True)


@dataclass(frozen=True)
class Allowed:
    """What one reply may mention: the chosen items' titles and the words of their own facts."""

    titles: tuple[str, ...]  # normalised titles and aliases of the chosen items
    kinds: tuple[tuple[str, str, str], ...]  # (normalised title, kind, own text) of each chosen item
    years: frozenset[str]  # the chosen items' years
    raw_titles: tuple[str, ...]  # the chosen items' titles and aliases as written
    vocabulary: frozenset[str]  # lower-cased words the reply may capitalise freely
    language: str
    secrets: tuple[str, ...] = ()  # prompt text that must never be echoed
    tainted: tuple[str, ...] = ()  # runs of the chosen items' dropped instruction-like text (`_tainted_runs`)
    people: tuple[str, ...] = ()  # normalised names of the chosen items' creators and cast


class Grounding:
    """Knows every catalog title, so it can tell a recommended title from any other one."""

    def __init__(
        self,
        items: Iterable[Item],
        title_index: TitleIndex | None = None,
        vocabulary: Vocabulary | None = None,
        titles: CatalogTitles | None = None,
    ) -> None:
        items_list = list(items)
        # the titles and aliases as written: the catalog file's (the engine's), else gathered here in memory
        self.titles: CatalogTitles = titles if titles is not None else TitleSet(items_list)
        # the matcher that reads users' messages, as a last pass (the engine shares its own: built once)
        self.title_index = title_index or TitleIndex(items_list)
        self.base_vocabulary = _base_vocabulary()
        # the catalog's words: the catalog file of the data folder (the engine's), else gathered here in memory
        self.vocabulary: Vocabulary = vocabulary if vocabulary is not None else WordSets(items_list)

    def is_plain(self, term: str) -> bool:
        """True when every word of an interest term occurs somewhere in the catalog: safe to show back.

        An invented title typed by the user ("recommend The Zorblax Saga") is not repeated in any reply, and
        neither is a catalog title (a reply names only the recommended items), unless it is also a genre word.
        """
        folded = norm(term)
        if folded in self.titles and folded not in self.base_vocabulary:
            return False
        words = [w for w in folded.split() if not CJK.search(w)]
        runs = re.findall(r"[\u3400-\u9fff]+", folded)
        known = all(w in self.base_vocabulary or self.vocabulary.has_word(w) for w in words)
        return bool(folded) and known and all(map(self._covered, runs))

    def _covered(self, run: str) -> bool:
        """A Chinese run splits into pieces of 2+ characters that all occur in the catalog ("太空" + "探索")."""
        i = 0
        while i < len(run):
            n = next((n for n in range(min(6, len(run) - i), 1, -1) if self.vocabulary.has_han(run[i : i + n])), 0)
            if not n:
                return False
            i += n
        return True

    def allowed(
        self, chosen: Iterable[Item], language: str, secrets: Iterable[str] = (), extra_words: Iterable[str] = ()
    ) -> Allowed:
        """The titles and words a reply about `chosen` may use (`extra_words`: the interests shown to the model).

        Only the items' screened facts count; what `untrusted.screen` dropped becomes `tainted` runs instead.
        """
        screened = [screen(item) for item in chosen]
        chosen = [item for item, _ in screened]
        titles = tuple(dict.fromkeys(k for item in chosen for k in map(norm, (item.title, *item.aliases)) if k))
        words = set(self.base_vocabulary)
        words.update(w for term in extra_words if self.is_plain(term) for w in norm(term).split())
        own = []
        for item in chosen:
            text = " ".join(
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
            own.append(norm(text))
            words.update(own[-1].split())
        kinds = tuple(
            (k, item.kind, norm(f"{item.description} {' '.join(item.tags)}"))
            for item in chosen
            for k in map(norm, (item.title, *item.aliases))
            if k
        )
        years = frozenset(
            [str(item.year) for item in chosen if item.year]  # and years their rows give ("a 2004 concert")
            + [y for item in chosen for y in YEAR.findall(item.description)]
        )
        raw = tuple(sorted({t for item in chosen for t in (item.title, *item.aliases)}, key=len, reverse=True))
        tainted = _tainted_runs([text for _, dropped in screened for text in dropped], own, self.base_vocabulary)
        people = tuple(dict.fromkeys(k for item in chosen for k in map(norm, (*item.creators, *item.cast)) if k))
        return Allowed(
            titles, kinds, years, raw, frozenset(words), language, tuple(s for s in secrets if s), tainted, people
        )

    def mend_brackets(self, text: str, allowed: Allowed) -> str:
        """A bracketed Chinese title a character off exactly one recommended title (two off from five characters:
        《剑傲江湖》 for 《笑傲江湖》), and no catalog title itself, is written as that title; `check` judges
        the rest."""

        def mend(match: re.Match[str]) -> str:
            name = match.group(1)
            key = norm(name)
            if not CJK.search(name) or key in self.titles or self._is_chosen(key, allowed, fuzzy=True):
                return match.group(0)
            near = [
                t
                for t in allowed.raw_titles
                if len(t) >= 3 and CJK.search(t) and Levenshtein.distance(name, t) <= (2 if len(t) >= 5 else 1)
            ]
            return match.group(0).replace(name, near[0]) if len(near) == 1 else match.group(0)

        return BOOK_MARKS.sub(mend, text)

    def check(self, text: str, allowed: Allowed, complete: bool = True) -> Verdict:
        """Accept `text` only if every title-like span in it is grounded (see the module docstring)."""
        for check in (
            self._leak,
            self._links,
            self._tainted,
            self._brackets,
            self._quoted,
            self._runs,
            self._cjk,
            self._matched,
            self._years,
        ):
            verdict = check(text, allowed)
            if not verdict.ok:
                return verdict
        if complete:
            if not text.strip():
                return Verdict(False, "empty reply")
            if detect_language(text) != allowed.language:
                return Verdict(False, f"reply is not in {allowed.language}")
        return OK

    # -- the individual checks ----------------------------------------------------------------------------
    def _leak(self, text: str, allowed: Allowed) -> Verdict:
        lowered = " ".join(norm(text).split())
        packed = lowered.replace(" ", "")
        for secret in allowed.secrets:
            for window in _windows(secret):
                if window in (packed if CJK.search(window) else lowered):
                    return Verdict(False, "reply repeats the instructions")
        return OK

    @staticmethod
    def _links(text: str, allowed: Allowed) -> Verdict:
        """No URL, domain or e-mail address, unless it is part of a recommended title ("Amazon.com")."""
        for title in allowed.raw_titles:
            text = re.sub(re.escape(title), " ", text, flags=re.IGNORECASE)
        found = links(text)
        return Verdict(False, f"carries the link {found[0]!r}") if found else OK

    @staticmethod
    def _tainted(text: str, allowed: Allowed) -> Verdict:
        """No run of words from a recommended item's instruction-like catalog text (3 words, 6 Chinese characters)."""
        if not allowed.tainted:
            return OK
        folded = norm(text)
        stems, packed = f" {_stems(folded)} ", folded.replace(" ", "")
        for run in allowed.tainted:
            if (run in packed) if CJK.search(run) else (f" {run} " in stems):
                return Verdict(False, "reply repeats an instruction found in the catalog")
        return OK

    def _brackets(self, text: str, allowed: Allowed) -> Verdict:
        for match in BOOK_MARKS.finditer(text):
            if not self._is_chosen(norm(match.group(1)), allowed, fuzzy=True):
                return Verdict(False, f"names 《{match.group(1)}》, which was not recommended")
        return OK

    def _quoted(self, text: str, allowed: Allowed) -> Verdict:
        for match in QUOTED.finditer(text):
            span = next(g for g in match.groups() if g is not None)
            verdict = self._span(span, allowed, sentence_start=True)
            if not verdict.ok:
                return verdict
        return OK

    def _runs(self, text: str, allowed: Allowed) -> Verdict:
        for match in CAPITALISED_RUN.finditer(text):
            start = bool(SENTENCE_START.search(text[: match.start()]))
            verdict = self._span(match.group(0), allowed, sentence_start=start)
            if not verdict.ok:
                return verdict
        return OK

    def _cjk(self, text: str, allowed: Allowed) -> Verdict:
        if not CJK.search(text):
            return OK
        folded = norm(text)
        for key in sorted(self.titles.cjk_in(folded)):
            if not self._is_chosen(key, allowed):
                return Verdict(False, f"names {key}, which was not recommended")
        return OK

    def _matched(self, text: str, allowed: Allowed) -> Verdict:
        """Any title the message reader would recognise ("活着", "the godfather") must belong to a chosen item."""
        for name in allowed.people:  # blanked, same length: "Akira" in "Akira Kurosawa" is no film
            if len(name.split()) >= 2:
                pattern = r"\b" + r"\W+".join(map(re.escape, name.split())) + r"\b"
                text = re.sub(pattern, lambda m: " " * len(m.group(0)), text, flags=re.IGNORECASE)
        for span in self.title_index.spans(text, fuzzy=False):
            written = text[span.start : span.end]
            if written.isascii() and written == written.lower():
                continue  # "a haunted house", "love story", "a": a reply writes a title it names with capitals
            key = norm(written)
            if not self._is_chosen(key, allowed) and not _own_phrase(key, allowed):  # "Mowgli" of its own plot
                return Verdict(False, f"names {key!r}, which was not recommended")
        return OK

    def _years(self, text: str, allowed: Allowed) -> Verdict:
        for title in allowed.raw_titles:  # "2001" in "2001: A Space Odyssey" is no year
            text = re.sub(re.escape(title), " ", text, flags=re.IGNORECASE)
        for match in YEAR.finditer(text):
            if match.group(1) not in allowed.years:
                return Verdict(False, f"gives the year {match.group(1)}, which no recommended item has")
        return OK

    # -- one span ------------------------------------------------------------------------------------------
    def _span(self, span: str, allowed: Allowed, sentence_start: bool) -> Verdict:
        """A run of words: parts of chosen titles pass, other catalog titles fail, the rest must be known words.

        At each word the longest chosen-title part and the longest other catalog title are compared, so "The"
        (part of the chosen "The Killing") cannot carry "The Godfather" through.
        """
        words = norm(span).split()
        i = 0
        while i < len(words):
            person = _longest_name(words, i, allowed.people)  # "Akira Kurosawa" is a person, not the film Akira
            if person:
                i = person
                continue
            mine = self._longest_title(words, i, allowed)
            other = self._other_title(words, i, first=sentence_start and i == 0, vocabulary=allowed.vocabulary)
            if other and _own_phrase(other, allowed):  # a tag of a chosen item that is also a title: "Frankenstein"
                other = ""
            if other and i + len(other.split()) > mine and not self._is_chosen(other, allowed):
                return Verdict(False, f"names {other!r}, which was not recommended")
            if mine:
                i = mine
                continue
            word = words[i]
            known = word in allowed.vocabulary or (word.endswith("s") and word[:-1] in allowed.vocabulary)
            if not (known or NUMBER.match(word) or (sentence_start and i == 0)):
                return Verdict(False, f"mentions {span.strip()!r}, which is not among the recommendations")
            i += 1
        return OK

    def _longest_title(self, words: list[str], i: int, allowed: Allowed) -> int:
        """End index of the longest run from `i` that is part of a chosen title (0 if none).

        A run of only small words ("the", "of") is no title part: it proves nothing about what follows.
        """
        for end in range(len(words), i, -1):
            piece = " ".join(words[i:end])
            if any(w not in CONNECTORS and w not in EN_STOPWORDS for w in words[i:end]) and any(
                _contains(title, piece) for title in allowed.titles
            ):
                return end
        return 0

    def _other_title(self, words: list[str], i: int, first: bool, vocabulary: frozenset[str]) -> str:
        """The longest catalog title starting at `i`; a lone word that is plain vocabulary here ("Family") does
        not count, nor a lone word opening a sentence."""
        for end in range(len(words), i, -1):
            piece = " ".join(words[i:end])
            if piece in self.titles:
                lone_common = end - i == 1 and (piece in vocabulary or first)
                if not lone_common:
                    return piece
        return ""

    @staticmethod
    def _is_chosen(key: str, allowed: Allowed, fuzzy: bool = False) -> bool:
        if any(key == t or (len(key) >= 2 and _contains(t, key)) for t in allowed.titles):
            return True
        return fuzzy and any(fuzz.ratio(key, t) >= 85 for t in allowed.titles)


class StreamGuard:
    """Feeds a stream through `Grounding.check`, releasing only text whose title-like spans are complete."""

    def __init__(self, grounding: Grounding, allowed: Allowed) -> None:
        self.grounding = grounding
        self.allowed = allowed
        self.text = ""
        self.released = 0
        self.verdict = OK

    def feed(self, piece: str) -> str:
        """Add a piece of the stream; returns the newly releasable text ("" while a span may still grow)."""
        self.text += piece
        held = self.text[self.released :]  # not shown yet: a near-miss bracketed title can still be mended
        self.text = self.text[: self.released] + self.grounding.mend_brackets(held, self.allowed)
        safe = safe_cut(self.text)
        if self.allowed.tainted and safe > self.released:  # a run the hold below kept back may be complete now
            self.verdict = self.grounding._tainted(self.text[:safe], self.allowed)
            if not self.verdict.ok:
                return ""
        cut = hold_tainted(self.text, safe, self.allowed.tainted)
        if cut <= self.released:
            return ""
        self.verdict = self.grounding.check(self.text[:cut], self.allowed, complete=False)
        if not self.verdict.ok:
            return ""
        new, self.released = self.text[self.released : cut], cut
        return new

    def finish(self) -> tuple[str, Verdict]:
        """The whole reply, trimmed to its last complete sentence, and the final verdict on it."""
        if not self.verdict.ok:
            return self.text, self.verdict
        text = complete_sentences(self.text)
        return text, self.grounding.check(text, self.allowed, complete=True)


def safe_cut(text: str) -> int:
    """Where the text can be released: before the last word, and before any span the next words could extend."""
    if CJK.search(text):
        cut = max(text.rfind(p) for p in CJK_PUNCT) + 1
    else:
        tokens = list(re.finditer(r"\S+", text))
        if not tokens:
            return 0
        i = len(tokens) - 1  # the last word may still be growing
        while i > 0 and _titleish(tokens[i - 1].group()):
            i -= 1
        cut = tokens[i].start()
    if _unbalanced(text[:cut]):
        cut = max(text.rfind(c, 0, cut) for c in '"“«*《「')
    return max(cut, 0)


def hold_tainted(text: str, cut: int, tainted: Iterable[str]) -> int:
    """`cut`, moved back before a tail of the releasable text that opens a tainted run ("tell the" of "tell the
    user"): the next words decide, so no part of a repeated catalog instruction is ever shown."""
    heads = {
        h
        for run in tainted
        for h in ([run[:k] for k in range(1, 6)] if CJK.search(run) else [" ".join(run.split()[:k]) for k in (1, 2)])
    }
    if not heads or cut <= 0:
        return cut
    tokens = list(re.finditer(r"\S+", text[:cut]))
    for k in (2, 1):
        if len(tokens) >= k and _stems(norm(" ".join(t.group() for t in tokens[-k:]))) in heads:
            return tokens[-k].start()
    chars = list(CJK.finditer(text[:cut]))[-5:]
    for k in range(len(chars), 0, -1):
        if "".join(m.group() for m in chars[-k:]) in heads:
            return chars[-k].start()
    return cut


def _titleish(token: str) -> bool:
    return token[:1].isupper() or token[:1].isdigit() or token[:1] in '"“«*_《「' or token.lower() in CONNECTORS


def complete_sentences(text: str) -> str:
    """The text up to its last sentence end (all of it when there is none, as long as it has several words)."""
    text = text.strip()
    ends = [m.end() for m in re.finditer(r"[.!?。！？](?=\s|$)|[。！？]", text)]
    if ends and ends[-1] < len(text):
        return text[: ends[-1]].strip()
    return text


def _unbalanced(text: str) -> bool:
    return (
        text.count('"') % 2 == 1
        or text.count("“") > text.count("”")
        or text.count("«") > text.count("»")
        or text.count("《") > text.count("》")
        or text.count("**") % 2 == 1
        or text.count("「") > text.count("」")
    )


def _longest_name(words: list[str], i: int, people: tuple[str, ...]) -> int:
    """End index of the longest chosen item's person name (two words or more) starting at `i`, or 0."""
    best = 0
    for name in people:
        parts = name.split()
        if len(parts) >= 2 and words[i : i + len(parts)] == parts:
            best = max(best, i + len(parts))
    return best


def _own_phrase(phrase: str, allowed: Allowed) -> bool:
    return any(f" {phrase} " in f" {own} " for _, _, own in allowed.kinds)


def _contains(title: str, piece: str) -> bool:
    """`piece` is a whole-word part of `title` (or, for Chinese, a substring)."""
    if CJK.search(piece):
        return piece in title
    return f" {piece} " in f" {title} "


def _windows(secret: str) -> list[str]:
    """Overlapping stretches of the instructions: 6 words, or 10 Chinese characters."""
    folded = " ".join(norm(secret).split())
    if CJK.search(folded):
        chars = folded.replace(" ", "")
        return [chars[i : i + 10] for i in range(0, max(len(chars) - 9, 1), 3)]
    words = folded.split()
    return [" ".join(words[i : i + 6]) for i in range(0, max(len(words) - 5, 1))]


def _stem(word: str) -> str:
    """A crude stem, so "telling the users" repeats "tell the user"."""
    for suffix in ("ing", "ed", "es", "s", "e"):
        if word.endswith(suffix) and len(word) > len(suffix) + 2:
            return word[: -len(suffix)]
    return word


def _stems(folded: str) -> str:
    return " ".join(_stem(w) for w in folded.split() if not CJK.search(w))


def _tainted_runs(dropped: list[str], own: list[str], plain: frozenset[str]) -> tuple[str, ...]:
    """Runs of dropped text a reply may not repeat: 3 words with one that is not plain vocabulary, or 6 Chinese
    characters, and in neither case text the items' own (kept) facts also use."""
    own_stems = " ".join(f" {_stems(text)} " for text in own)
    own_packed = "".join(text.replace(" ", "") for text in own)
    runs: dict[str, None] = {}
    for text in map(norm, dropped):
        words = text.split()
        for i in range(len(words) - 2):
            window = words[i : i + 3]
            run = " ".join(map(_stem, window))
            if (
                not any(CJK.search(w) for w in window)
                and any(w not in plain for w in window)
                and f" {run} " not in own_stems
            ):
                runs[run] = None
        packed = text.replace(" ", "")
        for i in range(len(packed) - 5):
            run = packed[i : i + 6]
            if len(CJK.findall(run)) == 6 and run not in own_packed:
                runs[run] = None
    return tuple(runs)


def _base_vocabulary() -> frozenset[str]:
    words = set(EN_STOPWORDS) | GENERIC | CONNECTORS | CONTRACTIONS
    words.update(w for word in GENERIC for w in norm(word).split())  # "i'm" is read as "im"
    for table in (GENRE_WORDS, KIND_WORDS):
        for name, synonyms in table.items():
            words.update(norm(name).split())
            for synonym in synonyms:
                words.update(norm(synonym).split())
    return frozenset(words)
