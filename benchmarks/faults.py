"""Faults on the several-process deployment (docs/deploy.md): while users chat, each part is killed with SIGKILL and
started again, and what users met is counted; then `chatrec ingest` is killed midway and run again.

    python benchmarks/faults.py

The parts (benchmarks/stack.py): PostgreSQL, the Chroma server, llama.cpp's server, and `chatrec serve --workers 2`.
For each part in turn: kill -9 (a worker: one of the two, mid-turn; uvicorn's process manager starts a new one),
`--down-s` seconds of traffic with the part down, the part started again as a service manager would, and the time
until users are served by it again. Expected, and checked: while a part is down the API answers 503 with
Retry-After (the generator down: template replies, not errors); no answered turn is lost; the workers recover
without a restart. Afterwards every user's stored messages are exactly its answered turns (a turn whose connection
a killed worker cut may or may not have been committed; counted apart). Last, `chatrec ingest` of ReDial's films
into a fresh Chroma server is killed after `--ingest-kill-s` seconds and run again: it must embed only what is
missing. Exits non-zero when a check fails.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from stack import BIN, QUIET_ENV, ROOT, Part, Stack, answers, free_port, stack  # noqa: E402

MESSAGES = ["I love space exploration films", "something funnier", "我想看科幻电影", "not too long", "older ones"]
REDIAL = ROOT.parent / "shared" / "datasets" / "redial" / "id2info.json"


@dataclass
class Answer:
    at: float  # seconds since the traffic began, when the request was sent
    user: int
    status: str  # "200", "503", ..., or "connection"
    retry_after: bool = False
    source: str = ""  # generator, template or busy (200 only)


@dataclass
class Traffic:
    """Users chatting in a loop on their own thread until stopped; every answer kept."""

    api: str
    users: int
    answers: list[Answer] = field(default_factory=list)
    answered: dict[int, list[str]] = field(default_factory=dict)
    cut: dict[int, list[str]] = field(default_factory=dict)
    tokens: dict[int, str] = field(default_factory=dict)
    began: float = field(default_factory=time.monotonic)
    stopping: threading.Event = field(default_factory=threading.Event)

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=lambda: asyncio.run(self._all()), daemon=True)
        thread.start()
        return thread

    async def _all(self) -> None:
        async with httpx.AsyncClient(timeout=httpx.Timeout(120.0, connect=5.0)) as client:
            await asyncio.gather(*(self._user(client, u) for u in range(self.users)))

    async def _user(self, client: httpx.AsyncClient, user: int) -> None:
        self.answered[user], self.cut[user] = [], []
        while user not in self.tokens and not self.stopping.is_set():
            try:
                self.tokens[user] = (await client.post(self.api + "/sessions", json={})).json()["token"]
            except (httpx.HTTPError, ValueError, KeyError):
                await asyncio.sleep(1)
        turn = 0
        while not self.stopping.is_set():
            message = f"{MESSAGES[turn % len(MESSAGES)]} #{user}.{turn}"  # each turn's text is unique
            turn += 1
            sent = time.monotonic() - self.began
            try:
                answer = await client.post(
                    self.api + "/chat",
                    json={"message": message},
                    headers={"Authorization": f"Bearer {self.tokens[user]}"},
                )
            except httpx.HTTPError:
                self.answers.append(Answer(sent, user, "connection"))
                self.cut[user].append(message)
                await asyncio.sleep(0.5)
                continue
            record = Answer(sent, user, str(answer.status_code), "Retry-After" in answer.headers)
            if answer.status_code == 200:
                body = answer.json()
                record.source = "busy" if body.get("busy") else body.get("source", "?")
                self.answered[user].append(message)
            self.answers.append(record)
            await asyncio.sleep(0.3 if answer.status_code == 200 else 1.0)

    def since(self, start: float, end: float) -> list[Answer]:
        return [a for a in self.answers if start <= a.at < end]

    def now(self) -> float:
        return time.monotonic() - self.began


def served_again(traffic: Traffic, after: float, needs_generator: bool, timeout_s: float = 180) -> float | None:
    """Seconds from `after` until a turn sent after it was answered 200 (by the generator, if `needs_generator`)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for a in traffic.since(after, 1e9):
            if a.status == "200" and (not needs_generator or a.source == "generator"):
                return a.at - after
        time.sleep(0.5)
    return None


def kill_and_restart(running: Stack, traffic: Traffic, part: str, down_s: float) -> dict[str, object]:
    """Kill one part, keep it down `down_s`, start it again; what users met meanwhile and how soon it served."""
    killed = traffic.now()
    if part == "worker":
        victim = running.workers()[0]
        os.kill(victim, signal.SIGKILL)
        time.sleep(down_s)  # uvicorn's process manager notices and starts another worker
        restarted = traffic.now()
        back = _workers_back(running, victim)
    else:
        running.parts[part].kill()
        time.sleep(down_s)
        restarted = traffic.now()
        running.restart(part)
        back = traffic.now() - restarted
    down = traffic.since(killed, restarted)
    recovered = served_again(traffic, traffic.now(), needs_generator=part == "generator")
    return {
        "part": part,
        "down": Counter(a.status for a in down),
        "503 without Retry-After": sum(a.status == "503" and not a.retry_after for a in down),
        "other errors": sum(a.status not in ("200", "503", "429", "connection") for a in down),
        "replies while down": Counter(a.source for a in down if a.status == "200"),
        "part ready again (s)": round(back, 1),
        "first answer after that (s)": None if recovered is None else round(recovered, 1),
    }


