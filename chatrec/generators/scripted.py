"""`ScriptedGenerator`: the `Generator` port's double, for tests of the writer and the engine's streaming.

It writes what it is told (each piece counting as a token against `limits.max_new_tokens`), one script per call
(one call per item's sentence), records each prompt, the opening it was given and the words it was asked to avoid,
and can play a model that is busy from the start or after some calls. A script is a list of pieces that follow the
given opening, as a model's would; with `whole=True` a script is the whole reply instead, its own opening included
(the writer's tests script sentences the checks must judge).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

from chatrec.errors import GeneratorBusy
from chatrec.generators.base import FairLock
from chatrec.ports import Limits, Message, Stream

Script = Sequence[str] | Callable[[list[Message], str], Sequence[str]]


class ScriptedGenerator:
    """Plays `scripts` in order (then writes nothing); `busy` or `busy_after` calls make it raise `GeneratorBusy`."""

    def __init__(
        self,
        scripts: Sequence[Script] = (),
        languages: frozenset[str] = frozenset({"en", "zh"}),
        busy: bool = False,
        busy_after: int | None = None,
        whole: bool = False,
        id: str = "scripted",
    ) -> None:
        self.id, self.languages, self.whole = id, languages, whole
        self.scripts, self.busy, self.busy_after = list(scripts), busy, busy_after
        self.made = 0  # calls that were given a script (busy ones are not counted)
        self.taken = 0  # pieces handed out
        self.prompts: list[str] = []  # the last message of each call's prompt
        self.messages: list[list[Message]] = []
        self.prefixes: list[str] = []
        self.avoided: list[str] = []  # the words the latest call was asked to avoid
        self.warmed: list[str] = []  # system prompts read ahead
        self._lock = FairLock()  # one reply at a time, callers in turn, as the real ones

    @property
    def device(self) -> str:
        return "scripted"

    def warm(self, messages: list[Message]) -> None:
        if messages and messages[0]["role"] == "system":
            self.warmed.append(messages[0]["content"])

    def stream(
        self,
        messages: list[Message],
        limits: Limits,
        stop: threading.Event | None = None,
        prefix: str = "",
        avoid: Sequence[str] = (),
    ) -> Stream:
        self.avoided = list(avoid)  # a generator function, as the real ones: nothing happens before the first piece
        if self.busy or (self.busy_after is not None and self.made >= self.busy_after):
            raise GeneratorBusy(f"{self.id} is busy")
        if not self._lock.acquire(timeout=limits.wait_s):
            raise GeneratorBusy(f"{self.id} is busy")
        try:
            self.prompts.append(messages[-1]["content"])
            self.messages.append(list(messages))
            self.prefixes.append(prefix)
            script = self.scripts[self.made] if self.made < len(self.scripts) else ()
            self.made += 1
            if prefix and not self.whole:
                yield prefix
            pieces = script(messages, prefix) if callable(script) else script
            for piece in list(pieces)[: limits.max_new_tokens]:
                if stop is not None and stop.is_set():
                    return
                self.taken += 1
                yield piece
        finally:
            self._lock.release()
