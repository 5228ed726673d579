"""The JSON HTTP API at /api/v1 (docs/api.md): sessions, chat (JSON or server-sent events), feedback, profile, history,
health.

`api_app(engine, identity)` is a FastAPI app that chatrec/serve/web.py mounts beside the web UI. Callers are known
only by the signed bearer token `POST /sessions` gives them (chatrec/serve/identity.py, the same tokens as the web
UI's cookie), never by an id they send. Every error is `{"error": {"code", "message"}}` (chatrec/serve/error_map.py);
a turn is answered in the wire format of chatrec/serve/wire.py; the engine runs in worker threads, never on the event
loop. Imported only by the web app (it pulls in FastAPI); `import chatrec` does not load it.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import AsyncIterator, Callable, Iterator
from http import HTTPStatus
from typing import Any, Literal, TypeVar
from urllib.parse import urlsplit

import anyio.to_thread
from fastapi import Depends, FastAPI, Query, Request, Security
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from chatrec import __version__
from chatrec.backends.factory import open_rate_limit
from chatrec.config import Settings
from chatrec.engine import Engine
from chatrec.errors import ConfigError, InputError
from chatrec.results import Turn
from chatrec.serve import wire
from chatrec.serve.bodies import read_body, replay
from chatrec.serve.error_map import BAD_JSON, INTERNAL, Problem, error_body, error_headers, for_status, problem
from chatrec.serve.identity import Identity
from chatrec.serve.metrics import Metrics

__all__ = ["ApiError", "api_app", "check_origins"]
log = logging.getLogger(__name__)
T = TypeVar("T")

CHAT_THREADS = 4  # chat turns computed at once (as the web UI's queue allows); more wait their turn
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}  # no proxy may hold the stream back
BEARER = HTTPBearer(auto_error=False, scheme_name="session", description="the token that POST /sessions gives")
TOKEN = Security(BEARER)  # the request's bearer credentials, if any
MAX_REMOVED = 100  # values one field of a profile edit may name
ERROR_CODE_HEADER = "X-Error-Code"
READY_RETRY_S = 5  # Retry-After of a 503 from /ready
Lang = Literal["en", "zh"]
LANG = Query(None, description="the language of the state's texts (default: the language the user writes)")


# -- the shapes on the wire -------------------------------------------------------------------------------------
class ErrorDetail(BaseModel):
    code: str
    message: str


class ErrorBody(BaseModel):
    """Every 4xx and 5xx answer."""

    error: ErrorDetail


class SessionRequest(BaseModel):
    model_config = ConfigDict(extra="allow")  # a deployment may accept more
    host_token: StrictStr | None = Field(
        None,
        max_length=4096,
        description="the host site's signed user id: a JWT (HS256, claims sub and exp) signed with CHATREC_HOST_SECRET",
    )


class SessionOut(BaseModel):
    token: str
    user_id: str


class ChatRequest(BaseModel):
    message: StrictStr = Field(
        description="What the user says: not only spaces, at most the server's "
        "max_message_chars (4,000 by default), no NUL; else 400 bad_input"
    )


class RecommendationOut(BaseModel):
    item_id: str
    title: str
    year: int | None
    kind: str
    description: str
    why: str
    score: float
    # beyond the contract's fields: the item's catalog facts, for cards and for checks (`chatrec script --url`)
    genres: list[str] = Field(default_factory=list, description="the catalog's genres of the item, as spelt there")
    creators: list[str] = Field(default_factory=list, description="directors, authors, brands")
    cast: list[str] = Field(default_factory=list, description="main actors or performers")
    tags: list[str] = Field(default_factory=list, description="the catalog's free keywords")
    aliases: list[str] = Field(default_factory=list, description="other titles (translations, originals)")
    facets: dict[str, float | str | list[float] | list[str]] = Field(
        default_factory=dict, description="the item's catalog facets: numbers, [min, max] ranges, strings, lists"
    )


class ChatOut(BaseModel):
    reply: str
    language: str
    source: str
    recommendations: list[RecommendationOut]
    busy: bool = Field(False, description="the template answered at once: the generator was serving other users")
    notes: list[str] = Field(
        default_factory=list,
        description='what the message was understood to ask, in English, for logs and tests: "avoiding horror", ...',
    )
    unknown: list[str] = Field(
        default_factory=list, description="titles the message named that the catalog does not have (the reply says so)"
    )
    relaxed: list[str] = Field(
        default_factory=list,
        description='constraints let go for there to be picks: "kind", "years" or a facet name (the reply says so)',
    )


class FeedbackRequest(BaseModel):
    item_id: StrictStr
    liked: StrictBool


class OkOut(BaseModel):
    ok: Literal[True]


class HealthOut(BaseModel):
    ok: bool
    items: int


class ReadyOut(BaseModel):
    ok: bool
    checks: dict[str, str] = Field(description='each part: "ok", or what is wrong')


class Term(BaseModel):
    term: str
    weight: float


class Titled(BaseModel):
    id: str
    title: str


class StateEntry(BaseModel):
    field: str = Field(description="the key under PATCH /profile's `remove` that takes this entry away")
    value: str = Field(description="what the edit names it by: a word, a genre, a person, a constraint, an item id")
    text: str = Field(description="as shown, in the profile's language")
    said: Literal["liked", "disliked", "seen"] | None = Field(
        None, description="for a named item: a thumbs up, a thumbs down or naming it as disliked, or named as known"
    )


class StateNow(BaseModel):
    kind: StateEntry | None = Field(description="the kind of item asked for, if any")
    wants: list[StateEntry] = Field(description="the interest words")
    constraints: list[StateEntry] = Field(description="years, language, family, catalog facets")


class StateNever(BaseModel):
    genres: list[StateEntry]
    people: list[StateEntry]
    items: list[StateEntry] = Field(description="items turned down")


class StateOut(BaseModel):
    """The dialogue state as a person sees it; every entry can be removed with PATCH /profile."""

    now: StateNow
    less_of: list[StateEntry] = Field(description="genres turned away from for now: ranked down, not out")
    never: StateNever
    named: list[StateEntry] = Field(description="items the user named or rated, each with what they said")


class ProfileOut(BaseModel):
    model_config = ConfigDict(extra="allow")  # `Engine.profile` may grow

    user_id: str
    terms: list[Term]
    liked: list[Titled]
    rejected: list[Titled]
    mentioned: list[Titled]
    avoid_genres: list[str]
    avoid_for_now: list[str]
    avoid_people: list[str]
    constraints: list[str]
    kind: str | None
    turns: int
    language: str
    drift: float
    cold_start: bool
    state: StateOut


class Removal(BaseModel):
    """What to take out of the dialogue state: each field a list of entries' `value`s (see `StateEntry.field`)."""

    model_config = ConfigDict(extra="forbid")

    wants: list[StrictStr] = Field(default_factory=list, max_length=MAX_REMOVED, description="interest words")
    kind: list[StrictStr] = Field(default_factory=list, max_length=1, description="the kind asked for")
    constraints: list[StrictStr] = Field(
        default_factory=list, max_length=MAX_REMOVED, description='"years", "language", "family" or "facet:NAME"'
    )
    less_of: list[StrictStr] = Field(default_factory=list, max_length=MAX_REMOVED, description="genres, for now")
    never_genres: list[StrictStr] = Field(default_factory=list, max_length=MAX_REMOVED)
    never_people: list[StrictStr] = Field(default_factory=list, max_length=MAX_REMOVED)
    items: list[StrictStr] = Field(
        default_factory=list, max_length=MAX_REMOVED, description="item ids: forget what was said of each"
    )


