"""The chatrec web app (Gradio): `chatrec serve` or `python app.py`. UI only; the Engine does the work.

Each browser (and each `gradio_client.Client`) is one user, known by the signed session cookie that
chatrec/serve/web.py issues, never by anything the client sends. The chat sits beside compact recommendation cards
(thumbs up/down), with the user's interests and a "forget me" button (asks first) below the cards; on a phone they
stack in that order. Every UI string comes from chatrec/serve/page_text.py in the session's language (the browser's
Accept-Language, then the language of each turn, or the EN / 中文 switch). A message sent while a reply is written is
queued, shown as such, and answered next. Everything shown is escaped and shown as written (no markdown, no LaTeX).
The programmatic API is `/chat`, `/feedback` and `/forget` for `gradio_client`, answering in the wire format of
chatrec/serve/wire.py, failures as chatrec/serve/error_map.py maps them. The HTML and CSS are in
chatrec/serve/page_render.py, each tab's conversation in chatrec/serve/page_tabs.py; this module holds the page and
its handlers. It ships in the package, so an installed chatrec serves without a source checkout; `import chatrec`
does not load it (it imports gradio).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Iterator
from typing import Any

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no external requests from the UI

import gradio as gr  # noqa: E402

from chatrec.catalog.kinds import catalog_kinds  # noqa: E402
from chatrec.engine import Engine  # noqa: E402
from chatrec.errors import ChatrecError, ConfigError, InputError  # noqa: E402
from chatrec.results import Recommendation, Turn  # noqa: E402
from chatrec.serve import logs, web, wire  # noqa: E402
from chatrec.serve.error_map import Problem, problem  # noqa: E402
from chatrec.serve.page_render import (  # noqa: E402
    CSS,
    card_html,
    esc,
    examples_label_html,
    header_html,
    profile_html,
    status_html,
)
from chatrec.serve.page_tabs import Chat, Tabs  # noqa: E402
from chatrec.serve.page_text import LANGS, examples, lang_of_header, lang_or_default, t  # noqa: E402

__all__ = ["Page", "build", "card_html", "create", "esc", "main", "profile_html", "user_of"]
log = logging.getLogger("chatrec.app")
NO_SESSION = t("no_session", "en")  # the API's answer without a session (the page says it in the tab's language)
PAGE_TEXT = {"store_unavailable": "store_down"}  # a Problem's code (chatrec/serve/error_map.py) -> the page's text
# The panel's × buttons: a click on one sends its entry (chatrec/serve/page_render.py's data-field, data-value) to
# `Page.remove` as the event's data; one listener on the panel serves every rendering of it.
REMOVE_JS = """
element.addEventListener('click', (event) => {
  const button = event.target.closest('button.chip-x');
  if (!button || button.disabled) return;
  button.disabled = true;
  trigger('click', {field: button.dataset.field, value: button.dataset.value});
});
"""
PRECISE = ("bad_input", "unknown_item")  # codes whose message (the engine's own words) the API answers as is


# -- the app ----------------------------------------------------------------------------------------------------
class Page:
    """The chat page: its components (`layout`), what each language shows on them (`texts`) and its handlers."""

    def __init__(self, engine: Engine) -> None:
        self.engine, self.k, self.tabs = engine, engine.settings.k, Tabs()
        self.kinds = catalog_kinds(engine.catalog)  # the header names them, most common first
        self.genres = engine.names.common_genres()  # the examples of a catalog that is not films, books and series

    def layout(self) -> None:
        with gr.Row(elem_id="top"):
            self.header = gr.HTML(header_html("en", self.kinds), elem_id="header")
            self.lang = gr.Radio(
                [("EN", "en"), ("中文", "zh")],
                value="en",
                label=t("language_label", "en"),
                show_label=False,
                container=False,
                elem_id="lang",
                scale=0,
                min_width=150,
            )
        with gr.Row(elem_id="main"):
            with gr.Column(scale=5, min_width=300, elem_id="chat-col"):
                self.chatbot = gr.Chatbot(
                    show_label=False,
                    height="min(520px, 62vh)",
                    elem_id="chat",
                    sanitize_html=True,
                    render_markdown=False,
                    latex_delimiters=[],
                    allow_tags=False,
                    feedback_options=None,
                    buttons=["copy"],
                )
                with gr.Row(elem_id="input-row"):
                    self.box = gr.Textbox(
                        label=t("message_label", "en"),
                        placeholder=t("placeholder", "en"),
                        show_label=False,
                        scale=5,
                        min_width=120,
                        elem_id="message",
                        max_lines=4,
                        container=False,
                    )
                    self.send = gr.Button(t("send", "en"), variant="primary", scale=1, min_width=72, elem_id="send")
                self.status = gr.HTML(status_html("idle", "en"), elem_id="status")
            with gr.Column(scale=4, min_width=300, elem_id="side-col"):
                self.cards_layout()
                self.panel = gr.HTML(profile_html(None), elem_id="profile", js_on_load=REMOVE_JS)
                self.forget = gr.Button(t("forget", "en"), variant="stop", size="sm", elem_id="forget")
                with gr.Group(visible=False, elem_id="forget-confirm") as self.confirm:
                    self.confirm_text = gr.HTML(esc(t("forget_confirm", "en")), elem_id="forget-question")
                    with gr.Row():
                        self.yes = gr.Button(t("forget_yes", "en"), variant="stop", size="sm", elem_id="forget-yes")
                        self.cancel = gr.Button(t("forget_cancel", "en"), size="sm", elem_id="forget-cancel")
                with gr.Column(elem_id="examples"):
                    self.examples_label = gr.HTML(examples_label_html("en"))
                    with gr.Row():
                        self.example_buttons = [
                            gr.Button(x, size="sm", elem_classes="example", elem_id=f"example-{i}")
                            for i, x in enumerate(examples("en", self.kinds, self.genres))
                        ]

    def cards_layout(self) -> None:
        self.groups, self.bodies, self.ups, self.downs = [], [], [], []
        with gr.Column(elem_id="cards"):
            for i in range(self.k):
                with gr.Group(visible=False, elem_id=f"card-{i}", elem_classes="card") as group:
                    self.bodies.append(gr.HTML(elem_id=f"card-body-{i}"))
                    with gr.Row(elem_classes="card-actions"):
                        self.ups.append(
                            gr.Button(
                                t("more_like_this", "en"),
                                size="sm",
                                elem_id=f"up-{i}",
                                elem_classes=["thumb", "thumb-up"],
                            )
                        )
                        self.downs.append(
                            gr.Button(
                                t("not_for_me", "en"),
                                size="sm",
                                elem_id=f"down-{i}",
                                elem_classes=["thumb", "thumb-down"],
                            )
                        )
                self.groups.append(group)

    @property
    def everything(self) -> list[Any]:
        return [
            self.header,
            self.lang,
            self.chatbot,
            self.box,
            self.send,
            self.status,
            *self.groups,
            *self.bodies,
            *self.ups,
            *self.downs,
            self.panel,
            self.forget,
            self.confirm,
            self.confirm_text,
            self.yes,
            self.cancel,
            self.examples_label,
            *self.example_buttons,
        ]

    # -- what is shown ---------------------------------------------------------------------------------------
    def cards(self, chat: Chat) -> dict[Any, Any]:
        """Card slots: the first len(shown) visible and filled, the rest hidden."""
        shown = chat.shown
        out: dict[Any, Any] = {g: gr.update(visible=i < len(shown)) for i, g in enumerate(self.groups)}
        out.update({b: self.card(shown[i], chat) if i < len(shown) else "" for i, b in enumerate(self.bodies)})
        return out

    def profile(self, chat: Chat, user_id: str | None) -> str:
        return profile_html(self.engine.profile(user_id, chat.lang) if user_id else None, chat.lang)

    def texts(self, chat: Chat, user_id: str | None) -> dict[Any, Any]:
        """Every component in the chat's language (after the page loads, a switch, or a turn in another language)."""
        lang = chat.lang
        out: dict[Any, Any] = {
            self.header: header_html(lang, self.kinds),
            self.lang: gr.update(value=lang, label=t("language_label", lang)),
            self.chatbot: chat.render(),
            self.box: gr.update(placeholder=t("placeholder", lang), label=t("message_label", lang)),
            self.send: gr.update(value=t("send", lang)),
            self.status: chat.status_html(),
            self.panel: self.profile(chat, user_id),
            self.forget: gr.update(value=t("forget", lang)),
            self.confirm_text: esc(t("forget_confirm", lang)),
            self.yes: gr.update(value=t("forget_yes", lang)),
            self.cancel: gr.update(value=t("forget_cancel", lang)),
            self.examples_label: examples_label_html(lang),
            **{
                b: gr.update(value=x)
                for b, x in zip(self.example_buttons, examples(lang, self.kinds, self.genres), strict=False)
            },
            **{b: gr.update(value=t("more_like_this", lang)) for b in self.ups},
            **{b: gr.update(value=t("not_for_me", lang)) for b in self.downs},
        }
        return {**out, **self.cards(chat)}

    def card(self, rec: dict[str, Any], chat: Chat, note: str = "") -> str:
        """A card's HTML in the chat's language, its genres in the catalog's own words."""
        return card_html(rec, note, chat.lang, lambda genre, lang: self.engine.names.term(genre, lang))

    def card_dict(self, rec: Recommendation) -> dict[str, Any]:
        """A card's data: the recommendation on the wire (chatrec/serve/wire.py), its item's facts included."""
        return wire.recommendation(rec, self.engine.items.get(rec.item_id))

    # -- handlers --------------------------------------------------------------------------------------------
    def start(self, request: gr.Request) -> dict[Any, Any]:
        chat = self.tabs.get(request)
        chat.lang = lang_of_header(request.headers.get("accept-language") if request else None)
        return self.texts(chat, user_of(request))

    def switch(self, lang: str, request: gr.Request) -> dict[Any, Any]:
        chat = self.tabs.get(request)
        chat.lang = lang_or_default(lang)
        return self.texts(chat, user_of(request))

    def submit(self, message: str, request: gr.Request) -> dict[Any, Any]:
        """A message joins the queue at once (shown as queued when a reply is being written)."""
        if not isinstance(message, str) or not message.strip():
            return {self.box: gr.skip()}
        chat = self.tabs.get(request)
        chat.add(message)
        if chat.status[0] != "writing":  # the line says "writing" from the moment the message shows, never "ready"
            chat.status = ("writing", False, "")
        return {self.chatbot: chat.render(), self.box: "", self.status: chat.status_html()}

    def work(self, request: gr.Request) -> Iterator[dict[Any, Any]]:
        """Answer the tab's queued messages one after another; a worker already at it takes the new ones too."""
        chat, user_id = self.tabs.get(request), user_of(request)
        token, answered = chat.claim(), False
        try:
            while token is not None and (job := chat.next_job(token)) is not None:
                answered = True
                yield from self.answer(chat, user_id, *job)
            if not answered:  # another worker has it (Gradio needs one output named, even when nothing changes)
                yield {self.status: gr.skip()}
        finally:
            if token is not None:
                chat.release(token)

    def answer(self, chat: Chat, user_id: str | None, message: str, bot: dict[str, Any]) -> Iterator[dict[Any, Any]]:
        """One turn: the cards as soon as they are scored, then the reply as it streams."""
        bot["state"], chat.status = "writing", ("writing", False, "")
        yield {self.chatbot: chat.render(), self.status: chat.status_html()}
        try:
            if not user_id:
                raise InputError(NO_SESSION)
            turn = None
            for turn in self.engine.chat_stream(user_id, message):
                out = self.turn_update(chat, user_id, turn, bot)
                if out:
                    yield out
            source = turn.source if turn is not None else ""
            bot["state"], chat.status = "", ("done", bool(getattr(turn, "busy", False)), source)
            yield {
                self.chatbot: chat.render(),
                self.panel: self.profile(chat, user_id),
                self.status: chat.status_html(),
            }
        except Exception as exc:  # the person sees a short message in their language, never a stack trace
            bot.update(self.failure(exc, message, chat.lang), state="")
            chat.status = ("done", False, "")
            yield {self.chatbot: chat.render(), self.status: chat.status_html()}

    def turn_update(self, chat: Chat, user_id: str, turn: Turn, bot: dict[str, Any]) -> dict[Any, Any]:
        """What one streamed turn changes on the page."""
        out: dict[Any, Any] = {}
        if turn.language in LANGS and turn.language != chat.lang:
            chat.lang = turn.language
            out.update(self.texts(chat, user_id))
        busy = bool(getattr(turn, "busy", False))
        if busy != chat.status[1]:  # the generator is busy: say so at once
            chat.status = ("writing", busy, "")
            out[self.status] = chat.status_html()
        if not turn.reply:  # the recommendations are ready: show the cards before any text
            chat.shown = [self.card_dict(r) for r in turn.recommendations]
            return {**out, **self.cards(chat)}
        bot["text"] = turn.reply
        return {**out, self.chatbot: chat.render()}

    def failure(self, exc: Exception, message: str, lang: str) -> dict[str, Any]:
        """The bot message for a failed turn (call it inside `except`): an error key (shown in the tab's language)
        or, in English, the engine's own precise message for bad input."""
        return self.failure_of(problem(exc, log, "chat"), message, lang)

    def failure_of(self, answer: Problem, message: str, lang: str) -> dict[str, Any]:
        """The bot message for a failed turn's Problem."""
        if answer.code != "bad_input":
            return {"error": PAGE_TEXT.get(answer.code, "sorry")}
        if answer.message == NO_SESSION:
            return {"error": "no_session"}
        if lang == "en":
            return {"text": answer.message, "error": ""}
        limit = self.engine.settings.max_message_chars
        return (
            {"error": "too_long", "values": {"limit": f"{limit:,}"}}
            if len(message) > limit
            else {"error": "bad_message"}
        )

    def feedback(self, slot: int, liked: bool):  # type: ignore[no-untyped-def]
        def handler(request: gr.Request) -> dict[Any, Any]:
            chat, user_id = self.tabs.get(request), user_of(request)
            if not user_id or slot >= len(chat.shown):
                return {self.panel: gr.skip()}
            rec = chat.shown[slot]
            try:
                self.engine.feedback(user_id, rec["item_id"], liked)
            except ChatrecError as exc:
                problem(exc, log, "feedback")
                return {self.bodies[slot]: self.card(rec, chat, note=t("sorry", chat.lang))}
            rec["feedback"] = "up" if liked else "down"
            return {self.bodies[slot]: self.card(rec, chat), self.panel: self.profile(chat, user_id)}

        return handler

    def remove(self, event: gr.EventData, request: gr.Request) -> dict[Any, Any]:
        """A × on the panel: that entry leaves the dialogue state (`Engine.edit_profile`); the panel shows the state
        after it, also when the entry was gone already (another tab) or the click named nothing known."""
        chat, user_id = self.tabs.get(request), user_of(request)
        field, value = getattr(event, "field", None), getattr(event, "value", None)  # trigger('click', {...})'s data
        if not user_id:
            return {self.panel: gr.skip()}
        try:
            return {
                self.panel: profile_html(
                    self.engine.edit_profile(user_id, {"remove": {field: [value]}}, chat.lang), chat.lang
                )
            }
        except ChatrecError as exc:
            log.info("panel edit refused: %s", exc)
            return {self.panel: self.profile(chat, user_id)}

    def ask_forget(self) -> dict[Any, Any]:
        return {self.forget: gr.update(visible=False), self.confirm: gr.update(visible=True)}

    def keep(self) -> dict[Any, Any]:
        return {self.forget: gr.update(visible=True), self.confirm: gr.update(visible=False)}

    def forget_me(self, request: gr.Request) -> dict[Any, Any]:
        chat, user_id = self.tabs.get(request), user_of(request)
        if user_id:
            self.engine.forget(user_id)
        chat.clear()
        return {
            **self.keep(),
            **self.cards(chat),
            self.chatbot: [],
            self.panel: profile_html(None, chat.lang),
            self.status: chat.status_html(),
        }

    def wire(self, demo: gr.Blocks) -> None:
        quiet = {"api_visibility": "private", "show_progress": "hidden"}
        everything = self.everything
        gr.on(
            [self.box.submit, self.send.click],
            self.submit,
            inputs=[self.box],
            outputs=[self.chatbot, self.box, self.status],
            concurrency_limit=None,
            trigger_mode="multiple",
            **quiet,
        ).then(self.work, outputs=everything, concurrency_limit=4, trigger_mode="multiple", **quiet)
        for i in range(self.k):
            self.ups[i].click(self.feedback(i, True), outputs=[self.bodies[i], self.panel], **quiet)
            self.downs[i].click(self.feedback(i, False), outputs=[self.bodies[i], self.panel], **quiet)
        self.panel.click(self.remove, outputs=[self.panel], **quiet)
        self.forget.click(self.ask_forget, outputs=[self.forget, self.confirm], concurrency_limit=None, **quiet)
        self.cancel.click(self.keep, outputs=[self.forget, self.confirm], concurrency_limit=None, **quiet)
        self.yes.click(self.forget_me, outputs=everything, **quiet)
        self.lang.input(self.switch, inputs=[self.lang], outputs=everything, **quiet)
        for button in self.example_buttons:
            button.click(lambda text: text, inputs=[button], outputs=[self.box], concurrency_limit=None, **quiet)
        demo.load(self.start, outputs=everything, **quiet)
        demo.unload(self.close_tab)

    def close_tab(self, request: gr.Request) -> None:
        """The tab was closed: forget its chat (a `gr.Request` parameter, so that Gradio passes the request)."""
        self.tabs.drop(request)

    # -- the API for gradio_client ---------------------------------------------------------------------------
    def api_chat(self, message: str, request: gr.Request) -> dict[str, Any]:
        """One chat turn for API clients; each client (its session cookie) is its own user."""
        user_id = user_of(request)
        if not user_id:
            return {"error": NO_SESSION}
        try:
            return wire.turn(self.engine.chat(user_id, message), self.engine.items)
        except Exception as exc:
            return {"error": api_text(problem(exc, log, "api chat"))}

    def api_feedback(self, item_id: str, liked: bool, request: gr.Request) -> dict[str, Any]:
        """A thumbs up (liked=true) or down on one item, for API clients."""
        user_id = user_of(request)
        if not user_id:
            return {"ok": False, "error": NO_SESSION}
        try:
            self.engine.feedback(user_id, item_id, liked)
            return {"ok": True}
        except Exception as exc:
            return {"ok": False, "error": api_text(problem(exc, log, "api feedback"))}

    def api_forget(self, request: gr.Request) -> dict[str, Any]:
        """Delete everything stored about this client's user (the same as the "Forget me" button)."""
        user_id = user_of(request)
        if not user_id:
            return {"ok": False, "error": NO_SESSION}
        self.engine.forget(user_id)
        return {"ok": True}


