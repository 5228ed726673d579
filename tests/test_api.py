"""The JSON HTTP API at /api/v1 (chatrec/serve/api.py), against the real app on loopback over an engine on the
in-memory doubles (conftest.memory_engine: what the API does does not depend on which embedder ranked), no generator
(template replies), the same bearer tokens as the web UI.

What must hold: each route answers in its documented shape; a caller is only ever the user its token names; every
error is `{"error": {"code", "message"}}` with no trace; the chat rate limit and CORS hold; and a schema-driven
tester (schemathesis, from /api/v1/openapi.json) finds no 5xx and no answer that breaks the schema.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from conftest import auth, keeps_to_schema, memory_engine, new_user, serve, session

from chatrec import Engine
from chatrec.errors import (
    ConfigError,
    InputError,
    ProfileBusyError,
    ProfilesUnavailableError,
    StoreError,
    UnknownItemError,
)
from chatrec.results import Recommendation, Turn
from chatrec.serve.api import Api, check_origins, translate
from chatrec.serve.identity import COOKIE, Identity

ORIGIN = "https://shop.example"  # the one origin this deployment lets browsers call from
RATE = 5  # chat turns a minute per session, low so that the limit is quick to reach
SPACE = "I love space exploration films"
REC_FIELDS = {"item_id", "title", "year", "kind", "description", "why", "score"}  # the contract's
FACT_FIELDS = {"genres", "creators", "cast", "tags", "aliases", "facets"}  # extensions (optional)
HOST_SECRET = "a-host-site-secret-of-32-bytes-or-more"


@pytest.fixture(scope="module")
def api_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """The bundled catalog on the in-memory doubles (no generator) with its own profiles and key, one allowed origin
    and a low chat rate."""
    with memory_engine(
        tmp_path_factory.mktemp("api"), allowed_origins=(ORIGIN,), chat_per_minute=RATE, host_secret=HOST_SECRET
    ) as eng:
        yield eng


@pytest.fixture(scope="module")
def api(api_engine: Engine) -> Iterator[str]:
    """The API's base URL on the real app (`app.create`, as `python app.py` serves it)."""
    with serve(api_engine) as url:
        yield url + "api/v1"


def assert_error(answer: httpx.Response, status: int, code: str | None = None) -> dict[str, str]:
    """The answer is an error in the API's format, with no trace of the server's insides."""
    assert answer.status_code == status, (answer.status_code, answer.text)
    assert answer.headers["content-type"].startswith("application/json")
    body = answer.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, body
    assert body["error"]["message"] and "Traceback" not in answer.text and 'File "' not in answer.text
    if code is not None:
        assert body["error"]["code"] == code, body
    return body["error"]


def sse_events(text: str) -> list[tuple[str, Any]]:
    """(event, data) of each server-sent event in a stream."""
    out = []
    for block in text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        out.append((lines["event"], json.loads(lines["data"])))
    return out


# -- sessions, health, chat -------------------------------------------------------------------------------------
def test_a_session_is_a_new_user_with_a_signed_token_and_no_cookie(api: str, api_engine: Engine) -> None:
    answer = httpx.post(api + "/sessions", json={})
    first, second = answer.json(), session(api)
    assert set(first) == {"token", "user_id"} and first["user_id"] != second["user_id"]
    assert first["token"].startswith(first["user_id"] + ".") and len(first["token"]) > 60
    assert "set-cookie" not in answer.headers
    assert httpx.post(api + "/sessions").status_code == 200  # no body at all is fine too


def test_the_api_token_is_the_web_ui_identity(api: str) -> None:
    """A token from the API is accepted as the web UI's session cookie: no new one is issued for it."""
    token = session(api)["token"]
    assert "set-cookie" not in httpx.get(api.removesuffix("api/v1"), cookies={COOKIE: token}).headers
    assert "set-cookie" in httpx.get(api.removesuffix("api/v1")).headers


def test_health_needs_no_token(api: str, api_engine: Engine) -> None:
    assert httpx.get(api + "/health").json() == {"ok": True, "items": len(api_engine.items)}


def host_token(sub: str, secret: str = HOST_SECRET, lifetime_s: float = 600, **claims: Any) -> str:
    import time

    import jwt

    return jwt.encode({"sub": sub, "exp": int(time.time() + lifetime_s), **claims}, secret, algorithm="HS256")


