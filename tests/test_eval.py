"""`chatrec eval` on ReDial and OpenDialKG: its output, quality floors, and proof that gold items never leak in."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest
from conftest import SHARED

from chatrec import Engine, Settings
from chatrec.cli import main as cli
from chatrec.offline.datasets import RecTurn, load_turns, tuning_part
from chatrec.offline.evaluate import CHAT, SEEKER_ONLY, ranking_input, seeker_lines
from chatrec.ranking.adapter import bundled_path
from chatrec.reading.critiques import ATTRIBUTES

REDIAL = SHARED / "redial"
OPENDIALKG = SHARED / "opendialkg"
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not (REDIAL / "valid_turns.jsonl").exists(), reason=f"ReDial data not found at {REDIAL} (../shared is absent)"
    ),
]
KEYS = {"recall@1", "recall@5", "recall@10", "recall@50", "ndcg@10", "mrr"}


@pytest.fixture(scope="module")
def redial_eval(redial_dir, tmp_path_factory) -> tuple[Path, dict, str]:  # type: ignore[no-untyped-def]
    """One quick evaluation run (150 tuning-part turns, every ablation), through the command line."""
    import contextlib
    import io

    data, _ = redial_dir
    out_file = tmp_path_factory.mktemp("eval") / "results.json"
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = cli(
            [
                "eval",
                "redial",
                "--data",
                str(REDIAL),
                "--data-dir",
                str(data),
                "--limit",
                "150",
                "--replay",
                "--movielens",
                str(SHARED / "movielens-small"),
                "--out",
                str(out_file),
            ]
        )
    assert code == 0
    return data, json.loads(out_file.read_text(encoding="utf-8")), out.getvalue()


def test_eval_prints_the_contract_json_last_and_beats_its_baselines(redial_eval) -> None:  # type: ignore[no-untyped-def]
    _, result, printed = redial_eval
    last = json.loads(printed.strip().splitlines()[-1])
    assert set(last) == {
        "dataset",
        "turns",
        "path",
        "all",
        "excluding_mentioned",
        "dedup",
        "seconds_per_turn",
        "compared",
    }
    assert last["turns"] == 150 and "tuning part" in last["dataset"] and last["path"] == CHAT
    assert set(last["compared"]) == {SEEKER_ONLY, "chatrec"}
    assert set(last["all"]) == KEYS and set(last["excluding_mentioned"]) == KEYS and set(last["dedup"]) == KEYS
    rows = result["rows"]
    assert {
        "baseline: popularity",
        "baseline: plain text embedding",
        "without the adapter",
        "without collaborative",
        "without stated",
        "without people",
        "with MovieLens in the collaborative model",
        "chat, without people",
    } <= set(rows)
    assert "without recommender" not in rows and "without seeker" not in rows, "off by default (shortcut terms)"
    ours = rows["chatrec"]["all"]
    # quality floors well under what the full run measures (README, "Evaluation"), on 150 turns
    assert ours["recall@10"] >= 0.15 and ours["recall@50"] >= 0.30
    for baseline in ("baseline: popularity", "baseline: plain text embedding"):
        assert ours["recall@50"] > rows[baseline]["all"]["recall@50"]
        assert ours["recall@10"] > rows[baseline]["all"]["recall@10"]
    assert rows["chatrec"]["excluding_mentioned"]["recall@10"] <= ours["recall@10"]
    assert rows["chatrec"]["dedup"]["recall@10"] >= rows["chatrec"]["excluding_mentioned"]["recall@10"] > 0
    assert result["dedup_pairs"] > 0
    assert 0 < ours["coverage@10"] <= 1 and 0 < ours["ndcg@10"] <= 1
    # chat, replayed turn by turn, recommends nearly as well as rank on the same utterances (docs/evaluation.md)
    assert rows[CHAT]["all"]["recall@10"] >= 0.7 * rows[SEEKER_ONLY]["all"]["recall@10"] > 0


def test_no_gold_item_leaks_into_the_ranking_input(redial_eval) -> None:  # type: ignore[no-untyped-def]
    data, _, _ = redial_eval
    turns = [t for t in load_turns(REDIAL / "valid_turns.jsonl") if tuning_part(t.dialog_id)][:40]
    settings = Settings(data_dir=data, catalog=REDIAL / "id2info.json", catalog_format="redial", generator="none")
    with Engine.load(settings) as engine:
        read, embedded = [], []
        real_read, real_embed = engine.ranker.read, engine.tracker.embed
        engine.ranker.read = lambda text: read.append(text) or real_read(text)  # type: ignore[method-assign]
        directions = {a.direction for a in ATTRIBUTES.values()}  # fixed phrases of the critiques ("funnier")
        engine.tracker.embed = lambda texts: (
            embedded.extend(t for t in texts if t not in directions) or real_embed(texts)
        )  # type: ignore[method-assign]
        for turn in turns:
            read.clear()
            embedded.clear()
            given = ranking_input(engine, turn)
            # everything the ranker read or embedded is the context itself
            assert set(read) <= set(turn.context)
            context_words = set(re.findall(r"\w+", " ".join(turn.context)))
            assert all(set(re.findall(r"\w+", text)) <= context_words for text in embedded)
            # a gold title that the context does not name is in none of it
            for gold in turn.rec:
                if gold not in " ".join(turn.context):
                    assert not any(gold in text for text in [*read, *embedded])
            # the rest of the turn changes nothing: the same ranking without its gold, entities or turn id
            bare = RecTurn(turn.dialog_id, -1, turn.context, ())
            again = ranking_input(engine, bare)
            assert again.candidates == given.candidates
            assert all((again.terms[k] == given.terms[k]).all() for k in given.terms)
            assert engine.rank(list(turn.context), 50) == engine.ranker.top(given, settings.term_weights, 50)
        # the replay through chat reads and embeds the seeker's utterances only, and no gold title beyond them
        engine.understander.read = lambda text, fuzzy=True, real=engine.understander.read: (  # type: ignore[method-assign]
            read.append(text) or real(text, fuzzy)
        )
        for n, turn in enumerate(turns[:15]):
            engine.purge_caches()  # read and embed afresh, so the spies see everything
            read.clear()
            embedded.clear()
            said = seeker_lines(turn.context)
            for line in said:
                engine.chat(f"leak-{n}", line)
            assert said and set(said) <= set(read) <= set(said) | {""}
            said_words = set(re.findall(r"\w+", " ".join(said)))
            assert all(set(re.findall(r"\w+", text)) <= said_words for text in embedded)
            for gold in turn.rec:
                if gold not in " ".join(said):
                    assert not any(gold in text for text in [*read, *embedded])
    # the collaborative model saw training-part dialogues only
    users = {
        row["user"] for row in csv.DictReader((data / "collaborative" / "interactions.csv").open(encoding="utf-8"))
    }
    assert users and not any(tuning_part(u.removeprefix("dialog-")) for u in users)
    # and the bundled adapter was trained with the same split, so it never saw a tuning-part dialogue
    from chatrec.ranking.adapter import Adapter

    info = Adapter.load(bundled_path(engine.embedder.id)).info
    assert info["split_seed"] == 0 and info["tuning_share"] == pytest.approx(0.3)


def opendialkg_slice(folder: Path, turns: int, others: int) -> Path:
    """OpenDialKG's first `turns` turns with a catalog cut to the films they name plus `others` more (real rows,
    written to a temp folder): the whole 3,672-item catalog costs minutes to embed; README "Evaluation" runs it all."""
    lines = (OPENDIALKG / "valid_turns.jsonl").read_text(encoding="utf-8").splitlines()[:turns]
    named = {name for line in lines for key in ("rec", "entity") for name in json.loads(line)[key]}
    info = json.loads((OPENDIALKG / "id2info.json").read_text(encoding="utf-8"))
    rest = [k for k, v in info.items() if v.get("name") not in named][:others]
    keep = {k for k, v in info.items() if v.get("name") in named} | set(rest)
    folder.mkdir(parents=True)  # in the file's own order: with no interactions, popularity ties go by that order
    (folder / "id2info.json").write_text(json.dumps({k: v for k, v in info.items() if k in keep}), encoding="utf-8")
    (folder / "valid_turns.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def test_opendialkg_eval_runs_without_interactions(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    if not (OPENDIALKG / "valid_turns.jsonl").exists():
        pytest.skip("OpenDialKG data not found (../shared is absent)")
    data = opendialkg_slice(tmp_path / "odkg-slice", turns=40, others=400)
    out_file = tmp_path / "results.json"
    assert (
        cli(
            [
                "eval",
                "opendialkg",
                "--data",
                str(data),
                "--data-dir",
                str(tmp_path / "odkg"),
                "--no-ablations",
                "--out",
                str(out_file),
            ]
        )
        == 0
    )
    last = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert last["turns"] >= 30 and last["dataset"] == "opendialkg"
    # no interactions: the collaborative terms are off, the rest still ranks, and beats both baselines
    rows = json.loads(out_file.read_text(encoding="utf-8"))["rows"]
    for baseline in ("baseline: popularity", "baseline: plain text embedding"):
        assert rows["chatrec"]["all"]["recall@10"] > rows[baseline]["all"]["recall@10"], baseline


def test_people_term_brings_films_that_share_cast_or_crew(redial_dir) -> None:  # type: ignore[no-untyped-def]
    """Naming two Harrison Ford films (without naming him) brings more films with him or their crew into the top 10."""
    data, _ = redial_dir
    settings = Settings(data_dir=data, catalog=REDIAL / "id2info.json", catalog_format="redial", generator="none")
    with Engine.load(settings) as engine:
        given = engine.ranker.terms(["Hi! I loved Air Force One (1997) and The Fugitive (1993). Anything like those?"])
        named = set(given.mentioned)
        assert {engine.items[i].title for i in named} == {"Air Force One", "The Fugitive"}
        crew = {p for i in named for p in (*engine.items[i].creators, *engine.items[i].cast)}

        def sharing(weight: float) -> int:
            top = given.ranked({**settings.term_weights, "people": weight}, 10)
            return sum(bool(crew & {*engine.items[i].creators, *engine.items[i].cast}) for i in top if i not in named)

        people = dict(zip(given.candidates, given.terms["people"]))
        assert all(people[i] == 0 for i in named) and max(people.values()) == pytest.approx(1.0)
        assert sharing(settings.w_people) >= 3 and sharing(settings.w_people) > sharing(0.0)
