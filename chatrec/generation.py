"""The `Generator` protocol and its two backends: chat template in, streamed text out, bounded.

`LlamaCppGenerator` serves a GGUF file as it is through llama.cpp (the CPU default: no fp32 copy, about three times
the tokens per second of transformers here); `TransformersGenerator` loads a model folder with accelerate's
`device_map="auto"` (the GPU default, and an option on the CPU). Every reply is bounded twice: a token cap and a
wall-clock budget. The caller may also stop a stream early (the writer does, on the first sentence that fails a
check). One generation runs at a time per model, and callers take turns in the order they came (`FairLock`); one
that cannot start within `wait_s` gets `GeneratorBusy` and answers from the template at once.
"""

from __future__ import annotations

import atexit
import collections
import itertools
import logging
import os
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Iterator, Sequence
from typing import Any, Protocol

from .errors import ChatrecError, GeneratorError

log = logging.getLogger(__name__)
Message = dict[str, str]
AUTO_THREADS = 0   # generator_threads 0 ("auto"): llama.cpp takes 1 or AUTO_MOST threads per prompt, by load
AUTO_MOST = 2      # measured on 2 cores only (docs/replies.md, "Threads")


class GeneratorBusy(ChatrecError):
    """The model is serving someone else and did not free up in time."""


@dataclass(frozen=True)
class Limits:
    """How much one reply may cost."""

    max_new_tokens: int = 80
    budget_s: float = 8.0
    wait_s: float = 2.0


