"""`chatrec eval`: rank the whole catalog for every recommendation turn of ReDial or OpenDialKG and score it.

The catalog is ingested into the evaluation's own data folder (cached between runs). For ReDial the raw validation
dialogues are split by `dialog_id`: the training part feeds the collaborative model (and trained the bundled query
adapter), and results are reported on the tuning part. Every turn goes through `DialogueRanker.terms`, the code
behind `Engine.rank`; ablations re-weight or re-run that same code, and two baselines (popularity, plain text
embedding) run beside it, so every number is measured side by side.
"""

from __future__ import annotations

import functools
import json
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from chatrec.config import Settings
from chatrec.offline.datasets import (
    RecTurn,
    load_turns,
    movielens_interactions,
    name_to_id,
    redial_dialogue_interactions,
    tuning_part,
)
from chatrec.offline.metrics import coverage_at_k, hits_at_k, ndcg_at_k, reciprocal_rank
from chatrec.ranking.collaborative import Collaborative, store_and_fit, write_interactions
from chatrec.ranking.order import RankInput
from chatrec.ranking.pipeline import chat_order
from chatrec.ranking.signals import TERMS

if TYPE_CHECKING:
    from chatrec.engine import Engine  # the engine (and its models) is imported when an evaluation runs

KS = (1, 5, 10, 50)
DEPTH = 50
LISTED = 100  # ranked this deep, so that removing mentioned items still leaves DEPTH
EVAL_DATA = Path(".chatrec-eval")
Inputs = dict[int, RankInput]  # a turn's (its id()) ranking inputs
ChatInputs = dict[int, tuple[RankInput, set[str]]]  # chat's inputs after a turn's last message, and what it left out
REPLAY_K = 10  # chat's recommendations per turn in the replay (Recall@1/5/10 of what chat shows)
CHAT = "chat (seeker utterances replayed through Engine.chat)"
SEEKER_ONLY = "rank, seeker utterances only"


def eval_data_dir(dataset: str, given: Path | None = None) -> Path:
    """The evaluation's own data folder for a dataset (its ingested catalog, models and results)."""
    return given or EVAL_DATA / dataset


@dataclass
class Scores:
    """Running totals for one system under one protocol."""

    hits: dict[int, int] = field(default_factory=lambda: {k: 0 for k in KS})
    pairs: int = 0
    rr: float = 0.0
    ndcg: list[float] = field(default_factory=list)
    rankings: list[list[str]] = field(default_factory=list)

    def add(self, ranked: Sequence[str], gold: Sequence[str]) -> None:
        ranked = ranked[:DEPTH]
        for k in KS:
            self.hits[k] += hits_at_k(ranked, gold, k)
        self.pairs += len(gold)
        self.rr += sum(reciprocal_rank(ranked[:DEPTH], g) for g in gold)
        self.ndcg.append(ndcg_at_k(ranked, gold, 10))
        self.rankings.append(list(ranked[:10]))

    def summary(self, catalog_size: int) -> dict[str, float]:
        n = max(self.pairs, 1)
        out = {f"recall@{k}": round(self.hits[k] / n, 4) for k in KS}
        out["ndcg@10"] = round(float(np.mean(self.ndcg)) if self.ndcg else 0.0, 4)
        out["mrr"] = round(self.rr / n, 4)
        out["coverage@10"] = round(coverage_at_k(self.rankings, catalog_size, 10), 4)
        return out


@dataclass
class System:
    """One ranked list per turn: `rank(turn) -> (ranked ids, mentioned ids known to the system)`."""

    name: str
    rank: Callable[[RecTurn], list[str]]
    all: Scores = field(default_factory=Scores)
    excluding: Scores = field(default_factory=Scores)
    dedup: Scores = field(default_factory=Scores)


@dataclass(frozen=True)
class EvalSpec:
    dataset: str  # "redial" or "opendialkg"
    data: Path  # the dataset folder
    turns: Path | None = None  # default: <data>/valid_turns.jsonl
    data_dir: Path | None = None  # default: ./.chatrec-eval/<dataset>
    limit: int = 0
    seed: int = 0
    share: float = 0.3  # share of dialogues in the tuning part
    movielens: Path | None = None  # ../shared/datasets/movielens-small, for the "+ MovieLens" row
    ablations: bool = True
    tune: bool = False
    whole_file: bool = False  # score every turn of the default file, training part included (optimistic)
    replay: bool = False  # also replay the seeker's utterances through `Engine.chat` (one user per turn)
    out: Path | None = None


