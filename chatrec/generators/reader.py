"""`ModelReader`: the packaged generator reading a message into a JSON-schema-constrained parse, beside the rules.

The grammar (llama.cpp's, from the schema in `chatrec/reading/model_parse.py`) lets the model write only a parse
whose genres are the catalog's own. Its own llama.cpp context keeps the instructions and worked examples read, so a
message costs its own tokens and the parse's. Measured in docs/dialogues.md ("Readers"): slower than the rules and
no more accurate on the dialogue benchmark, so `rules` is the default.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import Counter
from pathlib import Path

from chatrec.generators.llama import chat_formatter
from chatrec.reading.model_parse import Parse, merged, messages, parsed, schema, unsure
from chatrec.reading.understanding import Understander, Understanding

log = logging.getLogger(__name__)
MAX_TOKENS = 48  # a parse with three short arrays; more is the model repeating itself


class ModelReader:
    """Reads a message with the rules, and with the model as `how` says ("model": always; "both": when the rules
    found nothing they could use)."""

    def __init__(self, rules: Understander, gguf: Path, how: str, threads: int = 1) -> None:
        from llama_cpp import Llama, LlamaGrammar

        self.rules, self.how = rules, how
        counts = Counter(g for it in rules.items.values() for g in it.genres if g in rules.genres)
        self.genres = [g for g, _ in counts.most_common()] or sorted(rules.genres)
        self.genres_zh = {g: z for it in rules.items.values() for g, z in zip(it.genres, it.genres_zh)}
        self.llm = Llama(
            model_path=str(gguf), n_ctx=2048, n_threads=threads, n_threads_batch=threads, n_batch=256, verbose=False
        )
        self.grammar = LlamaGrammar.from_json_schema(json.dumps(schema(self.genres)), verbose=False)
        self._format = chat_formatter(self.llm)
        self._lock = threading.Lock()
        self.calls = 0  # messages the model read (for the benchmark)

    def read(self, message: str, fuzzy: bool = True) -> Understanding:
        u = self.rules.read(message, fuzzy=fuzzy)
        if self.how == "rules" or (self.how == "both" and not unsure(u)) or not message.strip():
            return u
        return merged(u, self.parse(message), self.how)

    def parse(self, message: str) -> Parse | None:
        prompt = self._format(messages=messages(message[:500], self.genres, self.genres_zh)).prompt
        with self._lock:
            self.calls += 1
            out = self.llm.create_completion(
                prompt, max_tokens=MAX_TOKENS, temperature=0.0, top_k=1, grammar=self.grammar
            )
        text = out["choices"][0]["text"]
        found = parsed(text, self.genres)
        if found is None:
            log.info("the model reader's output was no parse: %r", text[:200])
        return found
