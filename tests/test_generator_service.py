"""The generator as a service (issue 24): llama.cpp's own server (llama-cpp-python's `[server]` extra), started here
on loopback with the packaged GGUF, serves an Engine through `generator_url`; replies are generated and grounded;
a server that is down gives template replies, never errors; one that cannot start a reply in time is busy."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from conftest import GENERATION_BUDGET_S, foreign_titles, free_port, wait_http

from chatrec import Engine
from chatrec.backends.factory import open_profiles
from chatrec.errors import GeneratorBusy, GeneratorError
from chatrec.ports import Limits

pytestmark = pytest.mark.generation


@pytest.fixture(scope="module")
def server(engine: Engine) -> Iterator[str]:
    """`python -m llama_cpp.server` on the packaged GGUF, as docs/deploy.md starts it."""
    from chatrec.generators.weights import gguf_file

    gguf, _ = gguf_file("qwen2.5-0.5b", engine.settings.model_cache)
    port = free_port()
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--host", "127.0.0.1"]
    command += ["--port", str(port), "--n_ctx", "2048", "--n_threads", "1"]
    command += ["--interrupt_requests", "False"]  # its default cuts a reply off for the next request: queue instead
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_http(f"http://127.0.0.1:{port}/v1/models", proc=proc)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def remote_engine(engine: Engine, url: str, data_dir: Path) -> Engine:
    from chatrec.generators.loading import load_generator

    settings = engine.settings.with_(
        data_dir=data_dir,
        generator="qwen2.5-0.5b",
        generator_url=url,
        generation_budget_s=GENERATION_BUDGET_S,
        generation_wait_s=GENERATION_BUDGET_S,
    )
    generator = load_generator(
        settings.generator, settings.model_cache, backend=settings.generator_backend, url=settings.generator_url
    )
    return Engine(settings, engine.catalog, engine.embedder, engine.store, open_profiles(settings), generator)


def test_a_worker_without_the_model_gets_grounded_replies_from_the_server(
    engine: Engine, server: str, tmp_path: Path
) -> None:
    worker = remote_engine(engine, server, tmp_path)
    try:
        assert worker.generator is not None and worker.generator.device.endswith(server)
        assert worker.readiness()["generator"] == "ok"
        turn = worker.chat("svc", "I love space exploration films")
        assert turn.source == "generator", (turn.problem, turn.reply)  # not the template
        assert turn.recommendations and not foreign_titles(worker, turn)
        assert worker.generator.served().endswith(".gguf")  # type: ignore[attr-defined]  # named as the server lists it
    finally:
        worker.profiles.close()


def test_a_server_that_is_down_means_template_replies_not_errors(engine: Engine, tmp_path: Path) -> None:
    worker = remote_engine(engine, f"http://127.0.0.1:{free_port()}", tmp_path)
    try:
        turn = worker.chat("svc-down", "I love space exploration films")
        assert turn.source == "template" and turn.recommendations and "cannot be reached" in turn.problem
        checks = worker.readiness()  # named by the readiness check; the store and profiles still make it ready
        assert checks["generator"].startswith("unreachable") and checks["store"] == checks["profiles"] == "ok"
    finally:
        worker.profiles.close()


def test_a_server_busy_past_the_wait_is_busy_before_any_text(engine: Engine, server: str, tmp_path: Path) -> None:
    worker, other = remote_engine(engine, server, tmp_path / "a"), remote_engine(engine, server, tmp_path / "b")
    generator, others = worker.generator, other.generator  # two app processes' generators, one server
    assert generator is not None and others is not None
    long = [{"role": "user", "content": "Write a long story about a lighthouse keeper."}]
    writing = threading.Event()

    def holding() -> None:
        for _ in others.stream(long, Limits(200, 60.0, 30.0)):
            writing.set()

    hold = threading.Thread(target=holding)
    hold.start()  # the server writes one completion at a time: this one holds it
    try:
        assert writing.wait(timeout=120), "the long completion must be under way first"
        with pytest.raises(GeneratorBusy, match="no token from the generator server"):  # not this process's slot
            list(generator.stream([{"role": "user", "content": "hi"}], Limits(5, 5.0, 0.5), prefix="Sure"))
    finally:
        hold.join(timeout=120)
        worker.profiles.close()
        other.profiles.close()
    assert httpx.get(f"{server}/v1/models").status_code == 200


def test_a_process_asks_the_server_for_no_more_replies_at_once_than_its_slots(engine: Engine, tmp_path: Path) -> None:
    """A reply beyond the slots is busy at once, without a request (a closed port: a request would be a
    GeneratorError), so the server never reads prompts for callers that stopped waiting."""
    worker = remote_engine(engine, f"http://127.0.0.1:{free_port()}", tmp_path)
    generator = worker.generator
    assert generator is not None and generator.slots == 1  # type: ignore[attr-defined]
    generator._slots.acquire()  # type: ignore[attr-defined]  # a reply of this process is with the server
    try:
        began = time.monotonic()
        with pytest.raises(GeneratorBusy, match="at once"):
            list(generator.stream([{"role": "user", "content": "hi"}], Limits(5, 5.0, 3.0)))
        assert time.monotonic() - began < 1.0  # not the 3 s wait: the template answers now
    finally:
        generator._slots.release()  # type: ignore[attr-defined]
        worker.profiles.close()
    with pytest.raises(GeneratorError):  # the slot free again: the request is made (and the server is down)
        list(generator.stream([{"role": "user", "content": "hi"}], Limits(5, 5.0, 0.3)))


def test_a_later_sentence_that_asks_not_to_wait_still_gives_the_server_time_to_read_its_prompt() -> None:
    from chatrec.generators.remote import MIN_READ_S, first_token_s

    assert first_token_s(Limits(40, 6.0, 2.0)) == 2.0  # the first sentence: the configured wait
    assert first_token_s(Limits(40, 5.5, 0.0)) == 5.5  # a later one: what is left of the budget (never 0: EAGAIN)
    assert first_token_s(Limits(40, 0.0, 0.0)) == MIN_READ_S
