"""The embeddable chat widget's routes (docs/widget.md): the script at /widget.js and an iframe page at /embed.

`add_widget(app)` adds both to the web app (chatrec/serve/web.py) before the UI's catch-all mount. The script is
chatrec/serve/static/widget.js, read once; it talks to the JSON API at /api/v1 of the server it came from. Neither route
needs a session: the widget's calls carry their own bearer token. Imported only by the web app (it pulls in FastAPI).
"""

from __future__ import annotations

import hashlib
import html
import logging
from collections.abc import Sequence
from importlib import resources

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response

__all__ = ["EMBED_PATH", "SCRIPT_PATH", "add_widget", "embed_page", "embed_policy", "widget_script"]
log = logging.getLogger(__name__)

SCRIPT_PATH, EMBED_PATH = "/widget.js", "/embed"
SCRIPT_MAX_AGE = 300  # seconds a browser keeps the script before asking again (its ETag makes that cheap)
MAX_TITLE = 80  # characters of a title given in the /embed query
THEMES = ("light", "dark", "auto")


def widget_script() -> bytes:
    """The widget's JavaScript, as packaged (chatrec/serve/static/widget.js)."""
    return resources.files("chatrec.serve").joinpath("static/widget.js").read_bytes()


def embed_page(lang: str | None = None, title: str | None = None, theme: str | None = None) -> str:
    """A minimal page showing the chat inline at full size; query values that are not valid are left out, and the
    title is escaped (it is shown as text by the widget, and here it is only an attribute)."""
    lang = ("zh" if lang.lower().startswith("zh") else "en") if lang else None
    attrs = ""
    if lang:
        attrs += f' lang="{lang}"'
    if theme in THEMES:
        attrs += f' data-theme="{theme}"'
    if title:
        attrs += f' data-title="{html.escape(title[:MAX_TITLE], quote=True)}"'
    return (
        "<!doctype html>\n"
        f'<html lang="{lang or "en"}"><head><meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        "<title>chatrec</title>\n"
        "<style>html, body { margin: 0; height: 100%; } "
        "chatrec-chat { --chatrec-height: 100vh; --chatrec-radius: 0px; }</style>\n"
        f'<script src="{SCRIPT_PATH}" data-launcher="false" async></script>\n'
        f"</head><body><chatrec-chat{attrs}></chatrec-chat></body></html>\n"
    )


# The iframe page loads only our own script and talks only to its own origin.
EMBED_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; connect-src 'self'; "
    "img-src 'self'; base-uri 'none'; form-action 'none'"
)


def embed_policy(framers: Sequence[str] = ()) -> str:
    """The iframe page's content security policy: only this server's own pages and the allowed origins (the
    sites that may use the widget, `CHATREC_ALLOWED_ORIGINS`) may frame it, so no other site can overlay its
    buttons ("forget me") with its own."""
    return f"{EMBED_CSP}; frame-ancestors " + " ".join(["'self'", *framers])


def add_widget(app: FastAPI, framers: Sequence[str] = ()) -> None:
    """GET (and HEAD) /widget.js and /embed on a FastAPI app; `framers` are the origins (besides its own) that may frame
    /embed, as `chatrec.serve.api.check_origins` gives them."""
    policy = embed_policy(framers)
    try:
        script = widget_script()
    except FileNotFoundError:  # a broken install (package data left out): the rest of the app still serves
        log.error("chatrec/serve/static/widget.js is missing from this installation: /widget.js answers 404")
        script = b""
    etag = '"' + hashlib.sha256(script).hexdigest()[:32] + '"'
    script_headers = {
        "Cache-Control": f"public, max-age={SCRIPT_MAX_AGE}",
        "ETag": etag,
        "X-Content-Type-Options": "nosniff",
        "Cross-Origin-Resource-Policy": "cross-origin",
    }  # pages that isolate themselves may load it

    @app.api_route(SCRIPT_PATH, methods=["GET", "HEAD"], include_in_schema=False)
    async def widget_js(request: Request) -> Response:
        if not script:
            return Response(
                "// chatrec: widget.js is missing from this installation\n",
                status_code=404,
                media_type="text/javascript",
            )
        if etag in request.headers.get("if-none-match", ""):
            return Response(status_code=304, headers=script_headers)
        return Response(script, media_type="text/javascript; charset=utf-8", headers=script_headers)

    @app.api_route(EMBED_PATH, methods=["GET", "HEAD"], include_in_schema=False)
    async def embed(lang: str | None = None, title: str | None = None, theme: str | None = None) -> HTMLResponse:
        return HTMLResponse(
            embed_page(lang, title, theme),
            headers={
                "Content-Security-Policy": policy,
                "Cache-Control": "no-cache",
                "X-Content-Type-Options": "nosniff",
                "Referrer-Policy": "no-referrer",
            },
        )
