"""Chat latency on the 6.5k-item ReDial catalog, per generator and backend: recommendations, first text, full reply.

    python benchmarks/latency.py [--generators none,qwen2.5-0.5b@transformers,qwen2.5-0.5b@llama.cpp,...]
                                 [--turns 20] [--warmup 3] [--runs 3] [--busy] [--baseline-rev REV]

Messages are real seeker utterances from ReDial's validation turns. Each turn goes through `Engine.chat_stream`,
and the clock is read when the recommendations arrive, when the model yields its first token, when the first
checked text is shown to the user, and when the reply is final. Each configuration (GENERATOR[@BACKEND[:THREADS]],
THREADS a number or `auto`, the default; `qwen2.5-0.5b@llama.cpp:1` is the fixed one-thread setting) is run
`--runs` times, the configurations taking turns; it prints the median over the runs of each run's p50 and p95,
and the ratio of each backend's full-reply p50 to the first generating configuration's (the same-run baseline:
transformers by default), and, last, one JSON object. `--busy` keeps one core busy with another process (a Python
loop) throughout, as on a shared machine: the `auto` thread setting should then fall back to one thread.

A configuration may end in `+READER` (`rules`, the default; `model`; `both`: docs/dialogues.md, "Readers"), e.g.
`none+model`. `--baseline-rev REV` also runs `--baseline-generators` in the code of git revision REV (checked out
into a temporary worktree, its own data folder), one run of it after each run of this code's configurations, so
that the baseline is measured in the same run on the same machine (issue 23: the reader before it, 4392a85).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tqdm import tqdm

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("CHATREC_MODELS_DIR", str(ROOT / ".chatrec" / "models"))  # converted models, shared with the app

from chatrec import Engine, Settings  # noqa: E402
from chatrec.offline.datasets import load_turns  # noqa: E402


class Clocked:
    """Wraps a generator and notes when its first piece of text comes out."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.id, self.languages = inner, inner.id, inner.languages
        self.first: float | None = None

    def stream(self, messages: Any, limits: Any, stop: Any = None, prefix: str = "", avoid: Any = ()) -> Any:
        for i, piece in enumerate(self.inner.stream(messages, limits, stop, prefix=prefix, avoid=avoid)):
            if self.first is None and (i > 0 or not prefix):  # the given opening is no generated token
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


def run(config: str, data: Path, data_dir: Path, messages: list[str], warmup: int) -> dict[str, Any]:
    config_only, _, reader = config.partition("+")
    generator, _, backend = config_only.partition("@")
    backend, _, threads = backend.partition(":")
    settings = Settings(
        data_dir=data_dir,
        catalog=data / "id2info.json",
        catalog_format="redial",
        generator=generator,
        generator_backend=backend or "auto",
        generator_threads=0 if threads in ("", "auto") else int(threads),
    )
    if reader:  # older revisions (the baseline) have no `reader` setting
        settings = settings.with_(reader=reader)
    engine = Engine.load(settings, progress=True)
    if engine.generator is not None:
        engine.writer.generator = Clocked(engine.generator)
    marks: dict[str, list[float]] = {"recommendations": [], "first_token": [], "first_text": [], "full_reply": []}
    sources: dict[str, int] = {}
    for i, message in enumerate(tqdm(messages, desc=config, unit="turn")):
        clocked = engine.writer.generator
        if clocked is not None:
            clocked.first = None
        started = time.perf_counter()
        recs = text = None
        for turn in engine.chat_stream(f"latency-{config}-{i}-{time.time_ns()}", message):
            now = time.perf_counter()
            recs = recs or now
            if turn.reply and text is None and (not turn.final or turn.source == "generator"):
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
    summary = {
        name: {"p50": round(statistics.median(v), 3), "p95": round(percentile(v, 0.95), 3), "n": len(v)}
        for name, v in marks.items()
        if v
    }
    return {"generator": config, "turns": len(messages) - warmup, "sources": sources, **summary}


@contextmanager
def baseline(rev: str) -> Iterator[Path | None]:
    """A temporary git worktree of `rev` (None when no revision is asked for), removed afterwards."""
    if not rev:
        yield None
        return
    with tempfile.TemporaryDirectory(prefix="chatrec-baseline-") as tmp:
        tree = Path(tmp) / "tree"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(tree), rev], check=True)
        try:
            yield tree
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], check=False)


