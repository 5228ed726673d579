"""The dialogue-following benchmark's dialogues (benchmarks/dialogues/) as a quality floor, on the real embedders and
Chroma: the bundled catalog's and the board-game catalog's dialogues must keep passing (docs/dialogues.md). ReDial's
are left to `python benchmarks/dialogues.py` (ingesting its 6,583 films takes minutes)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import ROOT

from chatrec import Engine, Settings
from chatrec.scripts.run import run_file

DIALOGUES = ROOT / "benchmarks" / "dialogues"
FLOOR = 0.95  # the share of a catalog's dialogues that must pass (docs/dialogues.md has today's rates)


def pass_rate(engine: Engine, folder: Path) -> tuple[float, list[str]]:
    files = sorted(folder.glob("*.yaml"))
    failed = [f"{path.name}: {failures[0]}" for path in files if (failures := run_file(engine, path))]
    return 1 - len(failed) / len(files), failed


@pytest.fixture(scope="module")
def boardgames(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("boardgames"),
        catalog=ROOT / "examples" / "catalogs" / "boardgames.jsonl",
        generator="none",
    )
    with Engine.load(settings) as engine:
        yield engine


def test_the_bundled_catalogs_dialogues_are_followed(engine: Engine) -> None:
    rate, failed = pass_rate(engine, DIALOGUES / "bundled")
    assert rate >= FLOOR, f"{rate:.1%} passed; failed:\n" + "\n".join(failed)


def test_the_board_game_dialogues_are_followed(boardgames: Engine) -> None:
    assert boardgames.catalog.facets["players"].type == "range"  # the sidecar was read
    rate, failed = pass_rate(boardgames, DIALOGUES / "boardgames")
    assert rate >= FLOOR, f"{rate:.1%} passed; failed:\n" + "\n".join(failed)


def test_every_dialogue_has_a_category_and_a_chinese_twin() -> None:
    from chatrec.scripts.run import load_script

    for folder in ("bundled", "redial", "boardgames"):
        paths = sorted((DIALOGUES / folder).glob("*.yaml"))
        stems = {p.stem for p in paths}
        assert all(load_script(p, find_catalog=False).category for p in paths), folder
        assert {s for s in stems if not s.endswith("_zh")} == {s[:-3] for s in stems if s.endswith("_zh")}, folder
