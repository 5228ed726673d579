"""The `Embedder` contract (chatrec/ports.py), run on every implementation: the hashing double and the packaged
models (MiniLM, the multilingual USE, and the two side by side, the default)."""

from __future__ import annotations

import numpy as np
import pytest

from chatrec.backends.embedders import load_embedder
from chatrec.backends.hashing import HashingEmbedder
from chatrec.ports import Embedder

IMPLEMENTATIONS = ["hashing", "minilm", "use", "both"]
TEXTS = [
    "space travel to a distant planet",
    "a space travel adventure on a planet",
    "cooking recipes for a family dinner",
    "太空旅行去遥远的星球",
]


@pytest.fixture(params=IMPLEMENTATIONS, scope="module")
def embedder(request: pytest.FixtureRequest) -> Embedder:
    return HashingEmbedder() if request.param == "hashing" else load_embedder(request.param, threads=1)


def test_rows_are_unit_float32_of_its_dimension_and_repeatable(embedder: Embedder) -> None:
    vectors = embedder.embed(TEXTS)
    assert vectors.shape == (len(TEXTS), embedder.dim) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert np.allclose(embedder.embed(TEXTS[:1])[0], vectors[0], atol=1e-5), (
        "a text's vector does not depend on its batch"
    )
    assert embedder.embed([]).shape == (0, embedder.dim)
    assert isinstance(embedder.id, str) and embedder.id
    assert embedder.languages is None or (isinstance(embedder.languages, frozenset) and embedder.languages)


def test_texts_that_say_the_same_are_closer_than_unrelated_ones(embedder: Embedder) -> None:
    space, more_space, cooking, _ = embedder.embed(TEXTS)
    assert float(space @ more_space) > float(space @ cooking) + 0.1


def test_a_part_that_cannot_read_a_language_is_not_run_on_it_and_adds_nothing() -> None:
    """ConcatEmbedder: MiniLM reads no Chinese, so ingest does not spend time on it (issue 25); the vectors are
    what they were when the part ran and was zeroed."""
    from chatrec.backends.embedders import ConcatEmbedder, normalise_rows

    class EnglishOnly(HashingEmbedder):
        languages = frozenset({"en"})

        def __init__(self) -> None:
            super().__init__(64)
            self.read: list[str] = []

        def embed(self, texts):  # type: ignore[no-untyped-def]
            self.read += texts
            return super().embed(texts)

    english, every = EnglishOnly(), HashingEmbedder(32)
    texts = ["A quiet space film", "一部关于太空的安静电影", "Board games for four"]
    got = ConcatEmbedder([english, every]).embed(texts)
    assert english.read == [texts[0], texts[2]]  # never the Chinese one
    zeroed = HashingEmbedder(64).embed(texts) * np.array([[1.0], [0.0], [1.0]], np.float32)
    assert np.allclose(got, normalise_rows(np.hstack([zeroed, every.embed(texts)])))