def _workers_back(running: Stack, victim: int, timeout_s: float = 300) -> float:
    began = time.monotonic()
    while time.monotonic() - began < timeout_s:
        now = running.workers()
        if len(now) >= 2 and victim not in now:
            return time.monotonic() - began
        time.sleep(0.5)
    return float("nan")


def check_events(api: str, traffic: Traffic) -> Counter[str]:
    """Stored messages against answered turns: exact, or extra ones only among turns whose connection was cut."""
    out = Counter[str]()
    with httpx.Client(timeout=60) as client:
        for user, token in traffic.tokens.items():
            events = client.get(api + "/profile/export", headers={"Authorization": f"Bearer {token}"}).json()
            said = [e["payload"]["text"] for e in events["events"] if e["kind"] == "message"]
            answered = traffic.answered[user]
            lost = [m for m in answered if m not in said]
            extra = [m for m in said if m not in answered]
            out["answered turns"] += len(answered)
            out["lost"] += len(lost)
            out["stored, answer cut"] += sum(m in traffic.cut[user] for m in extra)
            out["stored, never answered"] += sum(m not in traffic.cut[user] for m in extra)
            out["out of order"] += [m for m in said if m in answered] != answered
    return out


def ingest_kill(kill_after_s: float) -> dict[str, object]:
    """`chatrec ingest` of ReDial's films into a fresh Chroma server, killed midway, then run again."""
    folder = Path(os.environ.get("TMPDIR", "/tmp")) / f"chatrec-ingest-kill-{os.getpid()}"
    folder.mkdir(parents=True)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    chroma = Part(
        "chroma",
        [str(BIN / "chroma"), "run", "--path", str(folder / "chroma"), "--host", "127.0.0.1", "--port", str(port)],
        lambda: answers(f"{url}/api/v2/heartbeat"),
        folder / "chroma.log",
    )
    chroma.start()
    env = {**os.environ, **QUIET_ENV, "CHATREC_CHROMA_URL": url, "CHATREC_THREADS": "1", "CHATREC_GENERATOR": "none"}
    command = [str(BIN / "chatrec"), "ingest", str(REDIAL), "--data-dir", str(folder / "data"), "--quiet"]
    try:
        first = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        time.sleep(kill_after_s)
        first.send_signal(signal.SIGKILL)
        first.wait()
        began = time.monotonic()
        second = subprocess.run(command, env=env, capture_output=True, text=True)
        said = (second.stdout + second.stderr).strip().splitlines()
        report = next((line for line in said if "embedded" in line), said[-1] if said else "")
        numbers = dict((k, int(v)) for v, k in re.findall(r"(\d+) (added|updated|unchanged)", report))
        return {
            "killed after (s)": kill_after_s,
            "second run": report,
            "second run (s)": round(time.monotonic() - began, 1),
            "rc": second.returncode,
            "embedded again only what was missing": second.returncode == 0
            and numbers.get("unchanged", 0) > 0
            and numbers.get("updated", -1) == 0,
        }
    finally:
        chroma.stop()
        subprocess.run(["rm", "-rf", str(folder)])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=6, help="users chatting all the time")
    parser.add_argument("--down-s", type=float, default=10.0, help="how long each part stays down")
    parser.add_argument("--parts", default="worker,chroma,postgres,generator")
    parser.add_argument("--ingest-kill-s", type=float, default=40.0)
    parser.add_argument("--no-ingest", action="store_true")
    args = parser.parse_args()
    failed: list[str] = []
    settings = {"CHATREC_CHAT_PER_MINUTE": "600"}  # these users chat fast; the limit is not under test here
    with stack(ROOT / "knowledge", 2, True, settings) as running:
        print(f"started: {', '.join(f'{k} {v:.1f} s' for k, v in running.timings.items())}", flush=True)
        traffic = Traffic(running.api, args.users)
        thread = traffic.start()
        time.sleep(15)
        for part in args.parts.split(","):
            result = kill_and_restart(running, traffic, part, args.down_s)
            print(result, flush=True)
            if result["503 without Retry-After"] or result["other errors"]:
                failed.append(f"{part}: errors other than 503 with Retry-After")
            if result["first answer after that (s)"] is None:
                failed.append(f"{part}: not served again")
            if part == "generator" and result["down"].get("503"):
                failed.append("generator down gave 503s, not template replies")
            time.sleep(10)
        traffic.stopping.set()
        thread.join(timeout=180)
        checked = check_events(running.api, traffic)
        print("all answers:", Counter(a.status for a in traffic.answers), flush=True)
        print("stored events:", dict(checked), flush=True)
        if checked["lost"] or checked["stored, never answered"] or checked["out of order"]:
            failed.append("stored events do not match the answered turns")
    if not args.no_ingest:
        result = ingest_kill(args.ingest_kill_s)
        print("ingest killed and run again:", result, flush=True)
        if not result["embedded again only what was missing"]:
            failed.append("ingest did not resume")
    print("FAILED: " + "; ".join(failed) if failed else "all fault checks passed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