def test_a_host_signed_user_id_gives_one_profile_on_every_device(api: str) -> None:
    first = httpx.post(api + "/sessions", json={"host_token": host_token("alice@shop")}).json()
    second = httpx.post(api + "/sessions", json={"host_token": host_token("alice@shop")}).json()  # another device
    other = httpx.post(api + "/sessions", json={"host_token": host_token("bob@shop")}).json()
    assert first["user_id"] == second["user_id"] != other["user_id"] and first["user_id"].startswith("host-")
    assert "alice" not in first["user_id"]  # the host's id is not shown back or guessable
    httpx.post(api + "/chat", json={"message": "a space film"}, headers=auth(first["token"]))
    assert httpx.get(api + "/profile", headers=auth(second["token"])).json()["turns"] == 1
    assert httpx.get(api + "/profile", headers=auth(other["token"])).json()["turns"] == 0


@pytest.mark.parametrize(
    ("what", "token"),
    [
        ("expired", lambda: host_token("alice@shop", lifetime_s=-120)),
        ("another secret", lambda: host_token("alice@shop", secret="x" * 40)),
        ("altered", lambda: host_token("alice@shop")[:-3] + "AAA"),
        ("unsigned", lambda: __import__("jwt").encode({"sub": "alice@shop", "exp": 9999999999}, None, "none")),
        ("no expiry", lambda: __import__("jwt").encode({"sub": "alice@shop"}, HOST_SECRET, "HS256")),
        ("a year long", lambda: host_token("alice@shop", lifetime_s=365 * 86400)),
        ("not a token", lambda: "alice@shop"),
    ],
)
def test_a_bad_host_token_is_refused(api: str, what: str, token: Any) -> None:
    answer = httpx.post(api + "/sessions", json={"host_token": token()})
    assert_error(answer, 401, "unauthorized")


def test_ready_checks_each_part_and_says_which_one_fails(api: str, api_engine: Engine) -> None:
    answer = httpx.get(api + "/ready")
    assert answer.status_code == 200 and answer.json()["checks"]["store"] == "ok", answer.text
    assert answer.json()["checks"]["profiles"] == "ok"
    real = api_engine.profiles.load

    def down(*args: Any) -> Any:
        raise ProfilesUnavailableError("The profile database postgresql://db cannot be used right now")

    api_engine.profiles.load = down  # type: ignore[method-assign]
    try:
        failing = httpx.get(api + "/ready")
    finally:
        api_engine.profiles.load = real  # type: ignore[method-assign]
    body = assert_error(failing, 503, "not_ready")
    assert "profiles" in body["message"] and failing.headers["retry-after"] == "5"
    assert httpx.get(api + "/health").status_code == 200  # liveness is not readiness


def test_metrics_count_turns_stages_and_answers(api: str) -> None:
    user = new_user(api)
    assert httpx.post(api + "/chat", json={"message": "a space film"}, headers=user).status_code == 200
    httpx.post(api + "/feedback", json={"item_id": "no-such-item", "liked": True}, headers=user)
    scrape = httpx.get(api.removesuffix("api/v1") + "metrics")
    assert scrape.status_code == 200 and scrape.headers["content-type"].startswith("text/plain")
    text = scrape.text

    def value(line_start: str) -> float:
        return max(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(line_start))

    assert value("chatrec_turns_total") >= 1
    for stage in ("read", "rank", "first_text", "full_reply"):
        assert value(f'chatrec_turn_stage_seconds_count{{stage="{stage}"}}') >= 1, stage
    assert value('chatrec_api_answers_total{code="unknown_item",status="404"}') >= 1
    assert value('chatrec_api_answers_total{code="ok",status="200"}') >= 1
    assert "chatrec_chat_steps_in_flight" in text


