"""Several app processes (issue 24): `chatrec ingest` fills a Chroma server, `chatrec serve --workers 2` serves from
it on one port with profiles on PostgreSQL, the workers never writing the store; one user's turns, spread over both
workers, all land in one consistent profile. Real processes: `chroma run`, PostgreSQL and chatrec, on loopback."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import pytest
from conftest import ROOT, free_port, run_chroma, wait_http
from pg_server import fresh_database

from chatrec import Settings
from chatrec.errors import ConfigError

GAMES = ROOT / "examples" / "catalogs" / "boardgames.jsonl"
CHATREC = str(Path(sys.executable).with_name("chatrec"))
HOST_SECRET = "the-shops-backend-and-chatrec-share-this"


def signed(sub: str, secret: str = HOST_SECRET, lifetime_s: float = 600) -> str:
    """A user id as the host site's backend signs it (docs/widget.md): a JWT, HS256, with sub and exp."""
    import jwt

    return jwt.encode({"sub": sub, "exp": int(time.time() + lifetime_s)}, secret, algorithm="HS256")


@contextmanager
def serving(env: dict[str, str], data: Path) -> Iterator[str]:
    """`chatrec serve` (one process) with its own data folder on a loopback port; yields its API's URL."""
    port = free_port()
    command = [CHATREC, "serve", "--port", str(port), "--data-dir", str(data), "--catalog", str(GAMES)]
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    api = f"http://127.0.0.1:{port}/api/v1"
    try:
        wait_http(api + "/ready", timeout_s=300, proc=proc)
        yield api
    finally:
        proc.terminate()
        proc.wait(timeout=60)


