"""The chatrec web app (Gradio): `python app.py` or `chatrec serve`. UI only; the Engine does the work.

Each browser (and each `gradio_client.Client`) is one user, known by the signed session cookie that chatrec/web.py
issues, never by anything the client sends. Streamed replies, recommendation cards with thumbs up/down, the user's
interests beside the chat, and a "forget me" button. Everything shown is escaped and shown as written (no markdown,
no LaTeX). The programmatic API is `/chat` (and `/feedback`) for `gradio_client`.
"""

from __future__ import annotations

import argparse
import html
import logging
import os
from collections.abc import Iterator
from typing import Any

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no external requests from the UI

import gradio as gr  # noqa: E402

from chatrec import ChatrecError, Engine, InputError, Settings, StoreError, Turn  # noqa: E402
from chatrec import web  # noqa: E402

log = logging.getLogger("chatrec.app")
EXAMPLES = ["I love space exploration films", "A funny TV series, but no horror", "我喜欢太空探索的电影", "推荐几本武侠小说"]
SORRY = "Sorry, something went wrong on our side. Please try again."
NO_SESSION = "Your session has expired: reload the page."
STORE_DOWN = "The catalog index is unavailable right now; the operator has been told. Please try again later."
READY, WRITING = "Ready · 就绪", "Writing… · 正在回复…"
CSS = """
.card { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 4px 8px; }
.card h4 { margin: 2px 0; } .card .meta { opacity: .7; font-size: .85em; } .card .why { font-style: italic; }
.chip { display: inline-block; border-radius: 10px; padding: 1px 8px; margin: 2px; background: var(--block-background-fill); border: 1px solid var(--border-color-primary); }
"""


# -- rendering (every piece of text escaped) --------------------------------------------------------------------
def esc(text: Any) -> str:
    return html.escape(str(text), quote=True)


def card_html(rec: dict[str, Any], note: str = "") -> str:
    """One recommendation card: title, year, kind, a one-line description and the reason."""
    meta = " · ".join(esc(x) for x in (rec.get("year"), rec.get("kind")) if x)
    description = rec.get("description") or ""
    line = description if len(description) <= 160 else description[:157].rstrip() + "…"
    extra = f'<div class="note">{esc(note)}</div>' if note else ""
    return (f'<div class="card-body" data-item="{esc(rec["item_id"])}"><h4>{esc(rec["title"])}</h4>'
            f'<div class="meta">{meta}</div><div>{esc(line)}</div><div class="why">{esc(rec["why"])}</div>{extra}</div>')


def profile_html(profile: dict[str, Any] | None) -> str:
    """The side panel: interest terms, liked and rejected items, what is being avoided."""
    if not profile or not any(profile.get(key) for key in ("terms", "liked", "rejected", "avoid_genres", "avoid_for_now",
                                                             "avoid_people", "constraints")):
        return "<p>Nothing yet: tell me what you like. 还没有记录：告诉我你喜欢什么。</p>"

    def chips(values: list[str]) -> str:
        return "".join(f'<span class="chip">{esc(v)}</span>' for v in values) or "—"

    rows = [
        ("Interests", chips([t["term"] for t in profile["terms"]])),
        ("Liked", chips([i["title"] for i in profile["liked"]])),
        ("Rejected", chips([i["title"] for i in profile["rejected"]])),
        ("Avoiding", chips([*profile["avoid_genres"], *profile["avoid_people"]])),
        ("Less of, for now", chips(profile.get("avoid_for_now", []))),
        ("Only", chips(profile.get("constraints", []))),
    ]
    rows = [(name, value) for name, value in rows if value != "—" or name == "Interests"]
    return "".join(f'<div class="profile-row"><b>{name}</b><br>{value}</div>' for name, value in rows)


def reply_note(turn: Turn | None) -> str:
    """The status line after a turn: where the reply came from, and why generated text was dropped if it was."""
    if turn is None or turn.source == "generator":
        return f"{READY} · generated, checked against the catalog"
    return f"{READY} · template reply" + (f" ({turn.problem})" if turn.problem else "")


def rec_dict(rec: Any) -> dict[str, Any]:
    return {"item_id": rec.item_id, "title": rec.title, "year": rec.year, "kind": rec.kind,
            "description": rec.description, "why": rec.why, "score": rec.score}


