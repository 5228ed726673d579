"""The scale benchmark's code path at 10,000 items (issue 25, acceptance 5), not its speed: benchmarks/scale.py makes
the synthetic catalog, `chatrec ingest` embeds it on every core, and a fresh app process opens the store without
writing it and chats the scripted multi-turn dialogues, in English and Chinese, with the usual filters."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCALE = ROOT / "benchmarks" / "scale.py"


@pytest.mark.slow
def test_the_scale_benchmark_runs_at_ten_thousand_items(tmp_path: Path) -> None:
    command = [sys.executable, str(SCALE), "--sizes", "10000", "--no-redial", "--rounds", "1", "--work", str(tmp_path)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, done.stderr[-3000:]
    row = json.loads(done.stdout.strip().splitlines()[-1])
    sys.path.insert(0, str(SCALE.parent))
    from scale import DIALOGUES

    assert row["items"] == row["app_items"] == 10_000, "the app does not serve the catalog that was ingested"
    assert row["turns"] == sum(len(dialogue) for dialogue in DIALOGUES), "a turn did not reach the rank stage"
    assert row["ingest_items_per_s"] > 0 and row["disk_mb"] > 0 and row["start_s"] > 0
    assert 0 < row["rank_p50_ms"] <= row["rank_p95_ms"]
    assert not list(tmp_path.iterdir()), "the benchmark left its folder behind"
