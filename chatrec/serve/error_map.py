"""The one error map: an exception, or an HTTP status, as the `Problem` every surface answers (docs/api.md)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from http import HTTPStatus

from chatrec.errors import DiskFullError, InputError, ProfileBusyError, StoreError, UnknownItemError

__all__ = [
    "BAD_JSON",
    "CODES",
    "FOREIGN_SESSION",
    "FULL_SESSION",
    "INTERNAL",
    "Problem",
    "error_body",
    "error_headers",
    "for_status",
    "problem",
]
log = logging.getLogger(__name__)

BUSY_RETRY_S = 1  # Retry-After when a profile is busy
STORE_RETRY_S = 30  # Retry-After when the store is down


@dataclass(frozen=True)
class Problem:
    """An error as answered: an HTTP `status`, a stable `code` for programs, a `message` for people, and the
    seconds after which to try again, if any."""

    status: int
    code: str
    message: str
    retry_after: int | None = None


INTERNAL = Problem(500, "internal", "Something went wrong on our side; please try again.")
BUSY = Problem(503, "busy", "Your profile is busy with another request; please try again.", BUSY_RETRY_S)
STORE_UNAVAILABLE = Problem(
    503, "store_unavailable", "The store cannot be used right now; please try again later.", STORE_RETRY_S
)
# the same code as any store that cannot be used (clients and the page handle it already), saying why
DISK_FULL = Problem(
    503,
    "store_unavailable",
    "The server's disk is full, so nothing was saved; please try again later.",
    STORE_RETRY_S,
)
BAD_JSON = Problem(400, "bad_json", "The request body is not valid JSON.")
FOREIGN_SESSION = Problem(403, "foreign_session", "This session belongs to another user.")
FULL_SESSION = Problem(503, "full_session", "Too many sessions are open; please try again in a while.")

# The code of an HTTP error raised outside the engine (by routing, body parsing, the body limit): a 400 there is
# always a body that cannot be read as JSON (not JSON, or not UTF-8).
CODES = {
    400: "bad_json",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    429: "rate_limited",
    500: "internal",
}


def problem(exc: Exception, logger: logging.Logger = log, doing: str = "request") -> Problem:
    """The answer to an error of the engine; call it inside `except`: a store failure and an unexpected error are
    logged on `logger` with their trace (`doing` says what failed), a full disk in one line (503 saying so), the
    others are the caller's doing."""
    if isinstance(exc, UnknownItemError):
        return Problem(404, "unknown_item", str(exc))
    if isinstance(exc, InputError):
        return Problem(400, "bad_input", str(exc))
    if isinstance(exc, ProfileBusyError):
        return BUSY
    if isinstance(exc, DiskFullError):
        logger.error("%s failed: %s", doing, exc)  # no trace: the message says it all
        return DISK_FULL
    if isinstance(exc, StoreError):
        logger.exception("%s failed: the store cannot be used", doing)
        return STORE_UNAVAILABLE
    logger.exception("%s failed: unexpected error", doing)
    return INTERNAL


def for_status(status: int, message: str = "") -> Problem:
    """The answer for an HTTP status (with `message`, else the status's own phrase)."""
    if status == BAD_JSON.status:
        return BAD_JSON
    return Problem(status, CODES.get(status, f"http_{status}"), message or HTTPStatus(status).phrase)


def error_body(answer: Problem) -> dict[str, dict[str, str]]:
    """The JSON body of every error answer: `{"error": {"code", "message"}}`."""
    return {"error": {"code": answer.code, "message": answer.message}}


def error_headers(answer: Problem) -> dict[str, str]:
    """The headers an error answer carries: `Retry-After` when there is a time to try again, and the scheme to
    authenticate with on a 401."""
    headers = {"Retry-After": str(answer.retry_after)} if answer.retry_after is not None else {}
    if answer.status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return headers
