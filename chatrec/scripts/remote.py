"""The `--url` side of scripted dialogues: one fresh user of a running chatrec server, through its HTTP API.

`connect` checks `GET /health` and returns the client; `ApiUser` is a session of its own (`POST /sessions` ...
`DELETE /profile`) that plays the `Side` of chatrec/scripts/local.py, reading a chat answer's server-sent events
(`sse_events`) into a Turn (`turn_from_wire` of chatrec/serve/wire.py, also named `turn_from_api` here), and
retrying a 429 or 503 as its Retry-After says; `ApiFacts` is what the API tells of the catalog (docs/api.md). httpx
is imported only when a server is reached.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from itertools import chain
from typing import Any
from urllib.parse import urlsplit

from chatrec.catalog.items import Item
from chatrec.errors import ChatrecError
from chatrec.scripts.expectations import (
    Facts,
    catalog_genre_names,
    lexicon_genre_names,
    profile_less_of,
    profile_terms,
    titles_of,
)
from chatrec.scripts.local import Refused, Seen
from chatrec.serve.wire import turn_from_wire

API_PATH = "/api/v1"
RETRIES = 5  # a 429 or 503 answer is retried this often, after its Retry-After
MAX_WAIT_S = 60.0  # the longest Retry-After honoured
CONNECT_S, READ_S = 10.0, 300.0  # a generated reply on a slow CPU may take minutes; connecting should not


class ServerError(ChatrecError):
    """The server of `--url` cannot be reached, or answers outside its API; the dialogue cannot go on."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status  # the HTTP status it answered, if it answered


def api_base(url: str) -> str:
    """The API's root for a server's address: http://HOST:PORT[/prefix] -> http://HOST:PORT[/prefix]/api/v1."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ServerError(f"--url must be a server address such as http://127.0.0.1:7860, got {url!r}")
    path = parts.path.rstrip("/")
    return f"{parts.scheme}://{parts.netloc}{path if path.endswith(API_PATH) else path + API_PATH}"


@contextmanager
def reaching(url: str) -> Iterator[None]:
    """Turns a failure to reach the server (refused, reset, timed out) into a ServerError that says so."""
    import httpx

    try:
        yield
    except httpx.TransportError as exc:
        raise ServerError(
            f"cannot reach the chatrec server at {url}: {str(exc) or type(exc).__name__} "
            f"(is `chatrec serve` running there?)"
        ) from None


def connect(url: str) -> Any:
    """An `httpx.Client` for the server's API, once `GET /health` answered as the API does; else a ServerError."""
    import httpx

    base = api_base(url)
    client = httpx.Client(base_url=base, timeout=httpx.Timeout(READ_S, connect=CONNECT_S))
    try:
        with reaching(url):
            health = client.get("/health")
        try:
            body = health.json()
        except ValueError:
            body = None
        if health.status_code != 200 or not isinstance(body, dict) or not isinstance(body.get("items"), int):
            raise ServerError(
                f"{url} does not serve the chatrec HTTP API: GET {base}/health answered {health.status_code}"
            )
    except BaseException:
        client.close()
        raise
    return client


