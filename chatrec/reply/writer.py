"""Reply writing: the generator's prompt, the sentence-by-sentence checked stream, and the template reply.

The model writes one sentence per recommended item (the first `prompt_items`), each from a prompt that holds the
user's interest terms and that one item's title and a few catalog facts, all quoted as data (instruction-like
catalog text never gets there: see `untrusted`). The user's message itself never reaches the model: the interests
say what it asked for, and a film the user named cannot be mistaken for a pick. Each sentence is shown only after
it passes every check: grounding (`StreamGuard`: only recommended titles, no echoed instructions, no link), the
unsupported-claim check of that item's own facts (`claims`) and the user's language. What is shown is never taken
back: on the first failing sentence, when time runs out, or when another user is waiting for the model, the reply
ends with what was shown and a short closing sentence. Only a reply with no sentence shown falls back to the
template reply.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace

from chatrec.catalog.items import Item
from chatrec.errors import GeneratorBusy
from chatrec.ports import Generator, Limits, Message
from chatrec.reading.language import CJK, detect_language
from chatrec.reading.lexicon import EN_STOPWORDS, GENRE_ZH, KIND_WORDS, canonical_genre
from chatrec.reading.understanding import norm
from chatrec.reply.claims import ClaimCheck, example_facts
from chatrec.reply.grounding import Allowed, Grounding, StreamGuard, Verdict
from chatrec.reply.prompts import render
from chatrec.reply.reasons import KIND_ZH
from chatrec.reply.untrusted import keywords, screen

log = logging.getLogger(__name__)
KIND_EN = {"movie": "movie", "book": "book", "series": "series"}  # the kind as a sentence's opening names it
FACT_IN_PROMPT = 120  # characters of one catalog fact the model sees
PLOT_IN_PROMPT = 80  # characters of the description the model sees for an item with no tags
SENTENCE_TOKENS = 48  # the most tokens one item's sentence may take
MIN_SENTENCE_S = 2.0  # the next item's sentence is begun only with this much of the budget left
DANGLING = frozenset(
    "even involving including into onto about with without from further than".split()
)  # no plot ends so
CLOSING = {"en": "The cards have the details of every pick.", "zh": "每个推荐的详情见卡片。"}
# a sentence ends at . ! ? before a space (not after an initial or a short title: "John R. Leonetti", "Dr. No"), or
# at a Chinese full stop
SENTENCE_END = re.compile(
    r"(?<!\b[A-Z])(?<!\bMr)(?<!\bMs)(?<!\bDr)(?<!\bSt)(?<!\bJr)(?<!\bSr)(?<!\bvs)(?<!\bMrs)"
    r"[.!?](?=\s)|[。！？]"
)


@dataclass(frozen=True)
class Draft:
    """The reply so far; the last draft of a turn has `final=True` and says where its text came from."""

    text: str
    final: bool = False
    source: str = "template"  # "generator" or "template"
    problem: str = ""  # why generation stopped early or was not used (for logs and benchmarks)
    busy: bool = False  # the template answered at once because the generator was serving others


def quote_fact(fact: str) -> str:
    """A catalog fact as a one-line quotation that cannot close its own quotes (the request template quotes it)."""
    flat = re.sub(r"[\"“”]", "'", " ".join(fact.split()))
    return flat[:FACT_IN_PROMPT] + ("…" if len(flat) > FACT_IN_PROMPT else "")


def item_brief(item: Item, language: str) -> dict[str, object]:
    """Title, year, kind and a few facts of an item, each read from its catalog row and quoted as data.

    Catalog text is data: instruction-like genres, names and tags, and over-long tags, never reach the prompt.
    """
    zh = language == "zh"
    item = screen(item)[0]
    genres, tags = keywords(item.genres)[:2], keywords(item.tags)[:2]  # a short prompt is a quick first token
    facts = []
    if genres:
        genres = tuple(GENRE_ZH.get(canonical_genre(g), g) if zh else g for g in genres)
        facts.append(("类型：" + "、".join(genres)) if zh else ", ".join(genres))
    if item.creators:
        facts.append(("主创：" if zh else "by ") + item.creators[0])
    # a Chinese reply on a Chinese description gets its plot rather than its themes: with themes only, the small
    # model writes a story of its own (the worked example's) after "讲述"
    plot_first = zh and bool(CJK.search(item.description))
    if tags and not plot_first:  # no cast, two tags
        facts.append(("主题：" + "、".join(tags)) if zh else "about " + ", ".join(tags))
    elif plot := short_plot(item.description):  # with no themes to cite, a small model invents a plot: give it one
        facts.append(("剧情：" if zh else "story: ") + plot)
    elif tags:
        facts.append("主题：" + "、".join(tags))
    kind = KIND_ZH.get(item.kind, "作品") if zh else (item.kind or "item")
    return {"title": item.title, "year": item.year, "kind": kind, "facts": [quote_fact(f) for f in facts]}


def opening(item: Item, language: str, interests: Sequence[str] = ()) -> str:
    """The sentence's first words, written from the item's row and given to the model to continue: the title as
    the prompt lists it, and, when the row has them, its first genre, its kind and its first creator ("It (2017)
    is a horror movie by Andy Muschietti"). They are true by construction, and the model has only its clause left
    to write, which is what it does well (and each token it need not write is about 50 ms sooner). The genre is
    one the user asked for when the item has one."""
    zh = language == "zh"
    item = screen(item)[0]
    year = (f"（{item.year}）" if zh else f" ({item.year})") if item.year else ""
    title = f"《{item.title}》{year}" if zh else f"{item.title}{year}"
    wanted = {canonical_genre(term) for term in interests} - {""}
    genres = sorted(keywords(item.genres), key=lambda g: canonical_genre(g) not in wanted)[:1]  # the user's first
    kind = (KIND_ZH if zh else KIND_EN).get(item.kind, "")
    if not genres or not kind:
        return title
    genre = canonical_genre(genres[0]) or genres[0].lower()
    creator = item.creators[0] if item.creators and keywords(item.creators[:1]) else ""
    if zh:
        return f"{title}是{creator + '的' if creator else ''}{GENRE_ZH.get(genre, genre)}{kind}"
    article = "an" if genre[:1] in "aeiou" else "a"
    return f"{title} is {article} {genre} {kind}{' by ' + creator if creator else ''}"


def wrong_kind_words(item: Item, language: str) -> list[str]:
    """Words for the other kinds, which the model may not write about this item ("series" for a film) unless its
    own row uses them (a film "based on the novel"): single English words, and Chinese ones of two characters or
    more in a Chinese reply."""
    if item.kind not in KIND_WORDS:
        return []
    row = " ".join([item.title, *item.aliases, item.description, *item.tags, *item.genres])
    own_words, words = set(norm(row).split()), []
    for kind, forms in KIND_WORDS.items():
        for word in forms:
            if kind == item.kind or " " in word:
                continue
            if CJK.search(word):
                if language == "zh" and len(word) >= 2 and word not in row:
                    words.append(word)
            elif word not in own_words:
                words.append(word)
    return words


def short_plot(description: str) -> str:
    """The description's first sentence as a phrase the model can repeat whole: a leading "In 1989, " or "As
    ..., " set aside, then cut before PLOT_IN_PROMPT characters at a clause ("... hotel for the winter" of "... for
    the winter where a sinister presence ...") or, failing that, at a word (or character)."""
    first = re.split(r"(?<=[.!?。！？])\s*", " ".join(description.split()), maxsplit=1)[0]
    if CJK.search(first):
        limit = PLOT_IN_PROMPT // 3  # a Chinese character is about a token
        if len(first) <= limit:
            return first.rstrip("。")
        cuts = [m.start() for m in re.finditer(r"[，；、：]", first[: limit + 1]) if m.start() >= 8]
        return first[: cuts[-1]] if cuts else first[:limit]  # at a clause when there is one
    lead = re.match(
        r"(?:In|On|At|As|After|When|While|During|Set in|\w+ (?:years|decades) after)\b[^,]{3,70}, (?=\w)", first
    )
    if lead and len(first) - lead.end() >= 25:
        rest = first[lead.end() :]
        first = rest[0].upper() + rest[1:]
    if len(first) <= PLOT_IN_PROMPT:
        return first.rstrip(".")
    head = first[:PLOT_IN_PROMPT]
    clauses = [
        m.start()
        for m in re.finditer(
            r",| (?:who|which|where|when|while|as|after|before|until|but|and|only "
            r"to|in order to)\b",
            head,
        )
        if m.start() >= 30
    ]
    if clauses:
        return head[: clauses[-1]].rstrip(",;")
    words = head.split(" ")
    if len(words) == 1:
        return words[0]
    words = words[:-1]
    while len(words) > 1 and (words[-1].lower().strip(",;") in EN_STOPWORDS or words[-1].lower() in DANGLING):
        words.pop()
    return " ".join(words).rstrip(",;")


class ReplyWriter:
    """Turns recommendations into a reply: generated and checked when possible, from the template otherwise."""

    def __init__(
        self,
        generator: Generator | None,
        grounding: Grounding,
        limits: Limits,
        prompt_items: int = 2,
        enforce_claims: bool = True,
    ) -> None:
        self.generator = generator
        self.grounding = grounding
        self.limits = limits
        self.prompt_items = prompt_items
        self.enforce_claims = enforce_claims  # False only to measure the claim check (benchmarks/faithfulness.py)
        self.stats: Counter[str] = Counter()  # sentences shown, claims flagged, replies cut short (fixed keys)

    def messages(self, interests: Sequence[str], items: Sequence[Item], language: str) -> list[Message]:
        """The chat messages sent to the model: fixed instructions, then the turn's data (never the message itself)."""
        lang = "zh" if language == "zh" else "en"
        return [
            {"role": "system", "content": render(f"system.{lang}.j2")},
            {
                "role": "user",
                "content": render(
                    f"request.{lang}.j2",
                    interests=[quote_fact(t) for t in interests],
                    items=[item_brief(i, lang) for i in items[: self.prompt_items]],
                ),
            },
        ]

    def warm(self) -> None:
        """Prepare the generator's cached instructions for both languages, so no user waits for them."""
        if self.generator is None:
            return
        for language in ("en", "zh"):
            if language in self.generator.languages:
                self.generator.warm(self.messages([], [], language))

    def write(self, interests: Sequence[str], items: Sequence[Item], language: str, template: str) -> Iterator[Draft]:
        """Drafts of the reply as it streams, each extending the last; the last one is final.

        The model writes one sentence per item, each from a prompt that lists that item alone: it cannot lend one
        item's director or plot to another, and the first sentence needs only one item's facts read. The prompts
        share everything before the item, which the model reads once."""
        generator = self.generator
        if generator is None or not items:
            yield Draft(template, final=True, problem="generator off" if generator is None else "")
            return
        if language not in generator.languages:
            yield Draft(template, final=True, problem=f"{generator.id} does not speak {language}")
            return
        started, shown, problem = time.monotonic(), "", ""
        system = render(f"system.{'zh' if language == 'zh' else 'en'}.j2")
        allowed = self.grounding.allowed(items, language, secrets=[system], extra_words=interests)  # once a turn
        for k, item in enumerate(items[: self.prompt_items]):
            left = self.limits.budget_s - (time.monotonic() - started)
            if k and left < MIN_SENTENCE_S:
                break
            limits = replace(
                self.limits,
                budget_s=left,
                wait_s=self.limits.wait_s if k == 0 else 0.0,
                max_new_tokens=min(self.limits.max_new_tokens, SENTENCE_TOKENS),
            )
            reply = self._reply(interests, allowed, system, item, language)
            try:
                yield from self._sentence(
                    reply,
                    self.messages(interests, [item], language),
                    limits,
                    opening(item, language, interests),
                    wrong_kind_words(item, language),
                    language,
                    shown,
                )
            except GeneratorBusy:
                if k == 0:
                    yield Draft(template, final=True, problem="busy", busy=True)
                    return
                reply.problem = "busy"  # someone else's turn now: this reply ends with what it has
            if reply.shown:
                shown = self._join(shown, reply.shown, language)
            problem = reply.problem or ("" if reply.shown else "no complete sentence")
            if problem:
                if not shown:
                    log.info("template reply: %s; the model wrote: %r", problem, reply.guard.text)
                break
        if not shown:
            yield Draft(template, final=True, problem=problem or "no complete sentence")
            return
        if problem:
            log.info(
                "generation stopped after %d characters: %s; the model went on: %r",
                len(shown),
                problem,
                reply.guard.text[reply.end :],
            )
            shown = self._join(shown, CLOSING["zh" if language == "zh" else "en"], language)
        yield Draft(shown, final=True, source="generator", problem=problem)

    def _reply(self, interests: Sequence[str], allowed: Allowed, system: str, item: Item, language: str) -> _Reply:
        """The checked stream of one item's sentence: any recommended title may appear, only this item's facts."""
        return _Reply(
            StreamGuard(self.grounding, allowed),
            ClaimCheck([item], interests, example_facts(system)),
            language,
            self.enforce_claims,
            self.stats,
        )

    def _sentence(
        self,
        reply: _Reply,
        messages: list[Message],
        limits: Limits,
        prefix: str,
        avoid: list[str],
        language: str,
        before: str,
    ) -> Iterator[Draft]:
        """Stream one item's sentence into `reply`, stopping once a sentence is shown; drafts carry `before`."""
        if self.generator is None:
            return
        stop, started = threading.Event(), time.monotonic()
        chunks = self.generator.stream(messages, limits, stop, prefix=prefix, avoid=avoid)
        try:
            for piece in chunks:
                if reply.feed(piece):  # one sentence is enough: the rest of this stream is not read
                    yield Draft(self._join(before, reply.shown, language), source="generator")
                    return
                if reply.problem:
                    return
                if time.monotonic() - started > limits.budget_s:
                    reply.problem = "out of time"
                    return
        except GeneratorBusy:
            raise
        except Exception as exc:  # a failing model must never cost the user their answer
            log.warning("generation failed: %s", exc)
            reply.problem = reply.problem or f"generation failed: {exc}"
            return
        finally:
            stop.set()
            chunks.close()  # frees the generator for the next sentence or user at once
        if not reply.problem and reply.finish():
            yield Draft(self._join(before, reply.shown, language), source="generator")

    @staticmethod
    def _join(shown: str, sentence: str, language: str) -> str:
        return f"{shown}{'' if language == 'zh' or not shown else ' '}{sentence}"


class _Reply:
    """The generated text of one reply: what is shown (checked, whole sentences) and what is still held back."""

    def __init__(
        self,
        guard: StreamGuard,
        claims: ClaimCheck,
        language: str,
        enforce_claims: bool = True,
        stats: Counter[str] | None = None,
    ) -> None:
        self.guard, self.claims, self.language = guard, claims, language
        self.enforce_claims, self.stats = enforce_claims, stats if stats is not None else Counter()
        self.shown = ""  # text the user sees; only ever grows
        self.end = 0  # where `shown` ends in the guard's text
        self.problem = ""

    def feed(self, piece: str) -> bool:
        """Take a piece of the stream; True when one or more sentences were released."""
        self.guard.feed(piece)
        if not self.guard.verdict.ok:
            self.problem = self.guard.verdict.problem
            return False
        released = self.guard.text[: self.guard.released]
        ends = [m.end() for m in SENTENCE_END.finditer(released, self.end)]
        return self._release(ends[-1]) if ends else False

    def finish(self) -> bool:
        """At the end of the stream: release the last sentence if it ends as a sentence does and passes."""
        text, verdict = self.guard.finish()
        if (
            not verdict.ok
            and verdict.problem not in ("empty reply",)
            and not verdict.problem.startswith("reply is not")
        ):
            self.problem = verdict.problem
            return False
        cut = len(text.rstrip())
        if not re.search(r"[.!?。！？]$", text[:cut]):  # no sentence end: the stream was cut off mid-sentence
            return False
        return cut > self.end and self._release(cut)

    def _release(self, cut: int) -> bool:
        """Check each sentence up to `cut` in turn; show those that pass, stop at the first that fails."""
        released = False
        for sentence_end in [m.end() for m in SENTENCE_END.finditer(self.guard.text[:cut], self.end)] or [cut]:
            sentence = self.guard.text[self.end : sentence_end]
            verdict = self._check(sentence)
            if not verdict.ok:
                self.problem = verdict.problem
                return released
            self.shown += sentence if self.shown else sentence.lstrip()
            self.end, released = sentence_end, True
            self.stats["sentences shown"] += bool(sentence.strip())
        return released

    def _check(self, sentence: str) -> Verdict:
        if not sentence.strip():
            return Verdict(True)
        letters = [c for c in sentence if c.isalpha()]
        if len(letters) >= 8 and detect_language(sentence) != self.language:
            return Verdict(False, f"a sentence is not in {self.language}")
        verdict = self.claims.check(sentence)
        if not verdict.ok:
            self.stats["claims flagged"] += 1
            log.info("unsupported claim: %s in %r", verdict.problem, sentence)
            if not self.enforce_claims:
                return Verdict(True)
        return verdict
