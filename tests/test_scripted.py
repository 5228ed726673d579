"""Scripted dialogues (tests/dialogues/*.yaml) on the bundled catalog, and the runner that checks them."""

from __future__ import annotations

import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from chatrec import Engine
from chatrec.catalog import Item
from chatrec.expectations import catalog_genre_names, why_problem
from chatrec.script import ScriptError, load_script, main, run_file

DIALOGUES = sorted((Path(__file__).parent / "dialogues").glob("*.yaml"))
SPACE = 'turns:\n  - say: "I love space exploration films"\n    expect: {count_at_least: %d}\n'


@pytest.mark.parametrize("path", DIALOGUES, ids=lambda p: p.stem)
def test_dialogue(engine: Engine, path: Path) -> None:
    failures = run_file(engine, path)
    assert not failures, "\n" + "\n".join(f"  {f}" for f in failures)


def test_every_dialogue_has_a_chinese_twin() -> None:
    stems = {p.stem for p in DIALOGUES}
    assert len(stems) >= 14 and all(f"{s}_zh" in stems for s in stems if not s.endswith("_zh"))


# -- loading ------------------------------------------------------------------------------------------------------

def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_yaml_that_does_not_parse_names_the_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, "broken.yaml", 'turns:\n  - say: "hello\n    expect: {kinds: [movie]\n')
    with pytest.raises(ScriptError, match=r"broken\.yaml.*line \d+.*not valid YAML"):
        load_script(path)


def test_an_unknown_expect_key_names_the_turn_line_and_key(tmp_path: Path) -> None:
    path = write(tmp_path, "typo.yaml", 'turns:\n  - say: "hi"\n  - say: "space films"\n    expect: {genre_any: [x]}\n')
    with pytest.raises(ScriptError) as caught:
        load_script(path)
    assert caught.value.turn == 2 and caught.value.line == 3
    assert "typo.yaml, turn 2 (line 3): unknown expect key 'genre_any'" in str(caught.value)


@pytest.mark.parametrize("text, problem", [
    ("turns: []\n", "non-empty list"),
    ("say: hi\n", "unknown top-level key 'say'"),
    ("turns:\n  - {say: hi, feedback: {item: 1, liked: true}}\n", "either `say` or `feedback`"),
    ("turns:\n  - feedback: {item: 1, liked: false}\n", "before any `say`"),
    ("turns:\n  - say: hi\n  - feedback: {item: 1, liked: maybe}\n", "`liked` must be true or false"),
    ("turns:\n  - say: hi\n    expect: {at_least: 2}\n", "give `genres_any` too"),
    ("turns:\n  - say: hi\n    expect: {kinds: movie}\n", "`kinds` must be a non-empty list"),
    ("turns:\n  - say: hi\n    expect: {why_true: yes please}\n", "`why_true` must be true or false"),
    ("catalog: nowhere.jsonl\nturns:\n  - say: hi\n", "catalog nowhere.jsonl not found"),
])
def test_bad_files_say_what_is_wrong(tmp_path: Path, text: str, problem: str) -> None:
    with pytest.raises(ScriptError, match="bad.yaml") as caught:
        load_script(write(tmp_path, "bad.yaml", text))
    assert problem in str(caught.value)


def test_a_catalog_the_engine_was_not_loaded_with_is_refused(engine: Engine, tmp_path: Path,
                                                           small_catalog: Path) -> None:
    path = write(tmp_path, "own.yaml", f"catalog: {small_catalog}\nturns:\n  - say: hi\n")
    with pytest.raises(ScriptError, match="names catalog"):
        run_file(engine, path)


# -- the checks -----------------------------------------------------------------------------------------------------

BOOK = Item(id="b1", title="Star Roads", description="A voyage.", kind="book",
            genres=("science fiction", "historical fiction"), tags=("space",), creators=("Ann Lee",))
NAMES = catalog_genre_names([BOOK, Item(id="x", title="X", description=".", genres=("horror", "history", "war"))])


@pytest.mark.parametrize("why, problem", [
    ("You are interested in space: it is about space.", ""),
    ("你对“太空”感兴趣：它是一部科幻小说。", ""),
    ("It is historical fiction by Ann Lee.", ""),               # not also 'history'
    ("一部历史小说", ""),                                          # not also 历史 (history)
    ("An award-winning story about space.", ""),               # 'award' is not 'war'
    ("It is a horror book about space.", "names genres the item lacks: horror"),
    ("它是一部恐怖小说", "names genres the item lacks: horror"),
    ("它是一部horror书", "names genres the item lacks: horror"),   # English words inside Chinese text count
    ("它的主题包括“space”。", ""),
    ("It is a great pick for you.", "names none of the item's genres, tags or people"),
])
def test_why_true_judges_the_facts_a_reason_names(why: str, problem: str) -> None:
    assert why_problem(BOOK, why, NAMES) == problem


