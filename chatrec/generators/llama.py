"""`LlamaCppGenerator`: a GGUF model served by llama.cpp on the CPU (the CPU default: no fp32 copy, about three times
the tokens per second of transformers here), with the state after each language's instructions kept."""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from chatrec.errors import GeneratorBusy, GeneratorError
from chatrec.generators.base import AUTO_MOST, AUTO_THREADS, FairLock, word_forms
from chatrec.ports import Limits, Message, Stream

log = logging.getLogger(__name__)


class LlamaCppGenerator:
    """A GGUF model served by llama.cpp on the CPU: read (memory-mapped) as it is, no fp32 copy.

    llama.cpp reuses the part of the context a new prompt shares with the last one. The fixed instructions of each
    language are read once (`warm`) and their state kept (KV cache only, a few MB), so when the language changes the
    state is put back instead of reading the instructions again.
    """

    def __init__(
        self, gguf: Path, model_id: str, languages: frozenset[str], threads: int = AUTO_THREADS, context: int = 1024
    ) -> None:
        from llama_cpp import Llama

        from chatrec.generators.cpuload import CpuWatch

        self.id = model_id
        self.languages = languages
        self.threads = threads  # AUTO_THREADS (0): 1 or 2, chosen per prompt by how busy the other cores are
        self.watch = CpuWatch() if threads == AUTO_THREADS else None  # "auto": picks 1 or 2 threads by load
        self.threads_now = threads or 1  # the threads the next prompt runs on
        self.gguf, self.context = gguf, context
        self.llm = Llama(
            model_path=str(gguf),
            n_ctx=context,
            n_threads=self.threads_now,
            n_threads_batch=self.threads_now,
            n_batch=128,
            verbose=False,
        )
        atexit.register(self.llm.close)  # freed before interpreter teardown, which breaks llama-cpp-python's __del__
        self._lock = FairLock()
        self._format = chat_formatter(self.llm)
        self._states: dict[str, tuple[Any, int, bytes]] = {}  # system prompt -> (token ids, shared length, state)
        self._bans: dict[tuple[str, ...], dict[int, float]] = {}  # avoided words -> their logit bias
        self.repeat_penalty = 1.0  # llama.cpp counts the prompt too: a penalty pushes the model off the listed facts

    @property
    def device(self) -> str:
        if self.watch is not None:
            return f"cpu (llama.cpp, 1 or {AUTO_MOST} threads as the other cores allow)"
        return f"cpu (llama.cpp, {self.threads} thread{'s' if self.threads > 1 else ''})"

    def _pick_threads(self) -> None:
        """Before each prompt: a second thread only while the other core is idle (chatrec/generators/cpuload.py)."""
        if self.watch is None:
            return
        wanted = self.watch.threads(AUTO_MOST)
        if wanted != self.threads_now:
            import llama_cpp

            llama_cpp.llama_set_n_threads(self.llm.ctx, wanted, wanted)
            self.threads_now = wanted

    def warm(self, messages: list[Message]) -> None:
        """Read a language's instructions ahead of the first user and keep the state after them, in memory and in
        a file beside the model, so that a restart reads the file (a few MB) instead of the instructions (seconds)."""
        if not messages or messages[0]["role"] != "system" or not self._lock.acquire(timeout=600):
            return
        try:
            if len(self._states) >= 4:  # one per language in practice; bounded all the same
                self._states.pop(next(iter(self._states)))
            kept = self._load_state(messages[0]["content"])
            if kept is not None:
                self._states[messages[0]["content"]] = kept
                return
            shared = []
            for probe in ("hello", "something else entirely"):  # what two prompts share: the instructions
                self._complete([messages[0], {"role": "user", "content": probe}], max_tokens=1)
                shared.append(self.llm.input_ids[: self.llm.n_tokens].copy())
            n = _common_prefix(shared[0], shared[1])
            self._states[messages[0]["content"]] = (shared[1], n, self._save())
            self._store_state(messages[0]["content"], *self._states[messages[0]["content"]])
        finally:
            self._lock.release()

    def _state_file(self, system: str) -> Path:
        """Where the state after `system` is kept: beside the model, named by everything it depends on."""
        import hashlib

        import llama_cpp

        key = hashlib.sha256(
            "\0".join(
                [self.gguf.name, str(self.gguf.stat().st_size), str(self.context), llama_cpp.__version__, system]
            ).encode()
        ).hexdigest()[:16]
        return self.gguf.with_name(f"{self.gguf.stem}.warm-{key}.npz")

    def _load_state(self, system: str) -> tuple[Any, int, bytes] | None:
        import numpy as np

        path = self._state_file(system)
        try:
            with np.load(path) as kept:
                return kept["ids"].astype(np.intc), int(kept["shared"]), kept["state"].tobytes()
        except (OSError, KeyError, ValueError):  # none yet, or damaged: read the instructions again
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
        except OSError as exc:  # a read-only models folder: the state stays in memory only
            log.info("could not keep the generator's state in %s: %s", path.parent, exc)

    def stream(
        self,
        messages: list[Message],
        limits: Limits,
        stop: threading.Event | None = None,
        prefix: str = "",
        avoid: Sequence[str] = (),
    ) -> Stream:
        stop = stop or threading.Event()
        if not self._lock.acquire(timeout=limits.wait_s):
            raise GeneratorBusy(f"{self.id} is busy")
        started = time.monotonic()
        try:
            self._restore(messages)
            chunks = self._complete(messages, max_tokens=limits.max_new_tokens, prefix=prefix, bias=self._banned(avoid))
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
                chunks.close()  # ends llama.cpp's loop at once when the caller stops early
        finally:
            self._lock.release()

    def _complete(
        self, messages: list[Message], max_tokens: int, prefix: str = "", bias: dict[int, float] | None = None
    ) -> Any:
        """Stream a completion of the chat prompt (the GGUF's own template) followed by `prefix`."""
        self._pick_threads()
        formatted = self._format(messages=messages)
        chunks = self.llm.create_completion(
            prompt=formatted.prompt + prefix,
            max_tokens=max_tokens,
            temperature=0.0,
            top_k=1,
            repeat_penalty=self.repeat_penalty,
            stream=True,
            stop=formatted.stop,
            logit_bias=bias or None,
        )
        if max_tokens == 1:
            for _ in chunks:
                pass
        return chunks

    def _banned(self, avoid: Sequence[str]) -> dict[int, float]:
        """A logit bias that rules out each form of the avoided words that is one token (" series", " Series");
        a word of several tokens is left to the checks, since banning its first token could ban other words."""
        key = tuple(sorted(set(avoid)))
        if key not in self._bans:
            if len(self._bans) >= 64:  # a few kind sets in practice; bounded all the same
                self._bans.pop(next(iter(self._bans)))
            ids = (self.llm.tokenize(form.encode("utf-8"), add_bos=False, special=False) for form in word_forms(key))
            self._bans[key] = {i[0]: -100.0 for i in ids if len(i) == 1}
        return dict(self._bans[key])

    # The state is kept with llama.cpp's own state functions on the context (`Llama.ctx`), not llama-cpp-python's
    # `save_state`/`load_state`: those also copy the logits buffer, n_batch x n_vocab floats (128 x 151,936 = 77.8 MB
    # for Qwen2.5, measured 2026-12-05 with llama-cpp-python 0.3.36), beside 3.4 MB of KV cache: two languages would
    # hold 155 MB more in a process kept under 1.5 GB, and each state file would be 81 MB instead of 3.4 MB.
    def _save(self) -> bytes:
        import ctypes

        import llama_cpp

        size = llama_cpp.llama_state_get_size(self.llm.ctx)
        buffer = (ctypes.c_uint8 * size)()
        written = llama_cpp.llama_state_get_data(self.llm.ctx, buffer, size)
        return ctypes.string_at(buffer, written)

    def _restore(self, messages: list[Message]) -> None:
        """Put back the kept state of these instructions when the context holds another language's."""
        import ctypes

        import llama_cpp

        kept = self._states.get(messages[0]["content"]) if messages and messages[0]["role"] == "system" else None
        if kept is None:
            return
        ids, shared, state = kept
        if _common_prefix(self.llm.input_ids[: self.llm.n_tokens], ids) >= shared:
            return
        buffer = (ctypes.c_uint8 * len(state)).from_buffer_copy(state)
        llama_cpp.llama_state_set_data(self.llm.ctx, buffer, len(state))
        self.llm.reset()  # the logits on hand are not the restored context's: the next prompt evaluates afresh
        self.llm.input_ids[: len(ids)] = ids
        self.llm.n_tokens = len(ids)


def chat_formatter(llm: Any) -> Any:
    """The chat template the GGUF file carries, as llama-cpp-python reads it."""
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    template = llm.metadata.get("tokenizer.chat_template")
    if not template:
        raise GeneratorError("the GGUF file has no chat template; chatrec needs an instruction-tuned model")

    def token(i: int) -> str:
        return llm.detokenize([i], special=True).decode("utf-8", "replace") if i != -1 else ""

    return Jinja2ChatFormatter(template=template, eos_token=token(llm.token_eos()), bos_token=token(llm.token_bos()))


def _common_prefix(a: Any, b: Any) -> int:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n
