"""Generation speed and grounding on whatever device torch sees (GPU when present), without the vector store.

    python benchmarks/generation_device.py --turns FILE [--generator qwen2.5-0.5b] [--repeats 3]
    python benchmarks/generation_device.py --make-turns FILE      # pick the items once, with the full engine

The turns file holds, per scripted message, the items the full engine recommended and the interests it showed, so a
machine without Chroma (the lent GPU machine) replays exactly the prompts users would send. For each turn it times
the first streamed piece and the whole reply, counts new tokens, and runs the same grounding check as the app.
Prints medians over the repeats and, last, one JSON object.
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

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("CHATREC_MODELS_DIR", str(ROOT / ".chatrec" / "models"))

from chatrec import Settings  # noqa: E402
from chatrec.catalog.files import load_catalog  # noqa: E402
from chatrec.catalog.resources import knowledge_dir  # noqa: E402
from chatrec.generators.loading import load_generator  # noqa: E402
from chatrec.ports import Limits  # noqa: E402
from chatrec.reply.grounding import Grounding  # noqa: E402
from chatrec.reply.writer import ReplyWriter  # noqa: E402


def make_turns(path: Path) -> None:
    """Record what the full engine recommends for the first message of each scripted dialogue."""
    import tempfile

    from faithfulness import DIALOGUES  # type: ignore[import-not-found]

    from chatrec import Engine

    with tempfile.TemporaryDirectory() as tmp, Engine.load(Settings(data_dir=tmp, generator="none")) as engine:
        turns = []
        for i, messages in enumerate(DIALOGUES):
            turn = engine.chat(f"device-{i}", messages[0])
            state_terms = [t["term"] for t in engine.profile(f"device-{i}")["terms"]]
            turns.append(
                {
                    "message": messages[0],
                    "language": turn.language,
                    "interests": [t for t in state_terms if engine.grounding.is_plain(t)][:3],
                    "items": [r.item_id for r in turn.recommendations],
                }
            )
    path.write_text(json.dumps(turns, ensure_ascii=False, indent=1), encoding="utf-8")
    print(f"wrote {len(turns)} turns to {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=Path)
    parser.add_argument("--make-turns", type=Path)
    parser.add_argument("--generator", default="qwen2.5-0.5b")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--limit", type=int, default=0, help="only the first N turns")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    args = parser.parse_args()
    if args.make_turns:
        sys.path.insert(0, str(ROOT / "benchmarks"))
        make_turns(args.make_turns)
        return
    import torch

    settings = Settings(generator=args.generator)
    started = time.perf_counter()
    generator = load_generator(settings.generator, settings.model_cache, args.threads)
    assert generator is not None
    load_s = time.perf_counter() - started
    catalog = load_catalog(knowledge_dir())
    writer = ReplyWriter(generator, Grounding(catalog), Limits(max_new_tokens=110, budget_s=60))
    writer.warm()
    turns = json.loads(args.turns.read_text(encoding="utf-8"))[: args.limit or None]
    runs: list[dict[str, Any]] = []
    for repeat in range(args.repeats):
        first, full, tokens, generated = [], [], [], 0
        for turn in turns:
            items = [catalog.items[i] for i in turn["items"] if i in catalog.items]
            if turn["language"] not in generator.languages or not items:
                continue
            messages = writer.messages(turn["interests"], items, turn["language"])
            t0, t_first, text = time.perf_counter(), None, ""
            for piece in generator.stream(messages, writer.limits):
                t_first = t_first or time.perf_counter()
                text += piece
            full.append(time.perf_counter() - t0)
            first.append((t_first or time.perf_counter()) - t0)
            tokens.append(len(generator.tokenizer(text)["input_ids"]))
            print(f"  {len(full)}: first {first[-1]:.3f}s, reply {full[-1]:.2f}s, {tokens[-1]} tokens", flush=True)
            final = list(writer.write(turn["interests"], items, turn["language"], "T"))[-1]
            generated += final.source == "generator"
        runs.append(
            {
                "first_token_p50": statistics.median(first),
                "reply_p50": statistics.median(full),
                "tokens_per_s": sum(tokens) / sum(full),
                "turns": len(full),
                "generated": generated,
            }
        )
        print(
            f"run {repeat + 1}: first token p50 {runs[-1]['first_token_p50']:.3f}s, reply p50 "
            f"{runs[-1]['reply_p50']:.2f}s, {runs[-1]['tokens_per_s']:.1f} tokens/s, "
            f"{generated}/{len(full)} replies passed grounding"
        )
    summary = {key: round(statistics.median(r[key] for r in runs), 3) for key in runs[0]}
    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else f"cpu ({args.threads} threads)"
    print(
        json.dumps(
            {
                "benchmark": "generation_device",
                "device": device,
                "generator": args.generator,
                "placed_on": generator.device,
                "load_s": round(load_s, 1),
                "repeats": args.repeats,
                **summary,
            }
        )
    )


if __name__ == "__main__":
    main()
