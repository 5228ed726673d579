"""Scripted dialogues: load a YAML script, validate it, run it against an Engine or a server, report what did not hold.

    from chatrec.scripts.run import load_script, run_file, main
    failures = run_file(engine, "examples/dialogues/family.yaml")   # [] when every expectation holds
    main(["a.yaml", "b.yaml"], junit=Path("out.xml"))               # 0 all hold, 1 some failed, 2 a bad file
    main(["a.yaml"], url="http://127.0.0.1:7860")                   # the same, through a server's HTTP API

The format is the contract's ("Scripted dialogues"; every key in docs/scripts.md): a mapping with `turns` (and
optional `name`, `catalog`); each turn is `say: TEXT` with an optional `expect: {...}`, or `feedback: {item: N or ID,
liked: BOOL}` (N: 1-based position in the last turn's recommendations). Each file runs as one fresh user, forgotten
afterwards: on an Engine loaded for its catalog (the bundled one when it names none) in a temporary data folder, or,
with `url`, as a new session of a running server (`POST /api/v1/sessions` ... `DELETE /api/v1/profile`), where
`catalog` is ignored. A relative `catalog` is read from the script's folder (else from the working folder).

Expectation keys beyond the contract (each `true` to check, `false` to skip):
- `why_true`: every recommendation's `why` names at least one fact of its own item (a genre, in English or
  Chinese, a tag, a creator or a cast member) and no catalog genre the item does not have.
- `panel_no_titles`: no term of the user's profile (`Engine.profile(user)["terms"]`) is, case-insensitively, a
  catalog item's title.
- `rejected_absent`: no recommendation is an item rejected with `feedback` earlier in this file.
Over the API the first two know only what the API tells (see `ApiFacts`); an expectation that needs an item fact
the server did not send is reported as not checked (SKIP), never passed in silence.

This module loads and runs the files and reports on them; the side a file plays is an Engine in this process
(chatrec/scripts/local.py) or, with `url`, a server's HTTP API (chatrec/scripts/remote.py).
"""

from __future__ import annotations

import re
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from chatrec.errors import ChatrecError
from chatrec.results import Recommendation
from chatrec.scripts.expectations import Shown, check
from chatrec.scripts.local import Engines, EngineUser, Refused, Side
from chatrec.scripts.remote import (
    ApiFacts,
    ApiUser,
    ServerError,
    connect,
    sse_events,  # noqa: F401  re-exported: tests import both from here
    turn_from_api,  # noqa: F401
)
from chatrec.scripts.schema import Invalid, Say, Script, Thumbs, parse_script  # noqa: F401  Say: re-exported

if TYPE_CHECKING:
    from chatrec.engine import Engine

PARTIAL_KEYS = ("why_true", "panel_no_titles")  # the checks that read more than the turn's own items


class ScriptError(ChatrecError):
    """A scripted-dialogue file that cannot be run as it is; the message names the file and, if known, the turn."""

    def __init__(self, path: Path | str, message: str, turn: int | None = None, line: int | None = None) -> None:
        self.path, self.turn, self.line = str(path), turn, line
        where = f", turn {turn}" if turn is not None else ""
        where += f" (line {line})" if line is not None else ""
        super().__init__(f"{path}{where}: {message}")


@dataclass(frozen=True)
class Failure:
    """One expectation that did not hold (or could not be checked): where (file, 1-based turn), which key, and
    what was shown."""

    file: str
    turn: int
    key: str
    message: str
    said: str = ""

    def __str__(self) -> str:
        said = f' ("{self.said}")' if self.said else ""
        return f"{self.file}: turn {self.turn}{said}: {self.key}: {self.message}"


# -- loading and validation -----------------------------------------------------------------------------------


