"""Identity, forgetting and concurrent updates, against the real app, real SQLite files and a real `chroma run`
(the web layer's checks run the real app over an engine on the in-memory doubles, conftest.memory_engine).

Each test first reproduces a defect a probe found (issue 12) and then shows it fixed: a stolen Gradio session hash
opens nothing; "forget" leaves no trace of the user's text in any file, while the app runs and after SIGTERM; two
processes serving one user through one Chroma server lose no update.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import ROOT, free_port, memory_engine, run_chroma, serve, wait_http, write_jsonl

from chatrec import Engine
from chatrec.backends.sqlite_profiles import SQLiteProfiles
from chatrec.errors import StoreCorruptedError
from chatrec.serve.identity import COOKIE, Identity

PYTHON = sys.executable
ITEMS = [
    {
        "id": f"s{i}",
        "title": title,
        "year": 1990 + i,
        "kind": "movie",
        "genres": genres,
        "description": text,
        "tags": tags,
    }
    for i, (title, genres, text, tags) in enumerate(
        [
            ("Orbit Dreams", ["science fiction"], "Astronauts on a long voyage to Jupiter.", ["space"]),
            ("Red Mesa", ["western"], "A sheriff and an outlaw share one last ride across the desert.", ["cowboys"]),
            ("Dust Trail", ["western"], "Cattle drivers cross the plains before winter.", ["cowboys"]),
            ("Garden Days", ["drama"], "A retired teacher tends roses and vegetables.", ["gardening"]),
            ("Goal Line", ["sports"], "A village football team reaches the national cup final.", ["football"]),
            ("Night Shift", ["comedy"], "Two night porters run a hotel for one chaotic week.", ["hotel"]),
            ("Moon Relay", ["science fiction"], "Engineers build the first radio relay on the Moon.", ["space"]),
        ]
    )
]


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_jsonl(tmp_path_factory.mktemp("catalog") / "items.jsonl", ITEMS)


def client(url: str) -> Any:
    from gradio_client import Client

    return Client(url, verbose=False, analytics_enabled=False, download_files=False)


def user_id_of(c: Any) -> str:
    """The user id behind a client's session cookie (the token is `user_id.signature`)."""
    return c.cookies[COOKIE].rsplit(".", 1)[0]


# -- identity ---------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def app_engine(catalog: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """This module's catalog on the in-memory doubles, no generator: the identity checks are the web layer's."""
    with memory_engine(tmp_path_factory.mktemp("identity"), catalog=catalog, k=3) as engine:
        yield engine


@pytest.fixture(scope="module")
def app_url(app_engine: Engine) -> Iterator[str]:
    with serve(app_engine) as url:
        yield url


def test_tokens_are_signed_and_unguessable(tmp_path: Path) -> None:
    identity = Identity(b"k" * 32)
    token, user = identity.issue()
    assert identity.user(token) == user and user.startswith("web-") and len(user) == 26
    for i in (len(user) + 1, len(token) - 1):  # any altered character of the signature, the last one included
        assert identity.user(token[:i] + ("A" if token[i] != "A" else "B") + token[i + 1 :]) is None
    assert identity.user(user[:-1] + ("A" if user[-1] != "A" else "B") + token[len(user) :]) is None  # altered id
    assert identity.user(user) is None and identity.user("web-" + "a" * 22 + ".x") is None
    assert Identity(b"j" * 32).user(token) is None  # another deployment's key
    assert identity.issue()[1] != user


