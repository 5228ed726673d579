"""Shared fixtures: the real packaged embedder and a real Chroma store in a temp folder, loaded once per session, and
engines on the in-memory doubles (chatrec/backends/memory.py) for logic tests.

Every outgoing network connection is refused and recorded; the session fails if any was attempted. Tests write only
to temporary folders and to one cache outside the checkout, `CHATREC_TEST_CACHE` (default ~/.cache/chatrec-tests):
the packaged generators converted once (models/), the browser tests' screenshots (artifacts/), Hypothesis's
examples (hypothesis/) and pytest's cache (pytest/, set in pyproject.toml from $HOME). The session's
last line says how many tests used the real embedders or Chroma (tests/real_parts.py).
"""

from __future__ import annotations

import ipaddress
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("CHATREC_TEST_CACHE") or Path.home() / ".cache" / "chatrec-tests")
ARTIFACTS = CACHE / "artifacts"  # screenshots of the browser tests
# Tests choose their generator explicitly (most need none); a converted model is shared by every test run.
os.environ.setdefault("CHATREC_GENERATOR", "none")
os.environ.setdefault("CHATREC_MODELS_DIR", str(CACHE / "models"))
os.environ.setdefault("HYPOTHESIS_STORAGE_DIRECTORY", str(CACHE / "hypothesis"))  # schemathesis's Hypothesis

from real_parts import install, pytest_fixture_setup, pytest_runtest_protocol, pytest_terminal_summary  # noqa: E402,F401

from chatrec import Engine, Settings  # noqa: E402
from chatrec.backends.factory import open_profiles  # noqa: E402

install()

SHARED = ROOT.parent / "shared" / "datasets"
GENERATION_BUDGET_S = 240.0  # per reply in tests; see `talker`
ATTEMPTS: list[str] = []
_real_connect = socket.socket.connect


def _guarded_connect(self: socket.socket, address: Any) -> Any:
    host = address[0] if isinstance(address, tuple) else str(address)
    try:
        local = self.family == socket.AF_UNIX or ipaddress.ip_address(host).is_loopback
    except ValueError:
        local = host == "localhost"
    if not local:
        ATTEMPTS.append(f"{host}:{address[1] if isinstance(address, tuple) else ''}")
        raise OSError(f"network access attempted in tests: {address}")
    return _real_connect(self, address)


socket.socket.connect = _guarded_connect  # type: ignore[method-assign]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if ATTEMPTS:
        print(f"\nNETWORK ACCESS ATTEMPTED: {sorted(set(ATTEMPTS))}")
        session.exitstatus = 1


@pytest.fixture(scope="session")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """The default catalog in a fresh store, with the real embedders."""
    with Engine.load(Settings(data_dir=tmp_path_factory.mktemp("default"), generator="none")) as eng:
        yield eng


CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]