def test_chat_answers_the_turn_as_json(api: str) -> None:
    answer = httpx.post(api + "/chat", json={"message": SPACE}, headers=new_user(api), timeout=60)
    assert answer.status_code == 200, answer.text
    turn = answer.json()
    assert set(turn) == {"reply", "language", "source", "recommendations", "busy", "notes", "unknown", "relaxed"}
    assert turn["busy"] is False
    assert isinstance(turn["notes"], list)
    assert turn["language"] == "en" and turn["source"] == "template" and turn["reply"]
    assert turn["recommendations"] and all(set(r) == REC_FIELDS | FACT_FIELDS for r in turn["recommendations"])
    assert "science fiction" in " ".join(r["why"] + r["description"] for r in turn["recommendations"]).lower() or any(
        "space" in (r["why"] + r["description"]).lower() for r in turn["recommendations"]
    )


def test_chat_streams_recommendations_then_deltas_then_final(api: str) -> None:
    headers = {**new_user(api), "Accept": "text/event-stream"}
    with httpx.stream(
        "POST", api + "/chat", json={"message": "推荐几本武侠小说"}, headers=headers, timeout=60
    ) as answer:
        assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/event-stream")
        events = sse_events(answer.read().decode("utf-8"))
    names = [name for name, _ in events]
    assert names[0] == "recommendations" and names[-1] == "final" and set(names[1:-1]) == {"delta"}, names
    recs, final = events[0][1], events[-1][1]
    assert recs and all(set(r) == REC_FIELDS | FACT_FIELDS for r in recs) and final["recommendations"] == recs
    assert "".join(data["text"] for name, data in events if name == "delta") == final["reply"]
    assert final["language"] == "zh"


def test_the_stream_sends_only_the_new_text_of_each_draft(api_engine: Engine) -> None:
    """Drafts extend each other; each `delta` carries what a draft added, and `final` the whole answer."""
    rec = Recommendation(item_id="x", title="X", score=1.0, why="because")
    drafts = [
        Turn(reply="Try X.", recommendations=[rec], final=False),
        Turn(reply="Try X. It is", recommendations=[rec], final=False),
        Turn(reply="Try X. It is", recommendations=[rec], final=False),  # nothing new: no event
        Turn(reply="Try X. It is good.", recommendations=[rec], source="generator"),
    ]
    first = Turn(reply="", recommendations=[rec], final=False)
    events = asyncio.run(collect(Api(api_engine, Identity(b"k" * 32), api_engine.settings), first, drafts))
    assert [name for name, _ in events] == ["recommendations", "delta", "delta", "delta", "final"]
    assert [d["text"] for name, d in events if name == "delta"] == ["Try X.", " It is", " good."]
    assert events[-1][1]["reply"] == "Try X. It is good." and events[-1][1]["source"] == "generator"


async def collect(api: Api, first: Turn, drafts: list[Turn]) -> list[tuple[str, Any]]:
    return sse_events(b"".join([chunk async for chunk in api.events(first, iter(drafts))]).decode("utf-8"))


def test_bad_messages_get_a_clear_400_before_any_stream(api: str, api_engine: Engine) -> None:
    for message, words in (
        ("   ", "empty"),
        ("x" * (api_engine.settings.max_message_chars + 1), "too long"),
        ("nul \x00 here", "holds"),
    ):
        for accept in ("application/json", "text/event-stream"):
            error = assert_error(
                httpx.post(api + "/chat", json={"message": message}, headers={**new_user(api), "Accept": accept}),
                400,
                "bad_input",
            )
            assert words in error["message"], error


# -- feedback and profile ---------------------------------------------------------------------------------------
def test_feedback_changes_the_profile_and_an_unknown_item_is_404(api: str) -> None:
    headers = new_user(api)
    turn = httpx.post(api + "/chat", json={"message": SPACE}, headers=headers, timeout=60).json()
    item = turn["recommendations"][0]["item_id"]
    answer = httpx.post(api + "/feedback", json={"item_id": item, "liked": False}, headers=headers)
    assert answer.status_code == 200 and answer.json() == {"ok": True}
    assert item in [r["id"] for r in httpx.get(api + "/profile", headers=headers).json()["rejected"]]
    assert_error(
        httpx.post(api + "/feedback", json={"item_id": "no-such-item", "liked": True}, headers=headers),
        404,
        "unknown_item",
    )
    assert_error(httpx.post(api + "/feedback", json={"item_id": item, "liked": "yes"}, headers=headers), 422)


