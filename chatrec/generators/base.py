"""What the generators share: the fair lock users queue on, the thread settings, and the spellings of words a reply
must not write. The `Generator` protocol and `Limits` are in chatrec/ports.py."""

from __future__ import annotations

import collections
import re
import threading
import time
from collections.abc import Sequence

AUTO_THREADS = 0  # generator_threads 0 ("auto"): llama.cpp takes 1 or AUTO_MOST threads per prompt, by load
AUTO_MOST = 2  # measured on 2 cores only (docs/replies.md, "Threads")


class FairLock:
    """A lock taken in the order it was asked for, with a timeout: no waiting user is overtaken by a later one."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._queue: collections.deque[object] = collections.deque()
        self._held = False

    def acquire(self, timeout: float) -> bool:
        ticket = object()
        deadline = time.monotonic() + timeout
        with self._cond:
            self._queue.append(ticket)
            while self._held or self._queue[0] is not ticket:
                left = deadline - time.monotonic()
                if left <= 0 or not self._cond.wait(left):
                    if self._held or self._queue[0] is not ticket:
                        self._queue.remove(ticket)
                        self._cond.notify_all()
                        return False
            self._queue.popleft()
            self._held = True
            return True

    def release(self) -> None:
        with self._cond:
            self._held = False
            self._cond.notify_all()


def word_forms(words: Sequence[str]) -> list[str]:
    """The spellings a model writes a word in after a space: " series", " Series" (a Chinese word as it is). The
    bare "book" is left alone: it ends "Facebook" and "Notebook"."""
    forms: dict[str, None] = {}
    for word in words:
        if re.search(r"[\u4e00-\u9fff]", word):
            forms[word] = None
        else:
            forms[" " + word] = forms[" " + word.capitalize()] = None
    return list(forms)