def test_a_failure_names_the_turn_and_lists_what_was_shown(engine: Engine, tmp_path: Path) -> None:
    path = write(tmp_path, "kinds.yaml", 'turns:\n  - say: "I love space exploration films"\n'
                                         '    expect: {kinds: [book], count_at_least: 99}\n')
    failures = run_file(engine, path)
    assert [(f.turn, f.key) for f in failures] == [(1, "kinds"), (1, "count_at_least")]
    assert re.search(r"shown: 1\. [^;]+ \((19|20)\d\d\) \[(movie|book|series): [^\]]+\]; 2\. ", failures[0].message)
    assert str(failures[0]).startswith(f'{path}: turn 1 ("I love space exploration films"): kinds: ')


def test_feedback_by_position_makes_rejected_absent_checkable(engine: Engine, tmp_path: Path) -> None:
    path = write(tmp_path, "thumbs.yaml", 'turns:\n  - say: "I love space exploration films"\n'
                                          '  - feedback: {item: 1, liked: false}\n  - feedback: {item: 9, liked: true}\n'
                                          '  - say: "more space films"\n    expect: {rejected_absent: true}\n')
    failures = run_file(engine, path)
    assert [(f.turn, f.key) for f in failures] == [(3, "feedback")]
    assert "no recommendation 9" in failures[0].message


# -- main, JUnit and the command line ---------------------------------------------------------------------------

def test_main_exit_codes(engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good, failing = write(tmp_path, "good.yaml", SPACE % 1), write(tmp_path, "failing.yaml", SPACE % 99)
    bad = write(tmp_path, "bad.yaml", "turns:\n  - say: hi\n    expect: {nope: 1}\n")
    assert main([good], engine=engine) == 0
    assert main([good, failing], engine=engine) == 1
    assert "FAIL " in (out := capsys.readouterr().out) and "failing.yaml: turn 1" in out and "1 failed" in out
    assert main([good, failing, bad], engine=engine) == 2
    assert "bad.yaml, turn 1" in capsys.readouterr().err
    assert main([good], url="http://localhost:1", engine=engine) == 2
    assert "--url needs the HTTP API (not built yet)" in capsys.readouterr().err


def test_junit_has_one_testcase_per_file(engine: Engine, tmp_path: Path) -> None:
    files = [write(tmp_path, "good.yaml", "name: fine\n" + SPACE % 1), write(tmp_path, "failing.yaml", SPACE % 99),
             write(tmp_path, "bad.yaml", "turns: [1]\n")]
    out = tmp_path / "reports" / "junit.xml"
    assert main(files, junit=out, engine=engine) == 2
    root = ET.parse(out).getroot()
    suite = root.find("testsuite")
    assert suite is not None and (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("3", "1", "1")
    cases = suite.findall("testcase")
    assert [c.get("file") for c in cases] == [str(f) for f in files]
    assert [(c.find("failure") is not None, c.find("error") is not None) for c in cases] == \
        [(False, False), (True, False), (False, True)]
    assert "turn 1" in (cases[1].findtext("failure") or "")


def test_a_script_with_its_own_catalog_runs_on_an_engine_for_it(tmp_path: Path, small_catalog: Path) -> None:
    path = write(tmp_path, "own.yaml", f"catalog: {small_catalog.name}\nturns:\n  - say: football films\n"
                                       "    expect: {titles_any: [Goal Line], count_at_least: 1}\n")
    assert main([path]) == 0


def chatrec_command() -> list[str]:
    exe = Path(sys.executable).parent / "chatrec"   # the console script the package installs
    return [str(exe)] if exe.exists() else [sys.executable, "-c", "import sys; from chatrec.cli import main; sys.exit(main())"]


def test_the_command_line_returns_2_on_a_bad_file(tmp_path: Path) -> None:
    bad = write(tmp_path, "bad.yaml", "turns:\n  - say: hi\n    expect: {genre_any: [comedy]}\n")
    done = subprocess.run([*chatrec_command(), "script", str(bad), "--junit", str(tmp_path / "j.xml")],
                          check=False, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert "bad.yaml, turn 1 (line 2): unknown expect key 'genre_any'" in done.stderr
    assert ET.parse(tmp_path / "j.xml").getroot().find("testsuite").get("errors") == "1"  # type: ignore[union-attr]
    done = subprocess.run([*chatrec_command(), "script", str(bad), "--url", "http://localhost:1"],
                          check=False, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "--url needs the HTTP API (not built yet)" in done.stderr