def test_two_workers_on_a_chroma_server_and_postgres_keep_one_users_profile_whole(
    tmp_path: Path, postgres_url: str
) -> None:
    with run_chroma(tmp_path / "chroma") as chroma:
        env = {
            **os.environ,
            "CHATREC_CHROMA_URL": chroma,
            "CHATREC_PROFILES_URL": fresh_database(postgres_url),
            "CHATREC_GENERATOR": "none",
            "CHATREC_THREADS": "1",
        }
        data = ["--data-dir", str(tmp_path / "data")]
        ingest = subprocess.run(
            [CHATREC, "ingest", str(GAMES), *data, "--quiet"], env=env, capture_output=True, text=True
        )
        assert ingest.returncode == 0, ingest.stderr
        port = free_port()
        serve = [CHATREC, "serve", "--workers", "2", "--port", str(port), *data, "--catalog", str(GAMES)]
        proc = subprocess.Popen(serve, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        api = f"http://127.0.0.1:{port}/api/v1"
        try:
            wait_http(api + "/ready", timeout_s=300, proc=proc)
            token = httpx.post(api + "/sessions", json={}).json()["token"]
            me = {"Authorization": f"Bearer {token}"}
            messages = ["a cooperative game for 4", "not too heavy", "under an hour", "something with dice", "more"]
            shown = []
            for message in messages:
                answer = httpx.post(api + "/chat", json={"message": message}, headers=me, timeout=120)
                assert answer.status_code == 200, answer.text
                shown.append(answer.json()["recommendations"][0]["item_id"])
            assert httpx.post(api + "/feedback", json={"item_id": shown[-1], "liked": False}, headers=me).is_success
            events = httpx.get(api + "/profile/export", headers=me).json()["events"]
            assert Counter(e["kind"] for e in events) == {"message": 5, "shown": 5, "feedback": 1}
            assert [e["payload"]["text"] for e in events if e["kind"] == "message"] == messages  # every turn, in order
            again = httpx.post(api + "/chat", json={"message": "more like those"}, headers=me, timeout=120).json()
            assert shown[-1] not in [r["item_id"] for r in again["recommendations"]]  # the thumbs down, on any worker
            for _ in range(4):  # whichever worker answers /metrics counts both workers' turns
                assert turns_counted(f"http://127.0.0.1:{port}/metrics") == 6
        finally:
            proc.terminate()
            _, err = proc.communicate(timeout=60)
        assert err.count("Started server process") == 2, err[-2000:]


def turns_counted(url: str) -> float:
    """chatrec_turns_total as a new connection to `url` reads it."""
    with httpx.Client() as fresh:
        text = fresh.get(url).text
    return sum(float(line.split()[-1]) for line in text.splitlines() if line.startswith("chatrec_turns_total "))


def test_a_worker_refuses_a_store_that_chatrec_ingest_has_not_filled(tmp_path: Path) -> None:
    from chatrec import Engine

    settings = Settings(data_dir=tmp_path, catalog=GAMES, generator="none", ingest_on_start=False)
    with pytest.raises(ConfigError, match="Run `chatrec ingest`"):
        Engine.load(settings)


def test_several_workers_need_a_chroma_server(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "CHATREC_CHROMA_URL"}
    run = subprocess.run(
        [CHATREC, "serve", "--workers", "2", "--data-dir", str(tmp_path)], env=env, capture_output=True, text=True
    )
    assert run.returncode != 0 and "need a Chroma server" in run.stderr


def test_a_host_signed_user_keeps_one_profile_from_two_browsers_on_two_app_processes(
    tmp_path: Path, postgres_url: str
) -> None:
    """Two app processes with their own data folders (as on two hosts) sharing only the Chroma server, the
    profile database and the two secrets: the same person, signed by the host, is one user on both."""
    with run_chroma(tmp_path / "chroma") as chroma, ExitStack() as stack:
        env = {
            **os.environ,
            "CHATREC_CHROMA_URL": chroma,
            "CHATREC_PROFILES_URL": fresh_database(postgres_url),
            "CHATREC_GENERATOR": "none",
            "CHATREC_THREADS": "1",
            "CHATREC_INGEST_ON_START": "0",
            "CHATREC_SECRET_KEY": "one-key-for-every-app-process-0123456789",
            "CHATREC_HOST_SECRET": HOST_SECRET,
        }
        ingest = subprocess.run(
            [CHATREC, "ingest", str(GAMES), "--data-dir", str(tmp_path / "ingest"), "--quiet"],
            env=env,
            capture_output=True,
            text=True,
        )
        assert ingest.returncode == 0, ingest.stderr
        workers = [stack.enter_context(serving(env, tmp_path / f"host{n}")) for n in (1, 2)]
        laptop, phone = httpx.Client(timeout=120), httpx.Client(timeout=120)  # two browsers, nothing shared
        stack.callback(laptop.close)
        stack.callback(phone.close)
        browsers = [(laptop, workers[0]), (phone, workers[1])]  # each browser on its own app process
        sessions = [c.post(api + "/sessions", json={"host_token": signed("alice@shop")}).json() for c, api in browsers]
        assert sessions[0]["user_id"] == sessions[1]["user_id"]  # one person, one user, on both processes
        bob = laptop.post(workers[1] + "/sessions", json={"host_token": signed("bob@shop")}).json()
        assert bob["user_id"] != sessions[0]["user_id"]
        messages = ["a cooperative game for 4", "not too heavy", "under an hour", "something with dice"]
        shown: list[str] = []
        for turn, message in enumerate(messages):  # alternating: laptop on process 1, phone on process 2
            (client, api), session = browsers[turn % 2], sessions[turn % 2]
            answer = client.post(api + "/chat", json={"message": message}, headers=bearer(session))
            assert answer.status_code == 200, answer.text
            shown.append(answer.json()["recommendations"][0]["item_id"])
        down = laptop.post(
            workers[0] + "/feedback", json={"item_id": shown[-1], "liked": False}, headers=bearer(sessions[0])
        )
        up = phone.post(
            workers[1] + "/feedback", json={"item_id": shown[0], "liked": True}, headers=bearer(sessions[1])
        )
        assert down.is_success and up.is_success
        exports = [c.get(api + "/profile/export", headers=bearer(s)).json() for (c, api), s in zip(browsers, sessions)]
        assert exports[0]["events"] == exports[1]["events"]  # the same profile read on both processes
        events = exports[0]["events"]
        assert [e["payload"]["text"] for e in events if e["kind"] == "message"] == messages  # every turn, in order
        assert Counter(e["kind"] for e in events) == {"message": 4, "shown": 4, "feedback": 2}
        again = phone.post(workers[1] + "/chat", json={"message": "more like those"}, headers=bearer(sessions[1]))
        assert shown[-1] not in [r["item_id"] for r in again.json()["recommendations"]]  # thumbs down from process 1
        assert laptop.get(workers[0] + "/profile", headers=bearer(bob)).json()["turns"] == 0  # bob's is his own
        for bad in (
            signed("alice@shop", secret="a-forger-guessing-the-secret-0000"),
            signed("alice@shop", lifetime_s=-300),
        ):
            for client, api in browsers:
                refused = client.post(api + "/sessions", json={"host_token": bad})
                assert refused.status_code == 401 and refused.json()["error"]["code"] == "unauthorized", refused.text


def bearer(session: dict[str, str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {session['token']}"}
