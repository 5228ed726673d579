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

        def embed(self, texts, items=False):  # type: ignore[no-untyped-def]
            self.read += texts
            return super().embed(texts, items)

    english, every = EnglishOnly(), HashingEmbedder(32)
    texts = ["A quiet space film", "一部关于太空的安静电影", "Board games for four"]
    got = ConcatEmbedder([english, every]).embed(texts)
    assert english.read == [texts[0], texts[2]]  # never the Chinese one
    zeroed = HashingEmbedder(64).embed(texts) * np.array([[1.0], [0.0], [1.0]], np.float32)
    assert np.allclose(got, normalise_rows(np.hstack([zeroed, every.embed(texts)])))


def test_bf16_arithmetic_keeps_the_fp32_vectors() -> None:
    """CHATREC_PRECISION=bf16 (auto where the CPU has it natively): MiniLM's vectors stay within a cosine of fp32's,
    so a store embedded one way serves queries embedded the other."""
    fp32 = load_embedder("minilm", threads=1, precision="fp32")
    bf16 = load_embedder("minilm", threads=1, precision="bf16")
    exact, fast = fp32.embed(TEXTS), bf16.embed(TEXTS)
    assert not np.array_equal(exact, fast), "bf16 was asked for but the arithmetic is still fp32"
    assert float(np.min(np.sum(exact * fast, axis=1))) > 0.999
    assert np.allclose(np.linalg.norm(fast, axis=1), 1.0, atol=1e-4)


def test_an_unknown_precision_is_refused() -> None:
    from chatrec.config import Settings
    from chatrec.errors import ConfigError

    with pytest.raises(ConfigError, match="precision"):
        Settings(precision="fp8")


def test_a_batch_split_across_processes_gives_the_vectors_of_one_process() -> None:
    """`chatrec ingest` on several cores (backends/parallel.py): same vectors, whichever process computed them."""
    from chatrec.backends.parallel import ParallelEmbedder

    local = load_embedder("both", threads=1)
    texts = [f"{text} ({n})" for n in range(12) for text in TEXTS]  # 48: English and Chinese, split in two
    parallel = ParallelEmbedder(local, "both", processes=2)
    try:
        assert parallel.embed(TEXTS).shape == (4, local.dim) and not parallel.started, "a small batch stays here"
        vectors = parallel.embed(texts)
        assert parallel.started, "the second process took no part"
    finally:
        parallel.close()
    assert (parallel.id, parallel.dim) == (local.id, local.dim)
    assert np.allclose(vectors, local.embed(texts), atol=1e-5)


def test_an_item_is_read_to_item_tokens_and_a_query_whole() -> None:
    """MiniLM reads an item's text (ingest) up to ITEM_TOKENS word pieces and a query up to MAX_TOKENS: a long text
    differs in its tail only as a query; a short one is the same vector either way."""
    from chatrec.backends.embedders import ITEM_TOKENS, MAX_TOKENS

    assert ITEM_TOKENS < MAX_TOKENS
    minilm = load_embedder("minilm", threads=1)
    head = " ".join(["a quiet space film about a lonely astronaut"] * 12)  # well past ITEM_TOKENS word pieces
    tail = " The crew cooks pasta and bakes bread for a family dinner every night."
    as_items = minilm.embed([head, head + tail], items=True)
    as_queries = minilm.embed([head, head + tail])
    assert np.allclose(as_items[0], as_items[1], atol=1e-5), "an item's tail past ITEM_TOKENS was read"
    assert not np.allclose(as_queries[0], as_queries[1], atol=1e-3), "a query's tail was not read"
    short = minilm.embed(TEXTS[:2], items=True)
    assert np.allclose(short, minilm.embed(TEXTS[:2]), atol=1e-5)