BROWSER_MARKS = [  # the browser tests' marks: skipped without Chromium, unless CI requires it
    pytest.mark.browser,
    pytest.mark.skipif(
        (not CHROMIUM.exists() or shutil.which("chromium") is None) and not os.environ.get("CHATREC_REQUIRE_BROWSER"),
        reason="needs Debian's chromium at /usr/bin/chromium (apt-get install chromium; .ci/run does)",
    ),
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's headless Chromium, driven by Playwright (it never downloads a browser)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        yield chromium
        chromium.close()


def memory_engine(data_dir: Path, catalog: Path | None = None, generator: Any = None, **changes: Any) -> Engine:
    """An Engine on the in-memory doubles (hashing embedder, numpy store, dict profiles): the bundled catalog, or
    `catalog`, ingested in well under a second; no model, no Chroma. `data_dir` (a temporary folder) holds only what
    the web app keeps there (its session key). For the logic of reading, tracking, ranking and replying, the API and
    the pages; what the packaged models make of it is tested on the real `engine`."""
    from chatrec.backends.hashing import HashingEmbedder
    from chatrec.backends.ingest import sync
    from chatrec.backends.memory import MemoryProfiles, MemoryStore
    from chatrec.catalog.files import load_catalog
    from chatrec.catalog.resources import knowledge_dir

    loaded = load_catalog(catalog or knowledge_dir())
    embedder = HashingEmbedder()
    store = MemoryStore(embedder.id, embedder.dim)
    report = sync(store, loaded, embedder, progress=False)
    settings = Settings(data_dir=data_dir, generator="none", adapter="none", **{"k": 5, **changes})
    return Engine(settings, loaded, embedder, store, MemoryProfiles(), generator, report=report)


@pytest.fixture(scope="session")
def mem(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    """The bundled catalog on the in-memory doubles (see `memory_engine`), shared by the session's logic tests."""
    return memory_engine(tmp_path_factory.mktemp("memory"))


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture
def small_catalog(tmp_path: Path) -> Path:
    rows = [
        {
            "id": "a1",
            "title": "Orbit Dreams",
            "year": 2001,
            "kind": "movie",
            "genres": ["science fiction"],
            "description": "Astronauts on a long voyage to Jupiter.",
            "tags": ["space"],
        },
        {
            "id": "a2",
            "title": "Garden Days",
            "year": 1999,
            "kind": "movie",
            "genres": ["drama"],
            "description": "A retired teacher tends roses and vegetables.",
            "tags": ["gardening"],
        },
        {
            "id": "a3",
            "title": "Goal Line",
            "year": 2010,
            "kind": "movie",
            "genres": ["sports"],
            "description": "A village football team reaches the national cup final.",
            "tags": ["football"],
        },
    ]
    return write_jsonl(tmp_path / "small.jsonl", rows)


@pytest.fixture(scope="session")
def talker(engine: Engine) -> Iterator[Engine]:
    """The default catalog with the real default generator (Qwen2.5-0.5B), sharing the `engine` fixture's store.

    The reply budget is wide: these tests check what is generated, not how fast (benchmarks/ measure speed, and
    test_out_of_budget_falls_back_to_the_template checks the budget). A slow CI machine once took over 30 s a reply.
    """
    from chatrec.generators.loading import load_generator

    settings = engine.settings.with_(
        generator="qwen2.5-0.5b", generation_budget_s=GENERATION_BUDGET_S, generation_wait_s=GENERATION_BUDGET_S
    )
    generator = load_generator(
        settings.generator, settings.model_cache, settings.generator_threads, settings.generator_backend
    )
    eng = Engine(settings, engine.catalog, engine.embedder, engine.store, open_profiles(settings), generator)
    eng.writer.warm()
    try:
        yield eng
    finally:
        eng.profiles.close()


@contextmanager
def sibling(engine: Engine, data_dir: Path, **changes: Any) -> Iterator[Engine]:
    """An engine on `engine`'s catalog, embedders and store, with its own profiles and key in `data_dir` and these
    settings changed (e.g. `allowed_origins`); no generator."""
    settings = engine.settings.with_(data_dir=data_dir, **changes)
    eng = Engine(settings, engine.catalog, engine.embedder, engine.store, open_profiles(settings))
    try:
        yield eng
    finally:
        eng.profiles.close()


def stream_through(guard: Any, reply: str, step: int) -> str:
    """Feed `reply` to a StreamGuard `step` characters at a time, as a model would; the text it released, up to
    the first failed check."""
    shown = ""
    for i in range(0, len(reply), step):
        shown += guard.feed(reply[i : i + step])
        if not guard.verdict.ok:
            break
    return shown


def wait_http(url: str, timeout_s: float = 180, proc: subprocess.Popen[Any] | None = None) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"{url}: the server exited with {proc.returncode}")
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} did not answer in {timeout_s} s")


