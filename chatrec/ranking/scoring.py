"""Scoring maths as pure functions: the negative penalty term, MMR diversity, and the cap on items per creator."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

NEGATIVE_FLOOR = 0.35  # below this cosine an item is merely related to a rejected one, not like it


def negative_penalty(negatives: np.ndarray, vectors: np.ndarray, floor: float = NEGATIVE_FLOOR) -> np.ndarray:
    """How close each item is to its nearest negative vector, 0 below `floor`, rising to 1 for a twin."""
    if len(negatives) == 0:
        return np.zeros(len(vectors), np.float32)
    closest = (vectors @ negatives.T).max(axis=1)
    return np.asarray(np.clip((closest - floor) / (1.0 - floor), 0.0, None), dtype=np.float32)


def mmr(scores: np.ndarray, vectors: np.ndarray, k: int, lam: float) -> list[int]:
    """Maximal marginal relevance: greedily pick high scores that are unlike what is already picked."""
    k = min(k, len(scores))
    if k == 0:
        return []
    chosen = [int(np.argmax(scores))]
    closest = vectors @ vectors[chosen[0]]
    available = np.ones(len(scores), bool)
    available[chosen[0]] = False
    while len(chosen) < k:
        value = np.where(available, lam * scores - (1.0 - lam) * closest, -np.inf)
        best = int(np.argmax(value))
        chosen.append(best)
        available[best] = False
        closest = np.maximum(closest, vectors @ vectors[best])
    return chosen


def cap_per_group(order: Sequence[int], groups: Sequence[Sequence[str]], k: int, most: int) -> list[int]:
    """The first `k` of `order` taking at most `most` items of any one group (a creator), in order; when the cap
    leaves fewer than `k`, the skipped ones fill up the rest, best first."""
    taken: list[int] = []
    skipped: list[int] = []
    counts: dict[str, int] = {}
    for i in order:
        if len(taken) == k:
            break
        names = set(groups[i])
        if any(counts.get(n, 0) >= most for n in names):
            skipped.append(i)
            continue
        taken.append(i)
        for n in names:
            counts[n] = counts.get(n, 0) + 1
    return taken + skipped[: k - len(taken)]
