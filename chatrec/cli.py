"""The `chatrec` command: ingest a catalog, chat in the terminal, or serve the web app."""

from __future__ import annotations

import argparse
import os
import runpy
import sys
from pathlib import Path
from typing import Sequence

from .config import CATALOG_FORMATS, Settings
from .errors import ChatrecError, InputError, StoreCorruptedError


def _settings(args: argparse.Namespace, **extra: object) -> Settings:
    values: dict[str, object] = dict(extra)
    if getattr(args, "data_dir", None):
        values["data_dir"] = args.data_dir
    if getattr(args, "catalog", None):
        values["catalog"] = args.catalog
    if getattr(args, "format", None):
        values["catalog_format"] = args.format
    if getattr(args, "skip_bad", False):
        values["skip_bad"] = True
    if getattr(args, "generator", None):
        values["generator"] = args.generator
    return Settings(**values)  # type: ignore[arg-type]


def cmd_ingest(args: argparse.Namespace) -> int:
    from .catalog import load_catalog
    from .embedding import load_embedder
    from .ingest import open_for_rebuild, sync
    from .store import ChromaStore

    settings = _settings(args)
    catalog = load_catalog(settings.catalog, skip_bad=settings.skip_bad, fmt=settings.catalog_format)  # type: ignore[arg-type]
    for row in catalog.bad_rows:
        print(f"skipped {row}", file=sys.stderr)
    embedder = load_embedder(settings.embedder, settings.threads)
    if args.rebuild:
        store, moved = open_for_rebuild(settings, embedder)
        if moved:
            print(f"The damaged store was moved to {moved} (delete it when you no longer need it).")
    else:
        store = ChromaStore(settings, embedder.id, embedder.dim)
    try:
        report = sync(store, catalog, embedder, progress=not args.quiet)
    finally:
        store.close()
    print(f"{len(catalog)} items in {settings.catalog}: {report}. Store: {store.location}")
    return 0


def cmd_chat(args: argparse.Namespace) -> int:
    from .engine import Engine

    with Engine.load(_settings(args), progress=True) as engine:
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
                turn = None
                for turn in engine.chat_stream(args.user, line):
                    if not turn.final and not turn.reply:   # the picks are ready before the reply is written
                        print("     picks: " + ", ".join(f"{r.title} [{r.item_id}]" for r in turn.recommendations))
            except (InputError, ValueError) as exc:
                print(f"bot> {exc}")
                continue
            assert turn is not None
            print("bot> " + turn.reply.replace("\n", "\n     "))
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    for folder in (Path.cwd(), Path(__file__).resolve().parent.parent):
        if (folder / "app.py").is_file():
            sys.argv = ["app.py", *(["--host", args.host] if args.host else []), *(["--port", str(args.port)] if args.port else [])]
            runpy.run_path(str(folder / "app.py"), run_name="__main__")
            return 0
    print("error: app.py not found; run `chatrec serve` from the chatrec project folder.", file=sys.stderr)
    return 2


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="chatrec", description="A conversational recommender.")
    sub = top.add_subparsers(dest="command", required=True)
    ingest = sub.add_parser("ingest", help="load or update the vector store from a catalog (idempotent)")
    ingest.add_argument("catalog", type=Path, help="a .jsonl/.csv file, a folder of them, or ReDial's id2info.json")
    ingest.add_argument("--format", choices=CATALOG_FORMATS, default="auto")
    ingest.add_argument("--skip-bad", action="store_true", help="load the good rows even if some are bad")
    ingest.add_argument("--rebuild", action="store_true", help="embed everything anew (moves a damaged store aside)")
    ingest.add_argument("--quiet", action="store_true", help="no progress bar")
    chat = sub.add_parser("chat", help="talk to the recommender in the terminal")
    chat.add_argument("--user", default=f"cli-{os.environ.get('USER', 'user')}")
    chat.add_argument("--catalog", type=Path, default=None)
    chat.add_argument("--generator", default=None, help="qwen2.5-0.5b (default), smollm2-135m, a model path, or none")
    serve = sub.add_parser("serve", help="start the web app (same as python app.py)")
    serve.add_argument("--host", default=None)
    serve.add_argument("--port", type=int, default=None)
    for p in (ingest, chat):
        p.add_argument("--data-dir", type=Path, default=None, help="default: $CHATREC_DATA_DIR or ./.chatrec")
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return {"ingest": cmd_ingest, "chat": cmd_chat, "serve": cmd_serve}[args.command](args)
    except StoreCorruptedError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3
    except ChatrecError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
