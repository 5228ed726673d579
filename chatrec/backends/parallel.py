"""Embedding a large catalog on several cores: one process per core, each with its own copy of the models on one
thread, every batch split between them.

Two torch threads in one process reach ~1.65x one thread on small matrices, and the Python around the models
(USE's tokenizer, language detection) holds one interpreter lock; separate processes scale with the cores. The
vectors are the ones `load_embedder` computes in this process: a text's vector does not depend on its batch.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor

import numpy as np

from chatrec.ports import Embedder

_WORKER: Embedder | None = None
MIN_SPLIT = 32  # smaller batches are embedded here: shipping them costs more than it saves


def _load(name: str, precision: str) -> None:
    global _WORKER
    from chatrec.backends.embedders import load_embedder

    _WORKER = load_embedder(name, 1, precision)


def _describe() -> tuple[str, int, frozenset[str] | None]:
    assert _WORKER is not None
    return _WORKER.id, _WORKER.dim, _WORKER.languages


def _embed(texts: list[str], items: bool) -> np.ndarray:
    assert _WORKER is not None
    return _WORKER.embed(texts, items)


def split(count: int, parts: int) -> list[tuple[int, int]]:
    """[start, end) ranges cutting `count` rows into at most `parts` nearly equal, non-empty runs, in order."""
    parts = max(1, min(parts, count))
    size, extra = divmod(count, parts)
    bounds, start = [], 0
    for part in range(parts):
        end = start + size + (1 if part < extra else 0)
        bounds.append((start, end))
        start = end
    return bounds


class ParallelEmbedder:
    """`local` (an embedder on one thread in this process) plus `processes - 1` worker processes with the same
    model: every batch is split between them. The workers start at the first large batch, so a catalog with nothing
    to embed costs nothing; they are spawned (torch does not survive a fork)."""

    def __init__(self, local: Embedder, name: str, processes: int, precision: str = "auto") -> None:
        self.id, self.dim, self.languages = local.id, local.dim, local.languages
        self.processes = max(1, processes)
        self._local = local
        self._name, self._precision = name, precision
        self._pool: ProcessPoolExecutor | None = None

    def embed(self, texts: Sequence[str], items: bool = False) -> np.ndarray:
        if self.processes == 1 or len(texts) < MIN_SPLIT:
            return self._local.embed(texts, items)
        pool = self._start()
        texts = list(texts)
        (first, last), *rest = split(len(texts), self.processes)
        futures = [pool.submit(_embed, texts[a:b], items) for a, b in rest]
        mine = self._local.embed(texts[first:last], items)
        return np.vstack([mine, *(future.result() for future in futures)])

    @property
    def started(self) -> bool:
        """Whether the worker processes are running (they start at the first large batch)."""
        return self._pool is not None

    def _start(self) -> ProcessPoolExecutor:
        if self._pool is None:
            context = multiprocessing.get_context("spawn")
            workers = self.processes - 1
            pool = ProcessPoolExecutor(
                workers, mp_context=context, initializer=_load, initargs=(self._name, self._precision)
            )
            try:  # each worker loads the models now, so a broken install fails here, once, with its own error
                for future in [pool.submit(_describe) for _ in range(workers)]:
                    if future.result()[:2] != (self.id, self.dim):
                        raise RuntimeError("a worker process loaded a different embedder")
            except BaseException:
                pool.shutdown(wait=False, cancel_futures=True)
                raise
            self._pool = pool
        return self._pool

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