def uses_split(spec: EvalSpec) -> bool:
    """ReDial's validation dialogues train the adapter and the collaborative model, so only its tuning part is
    reported; a different turns file (e.g. a test split) is reported whole."""
    return (
        spec.dataset == "redial"
        and not spec.whole_file
        and (spec.data / "valid_dialogues.jsonl").is_file()
        and (spec.turns is None or spec.turns.resolve() == (spec.data / "valid_turns.jsonl").resolve())
    )


def prepare_interactions(spec: EvalSpec, settings: Settings, ids: list[str], log: Callable[[str], None]) -> Path | None:
    """Write the training part's dialogue interactions and fit the collaborative model (a few seconds)."""
    dialogues = spec.data / "valid_dialogues.jsonl"
    if spec.dataset != "redial" or not dialogues.is_file():
        return None
    known = set(ids)
    train = {str(json.loads(line)["conversationId"]) for line in dialogues.open(encoding="utf-8") if line.strip()}
    train = {d for d in train if not tuning_part(d, spec.share, spec.seed)}
    derived = settings.data_dir / "derived"
    path = derived / f"dialogues-train-seed{spec.seed}.csv"
    write_interactions(path, redial_dialogue_interactions(dialogues, train, known))
    _, _, rows = store_and_fit(settings.collaborative_dir, path, ids)
    log(f"collaborative model: {rows} interactions from {len(train)} training-part dialogues")
    return path


def movielens_model(
    spec: EvalSpec, settings: Settings, ids: list[str], dialogue_file: Path | None
) -> Collaborative | None:
    """Dialogue interactions plus MovieLens ratings (linked through movielens_links.csv), fitted as one model."""
    if spec.movielens is None or dialogue_file is None or not (spec.data / "movielens_links.csv").is_file():
        return None
    path = settings.data_dir / "derived" / f"dialogues-train-seed{spec.seed}+movielens.csv"
    known = set(ids)
    lines = dialogue_file.read_text(encoding="utf-8").splitlines()[1:]
    rows = [line.split(",") for line in lines] + [
        list(map(str, r))
        for r in movielens_interactions(spec.movielens / "ratings.csv", spec.data / "movielens_links.csv", known)
    ]
    write_interactions(path, rows)
    model, _, _ = store_and_fit(settings.data_dir / "derived" / "movielens-model", path, ids)
    return model


def ranking_input(engine: Engine, turn: RecTurn) -> RankInput:
    """The only place a turn meets the ranker: it is given the context, and nothing else of the turn."""
    return engine.ranker.terms(list(turn.context))


