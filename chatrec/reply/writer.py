"""Reply writing: the generator's prompt, the sentence-by-sentence checked stream, and the template reply.

The model writes one sentence per recommended item (the first `prompt_items`), each from a prompt that holds the
user's interest terms and that one item's title and a few catalog facts, all quoted as data (instruction-like
catalog text never gets there: see `untrusted`). The user's message itself never reaches the model: the interests
say what it asked for, and a film the user named cannot be mistaken for a pick. Each sentence is shown only after
it passes every check: grounding (`StreamGuard`: only recommended titles, no echoed instructions, no link), the
unsupported-claim check of that item's own facts (`claims`) and the user's language. What is shown is never taken
back: on the first failing sentence, when time runs out, or when another user is waiting for the model, the reply
ends with what was shown. The sentences sit in the reply's `Frame` (the request as understood, a line for every
pick): each takes the place of its item's line, and the items with no sentence keep theirs. Only a reply with no
sentence shown is the template reply (the frame alone).
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace

from chatrec.catalog.items import Item
from chatrec.errors import GeneratorBusy
from chatrec.ports import Generator, Limits, Message
from chatrec.reading.language import detect_language
from chatrec.reply.briefs import item_brief, opening, quote_fact, short_plot, title_text, wrong_kind_words
from chatrec.reply.claims import ClaimCheck, example_facts
from chatrec.reply.frame import Frame
from chatrec.reply.grounding import Allowed, Grounding, StreamGuard, Verdict
from chatrec.reply.prompts import render
from chatrec.reply.untrusted import screen
from chatrec.reply.words import CatalogWords

__all__ = ["Draft", "ReplyWriter", "item_brief", "opening", "quote_fact", "short_plot", "wrong_kind_words"]

log = logging.getLogger(__name__)
SENTENCE_TOKENS = 48  # the most tokens one item's sentence may take
MIN_SENTENCE_S = 2.0  # the next item's sentence is begun only with this much of the budget left
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


class ReplyWriter:
    """Turns recommendations into a reply: generated and checked when possible, from the template otherwise."""

    def __init__(
        self,
        generator: Generator | None,
        grounding: Grounding,
        limits: Limits,
        prompt_items: int = 2,
        enforce_claims: bool = True,
        words: CatalogWords | None = None,
    ) -> None:
        self.generator = generator
        self.words = words or CatalogWords()  # the catalog's kinds and its words in Chinese
        self.grounding = grounding
        self.limits = limits
        self.prompt_items = prompt_items
        self.enforce_claims = enforce_claims  # False only to measure the claim check (benchmarks/faithfulness.py)
        self.stats: Counter[str] = Counter()  # sentences shown, claims flagged, replies cut short (fixed keys)

    def messages(
        self, interests: Sequence[str], items: Sequence[Item], language: str, avoided: Sequence[str] = ()
    ) -> list[Message]:
        """The chat messages sent to the model: fixed instructions, then the turn's data (never the message itself;
        never a genre the user turned away from, `avoided`)."""
        lang = "zh" if language == "zh" else "en"
        return [
            {"role": "system", "content": self.system(lang)},
            {
                "role": "user",
                "content": render(
                    f"request.{lang}.j2",
                    interests=[quote_fact(t) for t in interests],
                    items=[item_brief(i, lang, self.words, avoided) for i in items[: self.prompt_items]],
                ),
            },
        ]

    def system(self, language: str) -> str:
        """The fixed instructions, naming what the catalog holds ("board games", not "movies, books and series")."""
        lang = "zh" if language == "zh" else "en"
        return render(f"system.{lang}.j2", kinds=self.words.what(lang))

    def warm(self) -> None:
        """Prepare the generator's cached instructions for both languages, so no user waits for them."""
        if self.generator is None:
            return
        for language in ("en", "zh"):
            if language in self.generator.languages:
                self.generator.warm(self.messages([], [], language))

    def write(
        self,
        interests: Sequence[str],
        items: Sequence[Item],
        language: str,
        template: str | Frame,
        avoided: Sequence[str] = (),
    ) -> Iterator[Draft]:
        """Drafts of the reply as it streams, each extending the last; the last one is final.

        `template` is the reply's frame (or a whole template text): its head is shown at once, each generated
        sentence then takes the place of its item's line, and the final text has every other line. The model
        writes one sentence per item, each from a prompt that lists that item alone: it cannot lend one item's
        director or plot to another, and the first sentence needs only one item's facts read. The prompts share
        everything before the item, which the model reads once. `avoided`: genres the user turned away from,
        never the genre a sentence opens with."""
        frame = template if isinstance(template, Frame) else Frame(fallback=template, language=language)
        generator = self.generator
        if generator is None or not items:
            yield Draft(frame.text(), final=True, problem="generator off" if generator is None else "")
            return
        if language not in generator.languages:
            yield Draft(frame.text(), final=True, problem=f"{generator.id} does not speak {language}")
            return
        if frame.head:
            yield Draft(frame.partial())  # the request as understood, before the first sentence
        started, problem = time.monotonic(), ""
        told: list[str] = []
        system = self.system(language)
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
            prefix = opening(item, language, interests, self.words, avoided)
            reply.floor = len(title_text(screen(item)[0], language))  # a title's own "!" ends no sentence
            try:
                yield from self._sentence(
                    reply,
                    self.messages(interests, [item], language, avoided),
                    limits,
                    prefix,
                    wrong_kind_words(item, language),
                    lambda sentence: frame.partial([*told, sentence]),
                )
            except GeneratorBusy:
                if k == 0:
                    yield Draft(frame.text(), final=True, problem="busy", busy=True)
                    return
                reply.problem = "busy"  # someone else's turn now: this reply ends with what it has
            if reply.shown:
                told.append(reply.shown)
            problem = reply.problem or ("" if reply.shown else "no complete sentence")
            if problem:
                if not told:
                    log.info("template reply: %s; the model wrote: %r", problem, reply.guard.text)
                break
        if not told:
            yield Draft(frame.text(), final=True, problem=problem or "no complete sentence")
            return
        if problem:
            log.info(
                "generation stopped after %d sentences: %s; the model went on: %r",
                len(told),
                problem,
                reply.guard.text[reply.end :],
            )
        yield Draft(frame.text(told), final=True, source="generator", problem=problem)

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
        draft: Callable[[str], str],
    ) -> Iterator[Draft]:
        """Stream one item's sentence into `reply`, stopping once a sentence is shown; `draft` places it in the
        reply so far."""
        if self.generator is None:
            return
        stop, started = threading.Event(), time.monotonic()
        chunks = self.generator.stream(messages, limits, stop, prefix=prefix, avoid=avoid)
        try:
            for piece in chunks:
                if reply.feed(piece):  # one sentence is enough: the rest of this stream is not read
                    yield Draft(draft(reply.shown), source="generator")
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
            yield Draft(draft(reply.shown), source="generator")


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
        self.floor = 0  # no sentence ends before this: the item's title ("Roll for It! (2011)")

    def feed(self, piece: str) -> bool:
        """Take a piece of the stream; True when one or more sentences were released."""
        self.guard.feed(piece)
        if not self.guard.verdict.ok:
            self.problem = self.guard.verdict.problem
            return False
        released = self.guard.text[: self.guard.released]
        ends = [m.end() for m in SENTENCE_END.finditer(released, self.end) if m.end() > self.floor]
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
        return cut > max(self.end, self.floor) and self._release(cut)

    def _release(self, cut: int) -> bool:
        """Check each sentence up to `cut` in turn; show those that pass, stop at the first that fails."""
        released = False
        ends = [m.end() for m in SENTENCE_END.finditer(self.guard.text[:cut], self.end) if m.end() > self.floor]
        for sentence_end in ends or [cut]:
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