def run_elsewhere(tree: Path, args: argparse.Namespace) -> list[dict[str, Any]]:
    """One run of the baseline configurations in another checkout (its own data folder beside ours)."""
    rev = args.baseline_rev
    command = [sys.executable, str(tree / "benchmarks" / "latency.py"), "--generators", args.baseline_generators]
    command += ["--runs", "1", "--turns", str(args.turns), "--warmup", str(args.warmup), "--data", str(args.data)]
    command += ["--data-dir", str(args.data_dir.with_name(f"{args.data_dir.name}-{rev}"))]
    env = {**os.environ, "PYTHONPATH": str(tree)}
    done = subprocess.run(command, cwd=tree, env=env, check=True, stdout=subprocess.PIPE, text=True)
    last = json.loads(done.stdout.strip().splitlines()[-1])
    out = []
    for r in last["results"]:
        r = {**r, "generator": f"{rev}:{r['generator']}", "sources": r["sources"][0]}
        out.append({k: v for k, v in r.items() if k != "runs"})
    return out


def medians(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """One configuration's runs folded into the median of each figure."""
    out: dict[str, Any] = {
        "generator": runs[0]["generator"],
        "runs": len(runs),
        "sources": [r["sources"] for r in runs],
    }
    for name in ("recommendations", "first_token", "first_text", "full_reply"):
        if all(name in r for r in runs):
            out[name] = {q: round(statistics.median(r[name][q] for r in runs), 3) for q in ("p50", "p95")}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "datasets" / "redial")
    parser.add_argument("--data-dir", type=Path, default=ROOT / ".bench" / "redial")
    parser.add_argument(
        "--generators", default="none,qwen2.5-0.5b@transformers,qwen2.5-0.5b@llama.cpp,qwen2.5-0.5b@llama.cpp:1"
    )
    parser.add_argument("--turns", type=int, default=20, help="timed turns per run")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--busy", action="store_true", help="another process keeps one core busy throughout")
    parser.add_argument("--baseline-rev", default="", help="also run --baseline-generators in this git revision")
    parser.add_argument("--baseline-generators", default="none,qwen2.5-0.5b@llama.cpp")
    args = parser.parse_args()
    hog = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if args.busy else None
    try:
        measure(args)
    finally:
        if hog is not None:
            hog.kill()


def measure(args: argparse.Namespace) -> None:
    messages = messages_from(args.data, args.turns + args.warmup)
    configs = args.generators.split(",")
    runs: dict[str, list[dict[str, Any]]] = {c: [] for c in configs}
    with baseline(args.baseline_rev) as old:
        for _ in range(args.runs):
            for config in configs:
                runs[config].append(run(config, args.data, args.data_dir, messages, args.warmup))
            if old is not None:
                for r in run_elsewhere(old, args):
                    runs.setdefault(r["generator"], []).append(r)
    configs = list(runs)
    results = [medians(runs[c]) for c in configs]
    for r in results:
        parts = [
            f"{k} p50 {r[k]['p50']:.3f}s p95 {r[k]['p95']:.3f}s"
            for k in ("recommendations", "first_token", "first_text", "full_reply")
            if k in r
        ]
        print(f"{r['generator']} (median of {r['runs']} runs): " + "; ".join(parts) + f"; replies {r['sources']}")
    base = next((r for r in results if not r["generator"].startswith(("none", f"{args.baseline_rev}:none"))), None)
    ratios = {}
    if base:
        for r in results:
            if r is not base and "full_reply" in r and "first_token" in r:
                ratios[r["generator"]] = round(r["full_reply"]["p50"] / base["full_reply"]["p50"], 3)
                print(f"{r['generator']}: full reply p50 = {ratios[r['generator']]:.2f}x {base['generator']}'s")
    print(
        json.dumps(
            {
                "benchmark": "latency",
                "catalog": "redial",
                "busy": args.busy,
                "baseline": base and base["generator"],
                "baseline_rev": args.baseline_rev or None,
                "full_reply_p50_ratio": ratios,
                "results": results,
            }
        )
    )


if __name__ == "__main__":
    main()