def evaluate(spec: EvalSpec, log: Callable[[str], None] = print) -> dict[str, Any]:
    from tqdm import tqdm

    from chatrec.engine import Engine

    started = time.perf_counter()
    catalog = spec.data / "id2info.json"
    settings = Settings(
        data_dir=eval_data_dir(spec.dataset, spec.data_dir),
        catalog=catalog,
        catalog_format="redial",
        generator="none",
        k=REPLAY_K,
    )
    ids = list(json.loads(catalog.read_text(encoding="utf-8")))
    dialogue_file = prepare_interactions(spec, settings, ids, log)
    with Engine.load(settings, progress=True) as engine:
        names = name_to_id(catalog)
        turns = load_turns(spec.turns or spec.data / "valid_turns.jsonl")
        split = uses_split(spec)
        if split:
            turns = [t for t in turns if tuning_part(t.dialog_id, spec.share, spec.seed)]
        if spec.limit:
            turns = turns[: spec.limit]
        turns = [t for t in turns if any(g in names for g in t.rec)]
        log(
            f"{len(engine.items)} items; {len(turns)} turns"
            + (" (tuning part of the dialog_id split)" if split else "")
        )

        ranker = engine.ranker
        weights = settings.term_weights
        inputs, seconds, ranked = [], [], {}
        for turn in tqdm(turns, desc="Ranking turns", unit="turn"):
            t0 = time.perf_counter()
            given = ranking_input(engine, turn)
            ranked[id(turn)] = ranker.top(given, weights, LISTED)  # exactly what Engine.rank returns
            seconds.append(time.perf_counter() - t0)
            inputs.append(given)
        cached = dict(zip((id(t) for t in turns), inputs))
        main = System("chatrec", lambda t: ranked[id(t)])
        systems = [main, *_baselines(engine, settings)]
        if spec.ablations:
            systems += _ablations(engine, settings, cached, spec, ids, dialogue_file)
        chat_inputs: ChatInputs = {}
        if spec.replay:
            systems += replay_systems(engine, turns, chat_inputs, tqdm, spec.ablations)
        for system in systems:
            _score(
                system,
                tqdm(turns, desc=f"Scoring {system.name}", unit="turn", leave=False, disable=system is main),
                names,
                cached,
            )
        tuned = tuned_chat = None
        if spec.tune:
            tuned = tune_weights(cached, turns, names, settings)
            systems.append(_cross_fitted(engine, cached, turns, names, settings, spec.seed))
            if chat_inputs:
                tuned_chat = tune_weights({k: given for k, (given, _) in chat_inputs.items()}, turns, names, settings)
        size = len(engine.items)
        rows = {
            s.name: {
                "all": s.all.summary(size),
                "excluding_mentioned": s.excluding.summary(size),
                "dedup": s.dedup.summary(size),
            }
            for s in systems
        }
    result = {
        "dataset": f"{spec.dataset}"
        + (f" valid, tuning part (dialog_id split, seed {spec.seed}, {spec.share:.0%})" if split else "")
        + (
            " valid, every turn (the training part's dialogues trained the adapter: optimistic)"
            if spec.whole_file
            else ""
        ),
        "turns": len(turns),
        "all": rows["chatrec"]["all"],
        "excluding_mentioned": rows["chatrec"]["excluding_mentioned"],
        "dedup": rows["chatrec"]["dedup"],
        "dedup_pairs": main.dedup.pairs,
        "seconds_per_turn": round(statistics.mean(seconds), 4) if seconds else 0.0,
        "seconds_per_turn_median": round(statistics.median(seconds), 4) if seconds else 0.0,
        "rows": rows,
        "weights": weights,
        "adapter": (engine.ranker.adapter.info if engine.ranker.adapter else None),
        "total_seconds": round(time.perf_counter() - started, 1),
    }
    if tuned:
        result["tuned_weights"] = tuned
    if tuned_chat:
        result["tuned_weights_chat"] = tuned_chat
    if spec.replay:
        result["path"] = CHAT
        result["paths"] = {name: rows[name] for name in (CHAT, SEEKER_ONLY, "chatrec")}
    return result


def seeker_lines(context: Sequence[str]) -> list[str]:
    """The seeker's utterances of a context (the last line is the seeker's), in order."""
    last = len(context) - 1
    return [line for i, line in enumerate(context) if (last - i) % 2 == 0 and line and line.strip()]


def seeker_only(context: Sequence[str]) -> list[str]:
    """The context with the recommender's lines blanked: what the seeker said, in the same places."""
    last = len(context) - 1
    return [line if (last - i) % 2 == 0 else "" for i, line in enumerate(context)]


def replay_systems(
    engine: Engine,
    turns: Sequence[RecTurn],
    chat_inputs: ChatInputs,
    progress: Callable[..., Iterable[RecTurn]],
    ablations: bool = True,
) -> list[System]:
    """Chat evaluated as chat: each turn's seeker utterances sent through `Engine.chat`, one by one, by one new
    user per turn, scoring the recommendations after the last one; and `rank` on the same utterances alone.

    With `ablations`, each term's weight is also set to 0 in turn on the inputs chat ranked from after the last
    message (kept through the ranker's `observe` hook), and chat's own order (MMR, what it leaves out) is applied
    again: what each term adds to what chat shows."""
    recommended: dict[int, list[str]] = {}
    caught: list[tuple[RankInput, set[str]]] = []
    engine.ranker.observe = lambda given, drop: caught.append((given, drop))
    nonce = f"{time.time_ns():x}"
    try:
        for n, turn in enumerate(progress(turns, desc="Replaying turns through chat", unit="turn")):
            user = f"replay-{nonce}-{n}"
            caught.clear()
            shown: list[str] = []
            for line in seeker_lines(turn.context):
                shown = [r.item_id for r in engine.chat(user, line).recommendations]
            recommended[id(turn)] = shown
            if caught:
                chat_inputs[id(turn)] = caught[-1]
            engine.profiles.forget(user)
    finally:
        engine.ranker.observe = None
    alone = System(SEEKER_ONLY, lambda t: engine.rank(seeker_only(t.context), LISTED))
    systems = [System(CHAT, lambda t: recommended[id(t)]), alone]
    if ablations:
        systems += _chat_ablations(engine.settings, chat_inputs)
    return systems