class ProfileEdit(BaseModel):
    model_config = ConfigDict(extra="forbid")

    remove: Removal


class Event(BaseModel):
    ts: float
    kind: str
    payload: dict[str, Any]


class ExportOut(BaseModel):
    user_id: str
    state: dict[str, Any] | None = Field(description="the saved interest state, as stored")
    profile: ProfileOut | None = Field(description="the profile made of it, with the dialogue state as shown")
    events: list[Event]


class HistoryItem(BaseModel):
    item_id: str
    title: str
    year: int | None
    kind: str
    description: str
    feedback: Literal["up", "down"] | None = Field(description="the user's latest thumbs on the item, if any")


class HistoryTurn(BaseModel):
    ts: float
    message: str
    recommendations: list[HistoryItem] = Field(description="the items shown in answer, best first")


class HistoryOut(BaseModel):
    turns: list[HistoryTurn] = Field(description="the most recent turns, oldest first")


# -- errors -----------------------------------------------------------------------------------------------------
class ApiError(Exception):
    """An answer in the error format: `status`, a stable `code` for programs and a `message` for people."""

    def __init__(self, status: int, code: str, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.retry_after = status, code, message, retry_after

    @classmethod
    def of(cls, answer: Problem) -> ApiError:
        return cls(answer.status, answer.code, answer.message, answer.retry_after)

    @property
    def problem(self) -> Problem:
        return Problem(self.status, self.code, self.message, self.retry_after)

    def response(self) -> JSONResponse:
        return problem_response(self.problem)


def problem_response(answer: Problem, headers: dict[str, str] | None = None) -> JSONResponse:
    """An error answer as JSON, with its headers (chatrec/serve/error_map.py) and any others; `X-Error-Code`
    repeats the body's code for the metrics (and proxies' logs)."""
    headers = {**error_headers(answer), ERROR_CODE_HEADER: answer.code, **(headers or {})}
    return JSONResponse(error_body(answer), status_code=answer.status, headers=headers)


def error_response(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return problem_response(Problem(status, code, message), headers)


def translate(exc: Exception) -> ApiError:
    """The API's answer to an engine error; call it inside `except` (unexpected errors are logged with their trace)."""
    if isinstance(exc, ApiError):
        return exc
    return ApiError.of(problem(exc, log, "api request"))


async def api_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return exc.response()


async def http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    status = exc.status_code
    message = exc.detail if isinstance(exc.detail, str) else ""
    if status == 404:
        message = f"There is no route {request.url.path}."
    return problem_response(for_status(status, message), dict(exc.headers or {}))


async def validation_error(request: Request, exc: Exception) -> JSONResponse:
    """422 for a body of the wrong shape, 400 for one that is not JSON; the client's input is never echoed."""
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    if any(e.get("type") == "json_invalid" for e in errors):
        return problem_response(BAD_JSON)
    message = "; ".join(f"{_where(e)}: {e.get('msg', 'invalid')}" for e in errors[:3])
    return error_response(422, "invalid_request", message or "The request does not fit its schema.")


def _where(error: dict[str, Any]) -> str:
    """Where in the request a validation error is ("message", "item_id", "body")."""
    return ".".join(str(part) for part in error.get("loc", ()) if part != "body") or "body"


async def server_error(request: Request, exc: Exception) -> JSONResponse:
    log.error("api: unhandled error", exc_info=exc)
    return problem_response(INTERNAL)


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI description of a route's error answers."""
    return {s: {"model": ErrorBody, "description": HTTPStatus(s).phrase} for s in (*statuses, 413, 422, 500)}


# -- limits -----------------------------------------------------------------------------------------------------
class BodyLimit:
    """ASGI middleware: reads the request body up to `limit` bytes and replays it; a larger one gets 413."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body = await read_body(scope, receive, self.limit)
        if body.too_large:  # (a client that left midway: the app sees what came, then the disconnect)
            too_large = for_status(413, f"The request body is larger than {self.limit:,} bytes.")
            await problem_response(too_large)(scope, receive, send)
            return
        await self.app(scope, replay(body.data, receive), send)


class Cors(CORSMiddleware):
    """Starlette's CORS middleware, answering a refused preflight in the API's error format."""

    def preflight_response(self, request_headers: Headers) -> Any:
        answer = super().preflight_response(request_headers)
        if answer.status_code == 200:
            return answer
        kept = {k: v for k, v in answer.headers.items() if k.lower() not in ("content-type", "content-length")}
        return error_response(403, "cors_refused", bytes(answer.body).decode("utf-8", "replace") + ".", kept)


def check_origins(origins: tuple[str, ...]) -> list[str]:
    """The allowed origins as browsers send them (`scheme://host[:port]`); a wildcard or a URL with a path is a
    configuration error, never a silent widening."""
    out = []
    for origin in origins:
        parts = urlsplit(origin.strip().rstrip("/"))
        if (
            origin.strip() == "*"
            or parts.scheme not in ("http", "https")
            or not parts.netloc
            or parts.path
            or parts.query
            or parts.fragment
            or "*" in origin
        ):
            raise ConfigError(
                f"CHATREC_ALLOWED_ORIGINS holds {origin!r}: list origins such as "
                "https://shop.example.com (scheme, host, optional port), comma-separated, no wildcard"
            )
        out.append(f"{parts.scheme}://{parts.netloc}".lower())
    return out


def body_limit(settings: Settings) -> int:
    """Bytes a request body may hold: a longest message with every character escaped (\\uXXXX\\uXXXX), and room."""
    return max(16_384, settings.max_message_chars * 12 + 4096)


# -- the app ----------------------------------------------------------------------------------------------------
class Api:
    """The routes' shared parts: the engine, who is calling, the chat rate limit and the chat threads."""

    def __init__(self, engine: Engine, identity: Identity, settings: Settings) -> None:
        self.engine, self.identity, self.settings = engine, identity, settings
        self.limit = open_rate_limit(settings, engine.profiles)  # shared by every process on PostgreSQL
        self.chat_threads = anyio.CapacityLimiter(CHAT_THREADS)
        self.metrics = Metrics()
        engine.on_stage = self.metrics.stage

    async def user(self, credentials: HTTPAuthorizationCredentials | None = TOKEN) -> str:
        """The user the request's bearer token names (a dependency of every route but sessions and health)."""
        user = self.identity.user(credentials.credentials if credentials else None)
        if user is None:
            raise ApiError(
                401,
                "unauthorized",
                "Send 'Authorization: Bearer TOKEN' with a token from POST /api/v1/sessions."
                if credentials is None
                else "The session token is not valid here; get a new one from POST /api/v1/sessions.",
            )
        return user

    async def check_rate(self, user: str) -> None:
        """429 with Retry-After when the user's bucket is empty (a thread: the bucket may be in PostgreSQL)."""
        wait = await self.call(self.limit.take, user)
        if wait:
            seconds = max(1, math.ceil(wait))
            raise ApiError(429, "rate_limited", f"Too many messages; try again in {seconds} s.", retry_after=seconds)

    async def call(self, fn: Callable[..., T], *args: Any, chat: bool = False) -> T:
        """`fn(*args)` in a worker thread (chat turns share `CHAT_THREADS`), its errors as `ApiError`s."""
        try:
            if not chat:
                return await anyio.to_thread.run_sync(lambda: fn(*args))
            with self.metrics.in_flight.track_inprogress():
                return await anyio.to_thread.run_sync(lambda: fn(*args), limiter=self.chat_threads)
        except Exception as exc:
            raise translate(exc) from None

    async def stream(self, user: str, message: str) -> StreamingResponse:
        """A chat turn as server-sent events; bad input fails here, as a plain JSON error, before the stream."""
        turns = self.engine.chat_stream(user, message)
        first = await self.call(next, turns, chat=True)
        return StreamingResponse(self.events(first, turns), media_type="text/event-stream", headers=SSE_HEADERS)

    async def events(self, first: Turn, turns: Iterator[Turn]) -> AsyncIterator[bytes]:
        """`recommendations`, then a `delta` for each piece of new text, then `final` (or `error`)."""
        try:
            yield sse("recommendations", wire.recommendations(first.recommendations, self.engine.items))
            turn, shown = first, ""
            while not turn.final:
                turn = await self.call(next, turns, chat=True)
                if turn.reply.startswith(shown) and len(turn.reply) > len(shown):
                    yield sse("delta", {"text": turn.reply[len(shown) :]})
                    shown = turn.reply
            yield sse("final", wire.turn(turn, self.engine.items))
        except ApiError as exc:
            yield sse("error", error_body(exc.problem))
        finally:
            close = getattr(turns, "close", None)
            if close is not None:
                try:
                    close()
                except ValueError:  # still running in its thread (a cancelled stream): the collector ends it
                    pass


class Counted:
    """Counts every answer of the API by status and error code (`X-Error-Code`), for /metrics."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def counting(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = Headers(raw=message.get("headers", []))
                self.metrics.answer(int(message["status"]), headers.get(ERROR_CODE_HEADER.lower(), ""))
            await send(message)

        await self.app(scope, receive, counting)


def sse(event: str, data: Any) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode()


def api_app(engine: Engine, identity: Identity, settings: Settings | None = None) -> FastAPI:
    """The API as an ASGI app to mount at /api/v1 (its OpenAPI schema at /api/v1/openapi.json).

    `settings` (default: the engine's) gives the allowed browser origins and the chat rate limit."""
    settings = settings or engine.settings
    api = Api(engine, identity, settings)
    app = FastAPI(
        title="chatrec",
        version=__version__,
        openapi_url="/openapi.json",
        docs_url=None,
        redoc_url=None,
        description="A conversational recommender's JSON API; see docs/api.md.",
        exception_handlers={
            ApiError: api_error,
            HTTPException: http_error,
            RequestValidationError: validation_error,
            Exception: server_error,
        },
    )
    app.state.metrics = api.metrics
    app.add_middleware(Counted, metrics=api.metrics)
    app.add_middleware(BodyLimit, limit=body_limit(settings))
    app.add_middleware(
        Cors,
        allow_origins=check_origins(settings.allowed_origins),
        allow_methods=["GET", "POST", "PATCH", "DELETE"],
        allow_headers=["Authorization", "Content-Type"],
        expose_headers=["Retry-After"],
        max_age=600,
    )
    routes(app, api)
    return app


def routes(app: FastAPI, api: Api) -> None:
    engine = api.engine
    me = Depends(api.user)

    @app.post("/sessions", response_model=SessionOut, responses=responses(400, 401), summary="Start a session")
    async def sessions(body: SessionRequest | None = None) -> dict[str, str]:
        """A new user and the bearer token that names them; nothing is stored until they chat. With `host_token`
        (the host site's signed user id), the token names that person's one profile, on any device."""
        if body is not None and body.host_token is not None:
            try:
                token, user_id = api.identity.issue_for_host(body.host_token, api.settings.host_secret)
            except InputError as exc:
                raise ApiError(401, "unauthorized", str(exc)) from None
        else:
            token, user_id = api.identity.issue()
        return {"token": token, "user_id": user_id}

    @app.post(
        "/chat",
        response_model=ChatOut,
        responses={
            200: {
                "description": "The turn; with `Accept: text/event-stream`, events `recommendations`, `delta` "
                "and `final` (or `error`)",
                "content": {"text/event-stream": {"schema": {"type": "string"}}},
            },
            **responses(400, 401, 429, 503),
        },
        summary="Chat",
    )
    async def chat(body: ChatRequest, request: Request, user: str = me) -> Any:
        """One message: the user's interests are updated, the catalog ranked, and a grounded reply written."""
        await api.check_rate(user)
        if "text/event-stream" in request.headers.get("accept", ""):
            return await api.stream(user, body.message)
        return wire.turn(await api.call(engine.chat, user, body.message, chat=True), engine.items)

    @app.post("/feedback", response_model=OkOut, responses=responses(400, 401, 404, 503), summary="Thumbs up or down")
    async def feedback(body: FeedbackRequest, user: str = me) -> dict[str, bool]:
        """`liked: false` and the item never comes back; `true` and more like it do."""
        await api.call(engine.feedback, user, body.item_id, body.liked)
        return {"ok": True}

    @app.get("/profile", response_model=ProfileOut, responses=responses(400, 401, 503), summary="Interests")
    async def profile(user: str = me, lang: Lang | None = LANG) -> dict[str, Any]:
        """The user's interests as the recommender sees them, with the dialogue state (`state`)."""
        return await api.call(engine.profile, user, lang)

    @app.patch("/profile", response_model=ProfileOut, responses=responses(400, 401, 503), summary="Edit the state")
    async def edit_profile(body: ProfileEdit, user: str = me, lang: Lang | None = LANG) -> dict[str, Any]:
        """Remove entries from the dialogue state (an interest, an avoid, a constraint, what was said of an item);
        the new profile. A value that is not in the state is 400 `bad_input`, and nothing changes."""
        remove = {k: v for k, v in body.remove.model_dump().items() if v}
        return await api.call(engine.edit_profile, user, {"remove": remove}, lang)

    @app.get("/profile/export", response_model=ExportOut, responses=responses(400, 401, 503), summary="Export")
    async def export(user: str = me) -> dict[str, Any]:
        """Everything stored about the user: the saved interest state and every event."""
        return await api.call(engine.export, user)

    @app.get("/history", response_model=HistoryOut, responses=responses(400, 401, 503), summary="History")
    async def history(user: str = me) -> dict[str, Any]:
        """The user's past messages, each with the items shown in answer and the user's thumbs on them, for a
        client to show again after a reload (the replies' texts are not stored)."""
        exported = await api.call(engine.export, user)
        return wire.history(exported["events"], engine.items)

    @app.delete("/profile", response_model=OkOut, responses=responses(400, 401, 503), summary="Forget me")
    async def forget(user: str = me) -> dict[str, bool]:
        """Delete everything stored about the user (their token still works, as a new user)."""
        await api.call(engine.forget, user)
        return {"ok": True}

    @app.get("/health", response_model=HealthOut, responses=responses(), summary="Health")
    async def health() -> dict[str, Any]:
        """The server answers, and how many catalog items it serves (liveness: nothing else is asked)."""
        return {"ok": True, "items": len(engine.items)}

    @app.get("/ready", response_model=ReadyOut, responses=responses(503), summary="Ready")
    async def ready() -> dict[str, Any]:
        """Whether the parts a turn needs answer now: the vector store, the profile database, the generator. 503
        with Retry-After, naming what does not, when one of them fails (a load balancer takes the process out)."""
        checks = await anyio.to_thread.run_sync(engine.readiness)
        failing = {part: said for part, said in checks.items() if part != "generator" and said != "ok"}
        if failing:
            said = "; ".join(f"{part}: {why}" for part, why in failing.items())
            raise ApiError(503, "not_ready", f"Not ready: {said}", retry_after=READY_RETRY_S)
        return {"ok": True, "checks": checks}