def test_a_stolen_session_hash_opens_nothing(app_engine: Engine, app_url: str) -> None:
    victim = client(app_url)
    try:
        turn = victim.predict("Recommend a western", api_name="/chat")
        assert turn["recommendations"], turn
        victim_id = user_id_of(victim)
        before = (app_engine.profile(victim_id), len(app_engine.profiles.events(victim_id)))
        assert before[0]["turns"] == 1
        stolen = victim.session_hash
        config = httpx.get(app_url + "config", cookies=victim.cookies).json()
        attacker = httpx.Client(base_url=app_url)
        attacker.get("/")  # the attacker's own, valid session cookie
        for cookies in ({}, dict(attacker.cookies)):
            for fn_index in range(len(config["dependencies"])):  # every UI function: chat, thumbs, forget, load
                body = {"fn_index": fn_index, "trigger_id": None, "data": ["hi", [], []], "session_hash": stolen}
                r = httpx.post(app_url + "gradio_api/queue/join", json=body, cookies=cookies)
                assert r.status_code == 403, (fn_index, r.status_code, r.text)
            for path in (
                f"gradio_api/queue/data?session_hash={stolen}",
                f"gradio_api/heartbeat/{stolen}",
                f"gradio_api/deep_link?session_hash={stolen}",
            ):
                assert httpx.get(app_url + path, cookies=cookies).status_code == 403, path
        r = httpx.post(app_url + "gradio_api/cancel", json={"session_hash": stolen, "fn_index": 0, "event_id": "x"})
        assert r.status_code == 403
        # a gradio_client given the victim's session hash acts as nobody
        thief = client(app_url)
        thief.session_hash = stolen
        with pytest.raises(httpx.HTTPStatusError, match="403"):
            thief.predict(api_name="/forget")
        thief.close()
        assert (app_engine.profile(victim_id), len(app_engine.profiles.events(victim_id))) == before
        # the victim's own session still works, and a forged cookie is a new user, not the victim
        assert victim.predict("More westerns", api_name="/chat")["recommendations"]
        forged = {COOKIE: victim_id + ".forged-signature"}
        r = httpx.get(app_url, cookies=forged)
        assert COOKIE in r.cookies and r.cookies[COOKIE].rsplit(".", 1)[0] != victim_id
    finally:
        victim.close()


def test_the_session_cookie_is_httponly_and_samesite(app_url: str) -> None:
    cookie = httpx.get(app_url).headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=web-") and "HttpOnly" in cookie and "SameSite=Lax" in cookie


# -- forgetting -------------------------------------------------------------------------------------------------
MARKER = "zanzibarquux"  # a word no file holds unless this test's user typed it


def files_holding(folder: Path, text: str) -> list[str]:
    needle = text.encode("utf-8")
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file() and needle in p.read_bytes())


