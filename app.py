"""The chatrec web app (Gradio): `python app.py` or `chatrec serve`. UI only; the Engine does the work.

One user per browser session (a random id kept server-side in `gr.State`), streamed replies, recommendation cards
with thumbs up/down, the user's interests beside the chat, and a "forget me" button. Everything shown is escaped.
The programmatic API is `/chat` (and `/feedback`) for `gradio_client`.
"""

from __future__ import annotations

import argparse
import hashlib
import html
import logging
import os
import secrets
from collections.abc import Iterator
from typing import Any

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no external requests from the UI

import gradio as gr  # noqa: E402

from chatrec import ChatrecError, Engine, InputError, Settings, Turn  # noqa: E402

log = logging.getLogger("chatrec.app")
EXAMPLES = ["I love space exploration films", "A funny TV series, but no horror", "我喜欢太空探索的电影", "推荐几本武侠小说"]
SORRY = "Sorry, something went wrong on our side. Please try again."
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
    if not profile or not (profile["terms"] or profile["liked"] or profile["rejected"] or profile["mentioned"]):
        return "<p>Nothing yet: tell me what you like. 还没有记录：告诉我你喜欢什么。</p>"

    def chips(values: list[str]) -> str:
        return "".join(f'<span class="chip">{esc(v)}</span>' for v in values) or "—"

    rows = [
        ("Interests", chips([t["term"] for t in profile["terms"]])),
        ("Liked", chips([i["title"] for i in profile["liked"]])),
        ("Mentioned", chips([i["title"] for i in profile["mentioned"]])),
        ("Rejected", chips([i["title"] for i in profile["rejected"]])),
        ("Avoiding", chips([*profile["avoid_genres"], *profile["avoid_people"]])),
    ]
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

    def new_user() -> str:
        return "web-" + secrets.token_urlsafe(18)

    def start() -> tuple[str, str]:
        return new_user(), profile_html(None)

    def slot_updates(shown: list[dict[str, Any]]) -> list[Any]:
        """Card slots: the first len(shown) visible and filled, the rest hidden."""
        groups = [gr.update(visible=i < len(shown)) for i in range(k)]
        bodies = [card_html(shown[i]) if i < len(shown) else "" for i in range(k)]
        return [*groups, *bodies]

    def feedback(slot: int, liked: bool):  # type: ignore[no-untyped-def]
        def handler(user_id: str | None, shown: list[dict[str, Any]]) -> tuple[str, str]:
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

    def forget(user_id: str | None) -> tuple[Any, ...]:
        if user_id:
            engine.forget(user_id)
        return ([], new_user(), [], *slot_updates([]), profile_html(None))

    def api_chat(message: str, request: gr.Request) -> dict[str, Any]:
        """One chat turn for API clients; each client session is its own user."""
        try:
            return turn_dict(engine.chat(api_user(request), message))
        except InputError as exc:
            return {"error": str(exc)}
        except Exception:
            log.exception("api chat failed")
            return {"error": SORRY}

    def api_feedback(item_id: str, liked: bool, request: gr.Request) -> dict[str, Any]:
        """A thumbs up (liked=true) or down on one item, for API clients."""
        try:
            engine.feedback(api_user(request), item_id, liked)
            return {"ok": True}
        except ChatrecError as exc:
            return {"ok": False, "error": str(exc)}

    with gr.Blocks(title="chatrec", analytics_enabled=False) as demo:
        user = gr.State(None)
        cards = gr.State([])
        gr.Markdown("## chatrec\nTell me what you like; I recommend movies, books and TV series and say why. "
                    "告诉我你喜欢什么，我来推荐电影、书和剧集，并说明理由。")
        with gr.Row():
            with gr.Column(scale=3):
                chatbot = gr.Chatbot(label="Chat", height=380, elem_id="chat", sanitize_html=True,
                                     feedback_options=None, buttons=["copy"])
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

        def respond(message: str, history: list[dict[str, Any]] | None, user_id: str | None,
                    shown: list[dict[str, Any]]) -> Iterator[dict[Any, Any]]:
            """One turn in the browser: cards as soon as they are scored, then the reply as it streams."""
            history = [*(history or []), {"role": "user", "content": esc(message)},
                       {"role": "assistant", "content": "…"}]
            user_id = user_id or new_user()
            yield {chatbot: history, user: user_id, status: WRITING}
            try:
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
            except Exception:   # the person sees a short apology, never a stack trace
                log.exception("chat failed")
                history[-1]["content"] = SORRY
                yield {chatbot: history, status: READY}

        outputs = [chatbot, box, user, cards, status, *groups, *bodies, panel]
        gr.on([box.submit, send.click], respond, inputs=[box, chatbot, user, cards], outputs=outputs,
              api_visibility="private", concurrency_limit=4)
        for i, up, down in buttons:
            up.click(feedback(i, True), inputs=[user, cards], outputs=[bodies[i], panel], api_visibility="private")
            down.click(feedback(i, False), inputs=[user, cards], outputs=[bodies[i], panel], api_visibility="private")
        forget_button.click(forget, inputs=[user], outputs=[chatbot, user, cards, *groups, *bodies, panel],
                            api_visibility="private")
        demo.load(start, outputs=[user, panel], api_visibility="private")
        gr.api(api_chat, api_name="chat", concurrency_limit=4)
        gr.api(api_feedback, api_name="feedback")
    return demo


def api_user(request: gr.Request | None) -> str:
    """API clients are told apart by their session; the id is a hash, so it cannot be picked to match a web user."""
    session = getattr(request, "session_hash", None) or secrets.token_urlsafe(18)
    return "api-" + hashlib.sha256(session.encode()).hexdigest()[:32]


def launch(demo: gr.Blocks, host: str, port: int, **kwargs: Any) -> Any:
    return demo.queue(default_concurrency_limit=2).launch(server_name=host, server_port=port, css=CSS, **kwargs)


def main() -> None:
    parser = argparse.ArgumentParser(description="Start the chatrec web app.")
    parser.add_argument("--host", default=os.environ.get("CHATREC_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("CHATREC_PORT", "7860")))
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        engine = Engine.load(Settings(), progress=True)
    except ChatrecError as exc:
        raise SystemExit(f"error: {exc}") from None
    launch(build(engine), args.host, args.port)


if __name__ == "__main__":
    main()
