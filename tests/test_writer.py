"""The writer's stream logic, fed scripted model output: sentences shown only once checked, and never taken back.

The model is replaced by a scripted stream here (this tests the writer's logic, not the model); the real model's
streams are checked the same way in tests/test_generation.py.
"""

from __future__ import annotations

import threading
from typing import Iterator

import pytest

from chatrec.catalog import Catalog, load_catalog
from chatrec.claims import ClaimCheck
from chatrec.generation import GeneratorBusy, Limits
from chatrec.grounding import Grounding
from chatrec.resources import knowledge_dir
from chatrec.writer import CLOSING, ReplyWriter

SPACE = ("m-interstellar-2014", "m-solaris-1972", "m-2001-a-space-odyssey-1968")


class Scripted:
    """Yields the given pieces; counts how many the writer took."""

    id, languages = "scripted", frozenset({"en", "zh"})

    def __init__(self, pieces: list[str], busy: bool = False) -> None:
        self.pieces, self.busy, self.taken = pieces, busy, 0

    def stream(self, messages, limits, stop: threading.Event | None = None, prefix: str = "") -> Iterator[str]:  # type: ignore[no-untyped-def]
        if self.busy:
            raise GeneratorBusy("scripted is busy")
        self.prefix = prefix   # the scripted pieces below start with it already
        for piece in self.pieces:
            if stop is not None and stop.is_set():
                return
            self.taken += 1
            yield piece


def words(text: str) -> list[str]:
    return [w + " " for w in text.split(" ")]


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog(knowledge_dir())


def write(catalog: Catalog, pieces: list[str], language: str = "en", busy: bool = False):  # type: ignore[no-untyped-def]
    model = Scripted(pieces, busy)
    writer = ReplyWriter(model, Grounding(catalog), Limits(max_new_tokens=80, budget_s=30))
    items = [catalog.items[i] for i in SPACE]
    return model, list(writer.write("I love space films", ["space exploration"], items, language, template="TEMPLATE"))


def assert_never_withdrawn(drafts) -> None:  # type: ignore[no-untyped-def]
    texts = [d.text for d in drafts]
    assert all(b.startswith(a) for a, b in zip(texts, texts[1:])), texts


def test_each_sentence_is_shown_whole_and_only_grows(catalog: Catalog) -> None:
    _, drafts = write(catalog, words("Try Interstellar (2014), a science fiction film about space. "
                                     "Solaris (1972) is a slow drama about memory."))
    assert_never_withdrawn(drafts)
    assert drafts[0].text.endswith("about space."), "text appears a whole sentence at a time"
    assert drafts[-1].final and drafts[-1].source == "generator" and not drafts[-1].problem
    assert drafts[-1].text.endswith("about memory.")


def test_a_failing_sentence_stops_the_reply_and_keeps_what_was_shown(catalog: Catalog) -> None:
    model, drafts = write(catalog, words("Try Interstellar (2014), a science fiction film about space. "
                                         "Solaris is set on Venus and stars Tom Cruise. More words follow here."))
    assert_never_withdrawn(drafts)
    last = drafts[-1]
    assert last.final and last.source == "generator" and last.problem
    assert "Venus" not in last.text and "Cruise" not in last.text
    assert last.text.startswith("Try Interstellar (2014)") and last.text.endswith(CLOSING["en"])
    assert model.taken < len(model.pieces), "generation was stopped, not read to the end"


def test_a_foreign_title_in_the_first_sentence_gives_the_template(catalog: Catalog) -> None:
    _, drafts = write(catalog, words("You will love The Godfather, a crime classic. Interstellar is about space."))
    assert [d.text for d in drafts] == ["TEMPLATE"] and drafts[-1].problem


def test_a_busy_generator_gives_the_template_at_once_marked_busy(catalog: Catalog) -> None:
    _, drafts = write(catalog, [], busy=True)
    assert len(drafts) == 1 and drafts[0].text == "TEMPLATE" and drafts[0].busy and drafts[0].final


def test_a_cut_off_last_sentence_is_never_shown(catalog: Catalog) -> None:
    _, drafts = write(catalog, words("Try Interstellar (2014), a science fiction film about space. Solaris is a"))
    assert drafts[-1].text.startswith("Try Interstellar") and "Solaris is a" not in drafts[-1].text


def test_chinese_sentences_are_released_at_their_full_stops(catalog: Catalog) -> None:
    pieces = list("推荐《Interstellar》（2014），一部关于太空探索的科幻电影。《Solaris》是一部关于记忆的剧情片。")
    _, drafts = write(catalog, pieces, language="zh")
    assert_never_withdrawn(drafts)
    assert drafts[0].text.endswith("。") and drafts[-1].source == "generator"


@pytest.mark.parametrize("sentence,ok", [
    ("Apollo-free: Interstellar (2014) is a science fiction film by Christopher Nolan.", True),
    ("Interstellar follows a crew to Mars.", False),                # a planet its row does not give
    ("Interstellar is a horror film.", False),                      # a genre it does not have
    ("Interstellar is a 1990s film.", False),                       # an era its year contradicts
    ("Interstellar is a novel about space.", False),                # the wrong kind
    ("For your love of space exploration, try Solaris.", True),     # the user's own interest may be repeated
    ("It stars Tom Cruise.", False),                                # a name its row does not give
])
def test_the_unsupported_claim_check(catalog: Catalog, sentence: str, ok: bool) -> None:
    check = ClaimCheck([catalog.items[i] for i in SPACE], ["space exploration"])
    check.check("Interstellar (2014) is about space.")   # "it" is Interstellar from here on
    assert check.check(sentence).ok is ok, check.check(sentence).problem


@pytest.mark.parametrize("language,sentence", [
    ("en", "Solaris is about corruption in a small town."),
    ("zh", "《Solaris》是一部科幻剧情电影，讲小镇上的失踪案。"),
])
def test_a_plot_borrowed_from_the_worked_example_is_flagged(catalog: Catalog, language: str, sentence: str) -> None:
    from chatrec.claims import example_facts
    from chatrec.prompts import render

    check = ClaimCheck([catalog.items[i] for i in SPACE], [], example_facts(render(f"system.{language}.j2")))
    assert not check.check(sentence).ok
    assert check.check("Solaris (1972) is a science fiction drama by Andrei Tarkovsky.").ok


def test_an_initial_does_not_end_a_sentence(catalog: Catalog) -> None:
    from chatrec.writer import SENTENCE_END

    text = "Annabelle is by John R. Leonetti, and Dr. No is older. Next."
    assert [text[:m.end()] for m in SENTENCE_END.finditer(text)] == [text[:text.index("older.") + 6]]
