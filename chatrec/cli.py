"""The `chatrec` command: ingest a catalog, chat in the terminal, or serve the web app."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from chatrec.config import (
    CATALOG_FORMATS,
    PRECISIONS,
    add_catalog_options,
    add_replace_option,
    add_serve_options,
    settings_from,
)
from chatrec.errors import ChatrecError, InputError, StoreCorruptedError, is_disk_full
from chatrec.results import Turn

SHARED_DATASETS = Path("..") / "shared" / "datasets"  # the README runs commands from the project folder


def cores() -> int:
    """The cores this process may run on (its CPU affinity, which containers and taskset narrow)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def cmd_ingest(args: argparse.Namespace) -> int:
    from chatrec.backends.chroma import ChromaStore
    from chatrec.backends.embedders import load_embedder
    from chatrec.backends.ingest import open_for_rebuild, sync_catalog
    from chatrec.backends.parallel import ParallelEmbedder
    from chatrec.catalog.remembered import load_chosen
    from chatrec.reply.vocabulary import write_catalog_file

    # --rebuild embeds everything anew from the catalog named: it may replace another catalog (and says so)
    settings = settings_from(args, **({"replace_catalog": True} if args.rebuild else {}))
    settings, catalog, choice = load_chosen(settings, ingest=True)
    for row in catalog.bad_rows:
        print(f"skipped {row}", file=sys.stderr)
    # one process per core, one thread each (backends/parallel.py); the workers start only if there is work
    processes = args.threads or cores()
    embedder = ParallelEmbedder(
        load_embedder(settings.embedder, 1, settings.precision), settings.embedder, processes, settings.precision
    )
    try:
        if args.rebuild:
            store, moved = open_for_rebuild(settings, embedder)
            if moved:
                print(f"The damaged store was moved to {moved} (delete it when you no longer need it).")
        else:
            store = ChromaStore(settings, embedder.id, embedder.dim)
        try:
            report = sync_catalog(store, catalog, embedder, settings, choice, progress=not args.quiet)
            write_catalog_file(settings.data_dir, catalog, embedder.id, progress=not args.quiet)  # what apps read
        finally:
            store.close()
    finally:
        embedder.close()
    print(f"{len(catalog)} items in {settings.catalog}: {report}. Store: {store.location}")
    if args.interactions:
        from chatrec.ranking.collaborative import store_and_fit

        model, bad, rows = store_and_fit(
            settings.collaborative_dir, args.interactions, list(catalog.items), settings.skip_bad
        )
        for row in bad:
            print(f"skipped {row}", file=sys.stderr)
        print(
            f"{rows} interactions from {args.interactions}; collaborative model fitted "
            f"({int((model.counts > 0).sum())} items with interactions) in {settings.collaborative_dir}"
        )
    return 0


def cmd_generator_file(args: argparse.Namespace) -> int:
    """Print the path of the generator's GGUF file (a packaged one is joined into the model cache once), for
    llama.cpp's server: `python -m llama_cpp.server --model "$(chatrec generator-file)"` (docs/deploy.md)."""
    from chatrec.config import Settings
    from chatrec.generators.weights import gguf_file

    settings = Settings() if args.data_dir is None else Settings(data_dir=args.data_dir)
    path, _ = gguf_file(args.generator or settings.generator, settings.model_cache)
    print(path.resolve())
    return 0


