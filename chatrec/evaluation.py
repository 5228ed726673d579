"""Offline ranking metrics as pure functions over ranked id lists and gold id sets."""

from __future__ import annotations

from typing import Sequence


def recall_at_k(ranked: Sequence[str], gold: Sequence[str], k: int) -> float:
    """Share of the gold items found in the top k (0 when there is no gold)."""
    if not gold:
        return 0.0
    top = set(ranked[:k])
    return sum(g in top for g in gold) / len(gold)


def hits_at_k(ranked: Sequence[str], gold: Sequence[str], k: int) -> int:
    """How many gold items are in the top k (summed over turns, divided by pairs, gives pair-level recall)."""
    top = set(ranked[:k])
    return sum(g in top for g in gold)


def reciprocal_rank(ranked: Sequence[str], gold_item: str) -> float:
    """1 / (position of the item, from 1), or 0 when it is not ranked."""
    try:
        return 1.0 / (list(ranked).index(gold_item) + 1)
    except ValueError:
        return 0.0
