"""The dialogue-following benchmark: pass rates of the scripted dialogues in benchmarks/dialogues/, per category,
per language and per catalog, for each reader.

    python benchmarks/dialogues.py [--readers rules,model,both] [--only bundled,boardgames,redial] [--set heldout]
                                   [--failures]

Each dialogue (benchmarks/dialogues/README.md) runs as a fresh user on an Engine over its catalog, with template
replies (the generator off: the benchmark judges what is recommended and said of the state, not the prose). An
Engine's data folder is kept in `$CHATREC_BENCH_DIR` (default ~/.cache/chatrec-bench), so a catalog is embedded once.
A dialogue passes when every expectation of every turn holds. Prints a table, the failures (`--failures`: all of
them, else the first 20) and, last, one JSON object.

Readers (`Settings.reader`): `rules` is chatrec's rule reader (chatrec/reading/); `model` adds the packaged
generator's JSON-schema-constrained parse of every message (chatrec/generators/reader.py: its genres and mode
replace the rules'); `both` asks the model only where the rules found nothing to use. Each reader's row gives its
cards latency (seconds until the recommendations, per message: median and p95) and how many messages the model
read. `--set heldout` runs benchmarks/dialogues/heldout/ instead: dialogues written after the reader was tuned,
by someone who did not see its code.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import ExitStack
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from chatrec import Engine, Settings  # noqa: E402
from chatrec.scripts.local import EngineUser, Seen  # noqa: E402
from chatrec.scripts.run import FileResult, ScriptError, load_script, run_as  # noqa: E402
from chatrec.scripts.schema import Say, Script  # noqa: E402

DIALOGUES = ROOT / "benchmarks" / "dialogues"
CATALOGS = ("bundled", "redial", "boardgames")
READERS = ("rules", "model", "both")
TIMES: list[float] = []  # seconds until the recommendations, per message, of the reader being run


class TimedUser(EngineUser):
    """A scripted user whose every message's cards latency is noted."""

    def say(self, text: str) -> Seen:
        seen = super().say(text)
        TIMES.append(seen.seconds)
        return seen


def scripts(only: set[str], folder: Path) -> Iterator[tuple[str, Script]]:
    """Every dialogue of the chosen catalogs; a bad file is reported and counts as failed."""
    for catalog in CATALOGS:
        if catalog in only:
            for path in sorted((folder / catalog).glob("*.yaml")):
                try:
                    yield catalog, load_script(path)
                except ScriptError as exc:
                    print(f"bad dialogue file: {exc}", file=sys.stderr)
                    yield catalog, Script(path, (), f"bad: {exc}", None, "bad file")


def language(script: Script) -> str:
    return "zh" if script.path.stem.endswith("_zh") else "en"


def engine_for(stack: ExitStack, script: Script, engines: dict[str, Engine], bench_dir: Path, reader: str) -> Engine:
    key = str(script.catalog.resolve()) if script.catalog else "bundled"
    if key not in engines:
        name = "bundled" if script.catalog is None else script.catalog.stem
        settings = Settings(generator="none", data_dir=bench_dir / name, replace_catalog=True, reader=reader)
        if script.catalog is not None:
            settings = settings.with_(catalog=script.catalog)
        print(f"loading {name} (embedded once into {bench_dir / name})", file=sys.stderr)
        engines[key] = stack.enter_context(Engine.load(settings, progress=True))
    return engines[key]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else float("nan")


def rate(results: list[FileResult]) -> str:
    passed = sum(r.passed for r in results)
    return f"{passed}/{len(results)} {100 * passed / len(results):5.1f}%" if results else "-"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readers", default="rules", help="comma-separated: " + ", ".join(READERS))
    parser.add_argument("--set", default="", help="a subfolder of benchmarks/dialogues, e.g. heldout")
    parser.add_argument("--only", default=",".join(CATALOGS), help="comma-separated catalogs: " + ", ".join(CATALOGS))
    parser.add_argument("--failures", action="store_true", help="print every failure (else the first 20)")
    args = parser.parse_args()
    readers = [r for r in args.readers.split(",") if r]
    for reader in readers:
        if reader not in READERS:
            parser.error(f"unknown reader {reader!r}; known: {', '.join(READERS)}")
    folder = DIALOGUES / args.set if args.set else DIALOGUES
    bench_dir = Path(os.environ.get("CHATREC_BENCH_DIR") or Path.home() / ".cache" / "chatrec-bench")
    loaded = list(scripts(set(args.only.split(",")), folder))
    out: dict[str, Any] = {"dialogues": len(loaded), "readers": {}}
    for reader in readers:
        results: list[tuple[str, Script, FileResult, int]] = []
        TIMES.clear()
        with ExitStack() as stack:
            engines: dict[str, Engine] = {}
            for catalog, script in loaded:
                if not script.turns:  # a bad file (`scripts`)
                    results.append((catalog, script, FileResult(str(script.path), error=script.name), 0))
                    continue
                engine = engine_for(stack, script, engines, bench_dir, reader)
                says = sum(isinstance(t, Say) for t in script.turns)
                result = run_as(partial(TimedUser, engine), script)
                results.append((catalog, script, result, says))
            calls = sum(getattr(e.reader, "calls", 0) for e in engines.values())
        out["readers"][reader] = summarise(reader, results, args.failures, folder)
        out["readers"][reader]["model_reads"] = calls
        print(f"  messages the model read: {calls} of {len(TIMES)}")
    print(json.dumps(out, ensure_ascii=False))
    return 0


def summarise(
    reader: str, results: list[tuple[str, Script, FileResult, int]], every: bool, folder: Path
) -> dict[str, Any]:
    groups: dict[str, dict[str, list[FileResult]]] = {"category": defaultdict(list), "language": defaultdict(list)}
    groups["catalog"] = defaultdict(list)
    for catalog, script, result, _ in results:
        groups["category"][script.category or "-"].append(result)
        groups["language"][language(script)].append(result)
        groups["catalog"][catalog].append(result)
    everything = [r for _, _, r, _ in results]
    p50, p95 = percentile(TIMES, 0.5), percentile(TIMES, 0.95)
    print(f"\nreader: {reader}   overall {rate(everything)}   cards latency (s): p50 {p50:.3f}  p95 {p95:.3f}")
    for group, rows in groups.items():
        print(f"  by {group}:")
        for name in sorted(rows):
            print(f"    {name:<20} {rate(rows[name])}")
    failed = [(s, r) for _, s, r, _ in results if not r.passed]
    print(f"  failed dialogues: {len(failed)}")
    for script, result in failed if every else failed[:20]:
        first = result.error or str(result.failures[0])
        print(f"    {script.path.relative_to(folder)}: {first[:400]}")
    return {
        "overall": sum(r.passed for r in everything) / max(len(everything), 1),
        **{
            f"by_{group}": {n: sum(r.passed for r in rs) / len(rs) for n, rs in rows.items()}
            for group, rows in groups.items()
        },
        "cards_p50_s": p50,
        "cards_p95_s": p95,
        "failed": [str(s.path.relative_to(folder)) for s, _ in failed],
    }


if __name__ == "__main__":
    start = time.perf_counter()
    code = main()
    print(f"took {time.perf_counter() - start:.0f} s", file=sys.stderr)
    raise SystemExit(code)
