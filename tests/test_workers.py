"""Several app processes (issue 24): `chatrec ingest` fills a Chroma server, `chatrec serve --workers 2` serves from
it on one port with profiles on PostgreSQL, the workers never writing the store; one user's turns, spread over both
workers, all land in one consistent profile. Real processes: `chroma run`, PostgreSQL and chatrec, on loopback."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import httpx
import pytest
from conftest import ROOT, free_port, run_chroma, wait_http
from pg_server import fresh_database

from chatrec import Settings
from chatrec.errors import ConfigError

GAMES = ROOT / "examples" / "catalogs" / "boardgames.jsonl"
CHATREC = str(Path(sys.executable).with_name("chatrec"))


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
        finally:
            proc.terminate()
            _, err = proc.communicate(timeout=60)
        assert err.count("Started server process") == 2, err[-2000:]


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
