"""The web server: a FastAPI app that mounts the Gradio UI behind signed session cookies, served by uvicorn.

Every client gets a server-issued token (chatrec/serve/identity.py) in an HttpOnly, SameSite=Lax cookie on its first
request; Gradio learns the user from it (`auth_dependency`, so handlers read `gr.Request.username`), never from its
own `session_hash`. `SessionGate` also binds each Gradio session hash to the user who first used it: a request that
carries someone else's session hash (in a URL, a header or a JSON body) is refused with 403, so a hash read from a
proxy log opens nothing. The JSON API (chatrec/serve/api.py), when given, is mounted at /api/v1 and passes the gate
untouched: its callers carry a bearer token and get no cookie; so do the chat widget's script and iframe page
(chatrec/serve/widget.py, /widget.js and /embed), served beside it. `serve` runs it all and closes the engine on SIGTERM
and SIGINT.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable
from http.cookies import CookieError, SimpleCookie
from typing import Any
from urllib.parse import parse_qs

from chatrec.serve.bodies import read_body, replay
from chatrec.serve.error_map import FOREIGN_SESSION, FULL_SESSION, Problem, error_body, error_headers, for_status
from chatrec.serve.identity import COOKIE, Identity, bearer, load_key

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

MAX_JSON_BODY = 8 * 1024 * 1024  # a Gradio call carries the chat history; far more is no chat
MAX_BINDINGS = 200_000  # session hash -> user (about 200 bytes each)
BINDING_IDLE_S = 6 * 3600  # a session hash unused this long is forgotten (Gradio's heartbeat keeps it used)
COOKIE_MAX_AGE = 365 * 24 * 3600  # profiles persist across visits, so does the cookie
API_PATH = "/api/v1"  # the JSON API's mount point (chatrec/serve/api.py)
METRICS_PATH = "/metrics"  # Prometheus's scrape (chatrec/serve/metrics.py)


class SessionGate:
    """ASGI middleware: gives each client a signed session cookie and keeps session hashes to their owner.

    A binding is dropped only after `idle_s` without use; when `max_bindings` are all in use a new session is
    refused (503), never made by evicting a live one, so flooding the table cannot free a victim's hash.
    Requests under a `passthrough` path (the JSON API, which checks its own bearer tokens) go by untouched."""

    def __init__(
        self,
        app: ASGIApp,
        identity: Identity,
        max_bindings: int = MAX_BINDINGS,
        idle_s: float = BINDING_IDLE_S,
        passthrough: tuple[str, ...] = (),
    ) -> None:
        self.app = app
        self.passthrough = passthrough
        self.identity = identity
        self.max_bindings = max_bindings
        self.idle_s = idle_s
        self._owners: OrderedDict[str, tuple[str, float]] = OrderedDict()  # hash -> (user, last use), oldest first
        self._lock = threading.Lock()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or _under(scope.get("path", ""), self.passthrough):
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        user = self.identity.user(_cookie(headers) or bearer(headers.get("authorization")))
        issued = None
        if user is None:  # a new client: issue a token, and let this very request carry it
            issued, user = self.identity.issue()
            scope = {**scope, "headers": _with_cookie(scope["headers"], issued)}
        body, receive = await _buffer_json(scope, headers, receive)
        if body is _TOO_LARGE:
            await _json_error(send, for_status(413, "The request body is too large."))
            return
        for session_hash in _session_hashes(scope, headers, body):
            verdict = self._claim(session_hash, user)
            if verdict != "ok":
                await _json_error(send, FOREIGN_SESSION if verdict == "foreign" else FULL_SESSION)
                return
        await self.app(scope, receive, _setting_cookie(send, issued, _is_https(scope, headers)) if issued else send)

    def _claim(self, session_hash: str, user: str) -> str:
        """Bind an unseen session hash to `user`: "ok" when the hash is (now) `user`'s, "foreign" when it is
        another user's, "full" when no binding can be made."""
        now = time.monotonic()
        with self._lock:
            owner = self._owners.get(session_hash)
            if owner is None:
                while self._owners and next(iter(self._owners.values()))[1] < now - self.idle_s:
                    self._owners.popitem(last=False)
                if len(self._owners) >= self.max_bindings:
                    return "full"
            elif owner[0] != user:
                return "foreign"
            self._owners[session_hash] = (user, now)
            self._owners.move_to_end(session_hash)
            return "ok"