def cmd_refit(args: argparse.Namespace) -> int:
    from chatrec.catalog.files import load_catalog
    from chatrec.catalog.remembered import choose
    from chatrec.ranking.collaborative import refit

    source = choose(settings_from(args)).source  # no CATALOG: the data folder's own (or the bundled one)
    catalog = load_catalog(source.path, skip_bad=True, fmt=source.fmt)
    model, rows = refit(settings_from(args).collaborative_dir, list(catalog.items))
    print(f"refitted from {rows} interactions ({int((model.counts > 0).sum())} items with interactions)")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    import json

    from chatrec.offline.evaluate import EvalSpec, eval_data_dir, evaluate, last_line, table

    if not (args.data / "id2info.json").is_file():
        print(
            f"error: {args.data} has no id2info.json "
            f"(give --data the dataset folder, e.g. ../shared/datasets/{args.dataset})",
            file=sys.stderr,
        )
        return 2
    turns = args.turns or args.data / "valid_turns.jsonl"
    if not turns.is_file():
        print(f"error: turns file not found: {turns}", file=sys.stderr)
        return 2
    spec = EvalSpec(
        dataset=args.dataset,
        data=args.data,
        turns=args.turns,
        data_dir=args.data_dir,
        limit=args.limit,
        seed=args.seed,
        movielens=args.movielens if args.movielens and args.movielens.is_dir() else None,
        ablations=not args.no_ablations,
        tune=args.tune,
        whole_file=args.whole_file,
        replay=args.replay,
    )
    result = evaluate(spec, log=lambda m: print(m, file=sys.stderr))
    out = args.out or eval_data_dir(spec.dataset, spec.data_dir) / "results.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2), encoding="utf-8")
    print(table(result))
    print(
        f"turns: {result['turns']}; ranking {result['seconds_per_turn']:.3f} s per turn (mean); "
        f"whole run {result['total_seconds']:.0f} s; details in {out}"
    )
    print(last_line(result))
    return 0


def cmd_train_adapter(args: argparse.Namespace) -> int:
    from chatrec.offline.training import TrainSpec, train

    spec = TrainSpec(
        data=args.data, data_dir=args.data_dir, out=args.out, seed=args.seed, epochs=args.epochs, device=args.device
    )
    train(spec, log=lambda m: print(m, file=sys.stderr))
    return 0


def cmd_chat(args: argparse.Namespace) -> int:
    from chatrec.engine import Engine

    with Engine.load(settings_from(args), progress=True) as engine:
        print("chatrec — tell me what you like (empty line or Ctrl-D to quit; 'dislike ID' / 'like ID' for feedback).")
        while True:
            try:
                line = input("you> ")
            except EOFError:
                break
            if not line.strip():
                break
            words = line.split()
            try:
                if len(words) == 2 and words[0] in ("like", "dislike"):
                    engine.feedback(args.user, words[1], liked=words[0] == "like")
                    print("bot> noted.")
                    continue
                show_turn(engine.chat_stream(args.user, line))
                print(state_line(engine.profile(args.user)))
            except (InputError, ValueError) as exc:
                print(f"bot> {exc}")
    return 0


def show_turn(turns: Iterable[Turn], write: Callable[[str], object] | None = None) -> Turn | None:
    """Print one streamed turn: the picks as soon as they are ranked, the reply as it is written, then a note when
    the template answered (and why). Returns the final turn."""
    out = write or (lambda text: (sys.stdout.write(text), sys.stdout.flush()))
    shown, turn = "", None
    for turn in turns:
        if not turn.final and not turn.reply:  # the picks are ready before the reply is written
            out("     picks: " + ", ".join(f"{r.title} [{r.item_id}]" for r in turn.recommendations) + "\n")
            continue
        if not turn.reply.startswith(shown):  # the text was dropped for the template: show that on its own line
            out("\n")
            shown = ""
        out(("bot> " if not shown else "") + turn.reply[len(shown) :].replace("\n", "\n     "))
        shown = turn.reply
    if turn is not None:
        out("\n" + (template_note(turn) + "\n" if turn.source == "template" else ""))
    return turn


def state_line(profile: Mapping[str, Any]) -> str:
    """The dialogue state after a turn, in one line: what the user wants now, what they turned away from for now
    and for good, and the constraints ("     state: now thriller, crime · less of for now science fiction · ...")."""
    now = [t["term"] if isinstance(t, Mapping) else str(t) for t in profile.get("terms", [])]
    never = [*profile.get("avoid_genres", []), *profile.get("avoid_people", [])]
    constraints = [*([profile["kind"]] if profile.get("kind") else []), *profile.get("constraints", [])]
    parts = [
        ("now", now),
        ("less of for now", list(profile.get("avoid_for_now", []))),
        ("never", never),
        ("constraints", constraints),
    ]
    return "     state: " + " · ".join(f"{label} {', '.join(map(str, values)) or '-'}" for label, values in parts)


