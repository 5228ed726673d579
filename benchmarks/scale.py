"""How chatrec's cost grows with the catalog (issue 25): for each size, a synthetic catalog with ReDial's films
(benchmarks/make_catalog.py), `chatrec ingest` into a fresh data folder, then a fresh app process that opens it.

    python benchmarks/scale.py --sizes 10000,100000 [--chroma-server] [--no-redial]

For each size it prints: ingest items/s (the whole command, start-up included), the data folder's size on disk,
the app's start-up (`Engine.load` in a new process, template replies), its RSS after the turns, and the chat turn's
ranking (the `rank` stage: reading the message, candidates from the store, filters, scoring) p50/p95 over scripted
multi-turn dialogues with the usual filters (kinds, years, "not too long", a named title, "no horror"). With
`--chroma-server` the store is a `chroma run` on loopback instead of the embedded one. Everything is written to a
temporary folder and removed at the end; `--keep` leaves it. `--reuse DIR` works in DIR itself and keeps it: a
catalog or data folder already there is used as it is (the ingest is then not timed), so the app's figures can be
measured again after a change without ingesting again; with `--chroma-server` the server serves DIR/chroma, which
may be a copy of an embedded store's folder (the same files), so that nothing is embedded again.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from stack import BIN, QUIET_ENV, ROOT, answers, free_port  # noqa: E402

DIALOGUES = [
    ["I love space exploration films", "something funnier", "not too long", "from the 90s"],
    ["a cooperative board game for 4 players", "not too heavy", "under an hour"],
    ["books like Dune", "no horror", "something more recent"],
    ["我想看轻松的喜剧", "要九十年代的", "不要动画片"],
    ["films like Inception", "more like that", "not too violent"],
]

APP = """
import json, resource, sys, time
began = time.perf_counter()
from chatrec import Engine, Settings
settings = Settings(data_dir=sys.argv[1], catalog=sys.argv[2], generator="none", ingest_on_start=False)
engine = Engine.load(settings)
loaded = time.perf_counter() - began
engine.chat("warm-up", "hello")  # the first query reads the models' lazily loaded parts
stages = []
engine.on_stage = lambda stage, seconds: stages.append(seconds) if stage == "rank" else None
dialogues = json.loads(sys.argv[3])
for round_ in range(int(sys.argv[4])):
    for n, dialogue in enumerate(dialogues):
        for message in dialogue:
            engine.chat(f"user-{round_}-{n}", message)
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"start_s": loaded, "rank_s": stages, "peak_rss_mb": rss, "items": len(engine.catalog)}))
"""


def du_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1e6


@contextmanager
def chroma_server(folder: Path) -> Iterator[str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [str(BIN / "chroma"), "run", "--path", str(folder), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, **QUIET_ENV},
    )
    try:
        deadline = time.monotonic() + 120
        while not answers(f"{url}/api/v2/heartbeat"):
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("chroma run did not start")
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=60)


def one_size(n: int, folder: Path, server: str | None, redial: bool, rounds: int) -> dict[str, float]:
    catalog = folder / f"catalog-{n}" / "catalog.jsonl"
    make = [sys.executable, str(ROOT / "benchmarks" / "make_catalog.py"), str(n), "--out", str(catalog), "--quiet"]
    if not catalog.exists():
        subprocess.run([*make, *([] if redial else ["--no-redial"])], check=True, stdout=subprocess.DEVNULL)
    items = sum(1 for _ in catalog.open(encoding="utf-8"))
    data = folder / f"data-{n}"
    env = {**os.environ, **QUIET_ENV, **({"CHATREC_CHROMA_URL": server} if server else {})}
    ingest_s = float("nan")  # not timed: the data folder was there already (--reuse)
    if server or not data.exists():
        timed = not data.exists()  # a reused folder with a server: the server's store may be a copy, nothing to do
        began = time.perf_counter()
        subprocess.run(
            [str(BIN / "chatrec"), "ingest", str(catalog), "--data-dir", str(data), "--quiet"],
            check=True,
            env=env,
            stdout=subprocess.DEVNULL,
        )
        ingest_s = time.perf_counter() - began if timed else ingest_s
    app = subprocess.run(
        [sys.executable, "-c", APP, str(data), str(catalog), json.dumps(DIALOGUES), str(rounds)],
        env={**env, "CHATREC_THREADS": "1"},
        capture_output=True,
        text=True,
    )
    if app.returncode:  # what was measured so far is kept, and why the app failed is shown (its last lines)
        failed = [line for line in app.stderr.strip().splitlines() if "Loading weights" not in line][-6:]
        row = {"size": n, "items": items, "ingest_items_per_s": items / ingest_s, "disk_mb": du_mb(data)}
        print(json.dumps({**row, "app_failed": failed}), flush=True)
        raise SystemExit(f"the app process failed at {items} items:\n" + "\n".join(failed))
    measured = json.loads(app.stdout.strip().splitlines()[-1])
    ranks = sorted(measured["rank_s"])
    return {
        "items": items,
        "ingest_items_per_s": items / ingest_s,
        "disk_mb": du_mb(data) + (du_mb(folder / "chroma") if server else 0.0),
        "start_s": measured["start_s"],
        "app_peak_rss_mb": measured["peak_rss_mb"],
        "rank_p50_ms": 1000 * statistics.median(ranks),
        "rank_p95_ms": 1000 * ranks[min(len(ranks) - 1, int(0.95 * len(ranks)))],
        "turns": len(ranks),
        "app_items": measured["items"],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000", help="synthetic items per run, comma-separated")
    parser.add_argument("--chroma-server", action="store_true", help="a `chroma run` server instead of embedded")
    parser.add_argument("--no-redial", action="store_true", help="synthetic items only")
    parser.add_argument("--rounds", type=int, default=3, help="times the dialogues are chatted, as new users")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--work", type=Path, default=None, help="the folder to work in (default: a new temporary one)")
    parser.add_argument("--reuse", type=Path, default=None, help="work in this folder, reusing what is there; kept")
    args = parser.parse_args()
    if args.reuse:
        args.reuse.mkdir(parents=True, exist_ok=True)
        args.keep = True
    folder = args.reuse or Path(tempfile.mkdtemp(prefix="chatrec-scale-", dir=args.work))
    try:
        for n in (int(s) for s in args.sizes.split(",")):
            if args.chroma_server:
                with chroma_server(folder / "chroma") as url:
                    row = one_size(n, folder, url, not args.no_redial, args.rounds)
                if not args.reuse:
                    shutil.rmtree(folder / "chroma", ignore_errors=True)
            else:
                row = one_size(n, folder, None, not args.no_redial, args.rounds)
            print(json.dumps({"size": n, "store": "server" if args.chroma_server else "embedded", **row}), flush=True)
    finally:
        if args.keep:
            print(f"kept {folder}", file=sys.stderr)
        else:
            shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
