"""The web app's `/chat` API through `gradio_client`, against the real app: with the real engine and generator where
replies are under test, on the in-memory doubles (conftest.memory_engine) where only the API's behaviour is."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from conftest import foreign_titles, memory_engine, serve

from chatrec import Engine
from chatrec.reading.language import detect_language

pytestmark = pytest.mark.generation


def as_turn(result: dict[str, Any]) -> SimpleNamespace:
    assert "error" not in result, result
    recs = [SimpleNamespace(**r) for r in result["recommendations"]]
    return SimpleNamespace(reply=result["reply"], recommendations=recs, source=result["source"])


def dialogue(url: str, messages: list[str]) -> list[SimpleNamespace]:
    from gradio_client import Client

    client = Client(url, verbose=False, analytics_enabled=False, download_files=False)
    try:
        return [as_turn(client.predict(m, api_name="/chat")) for m in messages]
    finally:
        client.close()


@pytest.mark.parametrize(
    "language,messages",
    [
        ("en", ["I love space exploration films", "Any others? But nothing with Nolan please"]),
        ("zh", ["推荐几本武侠小说", "再来几本，不要恐怖的"]),
    ],
)
def test_two_turn_dialogues_over_the_api(app_url: str, talker: Engine, language: str, messages: list[str]) -> None:
    first, second = dialogue(app_url, messages)
    for turn in (first, second):
        assert turn.recommendations, "every turn recommends"
        assert detect_language(turn.reply) == language, turn.reply
        assert foreign_titles(talker, turn) == [], turn.reply
    # one client is one user: the second turn knows what the first one showed (asked for others, it shows new ones)
    assert {r.item_id for r in first.recommendations}.isdisjoint(r.item_id for r in second.recommendations)


@pytest.fixture(scope="module")
def cards_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The web app on the in-memory doubles without a generator (template replies): for what does not depend on the
    reply's wording or on which embedder ranked."""
    with memory_engine(tmp_path_factory.mktemp("cards")) as engine, serve(engine) as url:
        yield url


def test_separate_clients_are_separate_users(cards_url: str) -> None:
    from gradio_client import Client

    a = Client(cards_url, verbose=False, analytics_enabled=False, download_files=False)
    b = Client(cards_url, verbose=False, analytics_enabled=False, download_files=False)
    try:
        turn = a.predict("Recommend a western", api_name="/chat")
        item = turn["recommendations"][0]["item_id"]
        assert a.predict(item, False, api_name="/feedback") == {"ok": True}
        assert b.predict("nope-not-an-item", True, api_name="/feedback")["ok"] is False
        assert "error" in a.predict("   ", api_name="/chat")
        # a's thumbs-down changed a's profile only: b, asking the same, still gets that item first
        other = b.predict("Recommend a western", api_name="/chat")
        assert other["recommendations"][0]["item_id"] == item
    finally:
        a.close()
        b.close()