def load_script(path: Path | str, find_catalog: bool = True) -> Script:
    """The script in `path`, validated; a `ScriptError` naming the file, turn and line when it is not usable.
    Without `find_catalog` (--url, where it is ignored) a `catalog` that is not there is no error."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScriptError(path, f"cannot be read: {exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise ScriptError(path, f"not valid YAML: {getattr(exc, 'problem', None) or exc}", line=line) from None
    try:
        return parse_script(path, data, find_catalog)
    except Invalid as bad:
        turn = None if bad.index is None else bad.index + 1
        line = None if bad.index is None else _turn_lines(text).get(bad.index)
        raise ScriptError(path, str(bad), turn, line) from None


def _turn_lines(text: str) -> dict[int, int]:
    """Where each turn starts in the YAML text (0-based index -> 1-based line); empty when not found."""
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    if not isinstance(root, yaml.MappingNode):
        return {}
    for key, value in root.value:
        if key.value == "turns" and isinstance(value, yaml.SequenceNode):
            return {i: node.start_mark.line + 1 for i, node in enumerate(value.value)}
    return {}


# -- running, on either side ------------------------------------------------------------------------------------


def run_file(engine: Engine, path: Path | str) -> list[Failure]:
    """Run the script in `path` against `engine` as a fresh user; the expectations that did not hold."""
    return run_script(engine, load_script(path))


def run_script(engine: Engine, script: Script) -> list[Failure]:
    """Run a loaded script as a fresh user (forgotten afterwards); the expectations that did not hold."""
    _check_engine_catalog(engine, script)
    return converse(EngineUser(engine), script)[0]


def converse(side: Side, script: Script) -> tuple[list[Failure], list[Failure]]:
    """Run a loaded script as `side`, then forget it: the expectations that did not hold, and those that could not
    be checked there."""
    failures: list[Failure] = []
    unchecked: list[Failure] = []
    last: list[Recommendation] = []
    thumbs: dict[str, bool] = {}
    path = str(script.path)
    try:
        for number, step in enumerate(script.turns, 1):
            if isinstance(step, Thumbs):
                failures += _give_feedback(side, script, number, step, last, thumbs)
                continue
            try:
                seen = side.say(step.text)
            except Refused as exc:
                failures.append(Failure(path, number, "say", str(exc), step.text))
                continue
            last = seen.turn.recommendations
            rejected = {i for i, liked in thumbs.items() if not liked}
            failed, skipped = check(
                Shown(seen.turn, seen.items, seen.seconds, rejected, step.expect, side.facts(), seen.missing)
            )
            failures += [Failure(path, number, key, msg, step.text) for key, msg in failed]
            unchecked += [Failure(path, number, key, msg, step.text) for key, msg in skipped]
    finally:
        side.close()
    return failures, unchecked


def _give_feedback(
    side: Side, script: Script, number: int, step: Thumbs, last: list[Recommendation], thumbs: dict[str, bool]
) -> list[Failure]:
    if isinstance(step.item, int):
        if step.item > len(last):
            return [
                Failure(
                    str(script.path),
                    number,
                    "feedback",
                    f"no recommendation {step.item}: the last turn showed {len(last)}",
                )
            ]
        item_id = last[step.item - 1].item_id
    else:
        item_id = step.item
    if not side.feedback(item_id, step.liked):
        raise ScriptError(script.path, f"feedback on unknown item id {step.item!r}", number)
    thumbs[item_id] = step.liked
    return []


def _check_engine_catalog(engine: Engine, script: Script) -> None:
    from chatrec.catalog.resources import knowledge_dir

    loaded = engine.settings.catalog
    if script.catalog is not None and Path(loaded or knowledge_dir()).resolve() != script.catalog.resolve():
        raise ScriptError(
            script.path,
            f"names catalog {script.catalog}, but the engine was loaded with "
            f"{loaded or 'the bundled catalog'}; run it with `chatrec script`",
        )


# -- files and the command line ---------------------------------------------------------------------------------


@dataclass
class FileResult:
    """The outcome of one file: the expectations that failed, those that could not be checked, or why it could not
    be run (`error`)."""

    path: str
    name: str = ""
    failures: list[Failure] = field(default_factory=list)
    error: str = ""
    seconds: float = 0.0
    unchecked: list[Failure] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.error and not self.failures


def run_one(engines: Engines, script: Script) -> FileResult:
    """Run one loaded script on the engine for its catalog (its `seconds` leave out loading the engine)."""

    def side() -> Side:
        engine = engines.get(script.catalog)
        _check_engine_catalog(engine, script)
        return EngineUser(engine)

    return run_as(side, script)


def run_as(side: Callable[[], Side], script: Script) -> FileResult:
    """Run one loaded script as the fresh user `side()` makes (not timed: loading an engine, opening a session)."""
    start, result = time.perf_counter(), FileResult(str(script.path), script.name)
    try:
        user = side()
        start = time.perf_counter()
        result.failures, result.unchecked = converse(user, script)
    except ScriptError as exc:
        result.error = str(exc)
    except ChatrecError as exc:  # e.g. the catalog the script names has bad rows, or the server went away
        result.error = f"{script.path}: {exc}"
    result.seconds = time.perf_counter() - start
    return result


def _load_or_error(path: Path | str, find_catalog: bool = True) -> Script | FileResult:
    try:
        return load_script(path, find_catalog)
    except ScriptError as exc:
        return FileResult(str(path), error=str(exc))


def main(
    paths: Sequence[Path | str],
    junit: Path | None = None,
    *,
    url: str | None = None,
    generate: bool = False,
    engine: Engine | None = None,
) -> int:
    """Run every file (each as a fresh user) and print what failed, each with its turn, and a summary.

    Every file is validated before any runs. `engine` (tests) serves the files that name no catalog; otherwise one
    is loaded with `Settings(generator="none")`, or the default generator with `generate`. With `url` every file
    runs on that server's HTTP API instead (`catalog` and `generate` have no effect there). Returns 0 when every
    expectation holds, 1 when one fails, 2 when a file is bad or the server cannot be used.
    """
    if not paths:
        print("error: no script files given", file=sys.stderr)
        return 2
    loaded = [_load_or_error(p, find_catalog=url is None) for p in paths]
    if url:
        results = run_on_server(url, loaded, generate)
        if results is None:
            return 2
    else:
        with Engines(engine, generate) as engines:
            results = [x if isinstance(x, FileResult) else run_one(engines, x) for x in loaded]
    report(results)
    if junit is not None:
        write_junit(results, Path(junit))
    return exit_code(results)


def run_on_server(url: str, loaded: Sequence[Script | FileResult], generate: bool = False) -> list[FileResult] | None:
    """Every loaded script on the server at `url`, each as a new session; None (the reason printed) when the
    server cannot be reached or does not serve the API."""
    try:
        client = connect(url)
    except ServerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return None
    scripts = [s for s in loaded if isinstance(s, Script)]
    named = [str(s.path) for s in scripts if s.catalog is not None]
    if named:
        print(f"note: with --url the server's own catalog is used; `catalog:` is ignored in {', '.join(named)}")
    if generate:
        print("note: --generate has no effect with --url (the server's settings choose how replies are written)")
    if any(s.uses(PARTIAL_KEYS) for s in scripts):
        print(f"note: {ApiFacts.partial}")
    try:
        return [x if isinstance(x, FileResult) else run_as(lambda: ApiUser(client), x) for x in loaded]
    finally:
        client.close()


def exit_code(results: Sequence[FileResult]) -> int:
    return 2 if any(r.error for r in results) else 1 if any(r.failures for r in results) else 0


def report(results: Sequence[FileResult]) -> None:
    """Each failure with its file and turn, each bad file's reason, what could not be checked, and a summary."""
    for r in results:
        if r.error:
            print(f"error: {r.error}", file=sys.stderr)
        for failure in r.failures:
            print(f"FAIL {failure}")
        for unchecked in r.unchecked:
            print(f"SKIP {unchecked}")
        if r.passed:
            print(f"ok   {r.path}{f' ({r.name})' if r.name else ''} in {r.seconds:.1f} s")
    bad, failed = sum(bool(r.error) for r in results), sum(bool(r.failures) and not r.error for r in results)
    skipped = sum(len(r.unchecked) for r in results)
    print(
        f"{len(results)} file(s): {len(results) - bad - failed} passed, {failed} failed, {bad} bad"
        + (f"; {skipped} expectation(s) not checked" if skipped else "")
    )


