"""benchmarks/make_catalog.py (issue 25): a synthetic catalog that chatrec reads without a bad row, in the kinds and
languages of the real catalogs, with ReDial's films mixed in under their own ids, the same for the same seed."""

from __future__ import annotations

import importlib.util
import json
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType

import pytest
from conftest import ROOT, SHARED

from chatrec.catalog.files import load_catalog


def make_catalog() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_catalog", ROOT / "benchmarks" / "make_catalog.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    sys.modules["make_catalog"] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def test_a_synthetic_catalog_is_valid_mixed_and_the_same_for_a_seed(tmp_path: Path) -> None:
    maker = make_catalog()
    counts = maker.write(tmp_path / "a.jsonl", 2000, seed=3, with_redial=False, progress=False)
    assert counts == {"synthetic": 2000}
    rows = [json.loads(line) for line in (tmp_path / "a.jsonl").read_text(encoding="utf-8").splitlines()]
    catalog = load_catalog(tmp_path / "a.jsonl")  # raises on any bad row
    assert len(catalog.items) == 2000 == len({r["id"] for r in rows})
    shapes = Counter((r["kind"], r["language"]) for r in rows)
    assert {"movie", "book", "series", "board game"} <= {kind for kind, _ in shapes}
    assert shapes[("movie", "zh")] and shapes[("book", "zh")]  # Chinese items too
    games = [r for r in rows if r["kind"] == "board game"]
    assert all(set(r["facets"]) == {"players", "minutes", "weight", "age", "mechanics"} for r in games)
    people = Counter(p for r in rows for p in r.get("creators", []))
    assert 1 < people.most_common(1)[0][1] < 50 and len(people) > 500  # a few prolific, most with one item
    assert (tmp_path / "a.facets.yaml").exists()  # the facets' sidecar, for `chatrec ingest`
    maker.write(tmp_path / "b.jsonl", 2000, seed=3, with_redial=False, progress=False)
    assert (tmp_path / "a.jsonl").read_bytes() == (tmp_path / "b.jsonl").read_bytes()


@pytest.mark.skipif(not (SHARED / "redial" / "id2info.json").exists(), reason="needs ../shared/datasets")
def test_redials_films_are_mixed_in_under_their_own_ids(tmp_path: Path) -> None:
    counts = make_catalog().write(tmp_path / "c.jsonl", 300, seed=1, progress=False)
    assert counts == {"synthetic": 300, "redial": 6583}
    ids = [json.loads(line)["id"] for line in (tmp_path / "c.jsonl").read_text(encoding="utf-8").splitlines()]
    redial = json.loads((SHARED / "redial" / "id2info.json").read_text(encoding="utf-8"))
    assert set(redial) <= set(ids)
    first_synthetic = next(i for i, item in enumerate(ids) if item.startswith("syn-"))
    assert first_synthetic < 200  # mixed in, not all at one end