# -- reading requests -----------------------------------------------------------------------------------------
_TOO_LARGE = object()


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}


def _under(path: str, prefixes: tuple[str, ...]) -> bool:
    return any(path == p or path.startswith(p + "/") for p in prefixes)


def _cookie(headers: dict[str, str]) -> str | None:
    try:
        morsel = SimpleCookie(headers.get("cookie", "")).get(COOKIE)
    except CookieError:
        return None
    return morsel.value if morsel else None


def _with_cookie(raw: list[tuple[bytes, bytes]], token: str) -> list[tuple[bytes, bytes]]:
    """The request's headers with our cookie set to `token` (any stale one dropped, other cookies kept)."""
    others = []
    for name, value in raw:
        if name.lower() == b"cookie":
            others += [
                c for c in value.decode("latin-1").split(";") if c.strip() and c.split("=", 1)[0].strip() != COOKIE
            ]
    cookie = "; ".join([*(c.strip() for c in others), f"{COOKIE}={token}"])
    return [(n, v) for n, v in raw if n.lower() != b"cookie"] + [(b"cookie", cookie.encode("latin-1"))]


async def _buffer_json(scope: Scope, headers: dict[str, str], receive: Receive) -> tuple[Any, Receive]:
    """A POSTed JSON body, read once and replayed to the app (other bodies pass through unread)."""
    if scope.get("method") != "POST" or "json" not in headers.get("content-type", ""):
        return None, receive
    body = await read_body(scope, receive, MAX_JSON_BODY)
    if body.too_large:
        return _TOO_LARGE, receive
    if body.left:
        return None, receive
    try:
        return json.loads(body.data), replay(body.data, receive)
    except (ValueError, RecursionError):
        return None, replay(body.data, receive)


def _session_hashes(scope: Scope, headers: dict[str, str], body: Any) -> list[str]:
    """Every Gradio session hash a request names: query, path (/heartbeat/H, /stream/H/...), header, JSON body."""
    found = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("session_hash", [])
    parts = [p for p in scope.get("path", "").split("/") if p]
    for i, part in enumerate(parts[:-1]):
        if part == "heartbeat" or (part == "stream" and len(parts) - i >= 4):
            found.append(parts[i + 1])
    if headers.get("session_hash"):
        found.append(headers["session_hash"])
    if isinstance(body, dict) and isinstance(body.get("session_hash"), str):
        found.append(body["session_hash"])
    return [h for h in dict.fromkeys(found) if h]


def _is_https(scope: Scope, headers: dict[str, str]) -> bool:
    return scope.get("scheme") == "https" or headers.get("x-forwarded-proto", "").split(",")[0].strip() == "https"


# -- writing responses ----------------------------------------------------------------------------------------
def _setting_cookie(send: Send, token: str, secure: bool) -> Send:
    cookie = f"{COOKIE}={token}; Path=/; Max-Age={COOKIE_MAX_AGE}; HttpOnly; SameSite=Lax" + (
        "; Secure" if secure else ""
    )

    async def wrapped(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", []), (b"set-cookie", cookie.encode("latin-1"))]}
        await send(message)

    return wrapped


async def _json_error(send: Send, answer: Problem) -> None:
    body = json.dumps(error_body(answer)).encode("utf-8")
    extra = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in error_headers(answer).items()]
    await send(
        {
            "type": "http.response.start",
            "status": answer.status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *extra],
        }
    )
    await send({"type": "http.response.body", "body": body})