def write_junit(results: Sequence[FileResult], out: Path) -> None:
    """A JUnit XML report: one testcase per file; a failed expectation is a <failure>, a bad file an <error>, and
    what could not be checked is the case's <system-out>."""
    counts = {
        "tests": str(len(results)),
        "failures": str(sum(bool(r.failures) and not r.error for r in results)),
        "errors": str(sum(bool(r.error) for r in results)),
        "time": f"{sum(r.seconds for r in results):.3f}",
    }
    suites = ET.Element("testsuites", counts)
    suite = ET.SubElement(suites, "testsuite", {"name": "chatrec script", "skipped": "0", **counts})
    for r in results:
        case = ET.SubElement(
            suite,
            "testcase",
            {
                "classname": "chatrec.scripts.run",
                "file": r.path,
                "name": f"{r.path}: {r.name}" if r.name else r.path,
                "time": f"{r.seconds:.3f}",
            },
        )
        if r.error:
            ET.SubElement(case, "error", {"type": "ScriptError", "message": _xml(r.error)}).text = _xml(r.error)
        elif r.failures:
            failure = ET.SubElement(
                case, "failure", {"type": "expectation", "message": f"{len(r.failures)} expectation(s) failed"}
            )
            failure.text = _xml("\n".join(map(str, r.failures)))
        if r.unchecked:
            ET.SubElement(case, "system-out").text = _xml("\n".join(f"not checked: {u}" for u in r.unchecked))
    out.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(suites).write(out, encoding="utf-8", xml_declaration=True)


def _xml(text: str) -> str:
    """`text` without the characters XML 1.0 cannot hold (control characters a reply might carry)."""
    return re.sub("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]", "?", text)
