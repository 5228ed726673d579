"""One wire format (chatrec/serve/wire.py): one Turn, sent through every surface that sends a turn, arrives the same.

The surfaces: the JSON API's answer to POST /api/v1/chat and its `recommendations` and `final` events, the Gradio
page's cards and its `/chat` API for gradio_client, the widget (it reads the JSON API's answer), and the `--url`
scripts, which read the answer back into a Turn. Each is compared with the answer written out by hand here, field by
field, so a surface that drops or renames a field fails. On the in-memory doubles: no model is loaded.
"""

from __future__ import annotations

import dataclasses
import json
import re
import warnings
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import gradio as gr
import pytest
from conftest import ROOT, memory_engine
from starlette.testclient import TestClient

from chatrec import Engine
from chatrec.catalog.items import Item
from chatrec.results import Recommendation, Turn
from chatrec.scripts.remote import turn_from_api
from chatrec.serve import wire
from chatrec.serve.api import api_app
from chatrec.serve.identity import Identity
from chatrec.serve.page import Page, build
from chatrec.serve.page_tabs import Chat

MESSAGE = "Something like space films, but no horror"


class Scripted(Engine):
    """An engine on the in-memory doubles whose every chat turn is its `turn` (streamed: the cards, then the reply)."""

    turn: Turn

    def chat(self, user_id: str, message: str) -> Turn:
        return self.turn

    def chat_stream(self, user_id: str, message: str) -> Iterator[Turn]:
        yield dataclasses.replace(self.turn, reply="", final=False)
        yield self.turn


def full_items(engine: Engine) -> list[Item]:
    """Two bundled items with every catalog fact given, so that a dropped fact shows."""
    return [item for item in engine.items.values() if all(getattr(item, f) for f in wire.FACT_FIELDS)][:2]


@pytest.fixture(scope="module")
def scripted(tmp_path_factory: pytest.TempPathFactory) -> Scripted:
    doubles = memory_engine(tmp_path_factory.mktemp("wire"))
    scripted = Scripted(doubles.settings, doubles.catalog, doubles.embedder, doubles.store, doubles.profiles)
    first, second = full_items(scripted)
    scripted.turn = Turn(
        reply=f"Try {first.title}, then {second.title}.",
        recommendations=[
            Recommendation(
                first.id,
                first.title,
                0.875,
                "You like space: it is science fiction.",
                first.year,
                first.kind,
                first.description,
            ),
            Recommendation(
                second.id, second.title, 0.5, "It is a drama.", second.year, second.kind, second.description
            ),
        ],
        language="en",
        notes=("avoiding horror",),
        source="generator",
        busy=True,
        unknown=("Heat",),
        relaxed=("years",),
    )
    return scripted


@pytest.fixture(scope="module")
def expected(scripted: Scripted) -> dict[str, Any]:
    """The turn on the wire, written out by hand from the Turn and the catalog (not by chatrec/serve/wire.py)."""
    turn, items = scripted.turn, scripted.items
    recs = [
        {
            "item_id": r.item_id,
            "title": r.title,
            "year": r.year,
            "kind": r.kind,
            "description": r.description,
            "why": r.why,
            "score": r.score,
            "genres": list(items[r.item_id].genres),
            "creators": list(items[r.item_id].creators),
            "cast": list(items[r.item_id].cast),
            "tags": list(items[r.item_id].tags),
            "aliases": list(items[r.item_id].aliases),
            "facets": {name: list(v) if isinstance(v, tuple) else v for name, v in items[r.item_id].facets},
        }
        for r in turn.recommendations
    ]
    return {
        "reply": turn.reply,
        "language": "en",
        "source": "generator",
        "recommendations": recs,
        "busy": True,
        "notes": ["avoiding horror"],
        "unknown": list(turn.unknown),
        "relaxed": list(turn.relaxed),
    }


def assert_same(surface: str, got: Any, want: Any) -> None:
    """`got` is `want`; else say which fields the surface lost, added or changed."""
    if isinstance(want, dict) and isinstance(got, dict):
        assert set(got) == set(want), (surface, "missing", set(want) - set(got), "extra", set(got) - set(want))
        for key in want:
            assert_same(f"{surface}.{key}", got[key], want[key])
    elif isinstance(want, list) and isinstance(got, list):
        assert len(got) == len(want), (surface, got, want)
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            assert_same(f"{surface}[{i}]", g, w)
    else:
        assert got == want and type(got) is type(want), (surface, got, want)


def test_the_check_fails_for_a_surface_that_drops_or_changes_a_field(expected: dict[str, Any]) -> None:
    dropped = {
        **expected,
        "recommendations": [{k: v for k, v in r.items() if k != "aliases"} for r in expected["recommendations"]],
    }
    for wrong in (
        dropped,
        {**expected, "busy": False},
        {k: v for k, v in expected.items() if k != "notes"},
        {**expected, "recommendations": expected["recommendations"][:1]},
    ):
        with pytest.raises(AssertionError):
            assert_same("wrong", wrong, expected)