def test_profile_export_and_forget(api: str) -> None:
    headers = new_user(api)
    assert httpx.get(api + "/profile/export", headers=headers).json()["state"] is None
    httpx.post(api + "/chat", json={"message": "Recommend a western, no horror"}, headers=headers, timeout=60)
    profile = httpx.get(api + "/profile", headers=headers).json()
    assert profile["turns"] == 1 and profile["user_id"].startswith("web-")
    export = httpx.get(api + "/profile/export", headers=headers).json()
    assert export["user_id"] == profile["user_id"] and export["state"]["turns"] == 1
    assert [e["kind"] for e in export["events"]] == ["message", "shown"]
    assert export["events"][0]["payload"] == {"text": "Recommend a western, no horror"}
    forgot = httpx.delete(api + "/profile", headers=headers)
    assert forgot.status_code == 200 and forgot.json() == {"ok": True}
    assert httpx.get(api + "/profile/export", headers=headers).json() == {
        "user_id": profile["user_id"],
        "state": None,
        "profile": None,
        "events": [],
    }
    assert httpx.get(api + "/profile", headers=headers).json()["turns"] == 0


def test_the_state_is_in_the_profile_and_export_and_patch_removes_entries(api: str) -> None:
    headers = new_user(api)
    message = "I'm tired of wuxia, recommend some science fiction films from the 1990s, no horror"
    httpx.post(api + "/chat", json={"message": message}, headers=headers, timeout=60)
    profile = httpx.get(api + "/profile", headers=headers).json()
    state = profile["state"]
    assert set(state) == {"now", "less_of", "never", "named"}
    assert [e["value"] for e in state["less_of"]] == ["wuxia"] and state["less_of"][0]["field"] == "less_of"
    assert [e["value"] for e in state["never"]["genres"]] == ["horror"]
    assert "years" in [c["value"] for c in state["now"]["constraints"]]
    assert (
        httpx.get(api + "/profile", params={"lang": "zh"}, headers=headers).json()["state"]["less_of"][0]["text"]
        == "武侠"
    )
    export = httpx.get(api + "/profile/export", headers=headers).json()
    assert export["profile"]["state"] == state and export["state"]["soft_avoid_genres"] == ["wuxia"]

    edit = {"remove": {"less_of": ["wuxia"], "never_genres": ["horror"], "constraints": ["years"]}}
    answer = httpx.patch(api + "/profile", json=edit, headers=headers)
    assert answer.status_code == 200, answer.text
    after = answer.json()["state"]
    assert after["less_of"] == [] and after["never"]["genres"] == []
    assert "years" not in [c["value"] for c in after["now"]["constraints"]]
    assert httpx.get(api + "/profile", headers=headers).json()["state"] == after
    events = httpx.get(api + "/profile/export", headers=headers).json()["events"]
    assert events[-1]["kind"] == "edit" and events[-1]["payload"] == edit

    gone = assert_error(httpx.patch(api + "/profile", json=edit, headers=headers), 400, "bad_input")
    assert "not among" in gone["message"]
    assert_error(httpx.patch(api + "/profile", json={"remove": {}}, headers=headers), 400, "bad_input")
    for bad in ({"remove": {"interests": ["x"]}}, {"remove": {"wants": "space"}}, {"add": {}}, {"remove": []}):
        assert_error(httpx.patch(api + "/profile", json=bad, headers=headers), 422, "invalid_request")
    assert_error(httpx.patch(api + "/profile", json=edit, params={"lang": "fr"}, headers=headers), 422)
    assert httpx.get(api + "/profile/export", headers=headers).json()["events"] == events  # nothing changed


def test_undoing_a_thumbs_down_clears_it_from_the_history(api: str) -> None:
    headers = new_user(api)
    turn = httpx.post(api + "/chat", json={"message": SPACE}, headers=headers, timeout=60).json()
    item = turn["recommendations"][0]["item_id"]
    httpx.post(api + "/feedback", json={"item_id": item, "liked": False}, headers=headers)
    named = httpx.get(api + "/profile", headers=headers).json()["state"]["named"]
    assert {"field": "items", "value": item, "said": "disliked"}.items() <= named[0].items()
    answer = httpx.patch(api + "/profile", json={"remove": {"items": [item]}}, headers=headers).json()
    assert answer["state"]["named"] == [] and answer["state"]["never"]["items"] == [] and answer["rejected"] == []
    [past] = httpx.get(api + "/history", headers=headers).json()["turns"]
    assert past["recommendations"][0]["feedback"] is None


