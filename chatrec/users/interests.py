"""Interest vectors as pure functions over numpy arrays, and the per-user state they live in.

A user has a short-term (session) vector that moves fast, a long-term vector that moves slowly, and negative
vectors; all unit length in the embedding space. Older interest fades with an exponential half-life.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


def normalise(vector: np.ndarray) -> np.ndarray:
    """Unit length; the zero vector stays zero."""
    norm = float(np.linalg.norm(vector))
    return (vector / norm).astype(np.float32) if norm > 0 else np.asarray(vector, dtype=np.float32)


def decay(elapsed_s: float, half_life_s: float) -> float:
    """The weight left to old interest after `elapsed_s` seconds: 1 now, 0.5 after one half-life."""
    return float(0.5 ** (max(elapsed_s, 0.0) / half_life_s))


def pull(current: np.ndarray, target: np.ndarray, rate: float, keep: float = 1.0) -> np.ndarray:
    """Move `current` toward `target` by `rate`, after fading `current` to `keep` of its weight."""
    if not np.any(current):
        return normalise(target)
    return normalise(keep * (1.0 - rate) * current + rate * target)


def push(current: np.ndarray, away: np.ndarray, rate: float) -> np.ndarray:
    """Rocchio's negative step: move `current` away from `away` (nothing to move when `current` is zero)."""
    if not np.any(current):
        return current
    moved = current - rate * float(current @ away) * away  # remove part of the shared direction only
    return normalise(moved) if np.any(moved) else current


def blend(short: np.ndarray, long: np.ndarray, long_weight: float) -> np.ndarray:
    """The query vector: mostly the session's interest, steadied by the long-term one."""
    if not np.any(short):
        return normalise(long)
    if not np.any(long):
        return normalise(short)
    return normalise((1.0 - long_weight) * short + long_weight * long)


def weighted_signal(vectors: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """One unit vector summarising several signals (message text, mentioned items) by weight."""
    if len(vectors) == 0:
        return np.zeros(0, np.float32)
    return normalise((np.asarray(weights, dtype=np.float32)[:, None] * vectors).sum(axis=0))


def recency_weights(n: int, decay_per_step: float) -> np.ndarray:
    """Weights for n things in time order, the newest 1, each older one `decay_per_step` times the next; sum 1."""
    w = decay_per_step ** np.arange(n, dtype=np.float64)[::-1]
    return (w / w.sum()).astype(np.float32) if n else np.zeros(0, np.float32)


def drift(short: np.ndarray, long: np.ndarray) -> float:
    """1 - cosine between session and long-term interest: near 0 when they agree, large when taste moves."""
    if not np.any(short) or not np.any(long):
        return 0.0
    return float(1.0 - short @ long)


@dataclass
class InterestState:
    """Everything the tracker knows of one user; saved by `profiles`, changed only by the tracker."""

    dim: int
    short: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))  # zeros of `dim` once made
    long: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    negatives: list[np.ndarray] = field(default_factory=list)
    short_t: float = 0.0
    long_t: float = 0.0
    terms: dict[str, float] = field(default_factory=dict)  # interest words -> weight
    liked: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    seen: list[str] = field(default_factory=list)  # mentioned by the user: they know these
    shown: list[str] = field(default_factory=list)  # already recommended
    avoid_genres: list[str] = field(default_factory=list)
    avoid_people: list[str] = field(default_factory=list)
    language: str = "en"
    kind: str | None = None  # the kind of item last asked for
    turns: int = 0
    # the conversation so far (this session): {"side": "seeker"|"recommender", "text": ..., "shown": [...], "t": ...}
    dialogue: list[dict[str, Any]] = field(default_factory=list)
    soft_avoid_genres: list[str] = field(default_factory=list)  # turned away from for now: ranked down, not out
    year_min: int | None = None  # constraints the conversation has stated
    year_max: int | None = None
    item_language: str | None = None
    family: bool = False
    facets: dict[str, dict[str, Any]] = field(default_factory=dict)  # facet name -> a `Bound` as a dict

    def __post_init__(self) -> None:
        if not self.short.size:
            self.short = np.zeros(self.dim, np.float32)
        if not self.long.size:
            self.long = np.zeros(self.dim, np.float32)

    @property
    def is_cold(self) -> bool:
        return not np.any(self.short) and not np.any(self.long)

    @property
    def constraints(self) -> list[str]:
        """What the conversation restricts, in words for the profile panel ("1990-1999", "language: zh", "family")."""
        out = []
        if self.year_min or self.year_max:
            out.append(f"{self.year_min or ''}–{self.year_max or ''}")
        if self.item_language:
            out.append(f"language: {self.item_language}")
        if self.family:
            out.append("family")
        for name, bound in self.facets.items():
            out.append(facet_words(name, bound))
        return out

    def negative_matrix(self) -> np.ndarray:
        return np.vstack(self.negatives) if self.negatives else np.zeros((0, self.dim), np.float32)


def reject(state: InterestState, vector: np.ndarray, rate: float, max_negatives: int) -> None:
    """A negative signal: remembered as a negative vector and pushed out of both interest vectors."""
    if not np.any(vector):
        return
    state.negatives = [*state.negatives, normalise(vector)][-max_negatives:]
    state.short = push(state.short, normalise(vector), rate)
    state.long = push(state.long, normalise(vector), rate / 2)


def add_terms(terms: dict[str, float], new: list[str], fade: float = 0.85, limit: int = 12) -> dict[str, float]:
    """Interest words with weights: old ones fade a little every message, repeated ones grow."""
    out = {t: w * fade for t, w in terms.items()}
    for term in new:
        out[term] = out.get(term, 0.0) + 1.0
    return dict(sorted(out.items(), key=lambda kv: -kv[1])[:limit])


def facet_words(name: str, bound: dict[str, Any]) -> str:
    """A facet bound in words for the panel: 'players: 2', 'minutes: at most 30', 'mechanics: dice'."""
    parts = []
    if bound.get("includes") is not None:
        parts.append(f"{bound['includes']:g}")
    if bound.get("min") is not None:
        parts.append(f"at least {bound['min']:g}")
    if bound.get("max") is not None:
        parts.append(f"at most {bound['max']:g}")
    if bound.get("any"):
        parts.append(" or ".join(bound["any"]))
    return f"{name}: {', '.join(parts)}"