def _chat_ablations(settings: Settings, chat_inputs: ChatInputs) -> list[System]:
    """Chat's list again with each term switched off in turn (term weights only: the same candidates)."""

    def shown(turn: RecTurn, weights: dict[str, float]) -> list[str]:
        if id(turn) not in chat_inputs:
            return []
        given, drop = chat_inputs[id(turn)]
        return [c.item_id for c in chat_order(given, weights, settings.k, settings.mmr_lambda, drop)]

    systems = []
    for term in TERMS[1:]:
        if settings.term_weights.get(term, 0.0) != 0.0:
            w = {**settings.term_weights, term: 0.0}
            systems.append(System(f"chat, without {term}", functools.partial(shown, weights=w)))
    return systems


def _baselines(engine: Engine, settings: Settings) -> list[System]:
    """Popularity (interaction counts, else the catalog's popularity field) and the plain text embedding."""
    popular = engine.ranker.popular()[:LISTED]

    def plain(turn: RecTurn) -> list[str]:
        text = " ".join(u for u in turn.context[-4:] if u and u.strip()).strip()
        if not text:
            return popular
        vector = engine.embed_texts([text])[0]
        return [h.item_id for h in engine.store.query(vector, LISTED)]

    return [System("baseline: popularity", lambda t: popular), System("baseline: plain text embedding", plain)]


def _ablations(
    engine: Engine,
    settings: Settings,
    cached: Inputs,
    spec: EvalSpec,
    ids: list[str],
    dialogue_file: Path | None,
) -> list[System]:
    """Each signal off in turn. Term weights re-weight the same candidates; the others re-run the ranker."""
    systems = []
    for term in TERMS[1:]:
        w = settings.term_weights
        if w.get(term, 0.0) == 0.0:
            continue
        w = {**w, term: 0.0}
        systems.append(System(f"without {term}", functools.partial(_reweighted, engine, cached, w)))

    def rerun(name: str, changed: Settings, **swap: Any) -> System:
        variant = engine.ranker_variant(changed, **swap)
        return System(name, lambda t: variant.rank(list(t.context), LISTED))

    if engine.ranker.adapter is not None:
        systems.append(rerun("without the adapter", settings, adapter=None))
    systems.append(rerun("without mentioned items in the query", settings.with_(mention_weight=0.0)))
    systems.append(rerun("without recency (all mentions equal)", settings.with_(mention_recency=1.0)))
    extra = movielens_model(spec, settings, ids, dialogue_file)
    if extra is not None:
        systems.append(rerun("with MovieLens in the collaborative model", settings, collaborative=extra))
    return systems


def _reweighted(engine: Engine, cached: Inputs, weights: dict[str, float], turn: RecTurn) -> list[str]:
    """The same candidates of `turn` in the order other weights give."""
    return engine.ranker.top(cached[id(turn)], weights, LISTED)


def tune_weights(
    cached: Inputs,
    turns: Sequence[RecTurn],
    names: dict[str, str],
    settings: Settings,
    grid: Iterable[float] = (0.0, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0),
    rounds: int = 3,
) -> dict[str, float]:
    """Coordinate ascent on the term weights (text fixed at 1) for mean Recall@10 and @50 on these turns."""
    golds = [[names[g] for g in dict.fromkeys(t.rec) if g in names] for t in turns]
    inputs = [cached[id(t)] for t in turns]

    def score(w: dict[str, float]) -> float:
        h10 = h50 = pairs = 0
        for given, gold in zip(inputs, golds):
            ranked = given.ranked(w, DEPTH)
            h10 += hits_at_k(ranked, gold, 10)
            h50 += hits_at_k(ranked, gold, 50)
            pairs += len(gold)
        return (h10 + h50) / (2 * max(pairs, 1))

    best = dict(settings.term_weights)
    best_score = score(best)
    for _ in range(rounds):
        changed = False
        for term in TERMS[1:]:
            sign = -1.0 if settings.term_weights.get(term, 0.0) < 0 else 1.0  # a penalty stays a penalty
            for value in grid:
                trial = {**best, term: sign * value}
                s = score(trial)
                if s > best_score + 1e-9:
                    best, best_score, changed = trial, s, True
        if not changed:
            break
    print(f"tuned weights (mean of R@10 and R@50 = {best_score:.4f}): {json.dumps(best)}", file=sys.stderr)
    return best


