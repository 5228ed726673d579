"""Two pieces of scoring maths as pure functions: the negative penalty term, and MMR diversity."""

from __future__ import annotations

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
