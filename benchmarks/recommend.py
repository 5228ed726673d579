"""How fast chat's recommendations arrive, on the bundled catalog and on ReDial's 6,583 films.

    python benchmarks/recommend.py [--runs 3] [--messages 60] [--catalogs bundled,redial]

Each message goes through `Engine.chat_stream` (generator off) as a turn of a short conversation, and the clock
stops when the first `Turn` (the recommendations, before any reply text) arrives: what a user waits for before the
cards show. The baseline, measured in the same run on the same messages, is the bare retrieval step alone: the
message embedded and the store's top k (no reading, no terms, no exclusions, no reasons). Text caches are emptied
before every conversation, so each message is read and embedded afresh. Prints p50/p95 per run,
their medians over the runs, the ratio to the baseline, and last one JSON object.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from chatrec import Engine, Settings  # noqa: E402
from chatrec.offline.datasets import load_turns  # noqa: E402

REDIAL = ROOT.parent / "shared" / "datasets" / "redial"
BUNDLED_MESSAGES = [
    "I love space exploration films",
    "something like Inception but lighter",
    "推荐几本科幻小说",
    "A funny TV series",
    "no horror please",
    "有没有适合全家一起看的动画片？",
    "I loved Spirited Away",
    "Actually I'm tired of scary stuff. Now I want light-hearted family comedies.",
    "不要恐怖片",
    "a thriller after 2010",
    "books by Haruki Murakami",
    "something for the whole family",
]


def quantile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def messages_for(name: str, n: int) -> list[list[str]]:
    """Conversations of up to three messages: the bundled examples, or ReDial's seeker utterances."""
    if name == "bundled":
        return [BUNDLED_MESSAGES[i : i + 3] for i in range(0, len(BUNDLED_MESSAGES), 3)] * max(
            1, n // len(BUNDLED_MESSAGES)
        )
    out = []
    for turn in load_turns(REDIAL / "valid_turns.jsonl"):
        last = len(turn.context) - 1
        seeker = [u for i, u in enumerate(turn.context) if (last - i) % 2 == 0 and u.strip()][-3:]
        if seeker:
            out.append(seeker)
        if sum(map(len, out)) >= n:
            break
    return out


def one_run(engine: Engine, conversations: list[list[str]], run: int) -> tuple[list[float], list[float]]:
    chat, bare = [], []
    for c, conversation in enumerate(conversations):
        engine.purge_caches()  # every conversation meets its messages afresh (the bundled ones repeat)
        user = f"bench-{run}-{c}-{time.time_ns()}"
        for message in conversation:
            t0 = time.perf_counter()
            next(iter(engine.chat_stream(user, message)))
            chat.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            vector = engine.embedder.embed([message])[0]  # uncached, like a new message
            engine.store.query(vector, engine.settings.k)
            bare.append(time.perf_counter() - t0)
        engine.profiles.forget(user)
    return chat, bare


def bench(name: str, runs: int, n: int) -> dict:
    if name == "bundled":
        settings = Settings(data_dir=Path(tempfile.mkdtemp(prefix="chatrec-bench-")), generator="none")
    else:
        settings = Settings(
            data_dir=ROOT / ".chatrec-eval" / "redial",
            catalog=REDIAL / "id2info.json",
            catalog_format="redial",
            generator="none",
        )
    conversations = messages_for(name, n)
    with Engine.load(settings, progress=True) as engine:
        one_run(engine, conversations[:2], -1)  # warm-up: models, caches of stored vectors
        rows = []
        for run in range(runs):
            chat, bare = one_run(engine, conversations, run)
            rows.append(
                {
                    "chat_p50": quantile(chat, 0.5),
                    "chat_p95": quantile(chat, 0.95),
                    "baseline_p50": quantile(bare, 0.5),
                    "baseline_p95": quantile(bare, 0.95),
                    "n": len(chat),
                }
            )
            print(
                f"{name} run {run + 1}: recommendations p50 {rows[-1]['chat_p50'] * 1000:.0f} ms, "
                f"p95 {rows[-1]['chat_p95'] * 1000:.0f} ms; baseline p50 {rows[-1]['baseline_p50'] * 1000:.0f} ms, "
                f"p95 {rows[-1]['baseline_p95'] * 1000:.0f} ms ({len(chat)} messages)",
                file=sys.stderr,
            )
    med = {key: statistics.median(r[key] for r in rows) for key in rows[0] if key != "n"}
    return {
        "catalog": name,
        "items": len(engine.items),
        "messages": rows[0]["n"],
        "runs": runs,
        **{k: round(v * 1000, 1) for k, v in med.items()},
        "ratio_p95_to_baseline": round(med["chat_p95"] / med["baseline_p95"], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--messages", type=int, default=60)
    parser.add_argument("--catalogs", default="bundled,redial")
    args = parser.parse_args()
    results = [bench(name, args.runs, args.messages) for name in args.catalogs.split(",")]
    for r in results:
        print(
            f"{r['catalog']:8} ({r['items']} items, {r['messages']} messages, median of {r['runs']} runs): "
            f"recommendations p50 {r['chat_p50']:.0f} ms, p95 {r['chat_p95']:.0f} ms; "
            f"baseline p95 {r['baseline_p95']:.0f} ms; ratio {r['ratio_p95_to_baseline']}"
        )
    print(json.dumps({"benchmark": "recommend", "results": results}))


if __name__ == "__main__":
    main()