def build(engine: Engine) -> gr.Blocks:
    page = Page(engine)
    with gr.Blocks(title="chatrec", analytics_enabled=False) as demo:
        page.layout()
        page.wire(demo)
        gr.api(page.api_chat, api_name="chat", concurrency_limit=4)
        gr.api(page.api_feedback, api_name="feedback")
        gr.api(page.api_forget, api_name="forget")
    return demo


def api_text(answer: Problem) -> str:
    """A failure as the `/chat` and `/feedback` API say it, in English: the engine's own words for bad input or an
    unknown item, else the page's text."""
    return answer.message if answer.code in PRECISE else t(PAGE_TEXT.get(answer.code, "sorry"), "en")


def user_of(request: gr.Request | None) -> str | None:
    """The user of a call: the id behind its signed session cookie (chatrec/serve/web.py), never a client-sent value."""
    return getattr(request, "username", None)


def create(engine: Engine, close_engine: bool = False) -> Any:
    """The ASGI app: the UI behind signed session cookies (chatrec/serve/web.py) and the JSON API at /api/v1
    (chatrec/serve/api.py), one user identity for both; it closes the engine when it stops if `close_engine`."""
    from chatrec.serve.api import api_app, check_origins

    demo = build(engine).queue(default_concurrency_limit=2)
    identity = web.identity_for(engine.settings)
    return web.create_app(
        demo,
        identity,
        css=CSS,
        on_shutdown=engine.close if close_engine else None,
        api=api_app(engine, identity),
        framers=check_origins(engine.settings.allowed_origins),
    )


