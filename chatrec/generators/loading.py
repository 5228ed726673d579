"""Loading a generator by its setting: the packaged model, a folder or a GGUF file, on the backend the machine suits;
every reply is bounded twice, by a token cap and a wall-clock budget (`Limits`), and callers take turns in the
order they came (`FairLock`); one that cannot start within `wait_s` gets `GeneratorBusy` and the template answers."""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from chatrec.config import Settings
from chatrec.errors import GeneratorError
from chatrec.generators.base import AUTO_THREADS
from chatrec.ports import Generator
from chatrec.reading.understanding import Understander

if TYPE_CHECKING:
    from chatrec.generators.reader import ModelReader

log = logging.getLogger(__name__)


def backend_for(setting: str) -> str:
    """The backend an 'auto' setting means here: transformers on a GPU, llama.cpp on the CPU when it is installed."""
    if setting != "auto":
        return setting
    import importlib.util

    if os.environ.get("CUDA_VISIBLE_DEVICES", None) != "" and _has_cuda():
        return "transformers"
    return "llama.cpp" if importlib.util.find_spec("llama_cpp") is not None else "transformers"


def _has_cuda() -> bool:
    import torch

    return bool(torch.cuda.is_available())


_CACHE: dict[tuple[str, str, int, str], Generator] = {}
_CACHE_LOCK = threading.Lock()


def load_generator(
    spec: str,
    cache: Path,
    threads: int = AUTO_THREADS,
    backend: str = "auto",
    url: str | None = None,
    slots: int = 1,
) -> Generator | None:
    """The generator for a setting ("none" gives None), loaded once per process (at most a few kept); with `url`,
    the same model served by a generator server (only its chat template is read here), asked for `slots` replies
    at once."""
    if spec == "none":
        return None
    from chatrec.generators.weights import gguf_file, model_folder

    if url:
        from chatrec.generators.remote import RemoteGenerator

        path, languages = gguf_file(spec, cache)
        return RemoteGenerator(url, spec, languages, path, slots)

    backend = backend_for(backend)
    with _CACHE_LOCK:
        key = (spec, str(cache.resolve()), threads, backend)
        if key not in _CACHE:
            started = time.perf_counter()
            if len(_CACHE) >= 3:
                _CACHE.pop(next(iter(_CACHE)))
            if backend == "llama.cpp":
                try:
                    import llama_cpp  # noqa: F401
                except ImportError:
                    raise GeneratorError(
                        "the llama.cpp backend needs llama-cpp-python: see README, 'Quick start'"
                    ) from None
                path, languages = gguf_file(spec, cache)
                from chatrec.generators.llama import LlamaCppGenerator

                _CACHE[key] = LlamaCppGenerator(path, spec, languages, threads)
            else:
                folder, languages = model_folder(spec, cache)
                from chatrec.generators.hf import TransformersGenerator

                _CACHE[key] = TransformersGenerator(folder, spec, languages, threads)
            log.info("generator %s ready on %s in %.1f s", spec, _CACHE[key].device, time.perf_counter() - started)
        return _CACHE[key]


def load_reader(understander: Understander, settings: Settings) -> ModelReader:
    """The model reader (`reader` "model" or "both") over the packaged generator's GGUF, on its own context."""
    from chatrec.generators.reader import ModelReader
    from chatrec.generators.weights import gguf_file

    spec = settings.generator if settings.generator != "none" else "qwen2.5-0.5b"
    path, _ = gguf_file(spec, settings.model_cache)
    return ModelReader(understander, path, settings.reader, threads=max(settings.threads, 1))
