"""Scripted dialogues (examples/dialogues/*.yaml) on the bundled catalog, and the runner that checks them: on an
Engine, through the real command line, and against the real app's HTTP API on loopback (`--url`).

The examples are acceptance tests of what the packaged models produce: they run on the real `engine`, through the
real `chatrec script`, and through the app over the real engine. The runner's own logic (failures naming the turn,
exit codes, JUnit, `source`, feedback by position, a script's own catalog, what the API tells) runs on engines on the
in-memory doubles (conftest.memory_engine), with expectations that hold or fail whatever the ranking is: `kinds`
(the reading layer's kind filter), `count_at_least` (1 or more than `k`), `source`, positions past `k`."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from conftest import ROOT, free_port, memory_engine, serve

from chatrec import Engine
from chatrec.catalog.items import Item
from chatrec.catalog.remembered import Source, write_record
from chatrec.results import Recommendation, Turn
from chatrec.scripts.expectations import Shown, catalog_genre_names, check, why_problem
from chatrec.scripts.local import Engines
from chatrec.scripts.run import ScriptError, load_script, main, run_file, sse_events, turn_from_api

DIALOGUES = sorted((ROOT / "examples" / "dialogues").glob("*.yaml"))
FAILING = Path(__file__).parent / "failing_dialogue.yaml"
SPACE = 'turns:\n  - say: "I love space exploration films"\n    expect: {count_at_least: %d}\n'
FAILING_TURN = 'turn 3 ("Recommend some science fiction novels"): kinds: expected only movie; not: '


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


@pytest.mark.parametrize(
    "text, problem",
    [
        ("turns: []\n", "non-empty list"),
        ("say: hi\n", "unknown top-level key 'say'"),
        ("turns:\n  - {say: hi, feedback: {item: 1, liked: true}}\n", "either `say` or `feedback`"),
        ("turns:\n  - feedback: {item: 1, liked: false}\n", "before any `say`"),
        ("turns:\n  - say: hi\n  - feedback: {item: 1, liked: maybe}\n", "`liked` must be true or false"),
        ("turns:\n  - say: hi\n    expect: {at_least: 2}\n", "give `genres_any` too"),
        ("turns:\n  - say: hi\n    expect: {kinds: movie}\n", "`kinds` must be a non-empty list"),
        ("turns:\n  - say: hi\n    expect: {why_true: yes please}\n", "`why_true` must be true or false"),
        ("turns:\n  - say: hi\n    expect: {source: model}\n", "`source` must be one of generator, template"),
        ("catalog: nowhere.jsonl\nturns:\n  - say: hi\n", "catalog nowhere.jsonl not found"),
    ],
)
def test_bad_files_say_what_is_wrong(tmp_path: Path, text: str, problem: str) -> None:
    with pytest.raises(ScriptError, match="bad.yaml") as caught:
        load_script(write(tmp_path, "bad.yaml", text))
    assert problem in str(caught.value)


def test_a_catalog_the_engine_was_not_loaded_with_is_refused(mem: Engine, tmp_path: Path, small_catalog: Path) -> None:
    path = write(tmp_path, "own.yaml", f"catalog: {small_catalog}\nturns:\n  - say: hi\n")
    with pytest.raises(ScriptError, match="names catalog"):
        run_file(mem, path)


# -- the checks -----------------------------------------------------------------------------------------------------

BOOK = Item(
    id="b1",
    title="Star Roads",
    description="A voyage.",
    kind="book",
    genres=("science fiction", "historical fiction"),
    tags=("space",),
    creators=("Ann Lee",),
)
NAMES = catalog_genre_names([BOOK, Item(id="x", title="X", description=".", genres=("horror", "history", "war"))])


@pytest.mark.parametrize(
    "why, problem",
    [
        ("You are interested in space: it is about space.", ""),
        ("你对“太空”感兴趣：它是一部科幻小说。", ""),
        ("It is historical fiction by Ann Lee.", ""),  # not also 'history'
        ("一部历史小说", ""),  # not also 历史 (history)
        ("An award-winning story about space.", ""),  # 'award' is not 'war'
        ("It is a horror book about space.", "names genres the item lacks: horror"),
        ("它是一部恐怖小说", "names genres the item lacks: horror"),
        ("它是一部horror书", "names genres the item lacks: horror"),  # English words inside Chinese text count
        ("它的主题包括“space”。", ""),
        ("It is a great pick for you.", "names none of the item's genres, tags or people"),
    ],
)
def test_why_true_judges_the_facts_a_reason_names(why: str, problem: str) -> None:
    assert why_problem(BOOK, why, NAMES) == problem


def test_a_failure_names_the_turn_and_lists_what_was_shown(mem: Engine, tmp_path: Path) -> None:
    """Films asked for, a book expected, and more than `k`: both fail whatever is ranked first."""
    path = write(
        tmp_path,
        "kinds.yaml",
        'turns:\n  - say: "I love space exploration films"\n    expect: {kinds: [book], count_at_least: 99}\n',
    )
    failures = run_file(mem, path)
    assert [(f.turn, f.key) for f in failures] == [(1, "kinds"), (1, "count_at_least")]
    assert re.search(r"shown: 1\. [^;]+ \((19|20)\d\d\) \[(movie|book|series): [^\]]+\]; 2\. ", failures[0].message)
    assert str(failures[0]).startswith(f'{path}: turn 1 ("I love space exploration films"): kinds: ')


def test_the_reply_source_is_checked(mem: Engine, tmp_path: Path) -> None:
    """The doubles' engine has no generator: its replies come from the template."""
    path = write(
        tmp_path,
        "source.yaml",
        'turns:\n  - say: "I love space exploration films"\n'
        '    expect: {source: template}\n  - say: "Something funny"\n'
        "    expect: {source: generator}\n",
    )
    failures = run_file(mem, path)
    assert [(f.turn, f.key) for f in failures] == [(2, "source")]
    assert "expected a generator reply, got a template one" in failures[0].message