def turn_dict(turn: Turn) -> dict[str, Any]:
    return {"reply": turn.reply, "language": turn.language, "source": turn.source,
            "recommendations": [rec_dict(r) for r in turn.recommendations], "notes": list(turn.notes)}


# -- the app ----------------------------------------------------------------------------------------------------
def build(engine: Engine) -> gr.Blocks:
    k = engine.settings.k

    def slot_updates(shown: list[dict[str, Any]]) -> list[Any]:
        """Card slots: the first len(shown) visible and filled, the rest hidden."""
        groups = [gr.update(visible=i < len(shown)) for i in range(k)]
        bodies = [card_html(shown[i]) if i < len(shown) else "" for i in range(k)]
        return [*groups, *bodies]

    def start(request: gr.Request) -> str:
        user_id = user_of(request)
        return profile_html(engine.profile(user_id) if user_id else None)

    def feedback(slot: int, liked: bool):  # type: ignore[no-untyped-def]
        def handler(shown: list[dict[str, Any]], request: gr.Request) -> tuple[str, str]:
            user_id = user_of(request)
            if not user_id or slot >= len(shown):
                return gr.skip(), gr.skip()
            try:
                engine.feedback(user_id, shown[slot]["item_id"], liked)
            except ChatrecError as exc:
                return card_html(shown[slot], note=str(exc)), gr.skip()
            note = "Liked: more like this. 已记下：多推荐类似的。" if liked else \
                "Not for you: it will not be recommended again. 已记下：不会再推荐。"
            return card_html(shown[slot], note=note), profile_html(engine.profile(user_id))
        return handler

    def forget_session(request: gr.Request) -> tuple[Any, ...]:
        user_id = user_of(request)
        if user_id:
            engine.forget(user_id)
        return ([], [], *slot_updates([]), profile_html(None))

    def api_chat(message: str, request: gr.Request) -> dict[str, Any]:
        """One chat turn for API clients; each client (its session cookie) is its own user."""
        user_id = user_of(request)
        if not user_id:
            return {"error": NO_SESSION}
        try:
            return turn_dict(engine.chat(user_id, message))
        except InputError as exc:
            return {"error": str(exc)}
        except StoreError:
            log.exception("api chat failed: the store")
            return {"error": STORE_DOWN}
        except Exception:
            log.exception("api chat failed")
            return {"error": SORRY}

    def api_feedback(item_id: str, liked: bool, request: gr.Request) -> dict[str, Any]:
        """A thumbs up (liked=true) or down on one item, for API clients."""
        user_id = user_of(request)
        if not user_id:
            return {"ok": False, "error": NO_SESSION}
        try:
            engine.feedback(user_id, item_id, liked)
            return {"ok": True}
        except ChatrecError as exc:
            return {"ok": False, "error": str(exc)}

    def api_forget(request: gr.Request) -> dict[str, Any]:
        """Delete everything stored about this client's user (the same as the "Forget me" button)."""
        user_id = user_of(request)
        if not user_id:
            return {"ok": False, "error": NO_SESSION}
        engine.forget(user_id)
        return {"ok": True}

    with gr.Blocks(title="chatrec", analytics_enabled=False) as demo:
        cards = gr.State([])
        gr.Markdown("## chatrec\nTell me what you like; I recommend movies, books and TV series and say why. "
                    "告诉我你喜欢什么，我来推荐电影、书和剧集，并说明理由。")
        with gr.Row():
            with gr.Column(scale=3):
                chatbot = gr.Chatbot(label="Chat", height=380, elem_id="chat", sanitize_html=True, render_markdown=False,
                                     latex_delimiters=[], allow_tags=False, feedback_options=None, buttons=["copy"])
                with gr.Row():
                    box = gr.Textbox(placeholder="Tell me what you like… / 告诉我你喜欢什么…", show_label=False,
                                     scale=5, elem_id="message", max_lines=4)
                    send = gr.Button("Send 发送", variant="primary", scale=1, elem_id="send")
                status = gr.Markdown(READY, elem_id="status")
                gr.Examples(EXAMPLES, inputs=box, label="Try 试试")
                groups, bodies, buttons = [], [], []
                with gr.Column(elem_id="cards"):
                    for i in range(k):
                        with gr.Group(visible=False, elem_id=f"card-{i}", elem_classes="card") as group:
                            body = gr.HTML(elem_id=f"card-body-{i}")
                            with gr.Row():
                                up = gr.Button("👍 More like this", size="sm", elem_id=f"up-{i}")
                                down = gr.Button("👎 Not for me", size="sm", elem_id=f"down-{i}")
                        groups.append(group)
                        bodies.append(body)
                        buttons.append((i, up, down))
            with gr.Column(scale=1):
                gr.Markdown("### Your interests 你的兴趣")
                panel = gr.HTML(elem_id="profile")
                forget_button = gr.Button("Forget me 删除我的记录", variant="stop", elem_id="forget")

        def respond(message: str, history: list[dict[str, Any]] | None, shown: list[dict[str, Any]],
                    request: gr.Request) -> Iterator[dict[Any, Any]]:
            """One turn in the browser: cards as soon as they are scored, then the reply as it streams."""
            history = [*(history or []), {"role": "user", "content": esc(message)},
                       {"role": "assistant", "content": "…"}]
            user_id = user_of(request)
            yield {chatbot: history, status: WRITING}
            try:
                if not user_id:
                    raise InputError(NO_SESSION)
                turn = None
                for turn in engine.chat_stream(user_id, message):
                    if not turn.reply:   # the recommendations are ready: show the cards before any text
                        shown = [rec_dict(r) for r in turn.recommendations]
                        yield {cards: shown, box: "", **dict(zip([*groups, *bodies], slot_updates(shown)))}
                        continue
                    history[-1]["content"] = esc(turn.reply)
                    yield {chatbot: history}
                yield {panel: profile_html(engine.profile(user_id)), status: esc(reply_note(turn))}
            except InputError as exc:
                history[-1]["content"] = esc(exc)
                yield {chatbot: history, status: READY}
            except StoreError:
                log.exception("chat failed: the store")
                history[-1]["content"] = STORE_DOWN
                yield {chatbot: history, status: READY}
            except Exception:   # the person sees a short apology, never a stack trace
                log.exception("chat failed")
                history[-1]["content"] = SORRY
                yield {chatbot: history, status: READY}

        outputs = [chatbot, box, cards, status, *groups, *bodies, panel]
        gr.on([box.submit, send.click], respond, inputs=[box, chatbot, cards], outputs=outputs,
              api_visibility="private", concurrency_limit=4)
        for i, up, down in buttons:
            up.click(feedback(i, True), inputs=[cards], outputs=[bodies[i], panel], api_visibility="private")
            down.click(feedback(i, False), inputs=[cards], outputs=[bodies[i], panel], api_visibility="private")
        forget_button.click(forget_session, outputs=[chatbot, cards, *groups, *bodies, panel], api_visibility="private")
        demo.load(start, outputs=[panel], api_visibility="private")
        gr.api(api_chat, api_name="chat", concurrency_limit=4)
        gr.api(api_feedback, api_name="feedback")
        gr.api(api_forget, api_name="forget")
    return demo


def user_of(request: gr.Request | None) -> str | None:
    """The user of a call: the id behind its signed session cookie (chatrec/web.py), never a client-sent value."""
    return getattr(request, "username", None)


def create(engine: Engine, close_engine: bool = False) -> Any:
    """The ASGI app: the UI behind signed session cookies (chatrec/web.py); it closes the engine when it stops
    if `close_engine`."""
    demo = build(engine).queue(default_concurrency_limit=2)
    return web.create_app(demo, web.identity_for(engine.settings), css=CSS,
                          on_shutdown=engine.close if close_engine else None)


def main() -> None:
    parser = argparse.ArgumentParser(description="Start the chatrec web app.")
    parser.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME") or os.environ.get("CHATREC_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int,
                        default=int(os.environ.get("GRADIO_SERVER_PORT") or os.environ.get("CHATREC_PORT", "7860")))
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        engine = Engine.load(Settings(), progress=True)
        app = create(engine, close_engine=True)   # SIGTERM/SIGINT: requests end, then the engine closes
    except ChatrecError as exc:
        raise SystemExit(f"error: {exc}") from None
    print(f"chatrec is serving on http://{args.host}:{args.port}/", flush=True)
    web.serve(app, args.host, args.port)


if __name__ == "__main__":
    main()
