"""The dialogue-following benchmark: pass rates of the scripted dialogues in benchmarks/dialogues/, per category,
per language and per catalog, for each reader.

    python benchmarks/dialogues.py [--readers rules] [--only bundled,boardgames,redial] [--failures]

Each dialogue (benchmarks/dialogues/README.md) runs as a fresh user on an Engine over its catalog, with template
replies (the generator off: the benchmark judges what is recommended and said of the state, not the prose). An
Engine's data folder is kept in `$CHATREC_BENCH_DIR` (default ~/.cache/chatrec-bench), so a catalog is embedded once.
A dialogue passes when every expectation of every turn holds. Prints a table, the failures (`--failures`: all of
them, else the first 20) and, last, one JSON object.

Readers: `rules` is chatrec's reader today (chatrec/reading/). The model reader that issue 23 plans (a
grammar-constrained parse by the packaged generator) is not built yet; asking for it prints so.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from chatrec import Engine, Settings  # noqa: E402
from chatrec.scripts.local import EngineUser  # noqa: E402
from chatrec.scripts.run import FileResult, ScriptError, load_script, run_as  # noqa: E402
from chatrec.scripts.schema import Say, Script  # noqa: E402

DIALOGUES = ROOT / "benchmarks" / "dialogues"
CATALOGS = ("bundled", "redial", "boardgames")
READERS = ("rules",)


def scripts(only: set[str]) -> Iterator[tuple[str, Script]]:
    """Every dialogue of the chosen catalogs; a bad file is reported and counts as failed."""
    for catalog in CATALOGS:
        if catalog in only:
            for path in sorted((DIALOGUES / catalog).glob("*.yaml")):
                try:
                    yield catalog, load_script(path)
                except ScriptError as exc:
                    print(f"bad dialogue file: {exc}", file=sys.stderr)
                    yield catalog, Script(path, (), f"bad: {exc}", None, "bad file")


def language(script: Script) -> str:
    return "zh" if script.path.stem.endswith("_zh") else "en"


def engine_for(stack: ExitStack, script: Script, engines: dict[str, Engine], bench_dir: Path) -> Engine:
    key = str(script.catalog.resolve()) if script.catalog else "bundled"
    if key not in engines:
        name = "bundled" if script.catalog is None else script.catalog.stem
        settings = Settings(generator="none", data_dir=bench_dir / name, replace_catalog=True)
        if script.catalog is not None:
            settings = settings.with_(catalog=script.catalog)
        print(f"loading {name} (embedded once into {bench_dir / name})", file=sys.stderr)
        engines[key] = stack.enter_context(Engine.load(settings, progress=True))
    return engines[key]


def rate(results: list[FileResult]) -> str:
    passed = sum(r.passed for r in results)
    return f"{passed}/{len(results)} {100 * passed / len(results):5.1f}%" if results else "-"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readers", default="rules", help="comma-separated: rules (model and both: not built yet)")
    parser.add_argument("--only", default=",".join(CATALOGS), help="comma-separated catalogs: " + ", ".join(CATALOGS))
    parser.add_argument("--failures", action="store_true", help="print every failure (else the first 20)")
    args = parser.parse_args()
    readers = [r for r in args.readers.split(",") if r]
    for reader in readers:
        if reader not in READERS:
            print(f"reader {reader!r}: not built yet (issue 23 plans it); known: {', '.join(READERS)}")
    readers = [r for r in readers if r in READERS]
    bench_dir = Path(os.environ.get("CHATREC_BENCH_DIR") or Path.home() / ".cache" / "chatrec-bench")
    loaded = list(scripts(set(args.only.split(","))))
    out: dict[str, Any] = {"dialogues": len(loaded), "readers": {}}
    for reader in readers:
        results: list[tuple[str, Script, FileResult, int]] = []
        with ExitStack() as stack:
            engines: dict[str, Engine] = {}
            for catalog, script in loaded:
                if not script.turns:  # a bad file (`scripts`)
                    results.append((catalog, script, FileResult(str(script.path), error=script.name), 0))
                    continue
                engine = engine_for(stack, script, engines, bench_dir)
                says = sum(isinstance(t, Say) for t in script.turns)
                result = run_as(lambda engine=engine: EngineUser(engine), script)
                results.append((catalog, script, result, says))
        out["readers"][reader] = summarise(reader, results, args.failures)
    print(json.dumps(out, ensure_ascii=False))
    return 0


def summarise(reader: str, results: list[tuple[str, Script, FileResult, int]], every: bool) -> dict[str, Any]:
    groups: dict[str, dict[str, list[FileResult]]] = {"category": defaultdict(list), "language": defaultdict(list)}
    groups["catalog"] = defaultdict(list)
    for catalog, script, result, _ in results:
        groups["category"][script.category or "-"].append(result)
        groups["language"][language(script)].append(result)
        groups["catalog"][catalog].append(result)
    everything = [r for _, _, r, _ in results]
    per_turn = [r.seconds / max(says, 1) for _, _, r, says in results if not r.error]
    print(
        f"\nreader: {reader}   overall {rate(everything)}   "
        f"seconds a turn (cards and template reply): median {statistics.median(per_turn or [0]):.3f}"
    )
    for group, rows in groups.items():
        print(f"  by {group}:")
        for name in sorted(rows):
            print(f"    {name:<20} {rate(rows[name])}")
    failed = [(s, r) for _, s, r, _ in results if not r.passed]
    print(f"  failed dialogues: {len(failed)}")
    for script, result in failed if every else failed[:20]:
        first = result.error or str(result.failures[0])
        print(f"    {script.path.relative_to(DIALOGUES)}: {first[:400]}")
    return {
        "overall": sum(r.passed for r in everything) / max(len(everything), 1),
        **{
            f"by_{group}": {n: sum(r.passed for r in rs) / len(rs) for n, rs in rows.items()}
            for group, rows in groups.items()
        },
        "seconds_per_turn_median": statistics.median(per_turn or [0]),
        "failed": [str(s.path.relative_to(DIALOGUES)) for s, _ in failed],
    }


if __name__ == "__main__":
    start = time.perf_counter()
    code = main()
    print(f"took {time.perf_counter() - start:.0f} s", file=sys.stderr)
    raise SystemExit(code)
