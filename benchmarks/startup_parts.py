"""Where an app's start-up time and memory go as the catalog grows (issue 25): the catalog-wide structures that
`Engine.__init__` builds, each timed on its own, with the process's resident memory after each, in a fresh
process per size. No store, model or generator is opened: this is what grows with the catalog besides them.

The reply checks and the title and people keys read the data folder's catalog file as the engine does
(reply/vocabulary.py, reading/title_file.py); the file is written first, in a process of its own, as `chatrec ingest`
writes it, and that time is reported apart (`catalog_file_write_s`: ingest's cost, not the start's). `--in-memory`
builds them in memory instead, as an app without the file does.

    python benchmarks/startup_parts.py --sizes 10000,100000,1000000

Catalogs come from benchmarks/make_catalog.py (synthetic items plus ReDial's films), made once in a temporary
folder. One JSON line per size.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from stack import ROOT  # noqa: E402

PARTS = """
import json, sys, time
from pathlib import Path

def rss_mb():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:")) / 1024

row = {"rss_python_mb": round(rss_mb())}
def part(name, build):
    began = time.perf_counter()
    value = build()
    row[name + "_s"] = round(time.perf_counter() - began, 2)
    row[name + "_rss_mb"] = round(rss_mb())
    return value

from chatrec.catalog.database import CatalogDB
from chatrec.catalog.files import load_catalog
from chatrec.reading.understanding import Understander
from chatrec.reading.title_file import FileTitleSet
from chatrec.reply.grounding import Grounding
from chatrec.reply.words import CatalogWords
from chatrec.users.state import Names
from chatrec.ranking.pipeline import genre_counts
catalog = part("load_catalog", lambda: load_catalog(Path(sys.argv[1])))
row["items"] = len(catalog)
db = part("catalog_file_open", lambda: CatalogDB(Path(sys.argv[2])) if sys.argv[2] else None)
understander = part("understander", lambda: Understander(list(catalog), catalog.facets, db))
part("grounding", lambda: Grounding(catalog, understander.titles, db, FileTitleSet(db) if db else None))
part("names", lambda: Names(catalog, understander.vocabulary.__contains__))
part("catalog_words", lambda: CatalogWords.of(catalog, catalog.facets))
part("genre_counts", lambda: genre_counts(catalog.items.values()))
row["total_s"] = round(sum(v for k, v in row.items() if k.endswith("_s")), 2)
print(json.dumps(row))
"""

WRITE = """
import sys, time
from pathlib import Path
from chatrec.catalog.database import write_catalog_db
from chatrec.catalog.files import load_catalog
from chatrec.reading.title_file import write_name_tables
from chatrec.reply.vocabulary import vocabulary_text
catalog = load_catalog(Path(sys.argv[1]))
began = time.perf_counter()
write_catalog_db(Path(sys.argv[2]), catalog, vocabulary_text, extra=lambda db: write_name_tables(db, list(catalog)))
print(round(time.perf_counter() - began, 2))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000", help="synthetic items per catalog, comma-separated")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--catalogs", type=Path, default=None, help="keep the made catalogs in this folder")
    parser.add_argument("--in-memory", action="store_true", help="the reply checks' words in memory, not the file")
    args = parser.parse_args()
    folder = args.catalogs or Path(tempfile.mkdtemp(prefix="chatrec-startup-"))
    try:
        for n in (int(s) for s in args.sizes.split(",")):
            catalog = folder / f"catalog-{n}-{args.seed}.jsonl"
            if not catalog.exists():
                make = [sys.executable, str(ROOT / "benchmarks" / "make_catalog.py"), str(n), "--seed", str(args.seed)]
                subprocess.run([*make, "--out", str(catalog), "--quiet"], check=True, stdout=subprocess.DEVNULL)
            written: dict[str, float] = {}
            file = folder / f"catalog-{n}-{args.seed}.sqlite"
            if not args.in_memory:
                wrote = subprocess.run(
                    [sys.executable, "-c", WRITE, str(catalog), str(file)], capture_output=True, text=True, check=True
                )
                written = {"catalog_file_write_s": float(wrote.stdout.split()[-1])}
            where = "" if args.in_memory else str(file)
            done = subprocess.run([sys.executable, "-c", PARTS, str(catalog), where], capture_output=True, text=True)
            if done.returncode:
                print(json.dumps({"size": n, "failed": done.stderr.strip().splitlines()[-1:]}), flush=True)
                continue
            row = json.loads(done.stdout.strip().splitlines()[-1])
            print(json.dumps({"size": n, **row, **written}), flush=True)
    finally:
        if args.catalogs is None:
            shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
