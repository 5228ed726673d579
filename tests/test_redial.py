"""The ReDial catalog (6.5k movies) ingests through the contract's path, and re-ingesting it embeds nothing."""

import pytest
from conftest import SHARED

from chatrec import Engine, Settings
from chatrec.cli import main as cli
from chatrec.ranking.candidates import Excluded

REDIAL = SHARED / "redial" / "id2info.json"
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not REDIAL.exists(), reason=f"ReDial data not found at {REDIAL} (../shared is absent)"),
]


def test_redial_ingests_and_reingests_without_embedding(redial_dir, capsys) -> None:  # type: ignore[no-untyped-def]
    data, first = redial_dir
    assert "6583 items" in first and "6583 added" in first
    assert cli(["ingest", str(REDIAL), "--data-dir", str(data), "--quiet"]) == 0  # format found from the name
    assert "(0 embedded)" in capsys.readouterr().out
    with Engine.load(Settings(data_dir=data, catalog=REDIAL, catalog_format="redial", generator="none")) as engine:
        assert engine.ingest_report.embedded == 0 and engine.store.count() == 6583
        ranked = engine.rank(["", "Hi! What do you like?", "I love horror like The Shining (1980) and It (2017)"], k=50)
        assert len(ranked) == 50 and len(set(ranked)) == 50
        top = [engine.items[i] for i in ranked[:10]]
        assert sum("horror" in it.genres for it in top) >= 5


def test_catalog_genre_spellings_meet_the_words_of_a_message(redial_dir) -> None:  # type: ignore[no-untyped-def]
    """ReDial says "sport" (163 films) where a message says "sports": asking for them or ruling them out works."""
    data, _ = redial_dir
    with Engine.load(Settings(data_dir=data, catalog=REDIAL, catalog_format="redial", generator="none")) as engine:
        sport = {i for i, it in engine.items.items() if "sport" in it.genres}
        assert len(sport) > 100
        turn = engine.chat("sports-fan", "I want to watch a sports movie")
        assert sum(r.item_id in sport for r in turn.recommendations) >= 3
        turn = engine.chat("sports-fan", "no more sports, something else")
        assert engine.profile("sports-fan")["avoid_genres"] == ["sports"]
        assert turn.recommendations and not any(r.item_id in sport for r in turn.recommendations)
        state = engine._state("sports-fan")
        avoided = Excluded(engine.items, (), state.avoid_genres, state.avoid_people)
        assert sport and all(i in avoided for i in sport)
        ranked = engine.rank(["Hi!", "What do you like?", "I like sports films"], k=10)
        assert sum(i in sport for i in ranked) >= 5


@pytest.mark.parametrize(
    "message, check",
    [
        ("Something like Alien (1979) but funnier", lambda it: "comedy" in it.genres),
        ("A comedy like The Hangover (2009) but older", lambda it: it.year is not None and it.year < 2009),
        ("Animated films like Toy Story (1995) but newer", lambda it: it.year is not None and it.year > 1995),
        ("Action movies like Die Hard (1988) from the 90s", lambda it: it.year is not None and 1990 <= it.year <= 1999),
        ("A good thriller after 2010", lambda it: it.year is not None and it.year > 2010),
        (
            "Something for the whole family like Toy Story (1995)",
            lambda it: not {"horror", "crime", "thriller"} & set(it.genres),
        ),
    ],
)
def test_critiques_and_constraints_on_redial(redial_engine: Engine, message: str, check) -> None:  # type: ignore[no-untyped-def]
    """ "like X but funnier / older / newer", "from the 90s", "after 2010", "for the whole family" on 6,583 films."""
    turn = redial_engine.chat(f"critic-{abs(hash(message))}", message)
    items = [redial_engine.items[r.item_id] for r in turn.recommendations]
    assert len(items) == 5 and sum(bool(check(it)) for it in items) >= 4, [
        (it.title, it.year, it.genres) for it in items
    ]


@pytest.fixture(scope="module")
def redial_engine(redial_dir):  # type: ignore[no-untyped-def]
    data, _ = redial_dir
    with Engine.load(Settings(data_dir=data, catalog=REDIAL, catalog_format="redial", generator="none")) as engine:
        yield engine
