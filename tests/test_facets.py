"""Catalog facets: reading rows and the sidecar, bounds, and the facet words of messages (pure, no models)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chatrec.catalog.facets import Bound, FacetSpec, parse_facets, satisfies
from chatrec.catalog.files import load_catalog
from chatrec.errors import CatalogError
from chatrec.reading.facet_words import read_facets

SPECS = {
    "players": FacetSpec("players", "range", "players", ("player", "人")),
    "minutes": FacetSpec("minutes", "number", "minutes"),
    "weight": FacetSpec("weight", "number", "", ("heavy", "light"), "1 light .. 5 heavy"),
    "age": FacetSpec("age", "number", "years"),
    "mechanics": FacetSpec(
        "mechanics",
        "list",
        "",
        (),
        "",
        (("bluffing", "吹牛"), ("dice", "骰子"), ("drafting", "轮抽")),
        (("bluffing", ("lie", "liar")),),
    ),
}


def test_a_rows_facets_are_read_and_checked() -> None:
    assert parse_facets({"players": [2, 4], "minutes": 45, "mechanics": ["Dice"], "theme": "Space"}) == (
        ("mechanics", ("dice",)),
        ("minutes", 45.0),
        ("players", (2.0, 4.0)),
        ("theme", "space"),
    )
    for bad in ([1, 2], {"players": [4, 2]}, {"x": {"a": 1}}, {"x": True}, {"x": float("nan")}):
        with pytest.raises(ValueError):
            parse_facets(bad)


@pytest.mark.parametrize(
    ("value", "bound", "holds"),
    [
        (45.0, Bound("m", max=30), False),
        (25.0, Bound("m", max=30), True),
        ((2.0, 4.0), Bound("p", includes=2), True),
        ((3.0, 6.0), Bound("p", includes=2), False),
        ((2.0, 4.0), Bound("p", min=2, max=4), True),
        ((1.0, 5.0), Bound("p", max=4), False),
        (("dice", "drafting"), Bound("x", any=("dice",)), True),
        (("drafting",), Bound("x", any=("dice",)), False),
        ("space", Bound("x", any=("space",)), True),
        (None, Bound("x", max=3), False),
    ],
)
def test_bounds(value: object, bound: Bound, holds: bool) -> None:
    assert satisfies(value, bound) is holds  # type: ignore[arg-type]


def test_a_newer_bound_refines_the_older() -> None:
    merged = Bound("w", max=2.5).merged(Bound("w", min=1.5))
    assert (merged.min, merged.max) == (1.5, 2.5)
    assert Bound.from_dict(merged.as_dict()) == merged


@pytest.mark.parametrize(
    ("message", "name", "want"),
    [
        ("something with dice, not too heavy", "weight", {"max": 2.5}),
        ("nothing heavy tonight", "weight", {"max": 2.5}),
        ("a heavy strategy game", "weight", {"min": 3.5}),
        ("不要太重的", "weight", {"max": 2.5}),
        ("two player games under 30 minutes", "players", {"includes": 2.0}),
        ("two player games under 30 minutes", "minutes", {"max": 30.0}),
        ("for 6 players", "players", {"includes": 6.0}),
        ("两人玩的，半小时以内", "players", {"includes": 2.0}),
        ("两人玩的，半小时以内", "minutes", {"max": 30.0}),
        ("under an hour", "minutes", {"max": 60.0}),
        ("for a 10-year-old", "age", {"max": 10.0}),
        ("给8岁孩子玩", "age", {"max": 8.0}),
        ("something with dice", "mechanics", {"any": ["dice"]}),
        ("想要骰子游戏", "mechanics", {"any": ["dice"]}),
        ("where we lie to each other", "mechanics", {"any": ["bluffing"]}),  # the sidecar's `aliases`
        ("with that dice-rolling feel", "mechanics", {"any": ["dice"]}),  # a hyphen is a space
        ("we're usually 4", "players", {"includes": 4.0}),
        ("a cooperative game for me and my wife", "players", {"includes": 2.0}),
        ("适合新手的", "weight", {"max": 2.0}),
        ("something meaty, medium-heavy or heavier", "weight", {"min": 2.8}),
        ("这个太烧脑了", "weight", {"max": 2.5}),  # "too heavy" of what was named: lighter
        ("there'll be 6 of us", "players", {"includes": 6.0}),
        ("but max 1.5 hours", "minutes", {"max": 90.0}),
        ("一局最好别超过45分钟", "minutes", {"max": 45.0}),
        ("我们一家四口一起玩", "players", {"includes": 4.0}),
        ("games for two, me and my roommate", "players", {"includes": 2.0}),
        ("it's just me and my wife tonight", "players", {"includes": 2.0}),
        ("and not too long, an hour tops", "minutes", {"max": 60.0}),
        ("一局别超过一个半小时", "minutes", {"max": 90.0}),
        ("两个半小时以内", "minutes", {"max": 150.0}),
    ],
)
def test_facet_words(message: str, name: str, want: dict[str, object]) -> None:
    bounds = {b.name: b.as_dict() for b in read_facets(message, SPECS).bounds}
    assert name in bounds, bounds
    assert {k: v for k, v in bounds[name].items() if k != "name"} == want


def test_words_that_bound_nothing() -> None:
    assert read_facets("I love space operas", SPECS).bounds == ()
    assert read_facets("two of us aren't native english speakers", SPECS).bounds == ()
    assert read_facets("别一个人的推好几款", SPECS).bounds == ()  # one designer, not one player
    assert [b.name for b in read_facets("for two hours max", SPECS).bounds] == ["minutes"]  # not two players
    assert read_facets("me and my wife and the kids", SPECS).bounds == ()  # more than two, how many unsaid


def test_the_sidecar_names_the_facets(tmp_path: Path) -> None:
    (tmp_path / "games.jsonl").write_text(
        json.dumps({"id": "a", "title": "A", "description": "d", "facets": {"players": [1, 4]}}) + "\n"
    )
    assert load_catalog(tmp_path / "games.jsonl").facets["players"].type == "range"  # read from the values
    (tmp_path / "games.facets.yaml").write_text("players: {type: range, unit: players, words: [player, 人]}\n")
    spec = load_catalog(tmp_path / "games.jsonl").facets["players"]
    assert (spec.unit, spec.words) == ("players", ("player", "人"))
    (tmp_path / "games.facets.yaml").write_text("m: {type: list, aliases: {bluffing: [lie, liar]}}\n")
    assert load_catalog(tmp_path / "games.jsonl").facets["m"].aliases == (("bluffing", ("lie", "liar")),)
    (tmp_path / "games.facets.yaml").write_text("m: {type: list, aliases: {bluffing: lie}}\n")
    with pytest.raises(CatalogError, match="aliases"):
        load_catalog(tmp_path / "games.jsonl")
    (tmp_path / "games.facets.yaml").write_text("players: {type: colour}\n")
    with pytest.raises(CatalogError, match="colour"):
        load_catalog(tmp_path / "games.jsonl")