# -- the app and its server -----------------------------------------------------------------------------------
def create_app(
    blocks: Any,
    identity: Identity,
    css: str = "",
    on_shutdown: Callable[[], None] | None = None,
    api: Any = None,
    framers: tuple[str, ...] | list[str] = (),
) -> Any:
    """A FastAPI app serving `blocks` at / for signed-cookie users only (Gradio's handlers see `request.username`),
    and `api` (an ASGI app, `chatrec.serve.api.api_app`) at /api/v1 when given, with the widget that uses it
    (/widget.js, /embed, which only this server and the origins in `framers` may frame).

    `on_shutdown` runs when the server stops (SIGTERM, SIGINT), after the last request: close the engine there."""
    import gradio as gr
    from fastapi import FastAPI

    def user_of(request: Any) -> str | None:
        return identity.user(request.cookies.get(COOKIE) or bearer(request.headers.get("authorization")))

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        try:
            yield
        finally:
            if on_shutdown is not None:
                on_shutdown()

    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
    passthrough: tuple[str, ...] = ()
    if api is not None:  # before the UI's mount at /, which would take every path
        from chatrec.serve.widget import EMBED_PATH, SCRIPT_PATH, add_widget

        app.mount(API_PATH, api)
        add_widget(app, framers)
        add_metrics(app, api)
        passthrough = (API_PATH, SCRIPT_PATH, EMBED_PATH, METRICS_PATH)
    app.add_middleware(SessionGate, identity=identity, passthrough=passthrough)
    return gr.mount_gradio_app(app, blocks, path="/", auth_dependency=user_of, css=css)


def add_metrics(app: Any, api: Any) -> None:
    """Prometheus's scrape at /metrics: the API's metrics (chatrec/serve/metrics.py) in the text format. Open to
    whoever reaches the port: a deployment keeps it off the public side of its proxy (docs/deploy.md)."""
    from fastapi import Response

    from chatrec.serve.metrics import CONTENT_TYPE_LATEST

    async def metrics() -> Response:
        return Response(api.state.metrics.exposition(), media_type=CONTENT_TYPE_LATEST)

    app.add_api_route(METRICS_PATH, metrics, methods=["GET"], include_in_schema=False)


def identity_for(settings: Any) -> Identity:
    """The identity of a deployment: its configured key, or its data folder's key file."""
    return Identity(load_key(settings.data_dir, settings.secret_key))


class Running:
    """A server started in a background thread (tests, notebooks); `stop()` ends it."""

    def __init__(self, server: Any, thread: threading.Thread, url: str) -> None:
        self.server, self.thread, self.url = server, thread, url

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


def start(app: Any, host: str, port: int, timeout_s: float = 60.0) -> Running:
    """Serve `app` from a background thread; returns once it accepts connections."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="chatrec-web", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout_s
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the web server did not start on {host}:{port}")
        time.sleep(0.05)
    return Running(server, thread, f"http://{host}:{port}/")


def serve_workers(factory: str, host: str, port: int, workers: int) -> None:
    """`workers` processes on one port, each making its app with `factory` ("module:function"), under uvicorn's
    process manager (a worker that dies is started again); SIGTERM stops them all gracefully. The workers share
    their metrics through a fresh folder (removed at the end) unless `PROMETHEUS_MULTIPROC_DIR` names one."""
    import shutil
    import tempfile

    import uvicorn

    from chatrec.serve.metrics import MULTIPROCESS_ENV

    made = None
    if not os.environ.get(MULTIPROCESS_ENV):
        made = tempfile.mkdtemp(prefix="chatrec-metrics-")
        os.environ[MULTIPROCESS_ENV] = made  # before the workers start: prometheus-client reads it on import
    try:
        uvicorn.run(
            factory, factory=True, host=host, port=port, workers=workers, log_level="info", timeout_graceful_shutdown=5
        )
    finally:
        if made is not None:
            shutil.rmtree(made, ignore_errors=True)


def serve(app: Any, host: str, port: int) -> None:
    """Serve in the foreground until SIGTERM or SIGINT: uvicorn stops taking requests, lets open ones finish (5 s
    for long-lived streams), runs the app's shutdown (`on_shutdown`), and exits."""
    import uvicorn

    uvicorn.run(app, host=host, port=port, log_level="info", timeout_graceful_shutdown=5)
