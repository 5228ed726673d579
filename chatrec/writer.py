"""Reply writing: the generator's prompt, the guarded stream, and the template reply whenever generation fails.

The prompt holds only the user's message (quoted, as data), their interest terms and, for each recommended item,
its title and a few catalog facts (quoted, as data; instruction-like catalog text never gets there: see `untrusted`).
The stream passes through a `StreamGuard`; a reply that names anything else, echoes the instructions, carries a link
or an order dropped from the catalog, runs out of time or comes in the wrong language is replaced by the template
reply.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from dataclasses import dataclass
from typing import Iterator, Sequence

from .catalog import Item
from .generation import Generator, Limits, Message
from .grounding import Grounding, StreamGuard, Verdict
from .lexicon import GENRE_ZH, canonical_genre
from .prompts import render
from .reasons import KIND_ZH
from .untrusted import keywords, screen

log = logging.getLogger(__name__)
MESSAGE_IN_PROMPT = 300   # characters of the user's message the model sees
FACT_IN_PROMPT = 120      # characters of one catalog fact the model sees


@dataclass(frozen=True)
class Draft:
    """The reply so far; the last draft of a turn has `final=True` and says where its text came from."""

    text: str
    final: bool = False
    source: str = "template"          # "generator" or "template"
    problem: str = ""                 # why the generator's text was not used, if it was not


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
    kind = KIND_ZH.get(item.kind, "作品") if zh else (item.kind or "item")
    return {"title": item.title, "year": item.year, "kind": kind, "facts": [quote_fact(f) for f in facts]}


class ReplyWriter:
    """Turns recommendations into a reply: generated and checked when possible, from the template otherwise."""

    def __init__(self, generator: Generator | None, grounding: Grounding, limits: Limits, prompt_items: int = 3) -> None:
        self.generator = generator
        self.grounding = grounding
        self.limits = limits
        self.prompt_items = prompt_items

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
        """Drafts of the reply as it streams; the last one is final (generated and grounded, or the template)."""
        generator = self.generator
        if generator is None or not items:
            yield Draft(template, final=True, problem="generator off" if generator is None else "")
            return
        if language not in generator.languages:
            yield Draft(template, final=True, problem=f"{generator.id} does not speak {language}")
            return
        messages = self.messages(message, interests, items, language)
        allowed = self.grounding.allowed(items, language, secrets=[messages[0]["content"]], extra_words=interests)
        guard, stop, shown, started = StreamGuard(self.grounding, allowed), threading.Event(), "", time.monotonic()
        try:
            for piece in generator.stream(messages, self.limits, stop):
                new = guard.feed(piece)
                if not guard.verdict.ok:
                    stop.set()
                    break
                if new:
                    shown += new
                    yield Draft(shown, source="generator")
        except Exception as exc:   # a failing model must never cost the user their answer
            log.warning("generation failed: %s", exc)
            yield Draft(template, final=True, problem=f"generation failed: {exc}")
            return
        text, verdict = guard.finish()
        if verdict.ok and time.monotonic() - started > self.limits.budget_s:
            verdict = Verdict(False, "out of time")
        if not verdict.ok:
            log.info("generated reply replaced by the template: %s; it read: %r", verdict.problem, guard.text)
            yield Draft(template, final=True, problem=verdict.problem)
            return
        yield Draft(text, final=True, source="generator")