WORKER_ARGV = "CHATREC_SERVE_ARGV"  # the command line `chatrec serve --workers N` hands its workers (JSON)


def serve_workers(args: argparse.Namespace, argv: list[str]) -> None:
    """`--workers N`: N app processes under uvicorn on one port, each built by `worker_app`; they read the store
    and never write it, so it must be a Chroma server that `chatrec ingest` filled."""
    import json

    from chatrec.config import Settings, server_address

    try:
        host, port = server_address(args.host, args.port)
        if args.workers < 1:
            raise ConfigError(f"--workers must be at least 1, got {args.workers}")
        if not Settings().chroma_url:
            raise ConfigError(
                "several workers need a Chroma server (CHATREC_CHROMA_URL): an embedded store belongs to one process"
            )
    except ChatrecError as exc:
        raise SystemExit(f"error: {exc}") from None
    os.environ[WORKER_ARGV] = json.dumps(without_workers(argv))
    print(f"chatrec is serving on http://{host}:{port}/ with {args.workers} workers", flush=True)
    print(
        "note: the API and the widget work through any worker; the chat page keeps each open tab in one process, "
        "which workers sharing a port cannot promise: for the page, run one process per port behind a proxy with "
        "sticky sessions (docs/deploy.md)",
        flush=True,
    )
    web.serve_workers("chatrec.serve.page:worker_app", host, port, args.workers)


