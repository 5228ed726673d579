"""Which tests use the real, slow parts: the packaged embedders, a Chroma store, or a chatrec or Chroma process.

A test counts when, during its setup or its body, one of those is constructed or called (the packaged embedders'
`embed`, any `ChromaStore` method, a chatrec, app.py or Chroma process, or Python code run in a child process that
makes an Engine), or when it asks for
a fixture whose setup did so (a session fixture is set up once but serves every test that asks for it). The
session ends with one line: how many tests that is, of how many that ran; `CHATREC_REAL_PARTS_LIST=FILE` also writes
the tests that did, one per line. Loaded by conftest.py.
"""

from __future__ import annotations

import functools
import os
import subprocess
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from chatrec.backends import chroma, embedders

_running: list[str] = []  # the test or fixture being set up or run
_uses: dict[str, set[str]] = {}  # test or "fixture:NAME" -> the real parts it touched
_closures: dict[str, list[str]] = {}  # test -> the fixtures it asks for, directly or not


def _starts_real_parts(args: list[str]) -> bool:
    """A chatrec command, app.py, `python -m chatrec...`, Chroma's server, or Python code that makes an Engine."""
    first = os.path.basename(args[0]) if args else ""
    module = args[args.index("-m") + 1] if "-m" in args[:-1] else ""
    code = args[args.index("-c") + 1] if "-c" in args[:-1] else ""
    return (
        first in ("chatrec", "chroma")
        or any(a.endswith("app.py") for a in args)
        or module.startswith("chatrec")
        or "Engine" in code
    )


def _note(part: str) -> None:
    for who in _running:
        _uses.setdefault(who, set()).add(part)


def _watched(method: Callable[..., Any], part: str) -> Callable[..., Any]:
    @functools.wraps(method)
    def call(*args: Any, **kwargs: Any) -> Any:
        _note(part)
        return method(*args, **kwargs)

    return call


def install() -> None:
    """Wrap the real parts' entry points (once per session)."""
    for cls, part in ((embedders.MiniLMEmbedder, "MiniLM"), (embedders.USEEmbedder, "USE")):
        cls.__init__ = _watched(cls.__init__, part)  # type: ignore[method-assign]
        cls.embed = _watched(cls.embed, part)  # type: ignore[method-assign]
    for name in ("__init__", "count", "stored_hashes", "vectors", "query", "upsert", "delete", "clear"):
        setattr(chroma.ChromaStore, name, _watched(getattr(chroma.ChromaStore, name), "Chroma"))
    real_init = subprocess.Popen.__init__

    @functools.wraps(real_init)
    def popen(self: subprocess.Popen[Any], args: Any, *rest: Any, **kwargs: Any) -> None:
        if _starts_real_parts([str(a) for a in args] if isinstance(args, (list, tuple)) else str(args).split()):
            _note("process")
        real_init(self, args, *rest, **kwargs)

    subprocess.Popen.__init__ = popen  # type: ignore[method-assign]


@pytest.hookimpl(hookwrapper=True)
def pytest_fixture_setup(fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest) -> Iterator[None]:
    _running.append(f"fixture:{fixturedef.argname}")
    try:
        yield
    finally:
        _running.pop()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    _closures[item.nodeid] = list(getattr(item, "fixturenames", ()))
    _running.append(item.nodeid)
    try:
        yield
    finally:
        _running.remove(item.nodeid)


def real_tests() -> tuple[list[str], int]:
    """(the tests that used real parts, how many tests ran)."""
    fixtures = {who.removeprefix("fixture:") for who in _uses if who.startswith("fixture:")}
    used = [t for t, names in _closures.items() if t in _uses or fixtures.intersection(names)]
    return used, len(_closures)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    used, ran = real_tests()
    listing = os.environ.get("CHATREC_REAL_PARTS_LIST")
    if listing:
        with open(listing, "w", encoding="utf-8") as out:
            out.writelines(f"{test}\t{','.join(sorted(_uses.get(test, ())))}\n" for test in used)
    if ran:
        functions = {t.split("[")[0] for t in _closures}
        real_functions = {t.split("[")[0] for t in used}
        terminalreporter.write_line(
            f"real parts (packaged embedders, Chroma, chatrec/Chroma processes): {len(used)} of {ran} tests "
            f"({len(used) / ran:.0%}); {len(real_functions)} of {len(functions)} test functions "
            f"({len(real_functions) / len(functions):.0%})"
        )
