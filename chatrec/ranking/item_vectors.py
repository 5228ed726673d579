"""`ItemVectors`: the one way item vectors are read, through a bounded cache over the vector store (the tracker,
the ranker and its offline variants share one; a catalog up to the cache's size is read whole at start)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np

from chatrec.ports import VectorStore

CACHE_SIZE = 20_000  # vectors kept (about 70 MB at 896 dimensions); the least recently used go first
READ_BATCH = 5_000  # ids asked of the store at once


class ItemVectors:
    """Stored item vectors by id, cached; unknown ids are left out of the answer."""

    def __init__(self, store: VectorStore, size: int = CACHE_SIZE) -> None:
        self.store, self.size, self.dim = store, size, store.dim
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def preload(self, ids: Sequence[str]) -> None:
        """Read a whole catalog ahead when it fits in the cache (the first turns then wait for nothing)."""
        if len(ids) <= self.size:
            self(ids)

    def __call__(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        wanted = list(dict.fromkeys(ids))
        with self._lock:
            found = {i: self._cache[i] for i in wanted if i in self._cache}
            for i in found:
                self._cache.move_to_end(i)
        missing = [i for i in wanted if i not in found]
        for start in range(0, len(missing), READ_BATCH):
            found.update(self.store.vectors(missing[start : start + READ_BATCH]))
        if missing:
            with self._lock:
                self._cache.update((i, found[i]) for i in missing if i in found)
                while len(self._cache) > self.size:
                    self._cache.popitem(last=False)
        return {i: found[i] for i in wanted if i in found}

    def matrix(self, ids: Sequence[str]) -> np.ndarray:
        """The vectors of `ids` as rows, in order (a zero row for an id the store does not have)."""
        if not ids:
            return np.zeros((0, self.dim), np.float32)
        found = self(ids)
        zero = np.zeros(self.dim, np.float32)
        return np.vstack([found.get(i, zero) for i in ids])

    def clear(self) -> None:
        with self._lock:
            self._cache.clear()
