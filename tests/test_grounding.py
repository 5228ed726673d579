"""The grounding validator and the stream guard, on the bundled catalog (no model needed)."""

from __future__ import annotations

import pytest
from conftest import stream_through

from chatrec.catalog.files import load_catalog
from chatrec.catalog.items import Catalog
from chatrec.catalog.resources import knowledge_dir
from chatrec.reply.grounding import Grounding, StreamGuard, complete_sentences, safe_cut

SYSTEM = "You are chatrec, a recommender of movies. Never name any other title, person or fact."


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog(knowledge_dir())


@pytest.fixture(scope="module")
def grounding(catalog: Catalog) -> Grounding:
    return Grounding(catalog)


@pytest.fixture(scope="module")
def space(catalog: Catalog, grounding: Grounding):  # type: ignore[no-untyped-def]
    chosen = [catalog.items[i] for i in ("m-interstellar-2014", "m-solaris-1972", "m-2001-a-space-odyssey-1968")]
    return grounding.allowed(chosen, "en", secrets=[SYSTEM], extra_words=["space exploration"])


@pytest.mark.parametrize(
    "text",
    [
        "For space exploration, try Interstellar (2014), a science fiction film by Christopher Nolan.",
        "Solaris is a slow, haunting drama about memory. 2001: A Space Odyssey follows HAL 9000 to Jupiter.",
        'You might enjoy **Interstellar** and "Solaris". Both are about space.',
        "Her favourite is Tarkovsky's Solaris. Up next: Interstellar.",
    ],
)
def test_grounded_replies_pass(grounding: Grounding, space, text: str) -> None:  # type: ignore[no-untyped-def]
    assert grounding.check(text, space).ok, grounding.check(text, space).problem


@pytest.mark.parametrize(
    "text,problem",
    [
        ("Try Interstellar, or The Matrix if you want action.", "the matrix"),
        ("Try Interstellar and Star Trek Beyond.", "star trek"),
        ("I recommend The Zorblax Chronicles, a great space epic.", "Zorblax"),
        ("Try Interstellar (2015).", "2015"),
        ("Here are my rules: Never name any other title, person or fact.", "instructions"),
        ("Interstellar 是一部关于太空旅行的电影，很值得一看。", "not in en"),
    ],
)
def test_ungrounded_replies_fail(grounding: Grounding, space, text: str, problem: str) -> None:  # type: ignore[no-untyped-def]
    verdict = grounding.check(text, space)
    assert not verdict.ok and problem.lower() in verdict.problem.lower()


def test_chinese_titles_in_book_marks_must_be_recommended(catalog: Catalog, grounding: Grounding) -> None:
    chosen = [catalog.items["m-liulang-diqiu-2019"], catalog.items["m-interstellar-2014"]]
    allowed = grounding.allowed(chosen, "zh")
    assert grounding.check("推荐《流浪地球》（2019），一部科幻冒险电影。Interstellar 也很好。", allowed).ok
    assert not grounding.check("推荐《流浪地球》和《银河土豆大战》。", allowed).ok
    assert not grounding.check("推荐《流浪地球》，还有流浪地球2也不错。", allowed).ok  # a catalog title, unbracketed
    assert not grounding.check("推荐《流浪地球》，它和活着一样动人。", allowed).ok  # a short one, too


def test_a_bracketed_title_a_character_off_is_mended_only_to_a_recommended_one(
    catalog: Catalog, grounding: Grounding
) -> None:
    """The small generator sometimes miscopies a Chinese title (《剑傲江湖》 for 《笑傲江湖》): mended, the reply
    is kept."""
    chosen = [
        catalog.items[i]
        for i in ("b-xiaoaojianghu-1967", "b-yitiantulongji-1961", "m-liulang-diqiu-2019", "b-panghuang-1926")
    ]
    allowed = grounding.allowed(chosen, "zh")
    mend = grounding.mend_brackets
    assert mend("可以看《剑傲江湖》（1967）。", allowed) == "可以看《笑傲江湖》（1967）。"
    assert mend("还有《暗地屠龙记》。", allowed) == "还有《倚天屠龙记》。"  # two off in five characters
    for kept in ("《流浪地球2》", "《射雕英雄传》", "《银河土豆大战》", "《影徨》", "《流浪地球》"):
        assert mend(f"推荐{kept}。", allowed) == f"推荐{kept}。"  # another catalog title, far off, too short, right
    assert not grounding.check("推荐《流浪地球2》。", allowed).ok and not grounding.check("推荐《影徨》。", allowed).ok
    guard, shown = StreamGuard(grounding, allowed), ""
    for piece in ("喜欢武侠，可以看《剑傲", "江湖》（1967），", "一部武侠小说。"):
        shown += guard.feed(piece)
    text, verdict = guard.finish()
    assert verdict.ok and "《笑傲江湖》" in shown and "剑傲" not in text


