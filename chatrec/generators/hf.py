"""`TransformersGenerator`: a model folder through transformers, with accelerate's `device_map="auto"` on a GPU (the
GPU default, and an option on the CPU); on a GPU concurrent users are decoded in one batch (generators/batching.py)."""

from __future__ import annotations

import atexit
import itertools
import logging
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from chatrec.errors import ChatrecError, GeneratorBusy
from chatrec.generators.base import FairLock, word_forms
from chatrec.ports import Limits, Message, Stream

log = logging.getLogger(__name__)


class TransformersGenerator:
    """A causal LM from a local folder: `device_map="auto"` (accelerate) on a GPU, fp32 on the CPU."""

    def __init__(
        self, folder: Path, model_id: str, languages: frozenset[str], threads: int = 2, batched: bool | None = None
    ) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.id = model_id
        self.languages = languages
        self.threads = threads or 1  # "auto" is one thread here: torch's threads are set once per thread
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
        self._prefixes: dict[str, tuple[Any, Any]] = {}  # system prompt -> (its token ids, its KV cache)
        self.batched: Any = None  # on a GPU: concurrent users decoded together (chatrec/generators/batching.py)
        if cuda if batched is None else batched:
            from chatrec.generators.batching import BatchedStreams

            self.batched = BatchedStreams(self.model, self.tokenizer, Limits().max_new_tokens)
            atexit.register(self.batched.close)

    @property
    def device(self) -> str:
        return str(self.model.device)

    def warm(self, messages: list[Message]) -> None:
        """Read a system prompt ahead of the first user (its KV cache is then reused by every reply)."""
        if not messages or messages[0]["role"] != "system":
            return
        if self._lock.acquire(timeout=600):
            try:
                self._prefix_cache(messages, self._encode(messages)["input_ids"])
            finally:
                self._lock.release()

    def stream(
        self,
        messages: list[Message],
        limits: Limits,
        stop: threading.Event | None = None,
        prefix: str = "",
        avoid: Sequence[str] = (),
    ) -> Stream:
        from transformers import StoppingCriteria, StoppingCriteriaList, TextIteratorStreamer

        stopping = stop or threading.Event()
        if self.batched is not None:
            yield from self._stream_batched(messages, limits, stopping, prefix)
            return

        class _Stop(StoppingCriteria):  # type: ignore[misc]  # transformers is read as untyped
            def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> bool:
                return stopping.is_set()

        if not self._lock.acquire(timeout=limits.wait_s):
            raise GeneratorBusy(f"{self.id} is busy")
        try:
            inputs = self._encode(messages, prefix=prefix).to(self.model.device)
            cached = self._prefix_cache(messages, inputs["input_ids"])
            streamer = TextIteratorStreamer(
                self.tokenizer, skip_prompt=True, skip_special_tokens=True, timeout=limits.budget_s + 5
            )
            kwargs = dict(
                **inputs,
                streamer=streamer,
                max_new_tokens=limits.max_new_tokens,
                max_time=limits.budget_s,
                do_sample=False,
                repetition_penalty=1.15,
                stopping_criteria=StoppingCriteriaList([_Stop()]),
                pad_token_id=self.tokenizer.pad_token_id or self.tokenizer.eos_token_id,
            )
            if cached is not None:
                kwargs["past_key_values"] = cached
            if avoid:
                kwargs["bad_words_ids"] = [
                    self.tokenizer(form, add_special_tokens=False)["input_ids"] for form in word_forms(avoid)
                ]
            worker = threading.Thread(target=self._generate, kwargs=kwargs, daemon=True, name="chatrec-generate")
            worker.start()
            try:
                if prefix:
                    yield prefix
                for piece in streamer:
                    if piece:
                        yield piece
            finally:
                stopping.set()
                worker.join()
        finally:
            self._lock.release()

    def _stream_batched(
        self, messages: list[Message], limits: Limits, stop: threading.Event, prefix: str
    ) -> Iterator[str]:
        """The reply through the running batch: busy (before any text) when it is full or cannot start in time."""
        from chatrec.generators.batching import new_text

        ids = self._encode(messages, prefix=prefix)["input_ids"][0].tolist()
        steps = self.batched.tokens(ids, limits.max_new_tokens, limits.wait_s, limits.budget_s, stop)
        first = next(steps, None)  # GeneratorBusy comes here, before the opening is given out
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
            steps.close()  # a caller that stops early ends the request in the batch at once

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
            if len(self._prefixes) >= 4:  # one per language in practice; bounded all the same
                self._prefixes.pop(next(iter(self._prefixes)))
            self._prefixes[key] = (ids.cpu(), cache)
        ids, cache = self._prefixes[key]
        n = ids.shape[1]
        if input_ids.shape[1] <= n or not bool((input_ids[0, :n].cpu() == ids[0]).all()):
            return None
        return copy.deepcopy(cache)

    def _encode(self, messages: list[Message], generation_prompt: bool = True, prefix: str = "") -> Any:
        if not prefix:
            return self.tokenizer.apply_chat_template(
                messages, add_generation_prompt=generation_prompt, return_tensors="pt", return_dict=True
            )
        text = self.tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False) + prefix
        return self.tokenizer(text, return_tensors="pt", add_special_tokens=False)

    def _generate(self, **kwargs: Any) -> None:
        self._torch.set_num_threads(self.threads)  # per thread: the embedder keeps its own setting
        try:
            with self._torch.inference_mode():
                self.model.generate(**kwargs)
        except Exception:  # the streamer would wait forever; end it and let the caller fall back
            log.exception("generation failed")
            kwargs["streamer"].end()
