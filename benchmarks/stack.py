"""The several-process deployment of docs/deploy.md, started on loopback in a temporary folder for the benchmarks
(benchmarks/load.py, benchmarks/faults.py): PostgreSQL from Debian's binaries, `chroma run`, llama.cpp's server on
the packaged GGUF, `chatrec ingest` into the Chroma server, then `chatrec serve --workers N` on the shared profile
database. Each part is a real process that can be killed with SIGKILL and started again on the same port and data,
as an operator's service manager would; everything is stopped and removed at the end.
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
MODELS = Path(os.environ.get("CHATREC_MODELS_DIR", ROOT / ".chatrec" / "models"))  # converted once, kept
QUIET_ENV = {"ANONYMIZED_TELEMETRY": "False", "TOKENIZERS_PARALLELISM": "false"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def answers(url: str, timeout_s: float = 2.0) -> bool:
    try:
        return httpx.get(url, timeout=timeout_s).status_code < 500
    except httpx.HTTPError:
        return False


def children(pid: int) -> list[int]:
    """The direct children of a process (Linux /proc)."""
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def rss_mb(pid: int) -> float:
    """The resident memory of a process, in MB (0 when it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


@dataclass
class Part:
    """One process of the deployment: started by `command`, ready when `ready()` says so, its output in `log`."""

    name: str
    command: list[str]
    ready: Callable[[], bool]
    log: Path
    env: dict[str, str] = field(default_factory=dict)
    pidfile: Path | None = None  # where the process that matters writes its pid (PostgreSQL's postmaster.pid)
    proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 300) -> float:
        """Start and wait until ready; the seconds it took."""
        began = time.monotonic()
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                self.command,
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, **QUIET_ENV, **self.env},
                start_new_session=True,
            )
        self.wait_ready(timeout_s)
        return time.monotonic() - began

    def wait_ready(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while not self.ready():
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}; see {self.log}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} was not ready in {timeout_s:.0f} s; see {self.log}")
            time.sleep(0.2)

    @property
    def pid(self) -> int:
        """The pid of the part's main process (PostgreSQL's postmaster, not the runuser that started it)."""
        if self.pidfile is not None and self.pidfile.exists():
            return int(self.pidfile.read_text().split()[0])
        assert self.proc is not None
        return self.proc.pid

    def kill(self) -> None:
        """SIGKILL to the main process alone: no shutdown, as a crash or the OOM killer would do."""
        os.kill(self.pid, signal.SIGKILL)
        if self.pidfile is None and self.proc is not None:
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=60)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)


def postgres_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"), key=lambda p: int(p.split("/")[4]))
    if not found:
        raise SystemExit("PostgreSQL is not installed: apt-get install postgresql (docs/deploy.md)")
    return Path(found[-1]).parent


@dataclass
class Stack:
    """The running deployment: its parts by name and the URLs the app and the benchmarks use."""

    folder: Path
    parts: dict[str, Part]
    api: str
    env: dict[str, str]
    timings: dict[str, float]

    def workers(self) -> list[int]:
        """The pids of the app's worker processes: the children of `chatrec serve`'s process manager that
        multiprocessing spawned (not its resource tracker)."""
        return [p for p in children(self.parts["app"].pid) if b"spawn_main" in _cmdline(p)]

    def worker_rss(self) -> dict[int, float]:
        return {pid: rss_mb(pid) for pid in self.workers()}

    def restart(self, name: str, timeout_s: float = 300, attempts: int = 5) -> float:
        """Start a killed part again, as a service manager would (PostgreSQL refuses while the killed server's
        backends still hold its shared memory: a few tries, seconds apart)."""
        part = self.parts[name]
        if part.proc is not None:
            part.proc.wait(timeout=30)
        for attempt in range(attempts):
            try:
                return part.start(timeout_s)
            except RuntimeError:
                if attempt == attempts - 1:
                    raise
                time.sleep(2)
        raise AssertionError("unreachable")


