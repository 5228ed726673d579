"""A full disk under the data folder: every write is refused with a clear error, nothing is damaged, and all works
again once there is room (issue 24, "faults").

    python benchmarks/full_disk.py [--size-mb 16] [--keep]

Needs root (it mounts a tmpfs; `mount -t tmpfs` must be allowed), and runs in a temporary folder it removes at the
end (the tmpfs unmounted first, in a `finally`). The data folder is a small tmpfs (`--size-mb`: the bundled catalog
ingested takes about 3 MB, with the profiles and their write-ahead logs about 4 MB; 16 MB leaves room), with the
embedded defaults: Chroma and SQLite profiles in that folder, no generator (template replies).

1. `chatrec ingest knowledge` into it, then `chatrec serve` on a loopback port; one user chats a few turns over
   the JSON API and exports their profile.
2. A filler file takes every free byte (written until ENOSPC). More turns and a feedback must each be answered with
   a clear JSON error (503, `Retry-After`, a message that says the disk is full; never a 500 or a stack trace), and
   the server must keep running.
3. The filler goes: the same user's earlier turns are all in their export, new turns work again without a restart,
   `PRAGMA integrity_check` of profiles.sqlite says ok.
4. The server stops (an embedded store has one writer: the server holds the folder's lock, so `chatrec ingest` can
   only run without it), the disk is filled again, and `chatrec ingest` of a larger catalog (the bundled one plus
   examples/catalogs/boardgames.jsonl, in one folder) must exit non-zero with a one-line message that says the disk
   is full (not that the store is damaged) and no traceback, leaving the store's items as they were: once with no
   room at all (Chroma fails opening its database) and once with 256 KiB (it fails writing the first items).
5. The filler goes again: both SQLite files (the profiles and Chroma's) pass `integrity_check`, the store still
   holds the bundled catalog as it was, and a restarted server recommends and still exports every turn.

Prints what each step answered and pass/fail per check; exits 1 if a check fails, 2 if it cannot run here.
"""

from __future__ import annotations

import argparse
import errno
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
CHATREC = [sys.executable, "-m", "chatrec.cli"]
BEFORE = ["I love space exploration films", "more space films please", "something less serious"]
WHILE_FULL = ["any animated ones?", "Recommend some science fiction novels"]
AFTER = ["Feel-good sports movies", "about football"]
# free space left for `chatrec ingest`, and where it then fails: Chroma writes to its database when it opens it
INGEST_ROOM = ((0, "fails opening the store"), (256, "opens it, fails writing the first batch of items"))
START_TIMEOUT_S = 240.0
INGEST_TIMEOUT_S = 600.0


@dataclass
class Report:
    """The checks made so far, each with what was seen."""

    checks: list[tuple[str, bool, str]] = field(default_factory=list)

    def check(self, name: str, ok: bool, seen: str) -> bool:
        self.checks.append((name, ok, seen))
        print(f"  [{'pass' if ok else 'FAIL'}] {name}: {seen}", flush=True)
        return ok

    @property
    def failed(self) -> list[str]:
        return [name for name, ok, _ in self.checks if not ok]


