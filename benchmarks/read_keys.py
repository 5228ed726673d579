"""What reading a message costs with the title and people keys on the catalog file against the keys built in memory
(issue 25): `Understander.read` over the scripted dialogues' messages and messages naming the catalog's titles, on
one catalog, both ways in one process, alternating. Prints one JSON line: medians and p95 per message, in ms.

    python benchmarks/read_keys.py CATALOG.jsonl [--file catalog.sqlite] [--rounds 3]

Without --file the catalog file is written first into a temporary folder (with the title and people keys).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("catalog", type=Path)
    parser.add_argument("--file", type=Path, default=None, help="a catalog file already written for this catalog")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    from test_title_file import scripted_messages, title_messages

    from chatrec.catalog.database import CatalogDB, write_catalog_db
    from chatrec.catalog.files import load_catalog
    from chatrec.reading.title_file import write_name_tables
    from chatrec.reading.understanding import Understander
    from chatrec.reply.vocabulary import vocabulary_text

    catalog = load_catalog(args.catalog)
    items = list(catalog)
    file = args.file
    if file is None:
        file = Path(tempfile.mkdtemp(prefix="chatrec-read-")) / "catalog.sqlite"
        write_catalog_db(file, items, vocabulary_text, extra=partial(write_name_tables, items=items))
    db = CatalogDB(file)
    readers = {"file": Understander(items, catalog.facets, db), "memory": Understander(items, catalog.facets)}
    messages = scripted_messages() + title_messages(items, random.Random(3), 50)
    times: dict[str, list[float]] = {name: [] for name in readers}
    for _ in range(args.rounds):
        for message in messages:
            for name, reader in readers.items():
                began = time.perf_counter()
                reader.read(message)
                times[name].append((time.perf_counter() - began) * 1000)
    row: dict[str, object] = {"items": len(items), "messages": len(messages), "rounds": args.rounds}
    for name, values in times.items():
        values.sort()
        row[f"{name}_p50_ms"] = round(statistics.median(values), 2)
        row[f"{name}_p95_ms"] = round(values[int(0.95 * (len(values) - 1))], 2)
    print(json.dumps(row))
    return 0


if __name__ == "__main__":
    sys.exit(main())
