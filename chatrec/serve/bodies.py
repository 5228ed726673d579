"""Reading an ASGI request body up to a size limit, and replaying it to the app that comes next."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

Receive = Callable[[], Awaitable[Any]]  # an ASGI receive: the next message (a dict) of the request


@dataclass(frozen=True)
class Body:
    """A request body as read: its bytes, whether it is over the limit (then `data` is only what was read), and
    whether the client left before it ended (then `data` is what came)."""

    data: bytes
    too_large: bool = False
    left: bool = False


def declared_length(scope: MutableMapping[str, Any]) -> int | None:
    """The request's Content-Length, when it gives a valid one."""
    for name, value in scope.get("headers", []):
        if name.lower() == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isdigit() else None
    return None


async def read_body(scope: MutableMapping[str, Any], receive: Receive, limit: int) -> Body:
    """The request body, read up to `limit` bytes: a body that says (Content-Length) or turns out to be larger is
    `too_large`, and reading stops there."""
    declared = declared_length(scope)
    if declared is not None and declared > limit:
        return Body(b"", too_large=True)
    chunks: list[bytes] = []
    size, more = 0, True
    while more:
        message = await receive()
        if message["type"] != "http.request":  # the client left
            return Body(b"".join(chunks), left=True)
        chunks.append(message.get("body", b""))
        size += len(chunks[-1])
        if size > limit:
            return Body(b"".join(chunks), too_large=True)
        more = message.get("more_body", False)
    return Body(b"".join(chunks))


def replay(data: bytes, receive: Receive) -> Receive:
    """A `receive` that gives `data` as the whole body once, then whatever the client sends next (its disconnect)."""
    replayed = False

    async def replaying() -> Any:
        nonlocal replayed
        if replayed:
            return await receive()
        replayed = True
        return {"type": "http.request", "body": data, "more_body": False}

    return replaying