def environment() -> dict[str, str]:
    """The children's environment: one thread, template replies, nothing from the caller's data settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHATREC_")}
    env.update(CHATREC_THREADS=os.environ.get("CHATREC_THREADS", "1"), CHATREC_GENERATOR="none")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    return env


# -- the small disk ----------------------------------------------------------------------------------------------
@contextmanager
def tmpfs(folder: Path, size_mb: int) -> Iterator[Path]:
    """A tmpfs of `size_mb` mounted on `folder` (made here), unmounted on the way out."""
    folder.mkdir(parents=True)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_mb}m", "tmpfs", str(folder)], capture_output=True, text=True
    )
    if done.returncode != 0:
        raise PermissionError(f"cannot mount a tmpfs on {folder} (needs root): {done.stderr.strip()}")
    try:
        yield folder
    finally:
        for _ in range(20):  # a child that just exited may still hold a file for a moment
            if subprocess.run(["umount", str(folder)], capture_output=True).returncode == 0:
                break
            time.sleep(0.5)
        else:
            subprocess.run(["umount", "-l", str(folder)], capture_output=True)


def fill(path: Path) -> int:
    """Write `path` until the disk is full (ENOSPC); the bytes written. Big blocks first, then small ones, so that
    not even a page is left."""
    written = 0
    with path.open("wb", buffering=0) as handle:
        for block in (1 << 20, 1 << 16, 1 << 12, 512, 1):
            chunk = b"\0" * block
            while True:
                try:
                    written += handle.write(chunk) or 0
                except OSError as exc:
                    if exc.errno != errno.ENOSPC:
                        raise
                    break
    return written


def free_bytes(folder: Path) -> int:
    stats = os.statvfs(folder)
    return stats.f_bavail * stats.f_frsize


def used_kib(folder: Path) -> int:
    return sum(p.stat().st_blocks * 512 for p in folder.rglob("*") if p.is_file()) // 1024


# -- the commands ------------------------------------------------------------------------------------------------
def ingest(catalog: Path, data: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CHATREC, "ingest", str(catalog), "--data-dir", str(data), "--quiet"],
        capture_output=True,
        text=True,
        env=environment(),
        cwd=ROOT,
        timeout=INGEST_TIMEOUT_S,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """`chatrec serve` in a child process, its output in a log file (outside the small disk)."""

    def __init__(self, data: Path, log: Path) -> None:
        self.port = free_port()
        self.log = log
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                [*CHATREC, "serve", "--port", str(self.port), "--data-dir", str(data), "--catalog", "knowledge"],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=environment(),
                cwd=ROOT,
            )
        self.api = httpx.Client(base_url=f"http://127.0.0.1:{self.port}/api/v1", timeout=120)

    def wait_ready(self) -> float:
        """Seconds until GET /ready answered 200; RuntimeError if the server died or never got ready."""
        start = time.monotonic()
        while time.monotonic() - start < START_TIMEOUT_S:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited ({self.process.returncode}); see {self.tail()}")
            try:
                if self.api.get("/ready").status_code == 200:
                    return time.monotonic() - start
            except httpx.TransportError:
                pass
            time.sleep(0.5)
        raise RuntimeError(f"the server was not ready after {START_TIMEOUT_S:.0f} s: {self.tail()}")

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def tail(self, lines: int = 15) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        self.api.close()
        if self.running:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class User:
    """One user of the JSON API: a session token and what they sent."""

    def __init__(self, api: httpx.Client) -> None:
        self.api = api
        answer = api.post("/sessions", json={})
        answer.raise_for_status()
        self.headers = {"Authorization": f"Bearer {answer.json()['token']}"}
        self.saved: list[str] = []  # messages answered 200 (so stored)
        self.last_items: list[str] = []

    def chat(self, message: str) -> httpx.Response:
        answer = self.api.post("/chat", json={"message": message}, headers=self.headers)
        if answer.status_code == 200:
            self.saved.append(message)
            self.last_items = [r["item_id"] for r in answer.json()["recommendations"]]
        return answer

    def feedback(self, item_id: str) -> httpx.Response:
        return self.api.post("/feedback", json={"item_id": item_id, "liked": True}, headers=self.headers)

    def export(self) -> dict[str, Any]:
        answer = self.api.get("/profile/export", headers=self.headers)
        answer.raise_for_status()
        return dict(answer.json())

    def exported_messages(self) -> list[str]:
        events = self.export()["events"]
        return [str(e["payload"].get("text", e["payload"])) for e in events if e["kind"] == "message"]


# -- judging answers -----------------------------------------------------------------------------------------
def describe(answer: httpx.Response) -> str:
    """Status, Retry-After and the error's code and message (or the number of recommendations)."""
    try:
        body = answer.json()
    except ValueError:
        return f"{answer.status_code}, not JSON: {answer.text[:200]!r}"
    if answer.status_code == 200:
        return f"200, {len(body.get('recommendations', []))} recommendations"
    error = body.get("error", {}) if isinstance(body, dict) else {}
    retry = answer.headers.get("Retry-After")
    return f"{answer.status_code} {error.get('code')!r}, Retry-After {retry}: {error.get('message')!r}"