def test_the_wire_format(scripted: Scripted, expected: dict[str, Any]) -> None:
    assert_same("wire.turn", wire.turn(scripted.turn, scripted.items), expected)
    assert_same("wire.turn, JSON", json.loads(json.dumps(wire.turn(scripted.turn, scripted.items))), expected)


# -- the JSON API and the widget ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def client(scripted: Scripted) -> Iterator[TestClient]:
    with TestClient(api_app(scripted, Identity(b"k" * 32))) as client:
        token = client.post("/sessions", json={}).json()["token"]
        client.headers["Authorization"] = f"Bearer {token}"
        yield client


def test_the_api_answers_the_turn(client: TestClient, expected: dict[str, Any]) -> None:
    answer = client.post("/chat", json={"message": MESSAGE})
    assert answer.status_code == 200, answer.text
    assert_same("POST /chat", answer.json(), expected)


def test_the_api_streams_the_turn(client: TestClient, expected: dict[str, Any]) -> None:
    answer = client.post("/chat", json={"message": MESSAGE}, headers={"Accept": "text/event-stream"})
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/event-stream")
    events = [
        (block.split("\n")[0].removeprefix("event: "), json.loads(block.split("\n")[1].removeprefix("data: ")))
        for block in answer.text.strip().split("\n\n")
    ]
    assert [name for name, _ in events] == ["recommendations", "delta", "final"], events
    assert_same("event recommendations", events[0][1], expected["recommendations"])
    assert_same("event final", events[-1][1], expected)


def test_the_widget_reads_only_fields_on_the_wire(scripted: Scripted, expected: dict[str, Any]) -> None:
    """The widget shows the JSON API's answer (the dict compared above) and GET /history's turns; each field it
    reads of a turn or of a recommendation is one that these have."""
    script = (ROOT / "chatrec" / "serve" / "static" / "widget.js").read_text(encoding="utf-8")
    read = {name: set(re.findall(rf"\b{name}\.(\w+)", script)) for name in ("turn", "rec")}
    item = expected["recommendations"][0]["item_id"]
    [past] = wire.history(
        [
            {"ts": 1.0, "kind": "message", "payload": {"text": MESSAGE}},
            {"ts": 1.0, "kind": "shown", "payload": {"items": [item]}},
        ],
        scripted.items,
    )["turns"]
    assert read["turn"] and read["rec"], read
    assert read["turn"] <= set(expected) | set(past), read["turn"] - set(expected) - set(past)
    assert read["rec"] <= set(expected["recommendations"][0]) | set(past["recommendations"][0]), read["rec"]


# -- the Gradio page ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def demo(scripted: Scripted) -> gr.Blocks:
    return build(scripted)


def test_the_page_builds_without_a_handler_warning(scripted: Scripted) -> None:
    """Gradio warns at start-up of a handler whose arguments it cannot give (`demo.unload` of a method without a
    `gr.Request` parameter)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        build(scripted)
    assert not [str(w.message) for w in caught if issubclass(w.category, UserWarning)]


def test_the_page_shows_the_turns_cards(scripted: Scripted, expected: dict[str, Any]) -> None:
    page = Page(scripted)
    with gr.Blocks():
        page.layout()
    chat, bot = Chat(), {"role": "assistant", "text": "", "state": "writing"}
    for _ in page.answer(chat, "web-wire", MESSAGE, bot):
        pass
    assert_same("page cards", chat.shown, expected["recommendations"])
    assert_same(
        "Page.card_dict", [page.card_dict(r) for r in scripted.turn.recommendations], expected["recommendations"]
    )
    assert bot["text"] == expected["reply"] and chat.status == ("done", True, "generator")


def test_the_pages_chat_api_answers_the_turn(demo: gr.Blocks, expected: dict[str, Any]) -> None:
    """`/chat` for gradio_client, as the page registers it."""
    [api_chat] = [f.fn for f in demo.fns.values() if f.api_name == "chat"]
    assert_same("gradio /chat", api_chat(MESSAGE, SimpleNamespace(username="web-wire")), expected)
    assert api_chat(MESSAGE, SimpleNamespace(username=None)) == {"error": "Your session has expired: reload the page."}


# -- the --url scripts ----------------------------------------------------------------------------------------------
def test_the_scripts_read_the_turn_back(client: TestClient, scripted: Scripted, expected: dict[str, Any]) -> None:
    answer = client.post("/chat", json={"message": MESSAGE}).json()
    for surface, back in (
        ("wire", wire.turn_from_wire(wire.turn(scripted.turn, scripted.items))),
        ("API answer", turn_from_api(answer)),
    ):
        turn, items, missing = back
        assert turn == scripted.turn, surface
        assert missing == frozenset(), surface
        want = [
            dataclasses.replace(scripted.items[r.item_id], language="", popularity=None)
            for r in scripted.turn.recommendations
        ]
        assert items == want, surface
    lacking = {
        **expected,
        "recommendations": [{k: v for k, v in r.items() if k != "cast"} for r in expected["recommendations"]],
    }
    assert wire.turn_from_wire(lacking)[2] == frozenset({"cast"})