def _postgres(folder: Path) -> tuple[Part, str]:
    where, port = postgres_bin(), free_port()
    data = folder / "pg"
    as_user: list[str] = []
    if os.geteuid() == 0:  # PostgreSQL will not run as root
        data.mkdir()
        shutil.chown(data, "postgres", "postgres")
        shutil.chown(folder, "postgres", "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    subprocess.run(
        [*as_user, str(where / "initdb"), "-D", str(data), "-A", "trust", "-U", "chatrec", "-E", "UTF8"],
        check=True,
        capture_output=True,
    )
    url = f"postgresql://chatrec@127.0.0.1:{port}/postgres"

    def ready() -> bool:
        import psycopg

        try:
            with psycopg.connect(url, connect_timeout=2) as conn:
                conn.execute("SELECT 1")
            return True
        except psycopg.Error:
            return False

    command = [*as_user, str(where / "postgres"), "-D", str(data), "-p", str(port), "-k", str(folder)]
    command += ["-c", "listen_addresses=127.0.0.1", "-c", "max_connections=200"]
    part = Part("postgres", command, ready, folder / "postgres.log", pidfile=data / "postmaster.pid")
    return part, url


@contextmanager
def stack(
    catalog: Path,
    workers: int = 2,
    generator_server: bool = True,
    settings: dict[str, str] | None = None,
    keep: bool = False,
) -> Iterator[Stack]:
    """Start every part (PostgreSQL, Chroma, the generator server, ingest, the workers); yield the running stack;
    stop and remove everything at the end (`keep`: leave the folder, for its logs)."""
    folder = Path(tempfile.mkdtemp(prefix="chatrec-stack-"))
    folder.chmod(0o755)
    parts: dict[str, Part] = {}
    timings: dict[str, float] = {}
    try:
        parts["postgres"], pg_url = _postgres(folder)
        timings["postgres"] = parts["postgres"].start()
        import psycopg

        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute("CREATE DATABASE chatrec")
        chroma_port = free_port()
        chroma = f"http://127.0.0.1:{chroma_port}"
        parts["chroma"] = Part(
            "chroma",
            [str(BIN / "chroma"), "run", "--path", str(folder / "chroma"), "--host", "127.0.0.1"]
            + ["--port", str(chroma_port)],
            lambda: answers(f"{chroma}/api/v2/heartbeat"),
            folder / "chroma.log",
        )
        timings["chroma"] = parts["chroma"].start()
        env = {
            "CHATREC_CHROMA_URL": chroma,
            "CHATREC_PROFILES_URL": pg_url.rsplit("/", 1)[0] + "/chatrec",
            "CHATREC_DATA_DIR": str(folder / "data"),
            "CHATREC_THREADS": "1",
            "CHATREC_INGEST_ON_START": "0",
            "CHATREC_MODELS_DIR": str(MODELS),
            **(settings or {}),
        }
        if generator_server:
            from chatrec.generators.weights import gguf_file

            gguf, _ = gguf_file("qwen2.5-0.5b", MODELS)
            gen_port = free_port()
            generator = f"http://127.0.0.1:{gen_port}"
            parts["generator"] = Part(
                "generator",
                [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--host", "127.0.0.1"]
                + ["--port", str(gen_port), "--n_ctx", "2048", "--n_threads", "1", "--interrupt_requests", "False"],
                lambda: answers(f"{generator}/v1/models"),
                folder / "generator.log",
            )
            timings["generator"] = parts["generator"].start()
            env["CHATREC_GENERATOR_URL"] = generator
        else:
            env["CHATREC_GENERATOR"] = "none"
        began = time.monotonic()
        subprocess.run(
            [str(BIN / "chatrec"), "ingest", str(catalog), "--quiet"],
            env={**os.environ, **QUIET_ENV, **env},
            check=True,
            stdout=(folder / "ingest.log").open("ab"),
            stderr=subprocess.STDOUT,
        )
        timings["ingest"] = time.monotonic() - began
        port = free_port()
        api = f"http://127.0.0.1:{port}/api/v1"
        parts["app"] = Part(
            "app",
            [str(BIN / "chatrec"), "serve", "--workers", str(workers), "--host", "127.0.0.1", "--port", str(port)]
            + ["--catalog", str(catalog)],
            lambda: _ready(api),
            folder / "app.log",
            env=env,
        )
        timings["app"] = parts["app"].start()
        yield Stack(folder, parts, api, env, timings)
    finally:
        for part in reversed(list(parts.values())):
            part.stop()
        if keep:
            print(f"stack folder kept: {folder}", file=sys.stderr)
        else:
            shutil.rmtree(folder, ignore_errors=True)


def _ready(api: str) -> bool:
    try:
        return httpx.get(api + "/ready", timeout=5).status_code == 200
    except httpx.HTTPError:
        return False
