"""`chatrec train-adapter`: learn the query-side adapter from ReDial dialogues (training part of the split only).

Each training turn gives the dialogue vector that `Engine.rank` builds (without an adapter) and the items the
recommender then suggested. A residual linear map is fitted so that, after it, the dialogue vector scores those
items highest against the whole catalog (softmax cross-entropy over every item, L2 on the map). The number of
epochs is chosen on a held-out slice of the training part, never on the tuning part. CPU by default; `--device cuda`
when one is there. Seeded and deterministic on CPU.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from chatrec.config import Settings
from chatrec.offline.datasets import load_turns, name_to_id, redial_dialogue_pairs, tuning_part
from chatrec.offline.evaluate import eval_data_dir
from chatrec.ranking.adapter import Adapter, bundled_path


@dataclass(frozen=True)
class TrainSpec:
    data: Path  # ../shared/datasets/redial
    data_dir: Path | None = None  # the evaluation's data folder (its ingested catalog is reused)
    out: Path | None = None  # default: the bundled adapter for the embedder
    seed: int = 0
    share: float = 0.3  # the tuning part, as in `chatrec eval` (left out entirely)
    holdout: float = 0.15  # share of training dialogues used to pick the epoch
    epochs: int = 12
    lr: float = 1e-3
    l2: float = 1e-2
    batch: int = 128
    device: str = "cpu"
    source: str = "dialogues"  # 'dialogues': every movie either side names in the raw dialogues; 'turns': gold only


def train(spec: TrainSpec, log: Callable[[str], None] = print) -> Path:
    import torch

    from chatrec.engine import Engine

    started = time.perf_counter()
    settings = Settings(
        data_dir=eval_data_dir("redial", spec.data_dir),
        catalog=spec.data / "id2info.json",
        catalog_format="redial",
        generator="none",
        adapter="none",
    )
    turns_path = spec.data / "valid_turns.jsonl"
    names = name_to_id(spec.data / "id2info.json")
    turns = [t for t in load_turns(turns_path) if not tuning_part(t.dialog_id, spec.share, spec.seed)]
    with Engine.load(settings, progress=True) as engine:
        ids = list(engine.items)
        index = {i: k for k, i in enumerate(ids)}
        vectors = engine.store.vectors(ids)
        items = np.vstack([vectors[i] for i in ids])

        def query(context: list[str]) -> np.ndarray:
            state = engine.ranker.state_for(context)
            return engine.ranker.query(state, engine.ranker.view(state), use_adapter=False)

        examples: list[tuple[list[str], str, bool]] = []  # (context, item id, held out?)
        for turn in turns:
            held_out = tuning_part(turn.dialog_id, spec.holdout, spec.seed + 1)
            if spec.source == "turns" or held_out:
                examples += [(list(turn.context), names[g], held_out) for g in dict.fromkeys(turn.rec) if g in names]
        if spec.source == "dialogues":
            info = json.loads((spec.data / "id2info.json").read_text(encoding="utf-8"))
            keep = {t.dialog_id for t in turns if not tuning_part(t.dialog_id, spec.holdout, spec.seed + 1)}
            examples += [
                (c, i, False)
                for c, i in redial_dialogue_pairs(
                    spec.data / "valid_dialogues.jsonl", keep, {k: str(v.get("name", "")) for k, v in info.items()}
                )
            ]
        queries, gold, held = [], [], []
        for context, item, held_out in examples:
            q = query(context)
            if np.any(q) and item in index:
                queries.append(q)
                gold.append(index[item])
                held.append(held_out)
        embedder_id = engine.embedder.id
    q_all, g_all, h_all = np.vstack(queries), np.array(gold), np.array(held)
    log(f"{int((~h_all).sum())} training pairs, {int(h_all.sum())} held-out pairs, {len(ids)} items")

    torch.manual_seed(spec.seed)
    torch.use_deterministic_algorithms(True)
    dev = torch.device(spec.device)
    V = torch.tensor(items, device=dev)
    Qt, Gt = torch.tensor(q_all[~h_all], device=dev), torch.tensor(g_all[~h_all], device=dev)
    Qh, Gh = torch.tensor(q_all[h_all], device=dev), torch.tensor(g_all[h_all], device=dev)
    d = items.shape[1]
    A = torch.zeros(d, d, device=dev, requires_grad=True)
    log_scale = torch.tensor(3.0, device=dev, requires_grad=True)
    optimiser = torch.optim.Adam([A, log_scale], lr=spec.lr)

    def adapted(q: torch.Tensor) -> torch.Tensor:
        moved = q + q @ A
        return moved / moved.norm(dim=1, keepdim=True).clamp_min(1e-9)

    def held_recall() -> float:
        with torch.no_grad():
            scores = adapted(Qh) @ V.T
            rank = (scores > scores.gather(1, Gh[:, None])).sum(dim=1)
            return float(((rank < 10).float().mean() + (rank < 50).float().mean()) / 2)

    best = (held_recall(), 0, A.detach().clone())
    log(f"epoch 0: held-out mean of R@10 and R@50 {best[0]:.4f}")
    generator = torch.Generator(device="cpu").manual_seed(spec.seed)
    for epoch in range(1, spec.epochs + 1):
        order = torch.randperm(len(Qt), generator=generator).to(dev)
        for start in range(0, len(order), spec.batch):
            pick = order[start : start + spec.batch]
            logits = log_scale.exp() * (adapted(Qt[pick]) @ V.T)
            loss = torch.nn.functional.cross_entropy(logits, Gt[pick]) + spec.l2 * (A**2).sum()
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
        score = held_recall()
        log(f"epoch {epoch}: loss {loss.item():.3f}, held-out mean of R@10 and R@50 {score:.4f}")
        if score > best[0]:
            best = (score, epoch, A.detach().clone())
    info = {
        "dataset": "redial valid (iEvaLM-CRS)",
        "turns_sha256": _sha(turns_path)[:16],
        "split_seed": spec.seed,
        "tuning_share": spec.share,
        "holdout": spec.holdout,
        "epoch": best[1],
        "lr": spec.lr,
        "l2": spec.l2,
        "batch": spec.batch,
        "pairs": int((~h_all).sum()),
        "source": spec.source,
        "held_out_score": round(best[0], 4),
    }
    out = spec.out or bundled_path(embedder_id)
    Adapter(best[2].cpu().numpy(), embedder_id, info).save(out)
    log(
        f"adapter from epoch {best[1]} saved to {out} ({out.stat().st_size / 1e6:.1f} MB) "
        f"in {time.perf_counter() - started:.0f} s"
    )
    log(json.dumps(info))
    return out


def _sha(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
