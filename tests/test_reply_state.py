"""Replies that follow the dialogue state: the request said back, each pick credited to what it really matches and
never to what the user turned away from, every pick in the reply, what gave way and what is unknown said, and the
catalog's own words (its kinds; genres in Chinese). Behaviour floors, not exact sentences.

On the in-memory doubles with the template reply (the ranking is the hashing embedder's, so these tests check
what the reply says of whatever was ranked); the generated reply's frame is checked with a scripted model here
and with the real one in tests/test_generation.py.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import ROOT, memory_engine

from chatrec import Engine
from chatrec.catalog.facets import Bound, satisfies
from chatrec.catalog.items import Item
from chatrec.reading.understanding import Understanding
from chatrec.reply.explain import Explainer
from chatrec.reply.request import Said, understood
from chatrec.reply.words import CatalogWords
from chatrec.results import Turn
from chatrec.users.interests import InterestState

BOARDGAMES = ROOT / "examples" / "catalogs" / "boardgames.jsonl"


@pytest.fixture(scope="module")
def games(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    return memory_engine(tmp_path_factory.mktemp("games"), BOARDGAMES)


@pytest.fixture(scope="module")
def bundled(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    return memory_engine(tmp_path_factory.mktemp("bundled"))


def talk(engine: Engine, user: str, *messages: str) -> Turn:
    turn = None
    for message in messages:
        turn = engine.chat(user, message)
    assert turn is not None
    return turn


def body(turn: Turn) -> str:
    """The reply less its opening lines: the picks' lines."""
    return "\n".join(line for line in turn.reply.splitlines() if re.match(r"\d+\. ", line))


def every_title_in(turn: Turn) -> bool:
    return all(r.title in turn.reply for r in turn.recommendations)


# -- crediting -------------------------------------------------------------------------------------------------
def test_not_too_heavy_never_makes_heavy_an_interest_in_the_reply(games: Engine) -> None:
    turn = talk(games, "dice-light", "something with dice, not too heavy")
    assert turn.recommendations and every_title_in(turn)
    assert "interest in heavy" not in turn.reply.lower()
    assert all("heavy" not in r.why.lower() for r in turn.recommendations)
    assert [m.group(0) for m in re.finditer(r"\S+ \S+ heavy", turn.reply)] == ["not too heavy"] * len(
        re.findall("heavy", turn.reply)
    ), "heavy is said only as the constraint"
    assert "dice" in turn.reply.splitlines()[0], "the opening line names what was asked"


def test_a_term_said_only_negated_is_never_a_want_even_when_an_old_profile_holds_it() -> None:
    """A profile saved by an older reader may hold "heavy" as an interest: the request still never credits it."""
    state = InterestState(dim=4, terms={"heavy": 2.0, "dice": 1.0})
    said = [Said("something with dice, not too heavy", Understanding("en", "something with dice,"))]
    request = understood(state, said, CatalogWords())
    assert "heavy" not in request.wants and "dice" in request.wants
    assert request.turned_away("heavy") and not request.turned_away("dice")
    later = [*said, Said("actually heavy games are fine", Understanding("en", "actually heavy games are fine"))]
    assert "heavy" in understood(state, later, CatalogWords()).wants, "asked for plainly later, it is a want again"


def test_the_facets_own_words_are_constraints_not_interests_but_a_genre_stays_a_genre(games: Engine) -> None:
    """ "heavy" names the weight facet (the sidecar's words): never a want; "children" is one of the age facet's
    words and also a genre of the catalog: a want when asked for."""
    state = InterestState(dim=4, terms={"heavy": 2.0, "children": 1.0})
    request = understood(state, [], games.words)
    assert "heavy" not in request.wants and "children" in request.genres


def test_tired_of_scifi_no_reason_credits_science_fiction(bundled: Engine) -> None:
    turn = talk(bundled, "shift", "I love science fiction films", "I'm tired of sci-fi, give me a good crime thriller")
    assert turn.recommendations and every_title_in(turn)
    first = turn.reply.splitlines()[0].lower()
    assert "crime" in first and "thriller" in first and "science fiction for now" in first
    for rec in turn.recommendations:
        assert "science fiction" not in rec.why.lower() and "sci-fi" not in rec.why.lower(), rec.why
    assert "science fiction" not in body(turn).lower()