def test_forget_leaves_no_trace_in_any_file_while_running_and_after_sigterm(catalog: Path, tmp_path: Path) -> None:
    data, port = tmp_path / "data", free_port()
    env = {**os.environ, "CHATREC_DATA_DIR": str(data), "CHATREC_CATALOG": str(catalog), "CHATREC_GENERATOR": "none"}
    proc = subprocess.Popen(
        [PYTHON, str(ROOT / "app.py"), "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_http(url, proc=proc)
        c = client(url)
        turn = c.predict(f"I adore {MARKER} space voyages", api_name="/chat")
        c.predict(f"more {MARKER} westerns too", api_name="/chat")
        c.predict(turn["recommendations"][0]["item_id"], True, api_name="/feedback")
        assert files_holding(data, MARKER), "the test must see the text before it is forgotten"
        assert c.predict(api_name="/forget") == {"ok": True}
        assert files_holding(data, MARKER) == []  # while the app runs
        c.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
    assert proc.returncode in (0, -signal.SIGTERM) and "Application shutdown complete" in out, out[-2000:]
    assert files_holding(data, MARKER) == []  # after SIGTERM
    assert not (data / "profiles.sqlite-wal").exists(), "the app closed the engine on SIGTERM"


def test_forget_purges_the_engines_caches(app_engine: Engine) -> None:
    app_engine.chat("cachey", f"films like {MARKER} with cowboys")

    def cached() -> list[str]:
        return [k for k in [*app_engine._text_cache, *app_engine._read_cache] if MARKER in k]

    assert cached(), "the test must see the text cached first"
    app_engine.forget("cachey")
    assert cached() == [] and app_engine.profile("cachey")["turns"] == 0


def test_profiles_of_schema_1_migrate_forward(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "profiles.sqlite"
    db = sqlite3.connect(path)
    db.executescript("CREATE TABLE users (user_id TEXT PRIMARY KEY, state TEXT NOT NULL, updated REAL NOT NULL);")
    db.close()
    store = SQLiteProfiles(path)
    columns = [row[1] for row in store._db.execute("PRAGMA table_info(users)")]
    steps = [row[0] for row in store._db.execute("SELECT version FROM chatrec_migrations ORDER BY version")]
    assert "version" in columns and steps == [1, 2]
    store.update("u", 4, lambda state: ([("message", {"text": "hi"})], None), now=1.0)
    assert store.events("u") == [(1.0, "message", {"text": "hi"})]  # the events table came with step 1
    store.close()
    again = SQLiteProfiles(path)  # a second start applies nothing more
    assert [row[0] for row in again._db.execute("SELECT version FROM chatrec_migrations")] == [1, 2]
    again.close()


def test_a_profile_database_from_a_newer_chatrec_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "profiles.sqlite"
    SQLiteProfiles(path).close()
    import sqlite3

    db = sqlite3.connect(path)
    db.execute("INSERT INTO chatrec_migrations VALUES (3, 'from the future', 0)")
    db.commit()
    db.close()
    with pytest.raises(StoreCorruptedError, match="newer chatrec"):
        SQLiteProfiles(path)


# -- many processes, one user -----------------------------------------------------------------------------------
WORKER = """
import sys, time
from pathlib import Path
from chatrec import Engine, Settings
data, catalog, url, tag, start = sys.argv[1:6]
with Engine.load(Settings(data_dir=Path(data), catalog=Path(catalog), chroma_url=url, generator="none", k=3)) as engine:
    ready = time.time()
    while time.time() < float(start):
        time.sleep(0.01)
    began = time.time()
    for i in range(15):
        engine.chat("shared-user", f"turn {i} from {tag}: something about space or cowboys")
        engine.feedback("shared-user", f"s{i % 7}", liked=i % 2 == 0)
print(f"{tag} ready {ready:.2f} began {began:.2f} ended {time.time():.2f}")
"""


@pytest.fixture
def chroma_server(tmp_path: Path) -> Iterator[str]:
    """A Chroma server of this test's own (`chroma run`) on a loopback port."""
    with run_chroma(tmp_path / "chroma-server") as url:
        yield url


def test_two_processes_on_one_chroma_server_lose_no_update(catalog: Path, tmp_path: Path, chroma_server: str) -> None:
    from chatrec.cli import main as cli

    data = tmp_path / "data"
    os.environ["CHATREC_CHROMA_URL"] = chroma_server
    try:
        assert cli(["ingest", str(catalog), "--data-dir", str(data), "--quiet"]) == 0
    finally:
        del os.environ["CHATREC_CHROMA_URL"]
    start = time.time() + 40  # both load first, then start together
    workers = [
        subprocess.Popen(
            [PYTHON, "-c", WORKER, str(data), str(catalog), chroma_server, tag, str(start)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for tag in ("a", "b")
    ]
    results = [w.communicate(timeout=300) for w in workers]
    assert all(w.returncode == 0 for w in workers), [err[-2000:] for _, err in results]
    store = SQLiteProfiles(data / "profiles.sqlite")
    try:
        events = store.events("shared-user")
        state = store.load("shared-user", 896)
    finally:
        store.close()
    kinds = [kind for _, kind, _ in events]
    assert kinds.count("message") == 30 and kinds.count("feedback") == 30
    assert state is not None and state.turns == 30, f"{state.turns if state else None} turns saved of 30"


def test_a_full_binding_table_refuses_new_sessions_instead_of_freeing_old_ones() -> None:
    from chatrec.serve.web import SessionGate

    gate = SessionGate(app=None, identity=Identity(b"k" * 32), max_bindings=2, idle_s=3600)  # type: ignore[arg-type]
    assert gate._claim("victim-hash", "web-victim") == "ok"
    assert gate._claim("h2", "web-attacker") == "ok"
    assert gate._claim("h3", "web-attacker") == "full"  # a flood cannot evict the victim's hash
    assert gate._claim("victim-hash", "web-attacker") == "foreign"
    assert gate._claim("victim-hash", "web-victim") == "ok"
    gate.idle_s = 0.0  # long unused: forgotten, the slot reused
    assert gate._claim("h4", "web-other") == "ok"
