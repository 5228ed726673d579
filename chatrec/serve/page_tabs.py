"""The web UI's conversations, one per open browser tab, kept on the server (no gradio: a request is any object)."""

from __future__ import annotations

import threading
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import Any, Protocol

from chatrec.serve.page_render import esc, status_html
from chatrec.serve.page_text import t

MAX_TABS = 5000  # conversations kept for open tabs (a closed tab's is dropped at once; beyond this the oldest idle)


class Session(Protocol):
    """What the tab store needs of a request (a `gradio.Request`): the page load's session hash."""

    @property
    def session_hash(self) -> str | None: ...


@dataclass
class Chat:
    """What one browser tab shows: the messages, the messages waiting for a reply, the cards, the language.

    Kept here rather than in the browser so that a message sent while a reply streams joins the queue and the reply
    being written keeps it on screen. One worker at a time answers the queue (`claim`, `next_job`, `release`)."""

    lang: str = "en"
    messages: list[dict[str, Any]] = field(default_factory=list)  # {"role", "text", "state", "error"}
    pending: deque[tuple[str, dict[str, Any]]] = field(default_factory=deque)  # (message, its bot message)
    shown: list[dict[str, Any]] = field(default_factory=list)
    status: tuple[str, bool, str] = ("idle", False, "")  # state, busy, source
    worker: object | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, message: str) -> None:
        """Queue a message; its reply shows as queued when another is being written."""
        with self.lock:
            waiting = self.worker is not None or bool(self.pending)
            bot = {"role": "assistant", "text": "", "state": "queued" if waiting else "writing"}
            self.messages += [{"role": "user", "text": message, "state": ""}, bot]
            self.pending.append((message, bot))

    def claim(self) -> object | None:
        """Become the tab's worker: a token, or None when another worker is at it."""
        with self.lock:
            if self.worker is not None:
                return None
            self.worker = token = object()
            return token

    def next_job(self, token: object) -> tuple[str, dict[str, Any]] | None:
        """The worker's next queued message, or None (and the worker stands down) when none is left."""
        with self.lock:
            if self.pending and self.worker is token:
                return self.pending.popleft()
            if self.worker is token:
                self.worker = None
            return None

    def release(self, token: object) -> None:
        """Stand the worker down (its stream ended or failed)."""
        with self.lock:
            if self.worker is token:
                self.worker = None

    def clear(self) -> None:
        """Forget everything shown (the user asked to be forgotten); queued messages go unanswered."""
        with self.lock:
            self.messages, self.shown, self.status = [], [], ("forgotten", False, "")
            for _, bot in self.pending:
                bot["state"] = ""
            self.pending.clear()

    def render(self) -> list[dict[str, str]]:
        """The messages for the Chatbot, escaped; queued and failed ones in the current language."""
        out = []
        for m in list(self.messages):
            if m.get("error"):
                text = t(m["error"], self.lang, **m.get("values", {}))
            elif m["state"] == "queued":
                text = t("queued", self.lang)
            else:
                text = m["text"] or ("…" if m["role"] == "assistant" else "")
            out.append({"role": m["role"], "content": esc(text)})
        return out

    def status_html(self) -> str:
        """The status line for the tab's current state."""
        state, busy, source = self.status
        return status_html(state, self.lang, busy, source)


def tab_key(request: Session | None) -> str:
    """The tab a request comes from: its session hash ("" when it has none)."""
    return str(getattr(request, "session_hash", None) or "")


class Tabs:
    """Chat per Gradio session hash (one per page load); dropped when the tab closes, the oldest idle past a cap."""

    def __init__(self, cap: int = MAX_TABS) -> None:
        self.cap = cap
        self._chats: OrderedDict[str, Chat] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, request: Session | None) -> Chat:
        """The tab's chat, made on first use (the oldest idle chats beyond the cap are dropped then)."""
        key = tab_key(request)
        with self._lock:
            chat = self._chats.get(key)
            if chat is None:
                chat = self._chats[key] = Chat()
                idle = [k for k, c in self._chats.items() if c.worker is None and k != key]
                for old in idle[: max(0, len(self._chats) - self.cap)]:
                    del self._chats[old]
            self._chats.move_to_end(key)
            return chat

    def drop(self, request: Session | None) -> None:
        """Forget the tab's chat (its tab was closed)."""
        with self._lock:
            self._chats.pop(tab_key(request), None)