def test_a_pick_with_a_turned_away_genre_is_credited_by_the_others() -> None:
    item = Item(id="m", title="Future Crimes", description="A detective in 2080.", kind="movie",
                genres=("science fiction", "crime", "thriller"))  # fmt: skip
    explainer = Explainer({"m": item})
    state = InterestState(dim=4, terms={"science fiction": 2.0, "crime": 1.0}, soft_avoid_genres=["science fiction"])
    request = understood(state, [], explainer.words, topic=["crime", "thriller"])
    credit = explainer.credit(item, request, "")
    assert credit.basis == "asked" and {f.value for f in credit.facts} == {"crime", "thriller"}
    nothing = understood(
        InterestState(dim=4, soft_avoid_genres=["science fiction"], avoid_genres=["crime", "thriller"]), [],
        explainer.words,
    )  # fmt: skip
    assert explainer.credit(item, nothing, "").facts == (), "no fact the user turned away from, even to fill in"


def test_each_reason_cites_a_fact_of_its_item_that_matches_a_current_want(games: Engine) -> None:
    turn = talk(games, "party", "a party game for 2 players")
    assert turn.recommendations
    for rec in turn.recommendations:
        item = games.items[rec.item_id]
        if "party" in item.genres:
            assert "party" in rec.why.lower()
        assert "2" in rec.why or "party" in rec.why.lower(), rec.why


# -- the reply's shape -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "catalog,messages,words",
    [
        ("bundled", ["I'm tired of sci-fi, give me a good crime thriller"], ["crime", "thriller"]),
        ("games", ["two player, under 30 minutes"], ["2 players", "30 minutes"]),
        ("games", ["两个人玩，半小时以内的轻度桌游"], ["2人", "30分钟以内", "桌游"]),
        ("bundled", ["我看腻了武侠，想看科幻"], ["科幻", "暂时不要武侠"]),
    ],
)
def test_the_opening_line_says_the_request_and_every_pick_has_a_line(
    request: pytest.FixtureRequest, catalog: str, messages: list[str], words: list[str]
) -> None:
    engine: Engine = request.getfixturevalue(catalog)
    turn = talk(engine, f"open-{catalog}-{messages[0][:12]}", *messages)
    opening = turn.reply.splitlines()[0]
    assert all(w in opening.lower() for w in words), opening
    assert opening.endswith((":", "：")) and every_title_in(turn)
    assert len(re.findall(r"(?m)^\d+\. ", turn.reply)) == len(turn.recommendations), "a line for every pick"
    assert "card" not in turn.reply.lower()


def test_a_named_unknown_title_and_the_rest_of_the_request_are_both_said(bundled: Engine) -> None:
    turn = talk(bundled, "heat", "I want a crime thriller like Heat but newer")
    assert "Heat isn't in this catalog" in turn.reply and turn.unknown == ("Heat",)
    assert "crime" in turn.reply.lower() and every_title_in(turn)


def test_when_nothing_fits_every_constraint_the_reply_says_what_was_dropped(games: Engine) -> None:
    turn = talk(games, "relax", "a worker placement game for 2 players, under 15 minutes")
    assert turn.recommendations and every_title_in(turn)
    said = re.search(r"Nothing in the catalog fits all of that, so I dropped (.+):", turn.reply)
    assert said, turn.reply
    bounds = {
        "for 2 players": Bound("players", includes=2),
        "up to 15 minutes": Bound("minutes", max=15),
        "with worker placement": Bound("mechanics", any=("worker placement",)),
    }
    dropped = [words for words in bounds if words in said.group(1)]
    assert dropped and len(dropped) < len(bounds), "one bound gives way, not all"
    assert set(turn.relaxed) == {bounds[w].name for w in dropped}, "the turn names what the reply says gave way"
    for rec in turn.recommendations:
        item = games.items[rec.item_id]
        assert all(satisfies(item.facet(b.name), b) for w, b in bounds.items() if w not in dropped), rec.title


def test_the_ranker_lets_go_of_one_facet_before_all_of_them() -> None:
    from chatrec.ranking.pipeline import relax

    facets = {"players": {"name": "players", "includes": 2.0}, "minutes": {"name": "minutes", "max": 5.0}}
    state = InterestState(dim=4, facets=facets)

    def gather(within: InterestState, kind: str | None) -> list[str]:
        return [] if "minutes" in within.facets else ["a", "b"]

    relaxed_state, found, relaxed = relax(state, None, 5, gather)
    assert found == ["a", "b"] and relaxed == ("minutes",) and "players" in relaxed_state.facets


