"""ReDial Recall@K of `Engine.rank` on the iEvaLM-CRS validation turns (all-items protocol).

    python benchmarks/redial_recall.py [--data ../shared/datasets/redial] [--limit N] [--data-dir DIR]

Prints Recall@1/10/50 over (turn, gold item) pairs, a popularity baseline measured in the same run,
and seconds per ranked turn. The ReDial catalog is ingested into its own data folder (cached between runs).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path

from tqdm import tqdm

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from chatrec import Engine, Settings  # noqa: E402
from chatrec.datasets import load_turns, name_to_id  # noqa: E402
from chatrec.evaluation import hits_at_k  # noqa: E402

KS = (1, 10, 50)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "datasets" / "redial")
    parser.add_argument("--data-dir", type=Path, default=ROOT / ".bench" / "redial")
    parser.add_argument("--limit", type=int, default=0, help="only the first N turns")
    args = parser.parse_args()

    settings = Settings(data_dir=args.data_dir, catalog=args.data / "id2info.json", catalog_format="redial", generator="none")
    started = time.perf_counter()
    engine = Engine.load(settings, progress=True)
    print(f"catalog: {len(engine.items)} items; ingest: {engine.ingest_report} in {time.perf_counter() - started:.1f}s")
    names = name_to_id(args.data / "id2info.json")
    turns = load_turns(args.data / "valid_turns.jsonl")
    if args.limit:
        turns = turns[: args.limit]

    popular = [i for i, _ in Counter(names[g] for t in turns for g in t.rec if g in names).most_common(50)]
    hits = {k: 0 for k in KS}
    base = {k: 0 for k in KS}
    pairs, seconds = 0, []
    for turn in tqdm(turns, desc="Ranking turns", unit="turn"):
        gold = [names[g] for g in turn.rec if g in names]
        if not gold:
            continue
        t0 = time.perf_counter()
        ranked = engine.rank(list(turn.context), k=max(KS))
        seconds.append(time.perf_counter() - t0)
        pairs += len(gold)
        for k in KS:
            hits[k] += hits_at_k(ranked, gold, k)
            base[k] += hits_at_k(popular, gold, k)
    engine.close()
    result = {
        "dataset": "redial-valid (iEvaLM-CRS)", "turns": len(seconds), "pairs": pairs,
        "chatrec": {f"recall@{k}": round(hits[k] / pairs, 4) for k in KS},
        "popularity_oracle_baseline": {f"recall@{k}": round(base[k] / pairs, 4) for k in KS},
        "seconds_per_turn_median": round(sorted(seconds)[len(seconds) // 2], 4),
    }
    print("note: the popularity baseline counts gold items of these same turns, so it is an optimistic reference")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
