"""The `Generator` protocol and its transformers implementation: chat template in, streamed text out, bounded.

Every reply is bounded twice: a token cap and a wall-clock budget. The caller may also stop a stream early (the
grounding guard does, on the first unsupported title). One generation runs at a time per model; a caller that
cannot get the model within `wait_s` gets `GeneratorBusy` and answers from the template instead.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Protocol

from .errors import ChatrecError

log = logging.getLogger(__name__)
Message = dict[str, str]


class GeneratorBusy(ChatrecError):
    """The model is serving someone else and did not free up in time."""


@dataclass(frozen=True)
class Limits:
    """How much one reply may cost."""

    max_new_tokens: int = 120
    budget_s: float = 30.0
    wait_s: float = 10.0


class Generator(Protocol):
    """Anything that turns chat messages into streamed text."""

    id: str
    languages: frozenset[str]

    def stream(self, messages: list[Message], limits: Limits, stop: threading.Event | None = None) -> Iterator[str]:
        """Yield text pieces as they are produced; stop at the limits or when `stop` is set."""
        ...


class TransformersGenerator:
    """A causal LM from a local folder: `device_map="auto"` (accelerate) on a GPU, fp32 on the CPU."""

    def __init__(self, folder: Path, model_id: str, languages: frozenset[str], threads: int = 2) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.id = model_id
        self.languages = languages
        self.threads = threads
        self._torch = torch
        cuda = torch.cuda.is_available()
        self.tokenizer = AutoTokenizer.from_pretrained(str(folder))
        self.model = AutoModelForCausalLM.from_pretrained(
            str(folder),
            dtype=torch.float16 if cuda else torch.float32,
            device_map="auto" if cuda else None,
        )
        self.model.eval()
        if self.tokenizer.chat_template is None:
            raise ChatrecError(f"{folder} has no chat template; chatrec needs an instruction-tuned model")
        self._lock = threading.Lock()
        self._prefixes: dict[str, tuple[Any, Any]] = {}   # system prompt -> (its token ids, its KV cache)

    @property
    def device(self) -> str:
        return str(self.model.device)

    def warm(self, messages: list[Message]) -> None:
        """Read a system prompt ahead of the first user (its KV cache is then reused by every reply)."""
        with self._lock:
            self._prefix_cache(messages, self._encode(messages)["input_ids"])

    def prompt_tokens(self, messages: list[Message]) -> int:
        return int(self._encode(messages)["input_ids"].shape[1])

    def stream(self, messages: list[Message], limits: Limits, stop: threading.Event | None = None) -> Iterator[str]:
        from transformers import StoppingCriteria, StoppingCriteriaList, TextIteratorStreamer

        stop = stop or threading.Event()

        class _Stop(StoppingCriteria):
            def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> bool:
                return stop.is_set()

        if not self._lock.acquire(timeout=limits.wait_s):
            raise GeneratorBusy(f"{self.id} is busy")
        try:
            inputs = self._encode(messages).to(self.model.device)
            cached = self._prefix_cache(messages, inputs["input_ids"])
            streamer = TextIteratorStreamer(self.tokenizer, skip_prompt=True, skip_special_tokens=True,
                                            timeout=limits.budget_s + 5)
            kwargs = dict(**inputs, streamer=streamer, max_new_tokens=limits.max_new_tokens, max_time=limits.budget_s,
                          do_sample=False, repetition_penalty=1.15, stopping_criteria=StoppingCriteriaList([_Stop()]),
                          pad_token_id=self.tokenizer.pad_token_id or self.tokenizer.eos_token_id)
            if cached is not None:
                kwargs["past_key_values"] = cached
            worker = threading.Thread(target=self._generate, kwargs=kwargs, daemon=True, name="chatrec-generate")
            worker.start()
            try:
                for piece in streamer:
                    if piece:
                        yield piece
            finally:
                stop.set()
                worker.join()
        finally:
            self._lock.release()

    def _prefix_cache(self, messages: list[Message], input_ids: Any) -> Any:
        """A copy of the KV cache of the system prompt, when the input starts with it: the fixed instructions are
        read once per process instead of once per reply (about a second less to the first token on a CPU)."""
        import copy

        if not messages or messages[0]["role"] != "system":
            return None
        key = messages[0]["content"]
        if key not in self._prefixes:
            ids = self._encode(messages[:1], generation_prompt=False)["input_ids"].to(self.model.device)
            with self._torch.inference_mode():
                cache = self.model(input_ids=ids, use_cache=True).past_key_values
            self._prefixes[key] = (ids.cpu(), cache)
        ids, cache = self._prefixes[key]
        n = ids.shape[1]
        if input_ids.shape[1] <= n or not bool((input_ids[0, :n].cpu() == ids[0]).all()):
            return None
        return copy.deepcopy(cache)

    def _encode(self, messages: list[Message], generation_prompt: bool = True) -> Any:
        return self.tokenizer.apply_chat_template(messages, add_generation_prompt=generation_prompt,
                                                  return_tensors="pt", return_dict=True)

    def _generate(self, **kwargs: Any) -> None:
        self._torch.set_num_threads(self.threads)   # per thread: the embedder keeps its own setting
        try:
            with self._torch.inference_mode():
                self.model.generate(**kwargs)
        except Exception:   # the streamer would wait forever; end it and let the caller fall back
            log.exception("generation failed")
            kwargs["streamer"].end()


_CACHE: dict[tuple[str, str, int], TransformersGenerator] = {}
_CACHE_LOCK = threading.Lock()


def load_generator(spec: str, cache: Path, threads: int = 2) -> TransformersGenerator | None:
    """The generator for a setting ("none" gives None), loaded once per process."""
    if spec == "none":
        return None
    from .weights import model_folder

    with _CACHE_LOCK:
        key = (spec, str(cache.resolve()), threads)
        if key not in _CACHE:
            started = time.perf_counter()
            folder, languages = model_folder(spec, cache)
            _CACHE[key] = TransformersGenerator(folder, spec, languages, threads)
            log.info("generator %s ready on %s in %.1f s", spec, _CACHE[key].device, time.perf_counter() - started)
        return _CACHE[key]