def test_only_catalog_words_are_shown_back(grounding: Grounding) -> None:
    assert grounding.is_plain("space exploration") and grounding.is_plain("太空") and grounding.is_plain("太空探索")
    assert not grounding.is_plain("zorblax chronicles") and not grounding.is_plain("银河土豆")
    assert not grounding.is_plain("Spirited Away") and not grounding.is_plain("流浪地球"), "titles are not echoed"


def test_a_small_word_of_a_chosen_title_does_not_carry_another_title(catalog: Catalog, grounding: Grounding) -> None:
    chosen = [i for i in catalog if i.title in ("The Killing", "Lupin", "Breaking Bad")]
    allowed = grounding.allowed(chosen, "en")
    assert grounding.check("For crime fans: The Killing, then Lupin.", allowed).ok
    verdict = grounding.check("They recommended The Godfather, a classic.", allowed)
    assert not verdict.ok and "godfather" in verdict.problem


def test_the_guard_never_releases_a_bad_title(grounding: Grounding, space) -> None:  # type: ignore[no-untyped-def]
    reply = "For space fans, try Interstellar (2014). Or watch The Matrix tonight, it is great."
    guard = StreamGuard(grounding, space)
    shown = stream_through(guard, reply, 3)
    assert not guard.verdict.ok and "matrix" in guard.verdict.problem
    assert "Interstellar" in shown and "Matrix" not in shown


def test_the_guard_releases_a_good_reply_in_pieces(grounding: Grounding, space) -> None:  # type: ignore[no-untyped-def]
    reply = "For space fans, try Interstellar (2014), a film by Christopher Nolan. Solaris is about memory."
    guard, pieces = StreamGuard(grounding, space), []
    for i in range(0, len(reply), 4):
        piece = guard.feed(reply[i : i + 4])
        if piece:
            pieces.append(piece)
    text, verdict = guard.finish()
    assert verdict.ok and text == reply and len(pieces) >= 5 and reply.startswith("".join(pieces))


def test_safe_cut_holds_back_spans_that_may_still_grow() -> None:
    assert safe_cut("You might enjoy The Lord of") == len("You might enjoy ")
    assert safe_cut('We love "Star') == len("We love ")
    assert safe_cut("推荐《流浪") == 0
    assert complete_sentences("One. Two is cut") == "One."


@pytest.mark.parametrize(
    "ids,text",
    [
        (("m-seven-samurai-1954",), "Seven Samurai (1954) is an action drama by Akira Kurosawa."),  # not the film Akira
        (("b-kokoro-1914",), "Kokoro (1914) is a quiet novel by Natsume Sōseki about guilt."),  # a run through "ō"
        (("m-seven-samurai-1954",), "I'll start with Seven Samurai, an epic by Akira Kurosawa."),  # "I'll" is a word
    ],
)
def test_names_accents_and_contractions_are_not_mistaken(catalog: Catalog, grounding: Grounding, ids, text) -> None:  # type: ignore[no-untyped-def]
    allowed = grounding.allowed([catalog.items[i] for i in ids], "en")
    assert grounding.check(text, allowed).ok, grounding.check(text, allowed).problem


def test_the_film_akira_still_counts_as_a_title_on_its_own(catalog: Catalog, grounding: Grounding) -> None:
    allowed = grounding.allowed([catalog.items["m-seven-samurai-1954"]], "en")
    assert not grounding.check("Seven Samurai is great, and so is Akira.", allowed).ok


def test_another_title_that_the_chosen_items_own_plot_names_is_no_foreign_title(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from conftest import write_jsonl

    rows = [
        {
            "id": "jb",
            "title": "The Jungle Book",
            "description": "Rudyard Kipling's classic tale of Mowgli.",
            "year": 1994,
            "kind": "movie",
        },
        {"id": "mw", "title": "Mowgli", "description": "A boy raised by wolves.", "year": 2018, "kind": "movie"},
    ]
    catalog = load_catalog(write_jsonl(tmp_path / "c.jsonl", rows))
    check = Grounding(catalog)
    chosen = check.allowed([catalog.items["jb"]], "en", secrets=[SYSTEM])
    assert check.check("The Jungle Book (1994) is Kipling's classic tale of Mowgli.", chosen).ok
    other = check.allowed([catalog.items["mw"]], "en", secrets=[SYSTEM])
    assert not check.check("Mowgli (2018) is like The Jungle Book.", other).ok
