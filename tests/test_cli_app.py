"""The terminal chat and the web app's handler, driven as a person would use them."""

from pathlib import Path

import pytest
from conftest import load_app, write_jsonl

from chatrec import Engine
from chatrec.cli import main as cli


def test_terminal_chat(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    catalog = write_jsonl(
        tmp_path / "c.jsonl",
        [
            {
                "id": "s1",
                "title": "Star Voyage",
                "kind": "movie",
                "genres": ["science fiction"],
                "description": "A crew explores deep space.",
            },
            {
                "id": "c1",
                "title": "Kitchen Tales",
                "kind": "movie",
                "genres": ["comedy"],
                "description": "Chefs compete in a small town.",
            },
        ],
    )
    lines = iter(["I love films about space", "dislike s1", "dislike nope", "", "never read"])
    monkeypatch.setattr("builtins.input", lambda prompt="": next(lines))
    assert cli(["chat", "--catalog", str(catalog), "--data-dir", str(tmp_path / "d"), "--user", "t"]) == 0
    out = capsys.readouterr().out
    assert "Star Voyage" in out and "noted." in out and "unknown item id 'nope'" in out


def test_web_app_builds_with_stable_api_names(engine: Engine) -> None:
    app = load_app()
    demo = app.build(engine)
    names = {d.get("api_name") for d in demo.config["dependencies"] if d.get("api_visibility", "public") == "public"}
    assert {"chat", "feedback"} <= names


def test_web_rendering_escapes_catalog_and_user_text() -> None:
    app = load_app()
    rec = {
        "item_id": 'x"><script>',
        "title": "<b>Bold</b>",
        "year": 2001,
        "kind": "movie",
        "description": "<img src=x onerror=alert(1)>",
        "why": "<script>alert(2)</script>",
    }
    card = app.card_html(rec)
    assert "<b>" not in card and "<img" not in card and "<script>" not in card and "&lt;b&gt;Bold" in card
    entry = {"field": "wants", "value": '"><i>x</i>', "text": "<i>x</i>"}
    state = {
        "now": {"kind": None, "wants": [entry], "constraints": []},
        "less_of": [{"field": "less_of", "value": "<u>", "text": "<u>"}],
        "never": {"genres": [], "people": [], "items": []},
        "named": [{"field": "items", "value": "x", "text": "<script>alert(3)</script>", "said": "liked"}],
    }
    panel = app.profile_html({"state": state})
    assert "<i>" not in panel and "<u>" not in panel and "<script>" not in panel and '"><i>' not in panel
    assert panel.count('class="chip-x"') == 3 and 'data-value="&quot;&gt;&lt;i&gt;x&lt;/i&gt;"' in panel


def test_the_web_user_comes_from_the_signed_cookie_never_the_session_hash() -> None:
    app = load_app()

    class Request:
        def __init__(self, session: str, username: str | None) -> None:
            self.session_hash, self.username = session, username

    assert app.user_of(Request("s1", None)) is None  # a session hash alone names no one
    assert app.user_of(Request("s1", "web-abc")) == "web-abc" == app.user_of(Request("s2", "web-abc"))


def test_server_logs_are_one_json_object_a_line_when_asked() -> None:
    import json
    import subprocess
    import sys

    code = (
        "import logging; from chatrec.serve.logs import configure; print(configure(), flush=True); "
        "logging.getLogger('chatrec.serve.api').warning('store down', extra={'part': 'profiles'})"
    )
    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env={"CHATREC_LOG_FORMAT": "json"}
    )
    assert run.returncode == 0 and run.stdout.strip() == "json", run.stderr
    line = json.loads(run.stderr.strip().splitlines()[-1])
    assert line["message"] == "store down" and line["levelname"] == "WARNING" and line["part"] == "profiles"
    assert line["name"] == "chatrec.serve.api" and "time" in line
    bad = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env={"CHATREC_LOG_FORMAT": "xml"}
    )
    assert bad.returncode != 0 and "must be one of text, json" in bad.stderr


def test_generator_file_prints_the_gguf_that_llama_cpps_server_is_given(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli(["generator-file", "smollm2-135m", "--data-dir", str(tmp_path)]) == 0
    path = Path(capsys.readouterr().out.strip())
    assert path.suffix == ".gguf" and path.is_file() and path.stat().st_size > 50_000_000
    assert cli(["generator-file", "no-such-model", "--data-dir", str(tmp_path)]) == 2
    assert "packaged model" in capsys.readouterr().err