def test_the_latest_messages_bounds_and_what_an_item_is_give_way_last() -> None:
    from chatrec.ranking.pipeline import relax

    facets = {
        "weight": {"name": "weight", "max": 2.5},  # said earlier
        "mechanics": {"name": "mechanics", "any": ["worker placement"]},  # said now: what the game is
        "minutes": {"name": "minutes", "max": 15.0},  # said now: how long
    }

    def gather(within: InterestState, kind: str | None) -> list[str]:
        return ["a"] if len(within.facets) < 3 else []

    _, _, relaxed = relax(InterestState(dim=4, facets=facets), None, 1, gather, latest={"mechanics", "minutes"})
    assert relaxed == ("weight",), "an older bound gives way first"
    _, _, relaxed = relax(
        InterestState(dim=4, facets=facets), None, 1, lambda w, k: ["a"] if "minutes" not in w.facets else [],
        latest={"mechanics", "minutes"},
    )  # fmt: skip
    assert relaxed == ("minutes",), "how long gives way before what the game is"


# -- the catalog's words ---------------------------------------------------------------------------------------
def test_the_prompts_name_the_catalogs_own_kinds(games: Engine, bundled: Engine) -> None:
    for language, kind in (("en", "board games"), ("zh", "桌游")):
        system = games.writer.system(language)
        assert kind in system and "movies, books" not in system and "电影、书" not in system
    assert "movies, books and series" in bundled.writer.system("en")
    assert "电影、书和剧集" in bundled.writer.system("zh")