# -- who is calling ---------------------------------------------------------------------------------------------
ROUTES = [
    ("POST", "/chat", {"message": SPACE}),
    ("POST", "/feedback", {"item_id": "x", "liked": True}),
    ("GET", "/profile", None),
    ("PATCH", "/profile", {"remove": {"less_of": ["horror"]}}),
    ("GET", "/profile/export", None),
    ("DELETE", "/profile", None),
]


def test_every_route_but_sessions_and_health_needs_a_valid_token(api: str) -> None:
    token = session(api)["token"]
    user_id, signature = token.split(".", 1)
    flipped = signature[:-1] + ("A" if signature[-1] != "A" else "B")
    foreign, _ = Identity(b"another deployment's key!").issue()
    refused = [
        {},
        {"Authorization": token},
        {"Authorization": f"Basic {token}"},
        auth(f"{user_id}.{flipped}"),
        auth(user_id),
        auth(foreign),
        auth("web-" + "A" * 22 + "." + signature),
        auth("x" * 5000),
    ]
    for method, path, body in ROUTES:
        for headers in refused:
            answer = httpx.request(method, api + path, json=body, headers=headers)
            assert_error(answer, 401, "unauthorized")
            assert answer.headers["www-authenticate"] == "Bearer"
        # the web UI's cookie is no API credential (a page on another site could make a browser send it)
        assert_error(httpx.request(method, api + path, json=body, cookies={COOKIE: token}), 401)


def test_two_sessions_never_see_each_others_data(api: str, api_engine: Engine) -> None:
    alice, bob = session(api), session(api)
    marker = "zanzibarquux"
    turn = httpx.post(
        api + "/chat", json={"message": f"I love {marker} space voyages"}, headers=auth(alice["token"]), timeout=60
    ).json()
    item = turn["recommendations"][0]["item_id"]
    httpx.post(api + "/feedback", json={"item_id": item, "liked": True}, headers=auth(alice["token"]))
    # bob names alice wherever a client could: the server never takes a user id from the request
    sneaky = {"message": "more westerns", "user_id": alice["user_id"], "user": alice["user_id"]}
    httpx.post(api + "/chat", json=sneaky, headers=auth(bob["token"]), timeout=60)
    bob_export = httpx.get(api + "/profile/export", headers=auth(bob["token"])).text
    assert (
        marker not in bob_export
        and alice["user_id"] not in bob_export
        and item not in [r["id"] for r in httpx.get(api + "/profile", headers=auth(bob["token"])).json()["liked"]]
    )
    assert httpx.delete(api + "/profile", headers=auth(bob["token"]), params={"user_id": alice["user_id"]}).json() == {
        "ok": True
    }
    alice_export = httpx.get(api + "/profile/export", headers=auth(alice["token"])).json()
    assert alice_export["user_id"] == alice["user_id"] and marker in json.dumps(alice_export)
    assert [e["kind"] for e in alice_export["events"]] == ["message", "shown", "feedback"]
    assert api_engine.profile(bob["user_id"])["turns"] == 0 and api_engine.profile(alice["user_id"])["turns"] == 1


# -- limits -----------------------------------------------------------------------------------------------------
def test_chat_is_rate_limited_per_session_with_retry_after(api: str) -> None:
    headers, other = new_user(api), new_user(api)
    for _ in range(RATE):  # empty messages cost the engine nothing, and count all the same
        assert httpx.post(api + "/chat", json={"message": " "}, headers=headers).status_code == 400
    answer = httpx.post(api + "/chat", json={"message": SPACE}, headers=headers)
    assert_error(answer, 429, "rate_limited")
    assert 1 <= int(answer.headers["retry-after"]) <= 60 // RATE
    assert httpx.post(api + "/chat", json={"message": " "}, headers=other).status_code == 400  # others go on
    assert httpx.get(api + "/profile", headers=headers).status_code == 200  # and so does the rest of the API


