"""The terminal chat and the web app's handler, driven as a person would use them."""

import importlib.util
import sys
from pathlib import Path

import pytest

from chatrec import Engine
from chatrec.cli import main as cli

from conftest import ROOT, write_jsonl


def test_terminal_chat(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    catalog = write_jsonl(tmp_path / "c.jsonl", [
        {"id": "s1", "title": "Star Voyage", "kind": "movie", "genres": ["science fiction"], "description": "A crew explores deep space."},
        {"id": "c1", "title": "Kitchen Tales", "kind": "movie", "genres": ["comedy"], "description": "Chefs compete in a small town."},
    ])
    lines = iter(["I love films about space", "dislike s1", "dislike nope", "", "never read"])
    monkeypatch.setattr("builtins.input", lambda prompt="": next(lines))
    assert cli(["chat", "--catalog", str(catalog), "--data-dir", str(tmp_path / "d"), "--user", "t"]) == 0
    out = capsys.readouterr().out
    assert "Star Voyage" in out and "noted." in out and "unknown item id 'nope'" in out


def load_app():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("chatrec_app", ROOT / "app.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    sys.modules["chatrec_app"] = module
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def test_web_app_builds_and_answers(engine: Engine) -> None:
    app = load_app()
    demo = app.build(engine)
    assert demo is not None

    class Request:
        session_hash = "abc123"

    fn = demo.fn  # the respond function given to ChatInterface
    reply = fn("I love space exploration films", [], Request())
    assert "1." in reply
    assert "empty" in fn("   ", [], Request())
    escaped = fn("<b>bold</b> I like <script>alert(1)</script> space films", [], Request())
    assert "<script>" not in escaped and "<b>" not in escaped
