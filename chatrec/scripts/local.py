"""The side a scripted dialogue plays: the `Side` seam, and its in-process implementation over an Engine.

A side is one fresh user: `say` a message and get what it brought (`Seen`), give `feedback`, tell the item facts
the expectations read (`facts`), and be forgotten (`close`). `EngineUser` is that user of an Engine in this process;
`ApiUser` (chatrec/scripts/remote.py) is that user of a running server. `Engines` loads the Engines the files need.
"""

from __future__ import annotations

import sys
import tempfile
import time
import uuid
from collections import deque
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, Self

from chatrec.catalog.items import Item
from chatrec.errors import ChatrecError
from chatrec.results import Turn
from chatrec.scripts.expectations import EngineFacts, Facts

if TYPE_CHECKING:
    from chatrec.engine import Engine


class Refused(Exception):
    """A message the engine or the server refused (or failed on): a failure of that `say` turn."""


@dataclass(frozen=True)
class Seen:
    """What one message brought: the final turn, its items' catalog facts, and the seconds until the
    recommendations came; `missing`: the item facts the answer did not carry."""

    turn: Turn
    items: list[Item]
    seconds: float
    missing: frozenset[str] = frozenset()


class Side(Protocol):
    """One fresh user of an Engine in this process (`EngineUser`) or of a server's HTTP API (`ApiUser`)."""

    def say(self, text: str) -> Seen: ...  # raises Refused when the message is refused

    def feedback(self, item_id: str, liked: bool) -> bool: ...  # False: no such item

    def facts(self) -> Facts: ...

    def close(self) -> None: ...  # forget the user


class EngineUser:
    """A fresh user of an Engine in this process."""

    def __init__(self, engine: Engine) -> None:
        self.engine, self.user = engine, f"script-{uuid.uuid4().hex[:12]}"
        self._facts = EngineFacts(engine, self.user)

    def say(self, text: str) -> Seen:
        try:
            turn, seconds = timed_turn(self.engine, self.user, text)
        except ChatrecError as exc:
            raise Refused(f"the engine refused the message: {exc}") from None
        return Seen(turn, [self.engine.items[r.item_id] for r in turn.recommendations], seconds)

    def feedback(self, item_id: str, liked: bool) -> bool:
        if item_id not in self.engine.items:
            return False
        self.engine.feedback(self.user, item_id, liked)
        return True

    def facts(self) -> Facts:
        return self._facts

    def close(self) -> None:
        self.engine.forget(self.user)


def timed_turn(engine: Engine, user: str, text: str) -> tuple[Turn, float]:
    """The final turn of `engine.chat_stream`, and the seconds until its first Turn (the recommendations) came."""
    start = time.perf_counter()
    stream = engine.chat_stream(user, text)
    turn = next(stream)
    seconds = time.perf_counter() - start
    rest = deque(stream, maxlen=1)  # the stream to its end: the last Turn is the final one
    return (rest[0] if rest else turn), seconds


class Engines:
    """Engines loaded on first need and closed together: the one given (for scripts that name no catalog), else one
    per catalog, the bundled one for scripts that name none, each in its own temporary data folder (so that no data
    folder's own catalog, profiles or collaborative model can change what a script sees)."""

    def __init__(self, default: Engine | None = None, generate: bool = False) -> None:
        self._loaded: dict[Path | None, Engine] = {} if default is None else {None: default}
        self._generator: dict[str, str] = {} if generate else {"generator": "none"}  # "none": fast template replies
        self._stack = ExitStack()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def get(self, catalog: Path | None) -> Engine:
        from chatrec.catalog.resources import knowledge_dir

        key = catalog.resolve() if catalog is not None else None
        key = None if key == knowledge_dir().resolve() else key
        if key not in self._loaded:
            self._loaded[key] = self._stack.enter_context(self._load(key))
        return self._loaded[key]

    def _load(self, catalog: Path | None) -> Engine:
        from chatrec.catalog.resources import knowledge_dir
        from chatrec.config import Settings
        from chatrec.engine import Engine

        base = Settings(**self._generator)  # type: ignore[arg-type]
        data_dir = self._stack.enter_context(
            tempfile.TemporaryDirectory(prefix="chatrec-script-", ignore_cleanup_errors=True)
        )
        print(
            f"loading {catalog or 'the bundled catalog'} into a temporary data folder (each item is embedded "
            "once; --url runs on a server that has it already)",
            file=sys.stderr,
        )
        return Engine.load(
            base.with_(
                catalog=catalog or knowledge_dir(),
                data_dir=Path(data_dir),
                models_dir=base.model_cache,
                replace_catalog=False,
            )
        )