class FairLock:
    """A lock taken in the order it was asked for, with a timeout: no waiting user is overtaken by a later one."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._queue: collections.deque[object] = collections.deque()
        self._held = False

    def acquire(self, timeout: float) -> bool:
        ticket = object()
        deadline = time.monotonic() + timeout
        with self._cond:
            self._queue.append(ticket)
            while self._held or self._queue[0] is not ticket:
                left = deadline - time.monotonic()
                if left <= 0 or not self._cond.wait(left):
                    if self._held or self._queue[0] is not ticket:
                        self._queue.remove(ticket)
                        self._cond.notify_all()
                        return False
            self._queue.popleft()
            self._held = True
            return True

    def release(self) -> None:
        with self._cond:
            self._held = False
            self._cond.notify_all()


class Generator(Protocol):
    """Anything that turns chat messages into streamed text."""

    id: str
    languages: frozenset[str]

    def stream(self, messages: list[Message], limits: Limits, stop: threading.Event | None = None,
               prefix: str = "", avoid: Sequence[str] = ()) -> Iterator[str]:
        """Yield text pieces as they are produced, starting with `prefix` (the reply's first words, given: the
        model continues them); never write the words in `avoid`; stop at the limits or when `stop` is set."""
        ...


class TransformersGenerator:
    """A causal LM from a local folder: `device_map="auto"` (accelerate) on a GPU, fp32 on the CPU."""

    def __init__(self, folder: Path, model_id: str, languages: frozenset[str], threads: int = 2,
                 batched: bool | None = None) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.id = model_id
        self.languages = languages
        self.threads = threads or 1   # "auto" is one thread here: torch's threads are set once per thread
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
        self._lock = FairLock()
        self._prefixes: dict[str, tuple[Any, Any]] = {}   # system prompt -> (its token ids, its KV cache)
        self.batched: Any = None   # on a GPU: concurrent users decoded together (chatrec/batching.py)
        if cuda if batched is None else batched:
            from .batching import BatchedStreams

            self.batched = BatchedStreams(self.model, self.tokenizer, Limits().max_new_tokens)
            atexit.register(self.batched.close)

    @property
    def device(self) -> str:
        return str(self.model.device)

    def warm(self, messages: list[Message]) -> None:
        """Read a system prompt ahead of the first user (its KV cache is then reused by every reply)."""
        if self._lock.acquire(timeout=600):
            try:
                self._prefix_cache(messages, self._encode(messages)["input_ids"])
            finally:
                self._lock.release()

    def prompt_tokens(self, messages: list[Message]) -> int:
        return int(self._encode(messages)["input_ids"].shape[1])

    def stream(self, messages: list[Message], limits: Limits, stop: threading.Event | None = None,
               prefix: str = "", avoid: Sequence[str] = ()) -> Iterator[str]:
        from transformers import StoppingCriteria, StoppingCriteriaList, TextIteratorStreamer

        stop = stop or threading.Event()
        if self.batched is not None:
            yield from self._stream_batched(messages, limits, stop, prefix)
            return

        class _Stop(StoppingCriteria):
            def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> bool:
                return stop.is_set()

        if not self._lock.acquire(timeout=limits.wait_s):
            raise GeneratorBusy(f"{self.id} is busy")
        try:
            inputs = self._encode(messages, prefix=prefix).to(self.model.device)
            cached = self._prefix_cache(messages, inputs["input_ids"])
            streamer = TextIteratorStreamer(self.tokenizer, skip_prompt=True, skip_special_tokens=True,
                                            timeout=limits.budget_s + 5)
            kwargs = dict(**inputs, streamer=streamer, max_new_tokens=limits.max_new_tokens, max_time=limits.budget_s,
                          do_sample=False, repetition_penalty=1.15, stopping_criteria=StoppingCriteriaList([_Stop()]),
                          pad_token_id=self.tokenizer.pad_token_id or self.tokenizer.eos_token_id)
            if cached is not None:
                kwargs["past_key_values"] = cached
            if avoid:
                kwargs["bad_words_ids"] = [self.tokenizer(form, add_special_tokens=False)["input_ids"]
                                           for form in word_forms(avoid)]
            worker = threading.Thread(target=self._generate, kwargs=kwargs, daemon=True, name="chatrec-generate")
            worker.start()
            try:
                if prefix:
                    yield prefix
                for piece in streamer:
                    if piece:
                        yield piece
            finally:
                stop.set()
                worker.join()
        finally:
            self._lock.release()

    def _stream_batched(self, messages: list[Message], limits: Limits, stop: threading.Event,
                        prefix: str) -> Iterator[str]:
        """The reply through the running batch: busy (before any text) when it is full or cannot start in time."""
        from .batching import new_text

        ids = self._encode(messages, prefix=prefix)["input_ids"][0].tolist()
        steps = self.batched.tokens(ids, limits.max_new_tokens, limits.wait_s, limits.budget_s, stop)
        first = next(steps, None)   # GeneratorBusy comes here, before the opening is given out
        sent = 0
        try:
            if prefix:
                yield prefix
            for tokens in itertools.chain([first] if first is not None else [], steps):
                piece = new_text(self.tokenizer.decode(tokens, skip_special_tokens=True), sent)
                if piece:
                    sent += len(piece)
                    yield piece
        finally:
            steps.close()   # a caller that stops early ends the request in the batch at once

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
            if len(self._prefixes) >= 4:   # one per language in practice; bounded all the same
                self._prefixes.pop(next(iter(self._prefixes)))
            self._prefixes[key] = (ids.cpu(), cache)
        ids, cache = self._prefixes[key]
        n = ids.shape[1]
        if input_ids.shape[1] <= n or not bool((input_ids[0, :n].cpu() == ids[0]).all()):
            return None
        return copy.deepcopy(cache)

    def _encode(self, messages: list[Message], generation_prompt: bool = True, prefix: str = "") -> Any:
        if not prefix:
            return self.tokenizer.apply_chat_template(messages, add_generation_prompt=generation_prompt,
                                                      return_tensors="pt", return_dict=True)
        text = self.tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False) + prefix
        return self.tokenizer(text, return_tensors="pt", add_special_tokens=False)

    def _generate(self, **kwargs: Any) -> None:
        self._torch.set_num_threads(self.threads)   # per thread: the embedder keeps its own setting
        try:
            with self._torch.inference_mode():
                self.model.generate(**kwargs)
        except Exception:   # the streamer would wait forever; end it and let the caller fall back
            log.exception("generation failed")
            kwargs["streamer"].end()


class LlamaCppGenerator:
    """A GGUF model served by llama.cpp on the CPU: read (memory-mapped) as it is, no fp32 copy.

    llama.cpp reuses the part of the context a new prompt shares with the last one. The fixed instructions of each
    language are read once (`warm`) and their state kept (KV cache only, a few MB), so when the language changes the
    state is put back instead of reading the instructions again.
    """

    def __init__(self, gguf: Path, model_id: str, languages: frozenset[str], threads: int = AUTO_THREADS,
                 context: int = 1024) -> None:
        from llama_cpp import Llama

        from .cpuload import CpuWatch

        self.id = model_id
        self.languages = languages
        self.threads = threads   # AUTO_THREADS (0): 1 or 2, chosen per prompt by how busy the other cores are
        self._watch = CpuWatch() if threads == AUTO_THREADS else None
        self._threads_now = threads or 1
        self.gguf, self.context = gguf, context
        self.llm = Llama(model_path=str(gguf), n_ctx=context, n_threads=self._threads_now,
                         n_threads_batch=self._threads_now, n_batch=128, verbose=False)
        atexit.register(self.llm.close)   # freed before interpreter teardown, which breaks llama-cpp-python's __del__
        self._lock = FairLock()
        self._format = _chat_formatter(self.llm)
        self._states: dict[str, tuple[Any, int, bytes]] = {}   # system prompt -> (token ids, shared length, state)
        self._bans: dict[tuple[str, ...], dict[int, float]] = {}   # avoided words -> their logit bias
        self.repeat_penalty = 1.0   # llama.cpp counts the prompt too: a penalty pushes the model off the listed facts

    @property
    def device(self) -> str:
        if self._watch is not None:
            return f"cpu (llama.cpp, 1 or {AUTO_MOST} threads as the other cores allow)"
        return f"cpu (llama.cpp, {self.threads} thread{'s' if self.threads > 1 else ''})"

    def _pick_threads(self) -> None:
        """Before each prompt: a second thread only while the other core is idle (chatrec/cpuload.py)."""
        if self._watch is None:
            return
        wanted = self._watch.threads(AUTO_MOST)
        if wanted != self._threads_now:
            self.llm._ctx.set_n_threads(wanted, wanted)
            self._threads_now = wanted

    def warm(self, messages: list[Message]) -> None:
        """Read a language's instructions ahead of the first user and keep the state after them, in memory and in
        a file beside the model, so that a restart reads the file (a few MB) instead of the instructions (seconds)."""
        if not messages or messages[0]["role"] != "system" or not self._lock.acquire(timeout=600):
            return
        try:
            if len(self._states) >= 4:   # one per language in practice; bounded all the same
                self._states.pop(next(iter(self._states)))
            kept = self._load_state(messages[0]["content"])
            if kept is not None:
                self._states[messages[0]["content"]] = kept
                return
            shared = []
            for probe in ("hello", "something else entirely"):   # what two prompts share: the instructions
                self._complete([messages[0], {"role": "user", "content": probe}], max_tokens=1)
                shared.append(self.llm._input_ids.copy())
            n = _common_prefix(shared[0], shared[1])
            self._states[messages[0]["content"]] = (shared[1], n, self._save())
            self._store_state(messages[0]["content"], *self._states[messages[0]["content"]])
        finally:
            self._lock.release()

    def _state_file(self, system: str) -> Path:
        """Where the state after `system` is kept: beside the model, named by everything it depends on."""
        import hashlib

        import llama_cpp

        key = hashlib.sha256("\0".join([self.gguf.name, str(self.gguf.stat().st_size), str(self.context),
                                         llama_cpp.__version__, system]).encode()).hexdigest()[:16]
        return self.gguf.with_name(f"{self.gguf.stem}.warm-{key}.npz")

    def _load_state(self, system: str) -> tuple[Any, int, bytes] | None:
        import numpy as np

        path = self._state_file(system)
        try:
            with np.load(path) as kept:
                return kept["ids"].astype(np.intc), int(kept["shared"]), kept["state"].tobytes()
        except (OSError, KeyError, ValueError):   # none yet, or damaged: read the instructions again
            return None

    def _store_state(self, system: str, ids: Any, shared: int, state: bytes) -> None:
        """Write the state file (atomically), keeping the 4 newest of this model's."""
        import numpy as np

        path = self._state_file(system)
        try:
            temporary = path.with_suffix(".tmp.npz")
            np.savez(temporary, ids=np.asarray(ids), shared=shared, state=np.frombuffer(state, dtype=np.uint8))
            os.replace(temporary, path)
            kept = sorted(path.parent.glob(f"{self.gguf.stem}.warm-*.npz"), key=lambda f: f.stat().st_mtime)
            for old in kept[:-4]:
                old.unlink(missing_ok=True)
        except OSError as exc:   # a read-only models folder: the state stays in memory only
            log.info("could not keep the generator's state in %s: %s", path.parent, exc)

    def stream(self, messages: list[Message], limits: Limits, stop: threading.Event | None = None,
               prefix: str = "", avoid: Sequence[str] = ()) -> Iterator[str]:
        stop = stop or threading.Event()
        if not self._lock.acquire(timeout=limits.wait_s):
            raise GeneratorBusy(f"{self.id} is busy")
        started = time.monotonic()
        try:
            self._restore(messages)
            chunks = self._complete(messages, max_tokens=limits.max_new_tokens, prefix=prefix,
                                    bias=self._banned(avoid))
            try:
                if prefix:
                    yield prefix
                for chunk in chunks:
                    piece = chunk["choices"][0]["text"] or ""
                    if piece:
                        yield piece
                    if stop.is_set() or time.monotonic() - started > limits.budget_s:
                        break
            finally:
                chunks.close()   # ends llama.cpp's loop at once when the caller stops early
        finally:
            self._lock.release()

    def _complete(self, messages: list[Message], max_tokens: int, prefix: str = "",
                  bias: dict[int, float] | None = None) -> Any:
        """Stream a completion of the chat prompt (the GGUF's own template) followed by `prefix`."""
        self._pick_threads()
        formatted = self._format(messages=messages)
        chunks = self.llm.create_completion(prompt=formatted.prompt + prefix, max_tokens=max_tokens, temperature=0.0,
                                            top_k=1, repeat_penalty=self.repeat_penalty, stream=True,
                                            stop=formatted.stop, logit_bias=bias or None)
        if max_tokens == 1:
            for _ in chunks:
                pass
        return chunks

    def _banned(self, avoid: Sequence[str]) -> dict[int, float]:
        """A logit bias that rules out each form of the avoided words that is one token (" series", " Series");
        a word of several tokens is left to the checks, since banning its first token could ban other words."""
        key = tuple(sorted(set(avoid)))
        if key not in self._bans:
            if len(self._bans) >= 64:   # a few kind sets in practice; bounded all the same
                self._bans.pop(next(iter(self._bans)))
            ids = (self.llm.tokenize(form.encode("utf-8"), add_bos=False, special=False) for form in word_forms(key))
            self._bans[key] = {i[0]: -100.0 for i in ids if len(i) == 1}
        return dict(self._bans[key])

    def _save(self) -> bytes:
        import ctypes

        import llama_cpp

        ctx = self.llm._ctx.ctx
        size = llama_cpp.llama_state_get_size(ctx)
        buffer = (ctypes.c_uint8 * size)()
        written = llama_cpp.llama_state_get_data(ctx, buffer, size)
        return bytes(buffer[:written])

    def _restore(self, messages: list[Message]) -> None:
        """Put back the kept state of these instructions when the context holds another language's."""
        import ctypes

        import llama_cpp

        kept = self._states.get(messages[0]["content"]) if messages and messages[0]["role"] == "system" else None
        if kept is None:
            return
        ids, shared, state = kept
        if _common_prefix(self.llm._input_ids, ids) >= shared:
            return
        buffer = (ctypes.c_uint8 * len(state)).from_buffer_copy(state)
        llama_cpp.llama_state_set_data(self.llm._ctx.ctx, buffer, len(state))
        self.llm.input_ids[: len(ids)] = ids
        self.llm.n_tokens = len(ids)
        self.llm._requires_eval = True