def without_workers(argv: list[str]) -> list[str]:
    """The command line less its `--workers N` (or `--workers=N`): what each worker is started with."""
    out: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--workers":
            skip = True
        elif not arg.startswith("--workers="):
            out.append(arg)
    return out


def worker_app() -> Any:
    """One worker of `chatrec serve --workers N` (uvicorn calls it in each process): the app on an engine that
    checks the store holds the catalog and never writes it."""
    import json

    from chatrec.config import add_serve_options, settings_from

    parser = argparse.ArgumentParser()
    add_serve_options(parser)
    args = parser.parse_args(json.loads(os.environ.get(WORKER_ARGV, "[]")))
    logs.configure()
    engine = Engine.load(settings_from(args, ingest_on_start=False), progress=False)
    return create(engine, close_engine=True)


def main(argv: list[str] | None = None) -> None:
    """`python app.py [--host H] [--port P] [--data-dir D] [--catalog PATH] [--format F] [--skip-bad]
    [--replace-catalog]` (also `chatrec serve`): flags first, then GRADIO_SERVER_NAME / GRADIO_SERVER_PORT (or
    CHATREC_HOST / CHATREC_PORT) and the CHATREC_ variables, then the defaults."""
    from chatrec.config import add_serve_options, server_address, settings_from

    parser = argparse.ArgumentParser(description="Start the chatrec web app.")
    add_serve_options(parser)
    args = parser.parse_args(argv)
    try:
        logs.configure()
    except ValueError as exc:
        raise SystemExit(f"error: {exc}") from None
    if args.workers != 1:
        serve_workers(args, argv if argv is not None else sys.argv[1:])
        return
    try:
        host, port = server_address(args.host, args.port)
        engine = Engine.load(settings_from(args), progress=True)
        app = create(engine, close_engine=True)  # SIGTERM/SIGINT: requests end, then the engine closes
    except ChatrecError as exc:
        raise SystemExit(f"error: {exc}") from None
    print(f"chatrec is serving on http://{host}:{port}/", flush=True)
    web.serve(app, host, port)
