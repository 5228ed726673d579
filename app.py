"""The chatrec web app (Gradio): `python app.py` or `chatrec serve`. UI only; the Engine does the work."""

from __future__ import annotations

import argparse
import html
import logging
import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no external requests from the UI

import gradio as gr  # noqa: E402

from chatrec import ChatrecError, Engine, InputError, Settings  # noqa: E402

log = logging.getLogger("chatrec.app")
EXAMPLES = ["I love space exploration films", "Something like Spirited Away, but not too sad", "我喜欢太空探索的电影", "推荐几本武侠小说"]


def format_turn(turn) -> str:  # type: ignore[no-untyped-def]
    """The reply as Markdown, with every catalog or user text escaped."""
    return html.escape(turn.reply)


def build(engine: Engine) -> gr.Blocks:
    def respond(message: str, history: list, request: gr.Request) -> str:
        user = f"web-{request.session_hash}" if request and request.session_hash else "web-anonymous"
        try:
            return format_turn(engine.chat(user, message))
        except InputError as exc:
            return html.escape(str(exc))
        except ChatrecError:
            log.exception("chat failed")
            return "Sorry, something went wrong on our side. Please try again."

    return gr.ChatInterface(
        respond,
        title="chatrec",
        description="Tell me what you like; I recommend movies and books and say why. 告诉我你喜欢什么。",
        examples=EXAMPLES,
        api_name="chat",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description="Start the chatrec web app.")
    parser.add_argument("--host", default=os.environ.get("CHATREC_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("CHATREC_PORT", "7860")))
    args = parser.parse_args()
    try:
        engine = Engine.load(Settings(), progress=True)
    except ChatrecError as exc:
        raise SystemExit(f"error: {exc}") from None
    build(engine).launch(server_name=args.host, server_port=args.port)


if __name__ == "__main__":
    main()