def word_forms(words: Sequence[str]) -> list[str]:
    """The spellings a model writes a word in after a space: " series", " Series" (a Chinese word as it is). The
    bare "book" is left alone: it ends "Facebook" and "Notebook"."""
    forms: dict[str, None] = {}
    for word in words:
        if re.search(r"[\u4e00-\u9fff]", word):
            forms[word] = None
        else:
            forms[" " + word] = forms[" " + word.capitalize()] = None
    return list(forms)


def _chat_formatter(llm: Any) -> Any:
    """The chat template the GGUF file carries, as llama-cpp-python reads it."""
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    template = llm.metadata.get("tokenizer.chat_template")
    if not template:
        raise GeneratorError("the GGUF file has no chat template; chatrec needs an instruction-tuned model")
    token = lambda i: llm._model.token_get_text(i) if i != -1 else ""  # noqa: E731
    return Jinja2ChatFormatter(template=template, eos_token=token(llm.token_eos()), bos_token=token(llm.token_bos()))


def _common_prefix(a: Any, b: Any) -> int:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


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


def load_generator(spec: str, cache: Path, threads: int = AUTO_THREADS, backend: str = "auto") -> Generator | None:
    """The generator for a setting ("none" gives None), loaded once per process (at most a few kept)."""
    if spec == "none":
        return None
    from .weights import gguf_file, model_folder

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
                    raise GeneratorError("the llama.cpp backend needs llama-cpp-python: see README, 'Quick start'") \
                        from None
                path, languages = gguf_file(spec, cache)
                _CACHE[key] = LlamaCppGenerator(path, spec, languages, threads)
            else:
                folder, languages = model_folder(spec, cache)
                _CACHE[key] = TransformersGenerator(folder, spec, languages, threads)
            log.info("generator %s ready on %s in %.1f s", spec, _CACHE[key].device, time.perf_counter() - started)
        return _CACHE[key]
