"""Chat latency on the 6.5k-item ReDial catalog, per generator: to recommendations, first token, full reply.

    python benchmarks/latency.py [--generators none,smollm2-135m,qwen2.5-0.5b] [--turns 20] [--warmup 3]

Messages are real seeker utterances from ReDial's validation turns. Each turn goes through `Engine.chat_stream`,
and the clock is read when the recommendations arrive, when the model yields its first token, when the first
checked text is released to the user, and when the reply is final. Prints p50/p95 per generator (the template-only
engine, "none", is the baseline measured in the same run) and, last, one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from tqdm import tqdm

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("CHATREC_MODELS_DIR", str(ROOT / ".chatrec" / "models"))   # converted models, shared with the app

from chatrec import Engine, Settings  # noqa: E402
from chatrec.datasets import load_turns  # noqa: E402


class Clocked:
    """Wraps a generator and notes when its first piece of text comes out."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.id, self.languages = inner, inner.id, inner.languages
        self.first: float | None = None

    def stream(self, messages: Any, limits: Any, stop: Any = None) -> Any:
        for piece in self.inner.stream(messages, limits, stop):
            if self.first is None:
                self.first = time.perf_counter()
            yield piece


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else float("nan")


def messages_from(data: Path, n: int) -> list[str]:
    """The latest seeker utterance of the first validation turns that have one of a useful length."""
    out = []
    for turn in load_turns(data / "valid_turns.jsonl"):
        seeker = [u for u in turn.context[::2] if 20 <= len(u) <= 300]
        if seeker and seeker[-1] not in out:
            out.append(seeker[-1])
        if len(out) >= n:
            break
    return out


def run(generator: str, data: Path, data_dir: Path, messages: list[str], warmup: int) -> dict[str, Any]:
    settings = Settings(data_dir=data_dir, catalog=data / "id2info.json", catalog_format="redial", generator=generator)
    engine = Engine.load(settings, progress=True)
    if engine.generator is not None:
        engine.writer.generator = Clocked(engine.generator)
    marks: dict[str, list[float]] = {"recommendations": [], "first_token": [], "first_text": [], "full_reply": []}
    sources: dict[str, int] = {}
    for i, message in enumerate(tqdm(messages, desc=f"{generator}", unit="turn")):
        clocked = engine.writer.generator
        if clocked is not None:
            clocked.first = None
        started = time.perf_counter()
        recs = text = None
        for turn in engine.chat_stream(f"latency-{generator}-{i}-{time.time_ns()}", message):
            now = time.perf_counter()
            recs = recs or now
            if turn.reply and not turn.final and text is None:
                text = now
            last = turn
        done = time.perf_counter()
        if i < warmup:
            continue
        sources[last.source] = sources.get(last.source, 0) + 1
        marks["recommendations"].append(recs - started)
        marks["full_reply"].append(done - started)
        if clocked is not None and clocked.first is not None:
            marks["first_token"].append(clocked.first - started)
        if text is not None:
            marks["first_text"].append(text - started)
    engine.close()
    summary = {name: {"p50": round(statistics.median(v), 3), "p95": round(percentile(v, 0.95), 3), "n": len(v)}
               for name, v in marks.items() if v}
    return {"generator": generator, "turns": len(messages) - warmup, "sources": sources, **summary}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "datasets" / "redial")
    parser.add_argument("--data-dir", type=Path, default=ROOT / ".bench" / "redial")
    parser.add_argument("--generators", default="none,smollm2-135m,qwen2.5-0.5b")
    parser.add_argument("--turns", type=int, default=20, help="timed turns per generator")
    parser.add_argument("--warmup", type=int, default=3)
    args = parser.parse_args()
    messages = messages_from(args.data, args.turns + args.warmup)
    results = [run(g, args.data, args.data_dir, messages, args.warmup) for g in args.generators.split(",")]
    for r in results:
        parts = [f"{k} p50 {r[k]['p50']:.3f}s p95 {r[k]['p95']:.3f}s" for k in
                 ("recommendations", "first_token", "first_text", "full_reply") if k in r]
        print(f"{r['generator']}: " + "; ".join(parts) + f"; replies {r['sources']}")
    base = next((r for r in results if r["generator"] == "none"), None)
    if base:
        for r in results:
            if r is not base:
                print(f"{r['generator']}: recommendations p50 = {r['recommendations']['p50'] / base['recommendations']['p50']:.2f}x "
                      f"the template-only engine's")
    print(json.dumps({"benchmark": "latency", "catalog": "redial", "results": results}))


if __name__ == "__main__":
    main()
