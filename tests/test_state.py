"""The dialogue state as shown and edited (chatrec/users/state.py): the view's groups, and `edit` as a table of
changes, each with what must hold after it; bad edits raise and change nothing. Pure functions, no engine."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import memory_engine

from chatrec import Engine, InputError
from chatrec.catalog.facets import FacetSpec
from chatrec.catalog.kinds import catalog_kinds, kind_name, kinds_phrase
from chatrec.users.interests import InterestState
from chatrec.users.state import FIELDS, Words, constraint_text, edit, view
from chatrec.users.stored import state_from_json, state_to_json

ROOT = Path(__file__).resolve().parent.parent
BOARDGAMES = ROOT / "examples" / "catalogs" / "boardgames.jsonl"
DIM = 4
ALIEN = np.array([1.0, 0.0, 0.0, 0.0], np.float32)
OTHER = np.array([0.0, 1.0, 0.0, 0.0], np.float32)


def full_state() -> InterestState:
    """A state with something in every group."""
    return InterestState(
        dim=DIM,
        terms={"space": 1.0, "funny": 0.5},
        liked=["m-interstellar"],
        rejected=["m-alien"],
        seen=["m-martian", "m-interstellar"],
        avoid_genres=["horror"],
        soft_avoid_genres=["wuxia"],
        avoid_people=["Christopher Nolan"],
        kind="movie",
        year_min=1990,
        year_max=1999,
        item_language="zh",
        family=True,
        facets={"players": {"name": "players", "includes": 2.0}, "minutes": {"name": "minutes", "max": 30.0}},
        negatives=[ALIEN.copy(), OTHER.copy()],
    )


def saved(state: InterestState) -> str:
    return state_to_json(state)


Check = Callable[[InterestState], bool]
EDITS: list[tuple[str, dict[str, list[str]], Check]] = [
    ("an interest", {"wants": ["space"]}, lambda s: list(s.terms) == ["funny"]),
    ("the kind", {"kind": ["movie"]}, lambda s: s.kind is None),
    ("a for-now avoid", {"less_of": ["wuxia"]}, lambda s: s.soft_avoid_genres == [] and s.avoid_genres == ["horror"]),
    (
        "an always avoid",
        {"never_genres": ["horror"]},
        lambda s: s.avoid_genres == [] and s.soft_avoid_genres == ["wuxia"],
    ),
    ("a person", {"never_people": ["Christopher Nolan"]}, lambda s: s.avoid_people == []),
    ("the years", {"constraints": ["years"]}, lambda s: s.year_min is None and s.year_max is None),
    ("the language", {"constraints": ["language"]}, lambda s: s.item_language is None and s.family),
    ("family", {"constraints": ["family"]}, lambda s: not s.family and s.item_language == "zh"),
    ("one facet", {"constraints": ["facet:players"]}, lambda s: list(s.facets) == ["minutes"]),
    (
        "a thumbs down",
        {"items": ["m-alien"]},
        lambda s: s.rejected == [] and len(s.negatives) == 1 and s.negatives[0] @ OTHER == 1.0,
    ),
    (
        "a liked and seen item",
        {"items": ["m-interstellar"]},
        lambda s: s.liked == [] and s.seen == ["m-martian"] and s.rejected == ["m-alien"],
    ),
    (
        "several at once",
        {"wants": ["space", "funny"], "constraints": ["years", "facet:minutes"], "items": ["m-martian"]},
        lambda s: not s.terms and s.year_min is None and list(s.facets) == ["players"] and s.seen == ["m-interstellar"],
    ),
    ("an empty list beside a value", {"wants": [], "kind": ["movie"]}, lambda s: s.kind is None and len(s.terms) == 2),
]


@pytest.mark.parametrize(("what", "remove", "holds"), EDITS, ids=[e[0] for e in EDITS])
def test_an_edit_removes_exactly_what_it_names(what: str, remove: dict[str, list[str]], holds: Check) -> None:
    state = full_state()
    before = saved(state)
    new = edit(state, {"remove": remove}, {"m-alien": ALIEN * 3})
    assert holds(new), what
    assert saved(state) == before  # pure: the given state is untouched
    untouched = [f for f in FIELDS if f not in remove]
    assert {f: getattr(view(new), f) for f in ("less_of", "never_people") if f in untouched} == {
        f: getattr(view(state), f) for f in ("less_of", "never_people") if f in untouched
    }


BAD: list[tuple[str, Any, str]] = [
    ("not a mapping", ["wants"], "remove"),
    ("no remove", {}, "remove"),
    ("another top-level key", {"remove": {"wants": ["space"]}, "add": {}}, "remove"),
    ("remove is a list", {"remove": ["space"]}, "map fields"),
    ("an unknown field", {"remove": {"interests": ["space"]}}, "unknown field"),
    ("a string, not a list", {"remove": {"wants": "space"}}, "list of strings"),
    ("a number in the list", {"remove": {"wants": [3]}}, "list of strings"),
    ("nothing to remove", {"remove": {"wants": []}}, "removes nothing"),
    ("a term not there", {"remove": {"wants": ["westerns"]}}, "not among the wants"),
    ("a kind not asked for", {"remove": {"kind": ["book"]}}, "not among the kind"),
    ("a constraint not set", {"remove": {"constraints": ["facet:age"]}}, "not among the constraints"),
    ("a genre avoided for now, lifted as never", {"remove": {"never_genres": ["wuxia"]}}, "not among the never genres"),
    ("an item never named", {"remove": {"items": ["m-heat"]}}, "not among the items"),
    ("one good, one bad", {"remove": {"wants": ["space"], "items": ["m-heat"]}}, "m-heat"),
    ("too many", {"remove": {"wants": [str(i) for i in range(201)]}}, "at most"),
]


@pytest.mark.parametrize(("what", "change", "says"), BAD, ids=[b[0] for b in BAD])
def test_a_bad_edit_raises_a_clear_value_error_and_changes_nothing(what: str, change: Any, says: str) -> None:
    state = full_state()
    before = saved(state)
    with pytest.raises(InputError, match=says) as raised:
        edit(state, change)
    assert isinstance(raised.value, ValueError)
    assert saved(state) == before


def test_the_view_groups_the_state_and_names_each_entry_for_its_edit() -> None:
    titles = {"m-interstellar": "Interstellar (2014)", "m-alien": "Alien (1979)", "m-martian": "The Martian"}
    words = Words("en", title=titles.get, known=lambda t: t != "funny")
    shown = view(full_state(), words).as_dict()
    assert shown["now"]["kind"] == {"field": "kind", "value": "movie", "text": "movie"}
    assert [w["value"] for w in shown["now"]["wants"]] == ["space"]  # only words the reader knows
    assert [(c["value"], c["text"]) for c in shown["now"]["constraints"]] == [
        ("years", "1990–1999"),
        ("language", "language: Chinese"),
        ("family", "family"),
        ("facet:players", "players: 2"),
        ("facet:minutes", "minutes: at most 30"),
    ]
    assert [e["value"] for e in shown["less_of"]] == ["wuxia"]
    assert [e["text"] for e in shown["never"]["genres"]] == ["horror"]
    assert [e["text"] for e in shown["never"]["people"]] == ["Christopher Nolan"]
    assert [e["text"] for e in shown["never"]["items"]] == ["Alien (1979)"]
    assert [(n["text"], n["said"]) for n in shown["named"]] == [
        ("Interstellar (2014)", "liked"),
        ("Alien (1979)", "disliked"),
        ("The Martian", "seen"),
    ]
    # every entry can be removed by sending its own field and value back
    entries = [
        shown["now"]["kind"],
        *shown["now"]["wants"],
        *shown["now"]["constraints"],
        *shown["less_of"],
        *[e for group in shown["never"].values() for e in group],
        *shown["named"],
    ]
    state = full_state()
    for entry in entries:
        if entry["field"] != "items" or entry["value"] in [*state.liked, *state.rejected, *state.seen]:
            state = edit(state, {"remove": {entry["field"]: [entry["value"]]}})
    assert view(state, words).as_dict() == {
        "now": {"kind": None, "wants": [], "constraints": []},
        "less_of": [],
        "never": {"genres": [], "people": [], "items": []},
        "named": [],
    }


def test_items_no_longer_in_the_catalog_are_left_out_of_the_view() -> None:
    shown = view(full_state(), Words(title=lambda i: None if i == "m-alien" else i)).as_dict()
    assert shown["never"]["items"] == [] and "m-alien" not in [n["value"] for n in shown["named"]]


def test_constraints_in_chinese() -> None:
    state = full_state()
    specs = {
        "players": FacetSpec("players", "range", "players", ("player", "人", "玩家")),
        "mechanics": FacetSpec("mechanics", "list", zh=(("dice", "骰子"), ("bluffing", "虚张声势/吹牛"))),
        "age": FacetSpec("age", "number", "years", ("age", "岁")),
    }
    words = Words("zh", facets=specs)
    state.facets["mechanics"] = {"name": "mechanics", "any": ["dice", "bluffing"]}
    state.facets["age"] = {"name": "age", "min": 8.0}
    state.facets["depth"] = {"name": "depth", "max": 3.0}
    texts = [constraint_text(state, key, words) for key in ("years", "language", "family")]
    texts += [constraint_text(state, f"facet:{name}", words) for name in state.facets]
    assert texts == [
        "1990–1999年",
        "语言：中文",
        "适合全家",
        "人数：2 人",
        "时长：最多 30",
        "机制：骰子或虚张声势",
        "年龄：至少 8 岁",
        "depth：最多 3",
    ]
    state.year_max = None
    assert constraint_text(state, "years", words) == "1990年起" and constraint_text(state, "years") == "from 1990"


def test_an_edited_state_is_saved_and_read_back_whole() -> None:
    new = edit(full_state(), {"remove": {"constraints": ["facet:players"], "items": ["m-alien"]}})
    again = state_from_json(state_to_json(new), DIM)
    assert again.facets == new.facets and again.rejected == [] and len(again.negatives) == 2  # no vectors given


# -- kinds -----------------------------------------------------------------------------------------------------------
def test_kind_names_come_from_the_catalog_most_common_first() -> None:
    assert kinds_phrase(["board game"], "en") == "board games" and kinds_phrase(["board game"], "zh") == "桌游"
    assert kinds_phrase(["movie", "book", "series"], "en") == "movies, books and TV series"
    assert kinds_phrase(["movie", "book", "series"], "zh") == "电影、书和剧集"
    assert kinds_phrase(["tv", "series"], "en") == "TV series"  # one name once
    assert kind_name("podcast", "zh") == "播客" and kind_name("yacht", "zh") == "yacht"  # else as written
    assert kinds_phrase([], "en") == ""


# -- the engine --------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def games(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    return memory_engine(tmp_path_factory.mktemp("games"), BOARDGAMES)


def test_the_board_game_catalog_is_board_games(games: Engine) -> None:
    assert catalog_kinds(games.catalog) == ["board game"]


def test_the_profile_carries_the_state_and_an_edit_is_saved_with_an_event(games: Engine) -> None:
    user = "state-user"
    games.chat(user, "two players, under 30 minutes")
    profile = games.profile(user)
    keys = {"terms", "liked", "rejected", "mentioned", "avoid_genres", "avoid_for_now", "avoid_people", "constraints"}
    assert keys <= set(profile)  # every key the profile had stays
    constraints = [c["value"] for c in profile["state"]["now"]["constraints"]]
    assert {"facet:players", "facet:minutes"} <= set(constraints)
    assert "人数：2 人" in [c["text"] for c in games.profile(user, "zh")["state"]["now"]["constraints"]]
    item = games.chat(user, "something with dice").recommendations[0].item_id
    games.feedback(user, item, liked=False)
    assert [e["value"] for e in games.profile(user)["state"]["never"]["items"]] == [item]
    after = games.edit_profile(user, {"remove": {"constraints": ["facet:players"], "items": [item]}})
    assert "facet:players" not in [c["value"] for c in after["state"]["now"]["constraints"]]
    assert after["state"]["never"]["items"] == [] and after == games.profile(user)
    export = games.export(user)
    assert export["events"][-1]["kind"] == "edit"
    assert export["events"][-1]["payload"] == {"remove": {"constraints": ["facet:players"], "items": [item]}}
    before = copy.deepcopy(games.export(user))
    with pytest.raises(ValueError, match="not among"):
        games.edit_profile(user, {"remove": {"constraints": ["facet:players"]}})
    with pytest.raises(ValueError, match="unknown field"):
        games.edit_profile(user, {"remove": {"interests": ["dice"]}})
    assert games.export(user) == before  # nothing saved, no event


def test_the_widget_names_every_kind_as_the_catalog_glossary_does() -> None:
    import json
    import re

    from chatrec.catalog.kinds import KIND_NAMES

    script = (ROOT / "chatrec" / "serve" / "static" / "widget.js").read_text(encoding="utf-8")
    found = re.search(r"// the kinds of chatrec/catalog/kinds.py.*?\n\s*kinds: (\{.*?\}),\n", script, re.S)
    assert found, "the widget's Chinese kinds"
    assert json.loads(found.group(1)) == {kind: names[2] for kind, names in KIND_NAMES.items()}


def test_the_examples_follow_the_catalog() -> None:
    from chatrec.serve.page_text import EXAMPLES, examples

    genres = [("strategy", "策略"), ("family", "家庭"), ("party", "聚会")]
    assert examples("en", ["movie", "book", "series"], genres) == EXAMPLES["en"]
    assert examples("zh", ["board game"], genres) == ("推荐一些策略桌游", "有没有家庭类的桌游？", "我喜欢聚会桌游")
    assert examples("en", ["board game"], genres)[0] == "Some strategy board games, please"
    assert examples("zh", ["board game"], genres[:2])[0] == "推荐一些桌游"  # too few genres named in both languages
    assert not set(examples("en", ["board game"], [])) & set(EXAMPLES["en"])


def test_an_interest_removed_in_the_panel_no_longer_steers_the_next_list(games: Engine) -> None:
    user = "unwant-user"

    def fantasy(turn: Any) -> int:
        return sum("fantasy" in games.items[r.item_id].genres for r in turn.recommendations)

    first = games.chat(user, "a fantasy game for 3 players")
    wants = [w["value"] for w in games.profile(user)["state"]["now"]["wants"]]
    assert "fantasy" in wants and fantasy(first) >= 4, wants
    games.edit_profile(user, {"remove": {"wants": ["fantasy"]}})
    after = games.chat(user, "show me some others")
    assert "fantasy" not in [w["value"] for w in games.profile(user)["state"]["now"]["wants"]]
    assert fantasy(after) <= 2, [r.title for r in after.recommendations]
    assert all(games.items[r.item_id].facet("players") for r in after.recommendations)
    again = games.chat(user, "actually fantasy after all")
    assert fantasy(again) >= 4, "saying it again brings it back"
