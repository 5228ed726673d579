"""Reply writing: the generator's prompt, the sentence-by-sentence checked stream, and the template reply.

The prompt holds only the user's message (quoted, as data), their interest terms and, for each recommended item,
its title and a few catalog facts (quoted, as data; instruction-like catalog text never gets there: see `untrusted`).
The stream is shown one sentence at a time, each only after it passes every check: the grounding checks of the
whole text so far (`StreamGuard`: only recommended titles, no echoed instructions, no link), the unsupported-claim
check (`claims`) and the user's language. What is shown is never taken back: on the first failing sentence, or
when time runs out, generation stops and the reply ends with what was shown and a short closing sentence. Only a
reply with no sentence shown falls back to the template reply.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
import threading
import time
from dataclasses import dataclass
from typing import Iterator, Sequence

from .catalog import Item
from .claims import ClaimCheck, example_facts
from .generation import Generator, GeneratorBusy, Limits, Message
from .grounding import Grounding, StreamGuard, Verdict
from .language import CJK, detect_language
from .lexicon import EN_STOPWORDS, GENRE_ZH, canonical_genre
from .prompts import render
from .reasons import KIND_ZH
from .untrusted import keywords, screen

log = logging.getLogger(__name__)
MESSAGE_IN_PROMPT = 200   # characters of the user's message the model sees (each costs prompt time)
FACT_IN_PROMPT = 120      # characters of one catalog fact the model sees
PLOT_IN_PROMPT = 80       # characters of the description the model sees for an item with no tags
CLOSING = {"en": "The cards have the details of every pick.", "zh": "每个推荐的详情见卡片。"}
# a sentence ends at . ! ? before a space (not after an initial or a short title: "John R. Leonetti", "Dr. No"), or
# at a Chinese full stop
SENTENCE_END = re.compile(r"(?<!\b[A-Z])(?<!\bMr)(?<!\bMs)(?<!\bDr)(?<!\bSt)(?<!\bJr)(?<!\bSr)(?<!\bvs)(?<!\bMrs)"
                          r"[.!?](?=\s)|[。！？]")


@dataclass(frozen=True)
class Draft:
    """The reply so far; the last draft of a turn has `final=True` and says where its text came from."""

    text: str
    final: bool = False
    source: str = "template"          # "generator" or "template"
    problem: str = ""                 # why generation stopped early or was not used (for logs and benchmarks)
    busy: bool = False                # the template answered at once because the generator was serving others


def quote_message(message: str) -> str:
    """The user's message as a one-line quotation that cannot close its own quotes."""
    flat = " ".join(message.split())
    flat = re.sub(r"[\"“”]", "'", flat)
    return flat[:MESSAGE_IN_PROMPT] + ("…" if len(flat) > MESSAGE_IN_PROMPT else "")


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
    genres, tags = keywords(item.genres)[:2], keywords(item.tags)[:2]   # a short prompt is a quick first token
    facts = []
    if genres:
        genres = tuple(GENRE_ZH.get(canonical_genre(g), g) if zh else g for g in genres)
        facts.append(("类型：" + "、".join(genres)) if zh else ", ".join(genres))
    if item.creators:
        facts.append(("主创：" if zh else "by ") + item.creators[0])
    if tags:   # no cast, two tags
        facts.append(("主题：" + "、".join(tags)) if zh else "about " + ", ".join(tags))
    elif plot := short_plot(item.description):   # with no themes to cite, a small model invents a plot: give it one
        facts.append(("剧情：" if zh else "story: ") + plot)
    kind = KIND_ZH.get(item.kind, "作品") if zh else (item.kind or "item")
    return {"title": item.title, "year": item.year, "kind": kind, "facts": [quote_fact(f) for f in facts]}


def opening(item: Item, language: str) -> str:
    """The reply's first words, given to the model to continue: the first item's title as the prompt lists it.

    The model then starts with what the user is shown first (the first card), not with a film the user named."""
    year = f"（{item.year}）" if language == "zh" and item.year else f" ({item.year})" if item.year else ""
    return f"《{item.title}》{year}" if language == "zh" else f"{item.title}{year}"


def short_plot(description: str) -> str:
    """The description's first sentence, cut at a word (or character) before PLOT_IN_PROMPT characters."""
    first = re.split(r"(?<=[.!?。！？])\s*", " ".join(description.split()), maxsplit=1)[0]
    limit = PLOT_IN_PROMPT // 3 if CJK.search(first) else PLOT_IN_PROMPT   # a Chinese character is about a token
    if len(first) <= limit:
        return first.rstrip(".。")
    words = first[:limit].split(" ")
    if len(words) == 1:
        return words[0]
    words = words[:-1]
    while len(words) > 1 and words[-1].lower().strip(",;") in EN_STOPWORDS:   # not "... involving a"
        words.pop()
    return " ".join(words).rstrip(",;")


