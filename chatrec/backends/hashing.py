"""`HashingEmbedder`: a deterministic, model-free embedder for logic tests (the `Embedder` port's double).

Each text becomes a bag of features (lower-cased words of two letters or more, with a light plural fold, and each
Chinese character and pair of characters) hashed into `dim` signed buckets and scaled to unit length. Texts that
share words come out close, so "space exploration" finds the items that say "space"; nothing else is learned.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from hashlib import blake2b

import numpy as np

WORD = re.compile(r"[a-z0-9]{2,}")
HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+")
STOP = frozenset(
    "the and for with of to in on an is it its by as at from that this are was be who his her their "
    "film movie book novel series show story also known keywords".split()
)  # say nothing of taste


def features(text: str) -> list[str]:
    """The hashed features of a text: its content words (a trailing 's' folded) and Chinese 1- and 2-grams."""
    lowered = text.lower()
    words = [
        w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith("ss") else w
        for w in WORD.findall(lowered)
        if w not in STOP
    ]
    han = [run[i : i + n] for run in HAN.findall(lowered) for n in (1, 2) for i in range(len(run) - n + 1)]
    return words + han


def bucket(feature: str, dim: int) -> tuple[int, float]:
    """The bucket and sign a feature hashes to (the sign keeps unrelated features from adding up)."""
    digest = int.from_bytes(blake2b(feature.encode("utf-8"), digest_size=8).digest(), "little")
    return digest % dim, 1.0 if (digest >> 63) & 1 else -1.0


class HashingEmbedder:
    """Feature hashing into `dim` dimensions; the same text always gives the same unit vector (zero if no feature)."""

    languages: frozenset[str] | None = None

    def __init__(self, dim: int = 512) -> None:
        self.dim = dim
        self.id = f"hashing-{dim}"

    def embed(self, texts: Sequence[str], items: bool = False) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), np.float32)
        for row, text in enumerate(texts):
            for feature in features(text):
                index, sign = bucket(feature, self.dim)
                out[row, index] += sign
        out = np.sign(out) * np.log1p(np.abs(out))  # a word said three times is not three times the topic
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms == 0, 1.0, norms)