def template_note(turn: Turn) -> str:
    """Why the template answered, in words for the person at the terminal."""
    if turn.busy:
        why = "the generator is busy with other users"
    elif turn.problem == "generator off":
        why = "the generator is off"
    elif "does not speak" in turn.problem:
        why = "the generator does not write this language"
    elif turn.problem == "out of time":
        why = "the generator ran out of time"
    else:
        why = "the generated text did not pass the catalog checks"
    return f"     (a template reply: {why})"


def cmd_script(args: argparse.Namespace) -> int:
    from chatrec.scripts.run import main as run_scripts

    return run_scripts(args.files, junit=args.junit, url=args.url, generate=args.generate)


def cmd_serve(args: argparse.Namespace) -> int:
    from chatrec.serve.page import main as serve_app  # the packaged web app (gradio is imported only here)

    serve_app(serve_argv(args))
    return 0


def serve_argv(args: argparse.Namespace) -> list[str]:
    """`chatrec serve`'s options as app.py's command line."""
    argv: list[str] = []
    for name in ("host", "port", "data_dir", "catalog", "format", "workers"):
        if getattr(args, name, None) is not None:
            argv += [f"--{name.replace('_', '-')}", str(getattr(args, name))]
    for name in ("skip_bad", "replace_catalog"):
        if getattr(args, name, False):
            argv.append(f"--{name.replace('_', '-')}")
    return argv


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="chatrec", description="A conversational recommender.")
    sub = top.add_subparsers(dest="command", required=True)
    ingest = sub.add_parser("ingest", help="load or update the vector store from a catalog (idempotent)")
    ingest.add_argument("catalog", type=Path, help="a .jsonl/.csv file, a folder of them, or ReDial's id2info.json")
    ingest.add_argument("--format", choices=CATALOG_FORMATS, default="auto")
    ingest.add_argument("--skip-bad", action="store_true", help="load the good rows even if some are bad")
    ingest.add_argument("--rebuild", action="store_true", help="embed everything anew (moves a damaged store aside)")
    ingest.add_argument("--quiet", action="store_true", help="no progress bar")
    ingest.add_argument(
        "--threads",
        type=int,
        default=None,
        help="cores for embedding, one process of one thread each (default: every core this process may use)",
    )
    ingest.add_argument(
        "--precision",
        choices=PRECISIONS,
        default=None,
        help="MiniLM's arithmetic (default CHATREC_PRECISION or auto: bfloat16 where the CPU has it natively)",
    )
    ingest.add_argument(
        "--interactions",
        type=Path,
        default=None,
        help="a CSV of user,item,rating,timestamp: fits the collaborative model for this catalog",
    )
    add_replace_option(ingest)
    refit = sub.add_parser(
        "refit", help="fit the collaborative model again from the interactions kept in the data folder"
    )
    refit.add_argument(
        "catalog",
        type=Path,
        nargs="?",
        default=None,
        help="the catalog (default: the data folder's own, else the bundled one)",
    )
    refit.add_argument("--format", choices=CATALOG_FORMATS, default="auto")
    shared = SHARED_DATASETS
    ev = sub.add_parser("eval", help="offline evaluation on ReDial or OpenDialKG recommendation turns")
    ev.add_argument("dataset", choices=("redial", "opendialkg"))
    ev.add_argument("--data", type=Path, default=None, help="the dataset folder (default: ../shared/datasets/DATASET)")
    ev.add_argument(
        "--turns", type=Path, default=None, help="a turns file of the same schema (default: valid_turns.jsonl)"
    )
    ev.add_argument("--limit", type=int, default=0, help="only the first N turns (quick runs)")
    ev.add_argument("--seed", type=int, default=0, help="seed of the dialog_id split")
    ev.add_argument(
        "--movielens",
        type=Path,
        default=shared / "movielens-small",
        help="MovieLens folder for the '+ MovieLens' row (skipped when absent)",
    )
    ev.add_argument("--no-ablations", action="store_true", help="only the system and the two baselines")
    ev.add_argument("--tune", action="store_true", help="also search the term weights on these turns and print them")
    ev.add_argument(
        "--whole-file",
        action="store_true",
        help="ReDial: score every validation turn, not only the tuning part (for timing; optimistic)",
    )
    ev.add_argument(
        "--replay",
        action="store_true",
        help="also replay each turn's seeker utterances through Engine.chat (one new user per turn, k = 10) "
        "beside rank on the seeker-only and the full context",
    )
    ev.add_argument("--out", type=Path, default=None, help="where to write the JSON (default: DATA_DIR/results.json)")
    ta = sub.add_parser("train-adapter", help="learn the query adapter from ReDial's training-part dialogues")
    ta.add_argument("--data", type=Path, default=shared / "redial")
    ta.add_argument(
        "--out", type=Path, default=None, help="default: the bundled adapter file in chatrec/ranking/adapters/"
    )
    ta.add_argument("--seed", type=int, default=0)
    ta.add_argument("--epochs", type=int, default=12)
    ta.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    chat = sub.add_parser("chat", help="talk to the recommender in the terminal")
    chat.add_argument("--user", default=f"cli-{os.environ.get('USER', 'user')}")
    add_catalog_options(chat)
    chat.add_argument("--generator", default=None, help="qwen2.5-0.5b (default), smollm2-135m, a model path, or none")
    script = sub.add_parser(
        "script", help="run scripted dialogue tests (YAML): exit 0 all hold, 1 a failure, 2 a bad file"
    )
    script.add_argument("files", type=Path, nargs="+", metavar="FILE.yaml")
    script.add_argument("--junit", type=Path, default=None, metavar="OUT.xml", help="also write a JUnit XML report")
    script.add_argument(
        "--url",
        default=None,
        metavar="http://HOST:PORT",
        help="run on a running chatrec server through its HTTP API (`catalog:` is then ignored)",
    )
    script.add_argument(
        "--generate",
        action="store_true",
        help="use the generator (default: template replies, faster; no effect with --url)",
    )
    gen_file = sub.add_parser(
        "generator-file", help="print the generator's GGUF path (for llama.cpp's server; joins a packaged one once)"
    )
    gen_file.add_argument("generator", nargs="?", default=None, help="default: $CHATREC_GENERATOR, else qwen2.5-0.5b")
    serve = sub.add_parser("serve", help="start the web app (same as python app.py)")
    add_serve_options(serve)
    for p in (ingest, chat, refit, gen_file):
        p.add_argument("--data-dir", type=Path, default=None, help="default: $CHATREC_DATA_DIR or ./.chatrec")
    for p in (ev, ta):
        p.add_argument(
            "--data-dir",
            type=Path,
            default=None,
            help="the evaluation's data folder (default: ./.chatrec-eval/DATASET)",
        )
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        if args.command == "eval" and args.data is None:
            args.data = SHARED_DATASETS / args.dataset
        commands = {
            "ingest": cmd_ingest,
            "chat": cmd_chat,
            "serve": cmd_serve,
            "refit": cmd_refit,
            "eval": cmd_eval,
            "train-adapter": cmd_train_adapter,
            "script": cmd_script,
            "generator-file": cmd_generator_file,
        }
        return commands[args.command](args)
    except StoreCorruptedError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3
    except ChatrecError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a file of the data folder written outside the stores (the catalog record, a model)
        if not is_disk_full(exc):
            raise
        print(
            f"error: the disk is full ({exc}); nothing more was saved. Free some space and run it again.",
            file=sys.stderr,
        )
        return 2


if __name__ == "__main__":
    sys.exit(main())