@contextmanager
def run_chroma(path: Path) -> Iterator[str]:
    """A real Chroma server (`chroma run`, from the chromadb package) on a loopback port, storing in `path`;
    yields its URL and stops it afterwards."""
    chroma = Path(sys.executable).with_name("chroma")
    port = free_port()
    proc = subprocess.Popen(
        [str(chroma), "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{url}/api/v2/heartbeat", timeout_s=60, proc=proc)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL server for this test session (tests/pg_server.py); each test takes a database of its own."""
    from pg_server import postgres_server

    with postgres_server() as url:
        yield url


@pytest.fixture(scope="session")
def chroma_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One Chroma server for the session's tests of the store port (each test uses its own collection)."""
    with run_chroma(tmp_path_factory.mktemp("chroma-server")) as url:
        yield url


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def load_app():  # type: ignore[no-untyped-def]
    """app.py as a module (it is a script beside the package, not part of it)."""
    import importlib.util
    import sys

    spec = importlib.util.spec_from_file_location("chatrec_app", ROOT / "app.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    sys.modules["chatrec_app"] = module
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


@contextmanager
def serve(engine: Engine) -> Iterator[str]:
    """The real web app over `engine` (FastAPI + Gradio, as `python app.py` serves it) on a free loopback port;
    yields its URL."""
    from chatrec.serve import web

    running = web.start(load_app().create(engine), "127.0.0.1", free_port())
    try:
        yield running.url
    finally:
        running.stop()


def session(api: str) -> dict[str, str]:
    """A new API session (…/api/v1/sessions): its token and user."""
    import httpx

    answer = httpx.post(api + "/sessions", json={}, timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.json()


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def new_user(api: str) -> dict[str, str]:
    """The headers of a new user."""
    return auth(session(api)["token"])


def keeps_to_schema(api: str, examples: int) -> None:
    """Requests generated by schemathesis from the API's own schema at `api` (…/api/v1), valid and invalid, to
    every route, each as a new session: no 5xx, and every answer as the schema says."""
    schemathesis = pytest.importorskip("schemathesis")
    from hypothesis import HealthCheck, given, settings
    from schemathesis.checks import positive_data_acceptance as accepts_valid

    schema = schemathesis.openapi.from_url(api + "/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 10
    for operation in operations:
        negative = [schemathesis.GenerationMode.NEGATIVE] if operation.body else []  # nothing to get wrong else
        for mode in (schemathesis.GenerationMode.POSITIVE, *negative):

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck))
            def check(case: Any) -> None:
                # a message the schema allows may still be refused, with 400, by the engine's checks (only spaces)
                case.call_and_validate(headers=new_user(api), timeout=60, excluded_checks=[accepts_valid])

            check()


@pytest.fixture(scope="session")
def app_url(talker: Engine) -> Iterator[str]:
    """The web app with the real generator, for the session."""
    with serve(talker) as url:
        yield url


def foreign_titles(engine: Engine, turn: Any) -> list[str]:
    """Catalog titles in a reply that belong to no recommended item, found by the title matcher the understanding
    layer uses (not by the grounding validator, which is what is being checked)."""
    from chatrec.reading.titles import norm

    allowed = [norm(t) for r in turn.recommendations for t in (r.title, *engine.items[r.item_id].aliases)]
    bad = []
    for span in engine.understander.titles.spans(turn.reply, fuzzy=False):
        key = norm(turn.reply[span.start : span.end])
        if not any(f" {key} " in f" {title} " or (key in title and not key.isascii()) for title in allowed):
            bad.append(turn.reply[span.start : span.end])
    return bad


@pytest.fixture(scope="session")
def redial_dir(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """ReDial's 6,583 movies ingested once through the command line: (data folder, what the first ingest printed)."""
    import contextlib
    import io

    from chatrec.cli import main as cli

    catalog = SHARED / "redial" / "id2info.json"
    if not catalog.exists():
        pytest.skip(f"ReDial data not found at {catalog} (../shared is absent)")
    data = tmp_path_factory.mktemp("redial")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert cli(["ingest", str(catalog), "--format", "redial", "--data-dir", str(data), "--quiet"]) == 0
    return data, out.getvalue()