def test_oversized_bodies_and_malformed_requests_are_json_errors(api: str) -> None:
    headers = {**new_user(api), "Content-Type": "application/json"}
    assert_error(
        httpx.post(api + "/chat", content=b'{"message": "' + b"x" * 200_000 + b'"}', headers=headers), 413, "too_large"
    )
    assert_error(httpx.post(api + "/chat", content=b"{not json", headers=headers), 400, "bad_json")
    assert_error(httpx.post(api + "/chat", json={"text": "hi"}, headers=headers), 422, "invalid_request")
    assert_error(httpx.post(api + "/chat", json={"message": 42}, headers=headers), 422, "invalid_request")
    assert_error(httpx.post(api + "/chat", json=["message"], headers=headers), 422, "invalid_request")
    assert_error(httpx.get(api + "/no/such/route", headers=headers), 404, "not_found")
    assert_error(httpx.get(api + "/chat", headers=headers), 405, "method_not_allowed")
    assert_error(httpx.put(api + "/sessions", json={}), 405)


def test_a_body_that_is_not_utf8_is_bad_json(api: str) -> None:
    """A body that cannot be decoded is no JSON: 400 `bad_json`, as docs/api.md says (not a code of its own)."""
    headers = {**new_user(api), "Content-Type": "application/json"}
    error = assert_error(httpx.post(api + "/chat", content=b'{"message": "\xff"}', headers=headers), 400, "bad_json")
    assert error["message"] == "The request body is not valid JSON."


def test_engine_errors_are_mapped_and_never_leak_a_trace(
    api: str, api_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    headers = new_user(api)
    for exc, status, code in (
        (StoreError("chroma is down at /secret/path"), 503, "store_unavailable"),
        (ProfileBusyError("busy"), 503, "busy"),
        (RuntimeError("internal detail at /secret/path"), 500, "internal"),
    ):

        def fail(*args: Any, exc: Exception = exc) -> Any:
            raise exc

        monkeypatch.setattr(api_engine, "profile", fail)
        answer = httpx.get(api + "/profile", headers=headers)
        assert "/secret/path" not in assert_error(answer, status, code)["message"]
        assert status == 500 or int(answer.headers["retry-after"]) >= 1
    assert translate(InputError("empty")).status == 400 and translate(UnknownItemError("x")).status == 404


def test_one_error_map_for_the_api_and_the_page(api_engine: Engine) -> None:
    """chatrec/serve/error_map.py: each engine error's status, code and Retry-After; the page's texts follow the
    code (in English, the engine's own words for bad input)."""
    from chatrec.serve.error_map import for_status, problem
    from chatrec.serve.page import NO_SESSION, Page, api_text

    page, long = Page(api_engine), "x" * (api_engine.settings.max_message_chars + 1)
    cases = [
        (UnknownItemError("no item 'x'"), 404, "unknown_item", None, "sorry", "no item 'x'"),
        (InputError("empty"), 400, "bad_input", None, "bad_message", "empty"),
        (
            ProfileBusyError("raced"),
            503,
            "busy",
            1,
            "sorry",
            "Sorry, something went wrong on our side. Please try again.",
        ),
        (
            StoreError("down at /secret"),
            503,
            "store_unavailable",
            30,
            "store_down",
            "The catalog index is unavailable right now; the operator has been told. Please try again later.",
        ),
        (
            RuntimeError("at /secret"),
            500,
            "internal",
            None,
            "sorry",
            "Sorry, something went wrong on our side. Please try again.",
        ),
    ]
    for exc, status, code, retry_after, key, text in cases:
        try:
            raise exc
        except Exception as caught:
            answer = problem(caught)
            assert translate(caught).problem == answer
        assert (answer.status, answer.code, answer.retry_after) == (status, code, retry_after), answer
        assert "/secret" not in answer.message and page.failure_of(answer, "hi", "zh") == {"error": key}
        assert api_text(answer) == text
    assert page.failure_of(problem(InputError("empty")), "hi", "en") == {"text": "empty", "error": ""}
    assert page.failure_of(problem(InputError("too long")), long, "zh")["error"] == "too_long"
    assert page.failure_of(problem(InputError(NO_SESSION)), "hi", "zh") == {"error": "no_session"}
    assert [for_status(s).code for s in (400, 401, 404, 405, 413, 429)] == [
        "bad_json",
        "unauthorized",
        "not_found",
        "method_not_allowed",
        "too_large",
        "rate_limited",
    ]


# -- browsers on other sites ------------------------------------------------------------------------------------
def test_cors_allows_only_the_configured_origin(api: str) -> None:
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type",
    }
    allowed = httpx.options(api + "/chat", headers={**preflight, "Origin": ORIGIN})
    assert allowed.status_code == 200 and allowed.headers["access-control-allow-origin"] == ORIGIN
    assert "authorization" in allowed.headers["access-control-allow-headers"].lower()
    refused = httpx.options(api + "/chat", headers={**preflight, "Origin": "https://evil.example"})
    assert_error(refused, 403, "cors_refused")
    assert "access-control-allow-origin" not in refused.headers
    headers = new_user(api)
    simple = httpx.get(api + "/profile", headers={**headers, "Origin": ORIGIN})
    assert (
        simple.headers["access-control-allow-origin"] == ORIGIN
        and "retry-after" in simple.headers["access-control-expose-headers"].lower()
    )
    assert (
        "access-control-allow-origin"
        not in httpx.get(api + "/profile", headers={**headers, "Origin": "https://evil.example"}).headers
    )
    assert "access-control-allow-credentials" not in simple.headers  # bearer tokens, never cookies