def clear_disk_error(answer: httpx.Response) -> bool:
    """A 503 with Retry-After and a JSON error whose message says the disk is full, and no stack trace."""
    try:
        body = answer.json()
        message = str(body["error"]["message"]).lower()
    except (ValueError, KeyError, TypeError):
        return False
    return (
        answer.status_code == 503
        and answer.headers.get("Retry-After") is not None
        and "disk" in message
        and "full" in message
        and "traceback" not in answer.text.lower()
    )


def integrity(path: Path) -> str:
    """SQLite's `PRAGMA integrity_check` of a file, read-only."""
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        return ", ".join(str(row[0]) for row in db.execute("PRAGMA integrity_check"))


def error_lines(stderr: str) -> list[str]:
    """stderr without the model loader's progress bar (transformers writes it, not chatrec)."""
    return [line for line in stderr.splitlines() if line.strip() and "Loading weights" not in line]


def one_clear_line(done: subprocess.CompletedProcess[str]) -> bool:
    """A non-zero exit, no traceback, and one line on stderr: 'error: ...' saying the disk is full (not that the
    store is damaged: a rebuild would not help)."""
    lines = error_lines(done.stderr)
    if done.returncode == 0 or len(lines) != 1 or "Traceback" in done.stderr:
        return False
    line = lines[0].lower()
    return line.startswith("error:") and "disk" in line and "full" in line and "is damaged" not in line


# -- the steps -----------------------------------------------------------------------------------------------
def step_serve(report: Report, data: Path, log: Path) -> tuple[Server, User]:
    print("1. ingest the bundled catalog, serve, chat", flush=True)
    done = ingest(ROOT / "knowledge", data)
    report.check("ingest knowledge", done.returncode == 0, done.stdout.strip() or done.stderr.strip()[-300:])
    server = Server(data, log)
    report.check("server ready", True, f"GET /ready 200 after {server.wait_ready():.1f} s on port {server.port}")
    user = User(server.api)
    for message in BEFORE:
        answer = user.chat(message)
        report.check(f"chat {message!r}", answer.status_code == 200, describe(answer))
    report.check("export", len(user.exported_messages()) == len(BEFORE), f"{len(user.exported_messages())} messages")
    print(f"  data folder: {used_kib(data)} KiB used, {free_bytes(data) // 1024} KiB free", flush=True)
    return server, user


def step_full(report: Report, data: Path, server: Server, user: User) -> None:
    print("2. the disk is full: turns and feedback", flush=True)
    filled = fill(data / "filler")
    print(f"  filler: {filled // 1024} KiB, {free_bytes(data)} bytes free", flush=True)
    for message in WHILE_FULL:
        answer = user.chat(message)
        report.check(f"chat {message!r} on a full disk", clear_disk_error(answer), describe(answer))
    answer = user.feedback(user.last_items[0] if user.last_items else "m-interstellar-2014")
    report.check("feedback on a full disk", clear_disk_error(answer), describe(answer))
    health = server.api.get("/health")
    report.check("server still running", server.running and health.status_code == 200, describe(health))


def step_room(report: Report, data: Path, server: Server, user: User) -> None:
    print("3. room again (no restart): export, new turns, integrity", flush=True)
    (data / "filler").unlink()
    exported = user.exported_messages()
    report.check(
        "every turn answered 200 is exported",
        all(m in exported for m in user.saved),
        f"{len(exported)} exported, {len(user.saved)} answered 200",
    )
    for message in AFTER:
        answer = user.chat(message)
        report.check(f"chat {message!r} after", answer.status_code == 200, describe(answer))
    report.check(
        "profiles.sqlite integrity", integrity(data / "profiles.sqlite") == "ok", integrity(data / "profiles.sqlite")
    )


