"""Chat against rank seeker-only on ReDial's dedup view, with chat's settings changed one at a time.

    python benchmarks/chat_vs_rank.py [NAME=JSON ...]

e.g. `shipped={} no_topic='{"keep_topic": false}'`. For each NAME it replays the tuning part's turns through chat
with `Settings.with_(**JSON)` (the same `Engine.chat` ranking, `replay_systems` of `chatrec eval`), scores it on the
dedup view (pairs whose gold item was already mentioned dropped, mentioned items removed), and prints chat's R@10,
rank seeker-only's R@10 (its 50-item list, as `chatrec eval` reports it) and their ratio, and rank seeker-only cut
to the 10 items it would show before the dedup view removes mentioned items (docs/evaluation.md, "Chat against rank
seeker-only"). Uses `chatrec eval`'s data folder (`.chatrec-eval/redial`; the first run embeds the 6,583 films).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from tqdm import tqdm

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from chatrec import Engine, Settings  # noqa: E402
from chatrec.offline.datasets import name_to_id  # noqa: E402
from chatrec.offline.evaluate import (  # noqa: E402
    EvalSpec,
    System,
    _score,
    eval_data_dir,
    load_turns,
    ranking_input,
    replay_systems,
    seeker_only,
    tuning_part,
)

DATA = ROOT.parent / "shared" / "datasets" / "redial"


def main(argv: list[str]) -> None:
    variants = {name: json.loads(change) for name, change in (a.split("=", 1) for a in argv)} or {"shipped": {}}
    spec = EvalSpec("redial", DATA)
    base = Settings(
        data_dir=eval_data_dir("redial", None),
        catalog=DATA / "id2info.json",
        catalog_format="redial",
        generator="none",
        k=10,
    )
    with Engine.load(base) as engine:
        names = name_to_id(DATA / "id2info.json")
        turns = [t for t in load_turns(DATA / "valid_turns.jsonl") if tuning_part(t.dialog_id, spec.share, spec.seed)]
        turns = [t for t in turns if any(g in names for g in t.rec)]
        cached = {id(t): ranking_input(engine, t) for t in tqdm(turns, desc="inputs")}
        size = len(engine.items)
        for name, change in variants.items():
            settings = base.with_(**change)
            engine.settings = settings
            engine.ranker = engine.ranker_variant(settings)
            started = time.time()
            systems = replay_systems(engine, turns, {}, lambda it, **kw: it, ablations=False)
            systems.append(System("rank seeker-only, 10", lambda t: engine.rank(seeker_only(t.context), 10)))
            for system in systems:
                _score(system, turns, names, cached)
            chat, alone, alone10 = (s.dedup.summary(size)["recall@10"] for s in (systems[0], systems[1], systems[-1]))
            print(
                f"{name}: chat dedup R@10 {chat:.4f}; rank seeker-only {alone:.4f} (ratio {chat / alone:.3f}); "
                f"cut to 10 first {alone10:.4f} (ratio {chat / alone10:.3f}); {len(turns)} turns, "
                f"{time.time() - started:.0f} s",
                flush=True,
            )


if __name__ == "__main__":
    main(sys.argv[1:])
