"""Offline ranking metrics as pure functions over ranked id lists and gold id sets."""

from __future__ import annotations

import math
from collections.abc import Sequence


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


def ndcg_at_k(ranked: Sequence[str], gold: Sequence[str], k: int) -> float:
    """Normalised discounted cumulative gain with binary relevance: sum of 1/log2(rank+1) over gold items in the top
    k, divided by the best possible sum for that many gold items (0 when there is no gold)."""
    wanted = set(gold)
    if not wanted:
        return 0.0
    gain = sum(1.0 / math.log2(i + 2) for i, item in enumerate(ranked[:k]) if item in wanted)
    best = sum(1.0 / math.log2(i + 2) for i in range(min(len(wanted), k)))
    return gain / best


def coverage_at_k(rankings: Sequence[Sequence[str]], catalog_size: int, k: int) -> float:
    """Share of the catalog that appears in at least one top-k list (0 for an empty catalog)."""
    if catalog_size <= 0:
        return 0.0
    return len({item for ranked in rankings for item in ranked[:k]}) / catalog_size
