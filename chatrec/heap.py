"""Handing freed heap memory back to the system (glibc's malloc_trim), at most once in a while."""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import logging
import threading
import time

log = logging.getLogger(__name__)

EVERY_S = 30.0  # a long-running server trims at most this often


@functools.cache
def _libc() -> ctypes.CDLL | None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"))
        libc.malloc_trim.argtypes = [ctypes.c_size_t]
        return libc
    except (OSError, AttributeError, TypeError):  # not glibc (musl, macOS): nothing to trim
        return None


def release_freed_memory() -> bool:
    """Return the pages that freed objects left in the heap and the threads' arenas to the system, so that the
    resident size of a long-running server is what it holds (chat turns in worker threads leave tens of MB
    behind). True where glibc released some."""
    libc = _libc()
    if libc is None:
        return False
    started = time.perf_counter()
    released = bool(libc.malloc_trim(0))
    log.debug("malloc_trim: %s in %.1f ms", released, 1000 * (time.perf_counter() - started))
    return released


class Trimmer:
    """`release_freed_memory` in a background thread once `every_s` seconds have passed since the last time, so
    that no caller waits for it (a trim of a fragmented heap takes up to about 0.1 s); thread-safe."""

    def __init__(self, every_s: float = EVERY_S) -> None:
        self.every_s = every_s
        self._last = float("-inf")
        self._lock = threading.Lock()

    def maybe(self) -> threading.Thread | None:
        """The thread that trims, or None when the last trim was too recent."""
        now = time.monotonic()
        with self._lock:
            if now - self._last < self.every_s:
                return None
            self._last = now
        thread = threading.Thread(target=release_freed_memory, name="chatrec-trim", daemon=True)
        thread.start()
        return thread