class ApiUser:
    """A fresh user of a chatrec server: a session of its own (`POST /sessions`), forgotten at the end."""

    def __init__(self, client: Any) -> None:
        self.client, self.url = client, str(client.base_url).rstrip("/")
        self.headers: dict[str, str] = {}
        session = self._call("POST", "/sessions", {})
        if not isinstance(session, dict) or not isinstance(session.get("token"), str):
            raise ServerError(f"POST {self.url}/sessions answered no token")
        self.headers = {"Authorization": f"Bearer {session['token']}"}
        self.shown: dict[str, Item] = {}  # every item this user was shown, by id
        self._profile: dict[str, Any] | None = None
        self._facts = ApiFacts(self)

    def say(self, text: str) -> Seen:
        self._profile = None
        for attempt in range(RETRIES + 1):
            start = time.perf_counter()
            with (
                reaching(self.url),
                self.client.stream(
                    "POST", "/chat", json={"message": text}, headers={**self.headers, "Accept": "text/event-stream"}
                ) as answer,
            ):
                if answer.status_code == 200:
                    return self._seen(answer, start)
                answer.read()
            if not _wait(answer, attempt):
                break
        status, message = answer.status_code, _error_of(answer)
        if status in (400, 413) or status >= 500:
            raise Refused(f"the server refused the message: {status} {message}")
        raise ServerError(f"POST {self.url}/chat answered {status} {message}")

    def _seen(self, answer: Any, start: float) -> Seen:
        seconds, final = None, None
        try:
            if not answer.headers.get("content-type", "").startswith("text/event-stream"):  # a plain JSON answer
                answer.read()
                seconds, final = time.perf_counter() - start, answer.json()
            for event, data in sse_events(answer.iter_lines()) if final is None else ():
                if event == "recommendations" and seconds is None:
                    seconds = time.perf_counter() - start
                elif event == "final":
                    final = data
                elif event == "error":
                    raise Refused(f"the server's answer ended with an error: {json.dumps(data, ensure_ascii=False)}")
            if final is None:
                raise ServerError(f"POST {self.url}/chat: the event stream ended without a `final` event")
            turn, items, missing = turn_from_wire(final)
        except (KeyError, TypeError, ValueError) as exc:
            raise ServerError(f"POST {self.url}/chat answered outside the API's shape ({exc!r})") from None
        self.shown.update((it.id, it) for it in items)
        return Seen(turn, items, seconds if seconds is not None else time.perf_counter() - start, missing)

    def feedback(self, item_id: str, liked: bool) -> bool:
        self._profile = None
        try:
            self._call("POST", "/feedback", {"item_id": item_id, "liked": liked})
        except ServerError as exc:
            if exc.status == 404:
                return False
            raise
        return True

    def profile(self) -> dict[str, Any]:
        """`GET /profile`, once a turn."""
        if self._profile is None:
            profile = self._call("GET", "/profile")
            self._profile = profile if isinstance(profile, dict) else {}
        return self._profile

    def facts(self) -> Facts:
        return self._facts

    def close(self) -> None:
        if self.headers:
            self._call("DELETE", "/profile")

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        """The JSON answer of a request that must succeed; 429 and 503 are retried as their Retry-After says."""
        for attempt in range(RETRIES + 1):
            with reaching(self.url):
                answer = self.client.request(method, path, json=body, headers=self.headers)
            if answer.status_code == 200:
                try:
                    return answer.json()
                except ValueError:
                    raise ServerError(f"{method} {self.url}{path} answered 200 without JSON") from None
            if not _wait(answer, attempt):
                break
        raise ServerError(
            f"{method} {self.url}{path} answered {answer.status_code} {_error_of(answer)}", answer.status_code
        )


def _wait(answer: Any, attempt: int) -> bool:
    """Sleep as a 429 or 503 answer's Retry-After says and return True, unless it is another answer or the last try."""
    if answer.status_code not in (429, 503) or attempt >= RETRIES:
        return False
    try:
        seconds = float(answer.headers.get("retry-after", "1"))
    except ValueError:
        seconds = 1.0
    time.sleep(min(max(seconds, 0.1), MAX_WAIT_S))
    return True


def _error_of(answer: Any) -> str:
    """'code: message' of an answer in the API's error format, else the start of its text."""
    try:
        error = answer.json()["error"]
        return f"{error['code']}: {error['message']}"
    except (ValueError, KeyError, TypeError):
        return str(answer.text)[:200]


def sse_events(lines: Iterable[str]) -> Iterator[tuple[str, Any]]:
    """(event, JSON data) of each server-sent event in a stream's lines."""
    event, data = "message", list[str]()
    for line in chain(lines, [""]):  # lazily: each event as it comes
        if line.startswith("event:") or not line:
            if data:
                yield event, json.loads("\n".join(data))
            event, data = (line[6:].strip(), []) if line else ("message", [])
        elif line.startswith("data:"):
            data.append(line[5:].removeprefix(" "))


turn_from_api = turn_from_wire  # a chat answer of the API as a Turn, its items and the facts it lacked (the wire's)


YEAR = re.compile(r"\s*\((\d{4})\)$")  # a profile's titles are display titles: "Interstellar (2014)"


class ApiFacts:
    """What a server's API tells of its catalog: the items the dialogue was shown, and its user's profile."""

    partial = (
        "over --url, why_true knows the genres of chatrec's word lists and of the items shown, and "
        "panel_no_titles the titles of the items shown, liked, rejected or mentioned (the API does not list "
        "the whole catalog)"
    )

    def __init__(self, user: ApiUser) -> None:
        self.user = user

    def genre_names(self) -> dict[str, str]:
        return {**lexicon_genre_names(), **catalog_genre_names(self.user.shown.values())}

    def titles(self) -> set[str]:
        shown = self.user.shown
        titles: set[str] = set().union(*(titles_of(it) for it in shown.values()))
        profile = self.user.profile()
        for entry in (*profile.get("liked", ()), *profile.get("rejected", ()), *profile.get("mentioned", ())):
            item = shown.get(str(entry.get("id"))) if isinstance(entry, dict) else None
            title = YEAR.sub("", str(entry.get("title", ""))) if isinstance(entry, dict) else ""
            titles |= titles_of(item) if item is not None else {title.strip().casefold()} - {""}
        return titles

    def terms(self) -> list[str]:
        return profile_terms(self.user.profile())

    def less_of(self) -> list[str]:
        return profile_less_of(self.user.profile())