def _without_genres_zh(tmp_path: Path) -> Path:
    rows = [json.loads(line) for line in BOARDGAMES.read_text(encoding="utf-8").splitlines() if line.strip()]
    for row in rows:
        row.pop("genres_zh", None)
    out = tmp_path / "boardgames.jsonl"
    out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    (tmp_path / "boardgames.facets.yaml").write_text(
        (BOARDGAMES.parent / "boardgames.facets.yaml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    return out


@pytest.mark.parametrize("own_names", [True, False])
def test_chinese_replies_show_genres_in_chinese_where_the_catalog_or_the_glossary_names_them(
    tmp_path: Path, games: Engine, own_names: bool
) -> None:
    engine = games if own_names else memory_engine(tmp_path, _without_genres_zh(tmp_path))
    named = {g for it in engine.items.values() for g in it.genres if engine.words.term(g, "zh") != g}
    assert {"cooperative", "party", "strategy", "family", "card game"} <= named
    for n, message in enumerate(["我想玩合作游戏", "来点聚会游戏", "策略游戏，两人", "适合家庭的卡牌游戏"]):
        turn = talk(engine, f"zh-{own_names}-{n}", message)
        assert turn.language == "zh" and turn.recommendations and every_title_in(turn)
        for genre in named:
            assert not re.search(
                rf"(?<![A-Za-z]){re.escape(genre)}(?![A-Za-z])", body(turn) + turn.reply.splitlines()[0]
            ), (genre, turn.reply)
        assert all("一部" not in r.why and "作品" not in r.why for r in turn.recommendations), "a game is no 一部…作品"


def test_the_glossary_and_the_catalog_name_board_game_words_in_chinese() -> None:
    words = CatalogWords()
    for english, chinese in [("cooperative", "合作"), ("party", "聚会"), ("strategy", "策略"), ("dice", "骰子"),
                             ("card game", "卡牌"), ("deck-building", "卡组构筑"), ("worker placement", "工人放置"),
                             ("family", "家庭")]:  # fmt: skip
        assert words.term(english, "zh") == chinese
    assert words.term("zorblax", "zh") == "zorblax", "a word nobody names stays as written"
    item = Item(id="g", title="G", description=".", genres=("children",), genres_zh=("儿童",))
    assert CatalogWords.of([item]).term("children", "zh") == "儿童", "the catalog's own name comes first"


# -- the generated reply's frame -------------------------------------------------------------------------------
def test_a_generated_reply_keeps_the_opening_and_a_line_for_every_other_pick(tmp_path: Path) -> None:
    from chatrec.generators.scripted import ScriptedGenerator

    model = ScriptedGenerator([[" about worlds."], [" about sand."]])
    engine = memory_engine(tmp_path, BOARDGAMES, generator=model)
    turns = list(engine.chat_stream("gen", "a strategy game for 2 players"))
    last = turns[-1]
    texts = [t.reply for t in turns[1:]]
    assert all(b.startswith(a) for a, b in zip(texts, texts[1:])), "what is shown is never taken back"
    assert texts[0] == last.reply.splitlines()[0], "the request as understood comes first"
    assert last.source == "generator" and every_title_in(last)
    assert len(re.findall(r"(?m)^\d+\. ", last.reply)) == len(last.recommendations)
    assert "card" not in last.reply.lower()


def test_the_model_is_never_told_a_genre_the_user_turned_away_from(bundled: Engine) -> None:
    from chatrec.generators.scripted import ScriptedGenerator
    from chatrec.ports import Limits
    from chatrec.reply.writer import ReplyWriter

    model = ScriptedGenerator([[" about a case."]] * 2)
    writer = ReplyWriter(model, bundled.grounding, Limits(max_new_tokens=40, budget_s=30), words=bundled.words)
    items = [bundled.items["m-interstellar-2014"], bundled.items["m-solaris-1972"]]
    assert all("science fiction" in it.genres for it in items)
    list(writer.write(["drama"], items, "en", "T", avoided=["science fiction"]))
    assert len(model.prompts) == 2
    for prompt, opening in zip(model.prompts, model.prefixes):
        assert "science fiction" not in prompt.lower() and "science fiction" not in opening.lower(), opening


# -- the terminal ----------------------------------------------------------------------------------------------
def test_the_terminal_prints_the_state_after_each_turn_and_never_speaks_of_cards(bundled: Engine) -> None:
    from chatrec.cli import show_turn, state_line

    printed: list[str] = []
    show_turn(bundled.chat_stream("cli", "I'm tired of sci-fi, give me a good crime thriller"), printed.append)
    printed.append(state_line(bundled.profile("cli")))
    text = "".join(printed)
    line = printed[-1]
    assert "now" in line and "less of for now science fiction" in line and "never" in line and "constraints" in line
    assert "crime" in line and "card" not in text.lower()


# -- pure wording ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "bound,en,zh",
    [
        (Bound("players", includes=2), "for 2 players", "2人"),
        (Bound("players", includes=2, max=2), "for exactly 2 players", "只限2人"),
        (Bound("minutes", max=30), "up to 30 minutes", "30分钟以内"),
        (Bound("age", max=10), "for a 10-year-old", "适合10岁"),
        (Bound("weight", max=2.5), "not too heavy", "不太重"),
        (Bound("weight", max=2.0), "light", "轻度"),
        (Bound("weight", min=3.5), "heavy", "重度"),
        (Bound("mechanics", any=("dice",)), "with dice", "骰子机制"),
    ],
)
def test_facet_bounds_in_words(bound: Bound, en: str, zh: str) -> None:
    from chatrec.catalog.facets import load_sidecar
    from chatrec.reply.facet_text import bound_text

    specs = load_sidecar(BOARDGAMES.with_name("boardgames.facets.yaml"))
    assert bound_text(bound, specs, "en") == en and bound_text(bound, specs, "zh") == zh


def test_the_opening_line_in_both_languages_from_a_request() -> None:
    from chatrec.reply.opening import opening_line
    from chatrec.reply.request import Request

    words = CatalogWords(kinds=("movie", "book"))
    request = Request(kind="movie", genres=("crime", "thriller"), for_now=("science fiction",), never=("horror",))
    assert opening_line(request, words) == "Crime and thriller movies, nothing science fiction for now, no horror:"
    zh = Request(language="zh", kind="movie", genres=("crime",), year_min=1990, year_max=1999, for_now=("wuxia",))
    assert opening_line(zh, words) == "推荐1990年代的犯罪电影，暂时不要武侠："
    assert opening_line(Request(named=2, kind="movie"), words) == "Movies like the ones you named:"
    assert opening_line(Request(never=("horror",)), words) == "Some popular picks to start with, no horror:"
