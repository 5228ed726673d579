"""Tokens per second of the transformers path with concurrent users decoded together, against one user at a time.

    python benchmarks/batching.py [--generator qwen2.5-0.5b] [--users 1,4,8] [--tokens 48] [--runs 3]

For each number of users it sends that many real reply prompts (the writer's own, over bundled items) at the same
moment through `TransformersGenerator` with continuous batching on (the GPU default; forced on when run on a CPU),
and reports the median over the runs of the total tokens per second, and its ratio to one user's in the same run.
Meant for a GPU machine; on a CPU it runs, slowly, and says so.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("CHATREC_MODELS_DIR", str(ROOT / ".chatrec" / "models"))

from chatrec import Settings  # noqa: E402
from chatrec.catalog.files import load_catalog  # noqa: E402
from chatrec.catalog.resources import knowledge_dir  # noqa: E402
from chatrec.generators.hf import TransformersGenerator  # noqa: E402
from chatrec.generators.weights import model_folder  # noqa: E402
from chatrec.ports import Limits  # noqa: E402
from chatrec.reply.grounding import Grounding  # noqa: E402
from chatrec.reply.writer import ReplyWriter, opening  # noqa: E402


def prompts(n: int, settings: Settings) -> list[tuple[list[dict[str, str]], str]]:
    """`n` sentence prompts as the writer builds them, each on a different bundled item, with its opening."""
    catalog = load_catalog(knowledge_dir())
    writer = ReplyWriter(None, Grounding(catalog.items.values()), Limits())
    items = [item for item in catalog.items.values() if item.description.isascii()][:n]
    return [(writer.messages(["adventure"], [item], "en"), opening(item, "en")) for item in items]


def one_round(generator: TransformersGenerator, asks: list[tuple[list[dict[str, str]], str]], tokens: int) -> float:
    """All `asks` at once; total generated tokens per second."""
    limits = Limits(max_new_tokens=tokens, budget_s=600, wait_s=600)
    texts = [""] * len(asks)

    def ask(i: int) -> None:
        messages, prefix = asks[i]
        texts[i] = "".join(generator.stream(messages, limits, prefix=prefix))[len(prefix) :]

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(len(asks))]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    return sum(len(generator.tokenizer(t, add_special_tokens=False)["input_ids"]) for t in texts) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--generator", default="qwen2.5-0.5b")
    parser.add_argument("--users", default="1,4,8")
    parser.add_argument("--tokens", type=int, default=48)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    import torch

    settings = Settings(generator=args.generator)
    folder, languages = model_folder(args.generator, settings.model_cache)
    generator = TransformersGenerator(folder, args.generator, languages, threads=1, batched=True)
    if not torch.cuda.is_available():
        print("no GPU here: continuous batching runs on the CPU, far slower than llama.cpp (the CPU default)")
    users = [int(u) for u in args.users.split(",")]
    asks = prompts(max(users), settings)
    one_round(generator, asks[:1], 8)  # warm-up
    rates: dict[int, list[float]] = {u: [] for u in users}
    for _ in range(args.runs):
        for u in users:
            rates[u].append(one_round(generator, asks[:u], args.tokens))
    generator.batched.close()
    medians = {u: statistics.median(r) for u, r in rates.items()}
    base = medians[users[0]]
    for u in users:
        print(
            f"{u} users at once: {medians[u]:.1f} tokens/s in all ({medians[u] / base:.2f}x {users[0]} user's), "
            f"largest batch seen {generator.batched.largest_batch}"
        )
    print(
        json.dumps(
            {
                "benchmark": "batching",
                "device": str(generator.model.device),
                "generator": args.generator,
                "tokens_per_s": medians,
                "ratio": {u: round(medians[u] / base, 3) for u in users},
            }
        )
    )


if __name__ == "__main__":
    main()