def test_feedback_by_position_makes_rejected_absent_checkable(mem: Engine, tmp_path: Path) -> None:
    """Position 1 is always there; position 9 never is (`k` is 5)."""
    path = write(
        tmp_path,
        "thumbs.yaml",
        'turns:\n  - say: "I love space exploration films"\n'
        "  - feedback: {item: 1, liked: false}\n  - feedback: {item: 9, liked: true}\n"
        '  - say: "more space films"\n    expect: {rejected_absent: true}\n',
    )
    assert mem.settings.k < 9
    failures = run_file(mem, path)
    assert [(f.turn, f.key) for f in failures] == [(3, "feedback")]
    assert "no recommendation 9" in failures[0].message


# -- main, JUnit and the command line ---------------------------------------------------------------------------


def test_main_exit_codes(mem: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good, failing = write(tmp_path, "good.yaml", SPACE % 1), write(tmp_path, "failing.yaml", SPACE % 99)
    bad = write(tmp_path, "bad.yaml", "turns:\n  - say: hi\n    expect: {nope: 1}\n")
    assert main([good], engine=mem) == 0
    assert main([good, failing], engine=mem) == 1
    assert "FAIL " in (out := capsys.readouterr().out) and "failing.yaml: turn 1" in out and "1 failed" in out
    assert main([good, failing, bad], engine=mem) == 2
    assert "bad.yaml, turn 1" in capsys.readouterr().err


def test_the_failing_dialogue_names_its_turn_and_expectation(mem: Engine, capsys: pytest.CaptureFixture[str]) -> None:
    """Novels asked for, films expected: turn 3's `kinds` fails whatever books are ranked."""
    assert main([FAILING], engine=mem) == 1
    out = capsys.readouterr().out
    assert [line for line in out.splitlines() if line.startswith("FAIL ")] == [
        line for line in out.splitlines() if line.startswith(f"FAIL {FAILING}: {FAILING_TURN}")
    ], out
    assert out.count("FAIL ") == 1 and "1 file(s): 0 passed, 1 failed, 0 bad" in out


def test_junit_has_one_testcase_per_file(mem: Engine, tmp_path: Path) -> None:
    files = [
        write(tmp_path, "good.yaml", "name: fine\n" + SPACE % 1),
        write(tmp_path, "failing.yaml", SPACE % 99),
        write(tmp_path, "bad.yaml", "turns: [1]\n"),
    ]
    out = tmp_path / "reports" / "junit.xml"
    assert main(files, junit=out, engine=mem) == 2
    root = ET.parse(out).getroot()
    suite = root.find("testsuite")
    assert suite is not None and (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("3", "1", "1")
    cases = suite.findall("testcase")
    assert [c.get("file") for c in cases] == [str(f) for f in files]
    assert [(c.find("failure") is not None, c.find("error") is not None) for c in cases] == [
        (False, False),
        (True, False),
        (False, True),
    ]
    assert "turn 1" in (cases[1].findtext("failure") or "")


def test_a_script_with_its_own_catalog_runs_on_an_engine_for_it(
    tmp_path: Path, small_catalog: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The runner loads an engine for the catalog a script names (read from the script's folder) and runs the
    script on it; here `Engines` loads it on the doubles (`Engines._load` itself, for the bundled catalog, runs
    in test_the_command_line_runs_the_examples_on_the_bundled_catalog)."""
    asked: list[Path | None] = []

    def load(engines: Engines, catalog: Path | None) -> Engine:
        asked.append(catalog)
        doubles = memory_engine(tmp_path / "data", catalog)
        settings = doubles.settings.with_(catalog=catalog)  # as `Engines` loads it: for this catalog
        return Engine(settings, doubles.catalog, doubles.embedder, doubles.store, doubles.profiles)

    monkeypatch.setattr(Engines, "_load", load)
    path = write(
        tmp_path,
        "own.yaml",
        f"catalog: {small_catalog.name}\nturns:\n  - say: football films\n"
        "    expect: {titles_any: [Goal Line], count_at_least: 1}\n",
    )
    assert main([path]) == 0
    assert asked == [small_catalog.resolve()]


def chatrec_command() -> list[str]:
    exe = Path(sys.executable).parent / "chatrec"  # the console script the package installs
    return (
        [str(exe)]
        if exe.exists()
        else [sys.executable, "-c", "import sys; from chatrec.cli import main; sys.exit(main())"]
    )


def test_the_command_line_returns_2_on_a_bad_file(tmp_path: Path) -> None:
    bad = write(tmp_path, "bad.yaml", "turns:\n  - say: hi\n    expect: {genre_any: [comedy]}\n")
    done = subprocess.run(
        [*chatrec_command(), "script", str(bad), "--junit", str(tmp_path / "j.xml")],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert "bad.yaml, turn 1 (line 2): unknown expect key 'genre_any'" in done.stderr
    assert ET.parse(tmp_path / "j.xml").getroot().find("testsuite").get("errors") == "1"  # type: ignore[union-attr]
    nobody = f"http://127.0.0.1:{free_port()}"
    done = subprocess.run(
        [*chatrec_command(), "script", str(bad), "--url", nobody],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2 and f"cannot reach the chatrec server at {nobody}" in done.stderr, done.stderr


def junit_counts(path: Path) -> tuple[str | None, ...]:
    suite = ET.parse(path).getroot().find("testsuite")
    assert suite is not None
    return suite.get("tests"), suite.get("failures"), suite.get("errors")


def test_the_command_line_runs_the_examples_on_the_bundled_catalog(tmp_path: Path, small_catalog: Path) -> None:
    """The real `chatrec script examples/dialogues/*.yaml --junit`: an Engine of its own, for the bundled catalog
    even where the data folder and the environment name another one."""
    folder = tmp_path / "data"
    write_record(folder, Source(small_catalog.resolve()), 3)  # a data folder that remembers the 3-item catalog
    env = {**os.environ, "CHATREC_DATA_DIR": str(folder), "CHATREC_CATALOG": str(small_catalog)}
    files = [str(p.relative_to(ROOT)) for p in DIALOGUES]
    done = subprocess.run(
        [*chatrec_command(), "script", *files, "--junit", str(tmp_path / "out.xml")],
        cwd=ROOT,
        env=env,
        check=False,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{len(files)} file(s): {len(files)} passed, 0 failed, 0 bad" in done.stdout
    assert junit_counts(tmp_path / "out.xml") == (str(len(files)), "0", "0")
    cases = ET.parse(tmp_path / "out.xml").getroot().iter("testcase")
    assert [c.get("file") for c in cases] == files


# -- the same dialogues through a server's HTTP API (--url) -----------------------------------------------------


@pytest.fixture(scope="module")
def server(engine: Engine) -> Iterator[str]:
    """The real app (UI and API, as `python app.py` serves it) over the session's engine, on loopback."""
    with serve(engine) as url:
        yield url


@pytest.fixture(scope="module")
def doubles(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    """The bundled catalog on the in-memory doubles, for the app that tests of the runner's --url side talk to."""
    return memory_engine(tmp_path_factory.mktemp("scripted-doubles"))


@pytest.fixture(scope="module")
def doubles_server(doubles: Engine) -> Iterator[str]:
    """The real app (UI and API) over `doubles`, on loopback."""
    with serve(doubles) as url:
        yield url


def test_the_examples_hold_through_the_http_api_too(server: str, tmp_path: Path) -> None:
    files = [str(p.relative_to(ROOT)) for p in DIALOGUES]
    done = subprocess.run(
        [*chatrec_command(), "script", *files, "--url", server, "--junit", str(tmp_path / "j.xml")],
        cwd=ROOT,
        check=False,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{len(files)} file(s): {len(files)} passed, 0 failed, 0 bad" in done.stdout
    assert "SKIP" not in done.stdout and "not checked" not in done.stdout  # every expectation was checked
    assert "note: over --url, why_true knows" in done.stdout  # and how far, said once
    assert junit_counts(tmp_path / "j.xml") == (str(len(files)), "0", "0")


def test_a_failure_through_the_api_reads_as_on_the_engine(
    doubles_server: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([FAILING], url=doubles_server) == 1
    out = capsys.readouterr().out
    assert f"FAIL {FAILING}: {FAILING_TURN}" in out and out.count("FAIL ") == 1, out


def test_catalog_is_ignored_with_url(doubles_server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "own.yaml", "catalog: nowhere.jsonl\n" + SPACE % 3)
    assert main([path], url=doubles_server) == 0
    assert f"`catalog:` is ignored in {path}" in capsys.readouterr().out


def test_a_url_that_is_no_chatrec_server_is_exit_2(
    doubles_server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, "good.yaml", SPACE % 1)
    nobody = f"http://127.0.0.1:{free_port()}"
    assert main([path], url=nobody) == 2
    assert f"error: cannot reach the chatrec server at {nobody}" in capsys.readouterr().err
    assert main([path], url=doubles_server + "elsewhere/") == 2
    assert "does not serve the chatrec HTTP API" in capsys.readouterr().err
    assert main([path], url="ftp://127.0.0.1/") == 2
    assert "--url must be a server address" in capsys.readouterr().err


def test_api_recommendations_carry_the_facts_the_expectations_read(doubles_server: str, doubles: Engine) -> None:
    api = doubles_server + "api/v1"
    headers = {"Authorization": "Bearer " + httpx.post(api + "/sessions", json={}).json()["token"]}
    turn = httpx.post(api + "/chat", json={"message": "我喜欢太空探索的电影"}, headers=headers, timeout=60).json()
    httpx.delete(api + "/profile", headers=headers)
    _, items, missing = turn_from_api(turn)
    assert items and not missing
    for item in items:
        known = doubles.items[item.id]
        assert (item.genres, item.creators, item.cast, item.tags, item.aliases, item.kind) == (
            known.genres,
            known.creators,
            known.cast,
            known.tags,
            known.aliases,
            known.kind,
        )


class NoFacts:
    partial = ""

    def genre_names(self) -> dict[str, str]:
        return {}

    def titles(self) -> set[str]:
        return set()

    def terms(self) -> list[str]:
        return []

    def less_of(self) -> list[str]:
        return []


def test_an_expectation_the_answer_lacks_the_facts_for_is_unchecked_not_passed() -> None:
    """An older server sends recommendations without genres: genres_none is reported as not checked."""
    turn = Turn(reply="Try Star Roads.", recommendations=[Recommendation("b1", "Star Roads", 1.0, "space")])
    expect = {"genres_none": ["horror"], "kinds": ["book"], "why_true": True}
    failed, unchecked = check(Shown(turn, [BOOK], 0.1, set(), expect, NoFacts(), frozenset({"genres", "tags"})))
    assert failed == [] and [key for key, _ in unchecked] == ["genres_none", "why_true"]
    assert "came without genres" in unchecked[0][1]


def test_server_sent_events_are_read_one_by_one() -> None:
    lines = [
        "event: recommendations",
        "data: []",
        "",
        "event: delta",
        'data: {"text": "Hi"}',
        "",
        "event: final",
        'data: {"reply": "Hi"}',
    ]  # the last event without its blank line
    assert list(sse_events(iter(lines))) == [
        ("recommendations", []),
        ("delta", {"text": "Hi"}),
        ("final", {"reply": "Hi"}),
    ]
