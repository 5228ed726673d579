"""Scoring terms and diversity as pure functions: `q·v − β·penalty(n, v) + δ·popularity`, then MMR."""

from __future__ import annotations

import numpy as np

NEGATIVE_FLOOR = 0.35  # below this cosine an item is merely related to a rejected one, not like it


def relevance(query: np.ndarray, vectors: np.ndarray) -> np.ndarray:
    """Dot product of every item vector with the query vector."""
    return vectors @ query


def negative_penalty(negatives: np.ndarray, vectors: np.ndarray, floor: float = NEGATIVE_FLOOR) -> np.ndarray:
    """How close each item is to its nearest negative vector, 0 below `floor`, rising to 1 for a twin."""
    if len(negatives) == 0:
        return np.zeros(len(vectors), np.float32)
    closest = (vectors @ negatives.T).max(axis=1)
    return np.clip((closest - floor) / (1.0 - floor), 0.0, None)


def popularity_prior(popularity: np.ndarray) -> np.ndarray:
    """Log-scaled popularity in [0, 1]; missing values (NaN) count as 0."""
    pop = np.nan_to_num(np.asarray(popularity, dtype=np.float64), nan=0.0)
    top = np.log1p(pop.max()) if len(pop) else 0.0
    return (np.log1p(pop) / top).astype(np.float32) if top > 0 else np.zeros(len(pop), np.float32)


def combine(rel: np.ndarray, penalty: np.ndarray, prior: np.ndarray, beta: float, delta: float) -> np.ndarray:
    """The final score of each candidate."""
    return rel - beta * penalty + delta * prior


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