class ReplyWriter:
    """Turns recommendations into a reply: generated and checked when possible, from the template otherwise."""

    def __init__(self, generator: Generator | None, grounding: Grounding, limits: Limits, prompt_items: int = 2,
                 enforce_claims: bool = True) -> None:
        self.generator = generator
        self.grounding = grounding
        self.limits = limits
        self.prompt_items = prompt_items
        self.enforce_claims = enforce_claims   # False only to measure the claim check (benchmarks/faithfulness.py)
        self.stats: Counter[str] = Counter()   # sentences shown, claims flagged, replies cut short (fixed keys)

    def messages(self, message: str, interests: Sequence[str], items: Sequence[Item], language: str) -> list[Message]:
        """The chat messages sent to the model: fixed instructions, then the turn's data."""
        lang = "zh" if language == "zh" else "en"
        return [
            {"role": "system", "content": render(f"system.{lang}.j2")},
            {"role": "user", "content": render(f"request.{lang}.j2", message=quote_message(message),
                                               interests=list(interests),
                                               items=[item_brief(i, lang) for i in items[: self.prompt_items]])},
        ]

    def warm(self) -> None:
        """Prepare the generator's cached instructions for both languages, so no user waits for them."""
        warm = getattr(self.generator, "warm", None)
        if warm is None:
            return
        for language in ("en", "zh"):
            if language in self.generator.languages:
                warm(self.messages("hello", [], [], language))

    def write(self, message: str, interests: Sequence[str], items: Sequence[Item], language: str,
              template: str) -> Iterator[Draft]:
        """Drafts of the reply as it streams, each extending the last; the last one is final."""
        generator = self.generator
        if generator is None or not items:
            yield Draft(template, final=True, problem="generator off" if generator is None else "")
            return
        if language not in generator.languages:
            yield Draft(template, final=True, problem=f"{generator.id} does not speak {language}")
            return
        messages = self.messages(message, interests, items, language)
        allowed = self.grounding.allowed(items, language, secrets=[messages[0]["content"]], extra_words=interests)
        reply = _Reply(StreamGuard(self.grounding, allowed), ClaimCheck(items, interests, example_facts(messages[0]["content"])), language,
                       self.enforce_claims, self.stats)
        stop, started = threading.Event(), time.monotonic()
        try:
            for piece in generator.stream(messages, self.limits, stop, prefix=opening(items[0], language)):
                if reply.feed(piece):
                    yield Draft(reply.shown, source="generator")
                if reply.problem:
                    break
                if time.monotonic() - started > self.limits.budget_s:
                    reply.problem = "out of time"
                    break
        except GeneratorBusy:
            yield Draft(template, final=True, problem="busy", busy=True)
            return
        except Exception as exc:   # a failing model must never cost the user their answer
            log.warning("generation failed: %s", exc)
            reply.problem = reply.problem or f"generation failed: {exc}"
        finally:
            stop.set()
        if not reply.problem and reply.finish():
            yield Draft(reply.shown, source="generator")
        if not reply.shown:
            log.info("template reply: %s; the model wrote: %r", reply.problem or "nothing usable", reply.guard.text)
            yield Draft(template, final=True, problem=reply.problem or "no complete sentence")
            return
        text = reply.shown
        if reply.problem:
            log.info("generation stopped after %d characters: %s", len(text), reply.problem)
            text = f"{text}{'' if language == 'zh' else ' '}{CLOSING['zh' if language == 'zh' else 'en']}"
        yield Draft(text, final=True, source="generator", problem=reply.problem)


class _Reply:
    """The generated text of one reply: what is shown (checked, whole sentences) and what is still held back."""

    def __init__(self, guard: StreamGuard, claims: ClaimCheck, language: str, enforce_claims: bool = True,
                 stats: Counter[str] | None = None) -> None:
        self.guard, self.claims, self.language = guard, claims, language
        self.enforce_claims, self.stats = enforce_claims, stats if stats is not None else Counter()
        self.shown = ""        # text the user sees; only ever grows
        self.end = 0           # where `shown` ends in the guard's text
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
        """At the end of the stream: release the last sentence if it is complete and passes."""
        text, verdict = self.guard.finish()
        if not verdict.ok and verdict.problem not in ("empty reply",) and not verdict.problem.startswith("reply is not"):
            self.problem = verdict.problem
            return False
        cut = len(text.rstrip())
        return cut > self.end and self._release(cut)

    def _release(self, cut: int) -> bool:
        """Check each sentence up to `cut` in turn; show those that pass, stop at the first that fails."""
        released = False
        for sentence_end in [m.end() for m in SENTENCE_END.finditer(self.guard.text[:cut], self.end)] or [cut]:
            sentence = self.guard.text[self.end:sentence_end]
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
