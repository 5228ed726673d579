"""Concurrent users' prompts decoded together in one forward pass per step (transformers' continuous batching).

`TransformersGenerator` uses this on a GPU, where one step for several users costs about what it costs for one: a
user who asks while others are being answered joins the running batch at the next step instead of waiting for the
others to finish. Greedy decoding, as the single-user path; the repetition penalty and the avoided words are not
applied here (transformers' batching does not support them per request; the claim check still stops a sentence
that uses another kind's word). One router thread hands each result to the caller that asked for it.
"""

from __future__ import annotations

import itertools
import queue
import threading
import time
from collections.abc import Iterator
from typing import Any

from chatrec.errors import GeneratorBusy, GeneratorError

__all__ = ["BatchedStreams", "MAX_BATCH", "new_text"]

MAX_BATCH = 16  # requests in flight at once; one more is told the generator is busy
POLL_S = 0.05


def new_text(decoded: str, sent: int) -> str:
    """What a stream may send now of `decoded` beyond its first `sent` characters: nothing while the last
    character is a half-decoded one (a multi-byte character split across tokens)."""
    if decoded.endswith("\ufffd"):
        return ""
    return decoded[sent:]


class BatchedStreams:
    """A running continuous-batching manager over `model`, streaming each request's tokens to its caller."""

    def __init__(self, model: Any, tokenizer: Any, max_new_tokens: int) -> None:
        from transformers import GenerationConfig

        config = GenerationConfig(
            max_new_tokens=max_new_tokens,
            do_sample=False,
            eos_token_id=tokenizer.eos_token_id,
            pad_token_id=tokenizer.pad_token_id or tokenizer.eos_token_id,
        )
        self.manager = model.init_continuous_batching(generation_config=config)
        self.manager.start()
        self._queues: dict[str, queue.Queue[Any]] = {}
        self._guard = threading.Lock()
        self._ids = itertools.count()
        self._running = True
        self.largest_batch = 0  # the most requests that were in flight at once (for tests and benchmarks)
        self._router = threading.Thread(target=self._route, name="chatrec-batch-router", daemon=True)
        self._router.start()

    def _route(self) -> None:
        while self._running:
            result = self.manager.get_result(timeout=0.1)
            if result is None:
                if not self.manager.is_running():  # stopped or failed: get_result no longer waits
                    time.sleep(POLL_S)
                continue
            with self._guard:
                target = self._queues.get(result.request_id)
            if target is not None:
                target.put(result)

    def tokens(
        self, input_ids: list[int], max_new_tokens: int, wait_s: float, budget_s: float, stop: threading.Event
    ) -> Iterator[list[int]]:
        """The tokens generated so far, after each step, until the request ends, `stop` is set or the budget is
        spent; `GeneratorBusy` when the batch is full or nothing came within `wait_s`."""
        request_id = f"chatrec-{next(self._ids)}"
        inbox: queue.Queue[Any] = queue.Queue()
        with self._guard:
            if len(self._queues) >= MAX_BATCH:
                raise GeneratorBusy(f"{MAX_BATCH} replies are being written")
            self._queues[request_id] = inbox
            self.largest_batch = max(self.largest_batch, len(self._queues))
        started, finished, seen = time.monotonic(), False, 0
        try:
            if (
                self.manager.add_request(
                    input_ids, request_id=request_id, max_new_tokens=max_new_tokens, streaming=True
                )
                is None
            ):
                raise GeneratorBusy("the batch manager is not taking requests")
            while not stop.is_set() and time.monotonic() - started < budget_s:
                try:
                    result = inbox.get(timeout=POLL_S)
                except queue.Empty:
                    if seen == 0 and time.monotonic() - started > wait_s:
                        raise GeneratorBusy(f"no token within {wait_s} s") from None
                    continue
                if result.error:
                    raise GeneratorError(f"batched generation failed: {result.error}")
                finished = result.is_finished()
                if len(result.generated_tokens) > seen or finished:
                    seen = len(result.generated_tokens)
                    yield list(result.generated_tokens)
                if finished:
                    return
        finally:
            if not finished:
                self.manager.cancel_request(request_id)
            with self._guard:
                self._queues.pop(request_id, None)

    def close(self) -> None:
        """Stop the manager and its router (once; later calls do nothing)."""
        if not self._running:
            return
        self._running = False
        self.manager.stop(block=True)
        self._router.join(timeout=5)
