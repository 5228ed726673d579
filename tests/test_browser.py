"""The web app in headless Chromium (Debian's, driven by Playwright): cards, a streamed reply, thumbs down, escaping.

Every app here runs on the in-memory doubles (tests/conftest.py's `memory_engine`): what is tested is the page, not
which embedder ranked. The chat test keeps the packaged generator (its reply streams in pieces, and chat.png shows
a generated reply); the others use none.

Saves a screenshot of the chat to the test cache's artifacts/ (tests/conftest.py): chat.png (the README shows a copy).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import ARTIFACTS, BROWSER_MARKS, GENERATION_BUDGET_S, memory_engine, serve, write_jsonl

from chatrec import Settings

pytestmark = BROWSER_MARKS


def open_chat(browser: Any, url: str) -> Any:
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    page.goto(url, wait_until="load")
    page.locator("#message textarea").wait_for(state="visible", timeout=30_000)
    return page


def send(page: Any, text: str) -> None:
    box = page.locator("#message textarea")
    box.fill(text)
    box.press("Enter")


def bot_text(page: Any) -> str:
    bots = page.locator('#chat [data-testid="bot"]')
    return bots.last.inner_text() if bots.count() else ""


def card_titles(page: Any) -> list[str]:
    titles = []
    for i in range(5):
        body = page.locator(f"#card-body-{i} h4")
        if body.count() and body.first.is_visible():
            titles.append(body.first.inner_text())
    return titles


def wait_for_reply(page: Any, turns: int, timeout_s: float = GENERATION_BUDGET_S + 60) -> list[str]:
    """Watch the last bot message until turn `turns` is over; returns the distinct texts seen along the way."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        text = bot_text(page)
        if text and (not seen or seen[-1] != text):
            seen.append(text)
        started = page.locator('#chat [data-testid="bot"]').count() >= turns
        if (
            started
            and page.locator("#status .status").first.get_attribute("data-state") == "done"
            and bot_text(page) not in ("", "…")
        ):  # the new turn's bubble, answered (not the last turn's "ready")
            final = bot_text(page)
            if final != seen[-1]:
                seen.append(final)
            return seen
        time.sleep(0.05)
    raise AssertionError(f"turn {turns} did not finish in {timeout_s} s; saw {seen[-3:]}")


@pytest.fixture(scope="module")
def chat_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app with the packaged generator (the default one, as `talker` loads it) over the bundled catalog on the
    in-memory doubles: the page streams what the model writes, whichever embedder ranked the cards."""
    from chatrec.generators.loading import load_generator

    folder = tmp_path_factory.mktemp("chat")
    wanted = Settings(data_dir=folder, generator="qwen2.5-0.5b")
    generator = load_generator(wanted.generator, wanted.model_cache, wanted.generator_threads, wanted.generator_backend)
    engine = memory_engine(
        folder, generator=generator, generation_budget_s=GENERATION_BUDGET_S, generation_wait_s=GENERATION_BUDGET_S
    )
    engine.writer.warm()
    with serve(engine) as url:
        yield url


def test_chat_cards_streaming_and_thumbs_down(browser: Any, chat_url: str) -> None:
    page = open_chat(browser, chat_url)
    send(page, "I love space exploration films")
    page.locator("#card-body-0 h4").first.wait_for(state="visible", timeout=60_000)
    first_cards = card_titles(page)
    text_when_cards_came = bot_text(page)
    seen = wait_for_reply(page, turns=1)
    final = bot_text(page)
    source = page.locator("#status .status").first.get_attribute("data-source")  # the status line shows no diagnostics
    assert len(first_cards) == 5
    assert len(final) > len(text_when_cards_came), "the cards come before the reply is finished"
    assert source in ("generator", "template"), source
    turns = [(source, seen)]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "chat.png"), full_page=True)

    rejected = first_cards[0]
    page.locator("#down-0").first.click()
    page.locator("#card-body-0").first.get_by_text("will not be recommended again").wait_for(timeout=30_000)
    page.locator("#profile").get_by_text(rejected).wait_for(timeout=30_000)  # the side panel shows it
    send(page, "more films about space like those")
    page.wait_for_function("document.querySelectorAll('#chat [data-testid=\"bot\"]').length >= 2", timeout=60_000)
    page.locator("#card-body-0 h4").first.wait_for(state="visible", timeout=60_000)
    seen = wait_for_reply(page, turns=2)
    turns.append((page.locator("#status .status").first.get_attribute("data-source"), seen))
    assert rejected not in card_titles(page)
    # a generated reply streams in pieces (a turn whose text failed a check ends with the template instead)
    assert any(source == "generator" and len(seen) >= 3 for source, seen in turns), turns

    page.locator("#forget").first.click()  # "forget me" asks, then empties the chat, the cards and the interests
    page.locator("#forget-yes").first.click()
    page.locator("#profile").get_by_text("Nothing yet").wait_for(timeout=30_000)
    assert page.locator('#chat [data-testid="bot"]').count() == 0 and card_titles(page) == []
    page.close()


@pytest.fixture(scope="module")
def hostile_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An app over a catalog whose fields carry HTML and scripts (no generator: the cards are what is tested)."""
    folder = tmp_path_factory.mktemp("hostile")
    catalog = write_jsonl(
        folder / "hostile.jsonl",
        [
            {
                "id": "h1",
                "title": "<b>Orbit</b> <img src=x onerror=\"window.__pwned='title'\">",
                "year": 2001,
                "kind": "movie",
                "genres": ["science fiction"],
                "tags": ["space"],
                "description": "<script>window.__pwned='description'</script> Astronauts travel to Jupiter.",
            },
            {
                "id": "h2",
                "title": "[Garden](javascript:window.__pwned='markdown') Days",
                "kind": "movie",
                "genres": ["science fiction"],
                "tags": ["space"],
                "description": "A retired astronaut tends roses. <a href=javascript:alert(1)>click</a>",
            },
        ],
    )
    with serve(memory_engine(folder, catalog=catalog, k=2)) as url:
        yield url