def _cross_fitted(
    engine: Engine,
    cached: Inputs,
    turns: Sequence[RecTurn],
    names: dict[str, str],
    settings: Settings,
    seed: int,
) -> System:
    """An honest check on tuning and reporting on the same turns: weights tuned on one half of the dialogues score
    the other half, and the other way round."""
    half = {id(t): tuning_part(t.dialog_id, 0.5, seed + 7) for t in turns}
    weights = {}
    for side in (True, False):
        weights[side] = tune_weights(cached, [t for t in turns if half[id(t)] != side], names, settings)
    system = System(
        "chatrec, weights cross-fitted (2 folds)",
        lambda t: engine.ranker.top(cached[id(t)], weights[half[id(t)]], LISTED),
    )
    _score(system, turns, names, cached)
    return system


def _score(system: System, turns: Iterable[RecTurn], names: dict[str, str], cached: Inputs) -> None:
    """Three protocols: the ranking as it is (all pairs); with the items the context mentions removed (those the
    ranker found, and those the dataset annotates), a gold item that was mentioned counting as missed; and the dedup
    view of the SIGIR 2026 standardized re-evaluation: mentioned items removed and the pairs whose gold item was
    already mentioned dropped (what a recommender that never hands back a named item can be judged on)."""
    for turn in turns:
        gold = [names[g] for g in dict.fromkeys(turn.rec) if g in names]
        top = system.rank(turn)
        system.all.add(top, gold)
        mentioned = set(cached[id(turn)].mentioned) | {names[e] for e in turn.entity if e in names}
        fresh = [i for i in top if i not in mentioned]
        system.excluding.add(fresh, gold)
        new_gold = [g for g in gold if g not in mentioned]
        if new_gold:
            system.dedup.add(fresh, new_gold)


def table(result: dict[str, Any]) -> str:
    """The rows as a plain-text table: all pairs, and the dedup view."""
    head = (
        f"{'system':46} {'R@1':>6} {'R@5':>6} {'R@10':>6} {'R@50':>6} {'NDCG@10':>8} {'MRR':>6} {'cov@10':>7} | "
        f"{'R@1':>6} {'R@5':>6} {'R@10':>6} {'R@50':>6}"
    )
    lines = [f"{'':46} {'all pairs':^50} | {'dedup view':^27}", head, "-" * len(head)]
    for name, row in result["rows"].items():
        a, e = row["all"], row["dedup"]
        lines.append(
            f"{name:46} {a['recall@1']:6.3f} {a['recall@5']:6.3f} {a['recall@10']:6.3f} {a['recall@50']:6.3f} "
            f"{a['ndcg@10']:8.3f} {a['mrr']:6.3f} {a['coverage@10']:7.3f} | {e['recall@1']:6.3f} "
            f"{e['recall@5']:6.3f} {e['recall@10']:6.3f} {e['recall@50']:6.3f}"
        )
    return "\n".join(lines)


def last_line(result: dict[str, Any]) -> str:
    """The one-line JSON summary the evaluation prints last: the `rank` path, or with `--replay` the chat path
    (k = 10) with the two `rank` paths beside it under "compared"."""
    keys = ("recall@1", "recall@5", "recall@10", "recall@50", "ndcg@10", "mrr")
    path = result.get("path", "rank")
    row = result["paths"][path] if path in result.get("paths", {}) else result
    line = {
        "dataset": result["dataset"],
        "turns": result["turns"],
        "path": path,
        "all": {k: row["all"][k] for k in keys},
        "excluding_mentioned": {k: row["excluding_mentioned"][k] for k in keys},
        "dedup": {k: row["dedup"][k] for k in keys},
        "seconds_per_turn": result["seconds_per_turn"],
    }
    if "paths" in result:
        short = ("recall@1", "recall@5", "recall@10")
        line["compared"] = {
            name: {p: {k: r[p][k] for k in short} for p in ("all", "dedup")}
            for name, r in result["paths"].items()
            if name != path
        }
    return json.dumps(line)