def bigger_catalog(folder: Path) -> Path:
    """The bundled catalog plus the board games, in one folder (copies; the bundled items are unchanged in it)."""
    folder.mkdir()
    for file in sorted((ROOT / "knowledge").glob("*.jsonl")):
        shutil.copy(file, folder / file.name)
    shutil.copy(ROOT / "examples" / "catalogs" / "boardgames.jsonl", folder / "boardgames.jsonl")
    return folder


def stored_ids(data: Path) -> int:
    """How many items Chroma's own database lists (read-only, no Chroma)."""
    with sqlite3.connect(f"file:{data / 'chroma' / 'chroma.sqlite3'}?mode=ro", uri=True) as db:
        return int(db.execute("SELECT count(*) FROM embeddings").fetchone()[0])


def step_ingest(report: Report, data: Path, catalog: Path) -> None:
    print("4. the disk is full again, the server stopped: ingest a larger catalog", flush=True)
    items = stored_ids(data)
    for room_kib, when in INGEST_ROOM:
        fill(data / "filler")
        os.truncate(data / "filler", max(0, (data / "filler").stat().st_size - room_kib * 1024))
        done = ingest(catalog, data)
        stderr = " | ".join(error_lines(done.stderr))[-600:]
        seen = f"exit {done.returncode}; stderr: {stderr!r}; stdout: {done.stdout.strip()[-200:]!r}"
        report.check(f"ingest, {room_kib} KiB free ({when}): non-zero, one clear line", one_clear_line(done), seen)
        (data / "filler").unlink()
        report.check("store item count unchanged", stored_ids(data) == items, f"{stored_ids(data)} (was {items})")


def step_after(report: Report, data: Path, log: Path, user_headers: dict[str, str], saved: list[str]) -> None:
    print("5. room again: integrity, a restarted server recommends and exports", flush=True)
    for path in (data / "profiles.sqlite", data / "chroma" / "chroma.sqlite3"):
        report.check(f"{path.name} integrity", integrity(path) == "ok", integrity(path))
    server = Server(data, log)
    try:
        report.check("server ready again", True, f"GET /ready 200 after {server.wait_ready():.1f} s")
        user = User(server.api)
        user.headers = user_headers
        exported = user.exported_messages()
        report.check("every saved turn still exported", all(m in exported for m in saved), f"{len(exported)} messages")
        answer = user.chat("any others?")
        ok = answer.status_code == 200 and bool(answer.json()["recommendations"])
        report.check("store answers (recommendations)", ok, describe(answer))
    finally:
        server.stop()


def run(size_mb: int, keep: bool) -> int:
    report = Report()
    work = Path(tempfile.mkdtemp(prefix="chatrec-fd-"))  # no "disk" or "full" in the paths its checks read
    log = work / "server.log"
    try:
        with tmpfs(work / "data", size_mb) as data:
            catalog = bigger_catalog(work / "bigger")
            server, user = step_serve(report, data, log)
            try:
                step_full(report, data, server, user)
                step_room(report, data, server, user)
            finally:
                server.stop()
            step_ingest(report, data, catalog)
            step_after(report, data, log, user.headers, user.saved)
    except PermissionError as exc:
        print(f"cannot run here: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # a step that could not go on: report what there is
        report.check("benchmark ran to the end", False, f"{type(exc).__name__}: {exc}")
    finally:
        if keep:
            print(f"kept {work}", flush=True)
        else:
            shutil.rmtree(work, ignore_errors=True)
    print(f"{len(report.checks) - len(report.failed)}/{len(report.checks)} checks passed", flush=True)
    for name in report.failed:
        print(f"FAILED: {name}")
    return 1 if report.failed else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=16, help="the tmpfs for the data folder (default 16)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (the server log)")
    args = parser.parse_args()
    sys.exit(run(args.size_mb, args.keep))


if __name__ == "__main__":
    main()
