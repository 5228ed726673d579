"""`chatrec ingest` items/s against a same-run baseline: this checkout and an earlier revision of chatrec, taking
turns on the same synthetic catalog (benchmarks/make_catalog.py), each into a fresh data folder (issue 25).

    python benchmarks/ingest_speed.py --size 10000 --baseline ac1d136 --runs 3

The baseline is `git archive`d from this repository into a temporary folder and run with the same Python and
packages (PYTHONPATH), so only chatrec's own code differs. Runs alternate A B A B ... so that a machine whose
speed drifts slows both alike; each run is the whole command (start-up, catalog, models, embedding, store writes).
Prints one JSON line per run, then the medians and the ratio of the medians.
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
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from stack import QUIET_ENV, ROOT  # noqa: E402


def checkout(revision: str, folder: Path) -> Path:
    """The files of `revision` of this repository, unpacked under `folder`."""
    target = folder / f"chatrec-{revision}"
    target.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", revision], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
    return target


def ingest(code: Path, catalog: Path, data: Path, extra: list[str]) -> float:
    """Seconds for one whole `chatrec ingest` of `catalog` into the empty folder `data`, run from `code`."""
    env = {**os.environ, **QUIET_ENV, "PYTHONPATH": str(code)}
    env.pop("CHATREC_CHROMA_URL", None)
    began = time.perf_counter()
    command = [sys.executable, "-m", "chatrec.cli", "ingest", str(catalog), "--data-dir", str(data), "--quiet"]
    subprocess.run([*command, *extra], check=True, env=env, stdout=subprocess.DEVNULL, cwd=code)
    return time.perf_counter() - began


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=10000, help="synthetic items (ReDial's films not mixed in)")
    parser.add_argument("--baseline", default="ac1d136", help="the git revision to compare against")
    parser.add_argument("--runs", type=int, default=3, help="runs of each, alternating")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--args", default="", help="extra options for this checkout's ingest (e.g. '--threads 1')")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="chatrec-ingest-"))
    try:
        catalog = folder / "catalog.jsonl"
        make = [sys.executable, str(ROOT / "benchmarks" / "make_catalog.py"), str(args.size), "--seed", str(args.seed)]
        subprocess.run([*make, "--out", str(catalog), "--quiet", "--no-redial"], check=True, stdout=subprocess.DEVNULL)
        items = sum(1 for _ in catalog.open(encoding="utf-8"))
        contenders = {"this": (ROOT, args.args.split()), "baseline": (checkout(args.baseline, folder), [])}
        rates: dict[str, list[float]] = {name: [] for name in contenders}
        for run in range(args.runs):
            for name, (code, extra) in contenders.items():
                data = folder / f"data-{name}-{run}"
                seconds = ingest(code, catalog, data, extra)
                rates[name].append(items / seconds)
                row = {"run": run, "code": name, "items": items, "seconds": round(seconds, 1)}
                print(json.dumps({**row, "items_per_s": round(items / seconds, 1)}), flush=True)
                shutil.rmtree(data, ignore_errors=True)
        medians = {name: statistics.median(values) for name, values in rates.items()}
        summary = {f"{name}_median_items_per_s": round(value, 1) for name, value in medians.items()}
        summary["ratio"] = round(medians["this"] / medians["baseline"], 2)
        print(json.dumps({"size": items, "baseline": args.baseline, **summary}), flush=True)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
