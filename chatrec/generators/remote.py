"""`RemoteGenerator`: the generator served by its own process (`generator_url`, CHATREC_GENERATOR_URL), so that one
model serves every app worker and a worker's memory is the app without the model.

It speaks the OpenAI-compatible `/v1/completions` of llama.cpp's server (llama-cpp-python's `[server]` extra, or
`llama-server`) on the CPU, or of vLLM or SGLang on a GPU, streaming. The prompt is formatted here with the chat
template of the packaged GGUF (read with `vocab_only`: the tokenizer and metadata, not the weights), followed by the
reply's given opening, so the server only continues text. A server that gives no token within `limits.wait_s`
(busy with other workers' replies, or answering 429/503) raises `GeneratorBusy` before any text: the template
answers at once, marked busy. A server that is down raises `GeneratorError`: the template answers, not an error.
A process asks for at most `slots` replies at once (`generator_slots`): a reply beyond them is busy at once, without
a request, for a caller that stops waiting leaves its request on the server to be read all the same. Words to avoid
are left to the reply's checks (a server has no shared tokenizer ids to ban them by). Requests name the model as the
server lists it (`/v1/models`, the first one; vLLM and SGLang want the served name).
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx

from chatrec.errors import GeneratorBusy, GeneratorError
from chatrec.ports import Limits, Message, Stream

log = logging.getLogger(__name__)
CONNECT_S = 2.0  # a generator server on the same network answers a connection at once, or is down
ASK_AGAIN_S = 60.0  # how soon to ask a server that did not answer its model list again
MIN_READ_S = 0.1  # the shortest wait for a piece
READ_S = 30.0  # a server silent this long on a request is stuck: its slot is given back


class RemoteGenerator:
    """The packaged model's replies from a generator server, formatted with its GGUF's own chat template."""

    def __init__(self, url: str, model_id: str, languages: frozenset[str], gguf: Path, slots: int = 1) -> None:
        from chatrec.generators.llama import chat_formatter

        self.url = url.rstrip("/")
        self.id = model_id
        self.languages = languages
        self._format = chat_formatter(_vocabulary(gguf))
        self._client = httpx.Client(timeout=httpx.Timeout(30.0, connect=CONNECT_S))
        self._served: str | None = None  # the model's name on the server, once it has answered its list
        self._asked = -ASK_AGAIN_S
        # replies asked for at once: one more would only queue on the server, where a caller that stops waiting
        # leaves its request to be read all the same (work for nobody)
        self.slots = slots
        self._slots = threading.BoundedSemaphore(slots)

    @property
    def device(self) -> str:
        return f"a generator server at {self.url}"

    def warm(self, messages: list[Message]) -> None:
        """Nothing to do here: the server keeps what it read of the last prompt."""

    def health(self) -> str:
        """ "ok" when the server answers its model list now, else what is wrong (for the readiness check)."""
        try:
            answer = self._client.get(f"{self.url}/v1/models", timeout=httpx.Timeout(CONNECT_S))
        except httpx.TimeoutException:
            return f"slow: no answer from {self.url} in {CONNECT_S:.0f} s (busy?); replies may come from the template"
        except httpx.HTTPError as exc:
            return f"unreachable at {self.url} ({type(exc).__name__}); replies come from the template"
        if answer.status_code != 200:
            return f"answered {answer.status_code}; replies come from the template"
        self._served = served_name(answer) or self._served
        return "ok"

    def served(self) -> str | None:
        """The model's name on the server: asked once it answers (a busy server may not answer its list in time;
        then asked again a minute later at the soonest); None meanwhile, which every server takes as its default."""
        if self._served is None and time.monotonic() - self._asked > ASK_AGAIN_S:
            self._asked = time.monotonic()
            self.health()
        return self._served

    def stream(
        self,
        messages: list[Message],
        limits: Limits,
        stop: threading.Event | None = None,
        prefix: str = "",
        avoid: Sequence[str] = (),
    ) -> Stream:
        """Busy at once when this process's slots are all taken; else the request goes out and the first token is
        awaited up to `wait_s` (other processes' replies ahead of it, the reading of the prompt). A request this
        caller gives up on keeps its slot until the server starts answering it, and is then cut off, so that no
        process piles up requests that the server would read for nobody."""
        stop = stop or threading.Event()
        if not self._slots.acquire(blocking=False):
            raise GeneratorBusy(f"this process's {self.slots} replies at once are all with the generator server")
        pieces: queue.Queue[str | BaseException | None] = queue.Queue()
        done = threading.Event()  # the caller reads no more: the reader cuts the request off at its next piece
        try:
            threading.Thread(
                target=self._read, args=(self._body(messages, limits, prefix), pieces, done), daemon=True
            ).start()
        except BaseException:
            self._slots.release()
            raise
        try:
            yield from _relay(pieces, limits, stop, prefix)
        finally:
            done.set()

    def _body(self, messages: list[Message], limits: Limits, prefix: str) -> dict[str, Any]:
        formatted = self._format(messages=messages)
        body = {
            "prompt": formatted.prompt + prefix,
            "max_tokens": limits.max_new_tokens,
            "temperature": 0.0,
            "top_k": 1,
            "stream": True,
            "stop": formatted.stop or [],
        }
        if (model := self.served()) is not None:
            body["model"] = model
        return body

    def _read(
        self, body: dict[str, Any], pieces: queue.Queue[str | BaseException | None], done: threading.Event
    ) -> None:
        """One request, on its own thread: its pieces into `pieces`, then None (or the error); gives the slot back
        when the server is done with it: finished, failed, or cut off once the caller no longer reads."""
        timeout = httpx.Timeout(READ_S, connect=CONNECT_S)
        try:
            with self._client.stream("POST", f"{self.url}/v1/completions", json=body, timeout=timeout) as answer:
                if answer.status_code in (429, 503):
                    pieces.put(GeneratorBusy(f"the generator server answered {answer.status_code}"))
                    return
                if answer.status_code != 200:
                    pieces.put(GeneratorError(f"the generator server answered {answer.status_code}"))
                    return
                for piece in _pieces(answer.iter_lines()):
                    if done.is_set():
                        return  # leaving the block closes the connection: the server stops at its next token
                    pieces.put(piece)
            pieces.put(None)
        except httpx.ConnectError as exc:
            pieces.put(GeneratorError(f"the generator server at {self.url} cannot be reached ({exc})"))
        except httpx.HTTPError:
            pieces.put(None)  # the server stopped sending: what was shown stays
        finally:
            self._slots.release()


def _relay(
    pieces: queue.Queue[str | BaseException | None], limits: Limits, stop: threading.Event, prefix: str
) -> Stream:
    """The reader's pieces for the caller: the first within `first_token_s` (else `GeneratorBusy`), the rest while
    the reply's budget lasts."""
    started = time.monotonic()
    first = _take(pieces, first_token_s(limits))
    if first is _LATE:
        raise GeneratorBusy(f"no token from the generator server within {first_token_s(limits):.1f} s")
    if not isinstance(first, str):  # no text at all: the caller's template answers
        return
    if prefix:
        yield prefix
    piece: object = first
    while isinstance(piece, str):
        if piece:
            yield piece
        left = limits.budget_s - (time.monotonic() - started)
        if stop.is_set() or left <= 0:
            return
        piece = _take(pieces, left)


_LATE = object()


def _take(pieces: queue.Queue[str | BaseException | None], wait_s: float) -> object:
    """The next piece, None at the end, `_LATE` when none came within `wait_s`; an error the reader met is raised."""
    try:
        piece = pieces.get(timeout=max(MIN_READ_S, wait_s))
    except queue.Empty:
        return _LATE
    if isinstance(piece, BaseException):
        raise piece
    return piece


def served_name(answer: httpx.Response) -> str | None:
    """The first model id of an OpenAI-compatible `/v1/models` answer, or None if it lists none."""
    try:
        models = answer.json()["data"]
        return str(models[0]["id"]) if models else None
    except (ValueError, KeyError, IndexError, TypeError):
        return None


def first_token_s(limits: Limits) -> float:
    """How long to wait for the first token: `wait_s`, or, where the caller asks not to wait (`wait_s` 0: a later
    sentence of a reply under way), what is left of the reply's budget. A server has to read the prompt before any
    token, so a wait of nothing would refuse every request (and a socket timeout of 0 is a non-blocking read)."""
    return limits.wait_s if limits.wait_s > 0 else max(MIN_READ_S, limits.budget_s)


def _pieces(lines: Iterator[str]) -> Iterator[str]:
    """The text of each server-sent event of a streamed completion, until `[DONE]`."""
    for line in lines:
        if not line.startswith("data:"):
            continue
        data = line[5:].strip()
        if data == "[DONE]":
            return
        try:
            choice = json.loads(data)["choices"][0]
        except (ValueError, KeyError, IndexError, TypeError):
            log.warning("the generator server sent an event that is no completion: %r", data[:200])
            continue
        yield str(choice.get("text") or "")


def _vocabulary(gguf: Path) -> Any:
    """The GGUF's tokenizer and metadata only (`vocab_only`): what the chat template needs, without the weights."""
    from llama_cpp import Llama

    return Llama(model_path=str(gguf), vocab_only=True, verbose=False)
