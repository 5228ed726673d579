"""The server's log lines: plain text by default, or one JSON object a line (`CHATREC_LOG_FORMAT=json`, through
python-json-logger) for a log collector, with the time, level, logger, message and any fields given as `extra`."""

from __future__ import annotations

import logging
import os

FORMATS = ("text", "json")
TEXT = "%(levelname)s %(name)s: %(message)s"


def configure(level: int = logging.INFO, how: str | None = None) -> str:
    """Set up the root logger once for the server process; `how` (default `CHATREC_LOG_FORMAT`, else "text") is
    "text" or "json". Returns the format used; an unknown one is refused with the choices."""
    how = (how or os.environ.get("CHATREC_LOG_FORMAT") or "text").strip().lower()
    if how not in FORMATS:
        raise ValueError(f"CHATREC_LOG_FORMAT must be one of {', '.join(FORMATS)}, got {how!r}")
    handler = logging.StreamHandler()
    if how == "json":
        from pythonjsonlogger.json import JsonFormatter

        handler.setFormatter(
            JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s", rename_fields={"asctime": "time"})
        )
    else:
        handler.setFormatter(logging.Formatter(TEXT))
    logging.basicConfig(level=level, handlers=[handler], force=True)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line for every request to a Chroma server is noise
    return how