def test_html_in_messages_and_catalog_is_shown_as_text(browser: Any, hostile_url: str) -> None:
    from urllib.parse import urlparse

    requested: list[str] = []
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    page.on("request", lambda request: requested.append(request.url))
    page.goto(hostile_url, wait_until="load")
    page.locator("#message textarea").wait_for(state="visible", timeout=30_000)
    message = "<img src=x onerror=\"window.__pwned='message'\"> I love space <script>window.__pwned='script'</script>"
    send(page, message)
    page.locator("#card-body-0 h4").first.wait_for(state="visible", timeout=60_000)
    wait_for_reply(page, turns=1, timeout_s=30)
    assert page.evaluate("window.__pwned === undefined")
    user_text = page.locator('#chat [data-testid="user"]').last.inner_text()
    assert "<img src=x" in user_text and "<script>" in user_text, "shown as text"
    cards = page.locator("#cards").first.inner_text()
    assert "<b>Orbit</b>" in cards and "<script>window.__pwned='description'</script>" in cards
    assert page.locator("#cards img, #cards script, #cards a[href^=javascript], #chat img[src=x]").count() == 0
    assert page.locator("#chat a[href^=javascript], #chat a[href^='javascript']").count() == 0
    # every asset and call went to the app itself: no CDN, fonts, analytics or other outside request
    outside = [
        u
        for u in requested
        if urlparse(u).scheme in ("http", "https", "ws", "wss")
        and urlparse(u).hostname not in ("127.0.0.1", "localhost")
    ]
    assert requested and outside == [], outside
    page.close()


class PixelServer:
    """A loopback HTTP server that records every request: markdown images pointing at it must never be fetched."""

    def __init__(self) -> None:
        import http.server
        import threading

        hits = self.hits = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                hits.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


@pytest.fixture(scope="module")
def pixel() -> Iterator[PixelServer]:
    server = PixelServer()
    yield server
    server.close()


@pytest.fixture(scope="module")
def markdown_url(tmp_path_factory: pytest.TempPathFactory, pixel: PixelServer) -> Iterator[str]:
    """An app over a catalog whose title is a markdown image and whose description holds LaTeX."""
    folder = tmp_path_factory.mktemp("markdown")
    catalog = write_jsonl(
        folder / "markdown.jsonl",
        [
            {
                "id": "m1",
                "title": f"Orbit ![x]({pixel.url}/title.png) Dreams",
                "year": 2001,
                "kind": "movie",
                "genres": ["science fiction"],
                "tags": ["space"],
                "description": "Astronauts travel to Jupiter. $$x^2$$",
            },
            {
                "id": "m2",
                "title": "Moon $$\\int_0^1 f$$ Relay",
                "kind": "movie",
                "genres": ["science fiction"],
                "tags": ["space"],
                "description": "Engineers build a radio relay on the Moon.",
            },
        ],
    )
    with serve(memory_engine(folder, catalog=catalog, k=2)) as url:
        yield url


def test_markdown_and_latex_show_as_written(browser: Any, markdown_url: str, pixel: PixelServer) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    page.goto(markdown_url, wait_until="load")
    page.locator("#message textarea").wait_for(state="visible", timeout=30_000)
    message = f"I love space ![pixel]({pixel.url}/message.png) and [a link]({pixel.url}/link) $$e^{{i\\pi}}$$"
    send(page, message)
    page.locator("#card-body-0 h4").first.wait_for(state="visible", timeout=60_000)
    wait_for_reply(page, turns=1, timeout_s=30)
    time.sleep(1.0)  # give any image a moment to be fetched
    user_text = page.locator('#chat [data-testid="user"]').last.inner_text()
    assert f"![pixel]({pixel.url}/message.png)" in user_text and "$$e^{i\\pi}$$" in user_text, user_text
    bot = bot_text(page)
    assert "![x](" in bot or "Moon $$" in bot, bot  # the template reply names the titles, as written
    assert page.locator("#chat img, #chat .katex, #chat a[href]").count() == 0
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "markdown.png"), full_page=True)
    assert pixel.hits == [], pixel.hits
    page.close()