def test_allowed_origins_are_exact_origins_never_wildcards() -> None:
    assert check_origins(("https://Shop.example/", "http://localhost:8080")) == [
        "https://shop.example",
        "http://localhost:8080",
    ]
    assert check_origins(()) == []
    for bad in ("*", "https://*.example.com", "shop.example", "https://shop.example/path", "ftp://shop.example"):
        with pytest.raises(ConfigError):
            check_origins((bad,))


# -- the schema -------------------------------------------------------------------------------------------------
def test_the_openapi_schema_describes_every_route_and_its_errors(api: str) -> None:
    schema = httpx.get(api + "/openapi.json").json()
    assert schema["servers"] == [{"url": "/api/v1"}]
    operations = {(m.upper(), p): op for p, ops in schema["paths"].items() for m, op in ops.items()}
    assert set(operations) == {
        ("POST", "/sessions"),
        ("POST", "/chat"),
        ("POST", "/feedback"),
        ("GET", "/profile"),
        ("PATCH", "/profile"),
        ("GET", "/profile/export"),
        ("GET", "/history"),
        ("DELETE", "/profile"),
        ("GET", "/health"),
        ("GET", "/ready"),
    }
    open_routes = ("/sessions", "/health", "/ready")
    for (method, path), op in operations.items():
        assert "$ref" in json.dumps(op["responses"]["200"]), (method, path)
        assert op["responses"]["422"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorBody")
        assert ("401" in op["responses"]) == (path not in ("/health", "/ready")), (
            method,
            path,
        )  # sessions: a host token
        assert bool(op.get("security")) == (path not in open_routes), (method, path)
    assert "text/event-stream" in operations[("POST", "/chat")]["responses"]["200"]["content"]
    assert "429" in operations[("POST", "/chat")]["responses"]


EXAMPLES = 12  # per route and mode: about 130 generated requests, some 10 s


def test_the_api_keeps_to_its_schema(api: str) -> None:
    """Requests generated from /api/v1/openapi.json (schemathesis), valid and invalid ones, to every route, each as
    a new session: no 5xx, and every answer (status, content type, body, headers) as the schema says. (The same,
    with fewer examples, runs against a `chatrec serve` process in test_own_catalog.py.)"""
    keeps_to_schema(api, EXAMPLES)


def test_without_a_host_secret_no_host_token_is_accepted() -> None:
    identity = Identity(b"k" * 32)
    with pytest.raises(InputError, match="CHATREC_HOST_SECRET"):
        identity.issue_for_host(host_token("alice@shop"), None)
    token, user = identity.issue_for_host(host_token("alice@shop"), HOST_SECRET)
    assert (
        identity.user(token) == user
        and Identity(b"j" * 32).issue_for_host(host_token("alice@shop"), HOST_SECRET)[1] != user
    ), "another deployment's key gives another id"
